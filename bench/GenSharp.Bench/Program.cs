using GenSharp.Models;
using static TorchSharp.torch;
var cfg = new LlamaConfig();
var m = new LlamaForCausalLM(cfg); m.InitializeWeights(1);
var opt = TorchSharp.torch.optim.AdamW(m.parameters(), 1e-3);
var x = randint(0, 65, [12, 65]);
double tf=0,tb=0,to=0;
for (int i = 0; i < 60; i++) {
  using var s = NewDisposeScope();
  var sw = System.Diagnostics.Stopwatch.StartNew();
  var logits = m.forward(x[.., ..64]);
  var loss = nn.functional.cross_entropy(logits.view(-1, 65), x[.., 1..].reshape(-1));
  var a = sw.Elapsed.TotalMilliseconds;
  opt.zero_grad(); loss.backward();
  var b = sw.Elapsed.TotalMilliseconds;
  opt.step();
  var c = sw.Elapsed.TotalMilliseconds;
  if (i>=10) { tf+=a; tb+=b-a; to+=c-b; }
}
Console.WriteLine($"fwd {tf/50:F1} bwd {tb/50:F1} opt {to/50:F1}");
