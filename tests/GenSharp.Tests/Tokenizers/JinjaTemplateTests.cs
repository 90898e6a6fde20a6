using GenSharp.Pipelines;
using GenSharp.Tests.Models;
using GenSharp.Tokenizers;

namespace GenSharp.Tests.Tokenizers;

/// <summary>Hub chat templates rendered as transformers renders them (outputs worked out by hand), and the sandbox's limits.</summary>
public sealed class JinjaTemplateTests : TempDirectoryTest
{
    // The templates as the checkpoints ship them (tokenizer_config.json's chat_template).
    const string Llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
    const string Qwen2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    const string Mistral = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    static List<ChatMessage> Chat(params (string Role, string Content)[] m) => [.. m.Select(x => new ChatMessage(x.Role, x.Content))];

    static string Render(string source, IEnumerable<ChatMessage> messages, bool prompt = true, string bos = "", string eos = "") =>
        ChatTemplate.FromJinja(source, bos, eos, "test").Render(messages, prompt);

    [Fact]
    public void Llama3Qwen2AndMistralTemplatesRenderAsTransformersDoes()
    {
        var chat = Chat(("system", "Be brief."), ("user", "  Hi  "), ("assistant", "Hello!"), ("user", "Bye"));
        Assert.Equal("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
                     "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>" +
                     "<|start_header_id|>assistant<|end_header_id|>\n\n", Render(Llama3, chat, bos: "<|begin_of_text|>"));
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", Render(Qwen2, Chat(("user", "Hi"))));
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n", Render(Qwen2, Chat(("system", "Be brief."), ("user", "Hi")), prompt: false));
        Assert.Equal("<s>[INST] Hi [/INST]Hello</s>[INST] Bye [/INST]", Render(Mistral, Chat(("user", "Hi"), ("assistant", "Hello"), ("user", "Bye")), bos: "<s>", eos: "</s>"));
        Assert.Contains("Conversation roles must alternate", Assert.Throws<ArgumentException>(() => Render(Mistral, chat)).Message);
    }

    [Fact]
    public void WhitespaceControlTrimBlocksAndLstripBlocksAsInTransformers()
    {
        const string dashed = "{%- for message in messages %}\n    {%- if message.role == 'user' %}\n        {{- '<|user|>\\n' + message.content + eos_token }}\n    {%- elif message.role == 'assistant' %}\n        {{- '<|assistant|>\\n' + message.content + eos_token }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|assistant|>\\n' }}\n{%- endif %}\n";
        Assert.Equal("<|user|>\nHi</s><|assistant|>\nYo</s><|assistant|>\n", Render(dashed, Chat(("user", "Hi"), ("assistant", "Yo")), eos: "</s>"));
        const string plain = "{% for m in messages %}\n  {% if m.role == 'user' %}\nU:{{ m.content }}\n  {% endif %}\n{% endfor %}";
        Assert.Equal("U:a\nU:b\n", Render(plain, Chat(("user", "a"), ("user", "b"))));
    }

    [Fact]
    public void ExpressionsFiltersTestsAndNamespacesWork()
    {
        var t = JinjaTemplate.Parse("{% set ns = namespace(n=0, last='') %}{% for m in messages[::-1] if m.role != 'system' %}{% set ns.n = ns.n + 1 %}{% set ns.last = m.content %}{% endfor %}" +
            "{{ ns.n }}|{{ ns.last }}|{{ messages | length }}|{{ messages[0].content | upper }}|{{ (messages | last).role }}|{{ x is defined }}|{{ x | default('d') }}|" +
            "{{ {'a': [1, 2.5, none, true]} | tojson }}|{{ 7 // 2 }} {{ 7 % 3 }} {{ 'ab' ~ 3 }}|{{ 'x' if messages else 'y' }}|{{ 'a,b' .split(',') | join('+') }}|" +
            "{% for k, v in {'p': 1}.items() %}{{ k }}={{ v }}{% endfor %}|{{ 'hi' in 'this' }} {{ 3 not in [1, 2] }}|{{ loop is undefined }}|{{ '  s '.strip() }}");
        var messages = new List<object?> { new Dictionary<string, object?> { ["role"] = "system", ["content"] = "sys" }, new Dictionary<string, object?> { ["role"] = "user", ["content"] = "u1" },
                                           new Dictionary<string, object?> { ["role"] = "assistant", ["content"] = "a1" } };
        Assert.Equal("2|u1|3|SYS|assistant|False|d|{\"a\":[1,2.5,null,true]}|3 1 ab3|x|a+b|p=1|True True|True|s", t.Render(new Dictionary<string, object?> { ["messages"] = messages }));
    }

    [Fact]
    public void TheSandboxStopsLoopsHugeOutputAndReachesNoObjects()
    {
        var vars = new Dictionary<string, object?> { ["messages"] = new List<object?>() };
        Assert.Contains("more than 1,000,000 steps", Assert.Throws<InvalidOperationException>(() =>
            JinjaTemplate.Parse("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}").Render(vars)).Message);
        Assert.Contains("wrote more than", Assert.Throws<InvalidOperationException>(() =>
            JinjaTemplate.Parse("{% for i in range(5000) %}{{ 'x' * 1000 }}{% endfor %}").Render(vars)).Message);
        Assert.Equal("||", JinjaTemplate.Parse("{{ ''.__class__ }}|{{ messages.__class__.__mro__ }}|{{ range.__globals__ }}").Render(vars));   // attributes of data only
        Assert.Contains("line 2", Assert.Throws<FormatException>(() => JinjaTemplate.Parse("ok\n{% if x %}never closed")).Message);
        Assert.Contains("unknown or unexpected tag 'macro'", Assert.Throws<FormatException>(() => JinjaTemplate.Parse("{% macro m() %}{% endmacro %}")).Message);
        Assert.Contains("filter 'attr' is not supported", Assert.Throws<InvalidOperationException>(() => JinjaTemplate.Parse("{{ x | attr('y') }}").Render(vars)).Message);
    }

    [Fact]
    public void AHubCheckpointsOwnTemplateIsTheChatPathsTemplate()
    {
        var dir = Path.Combine(_dir, "qwen");
        HfFixtures.Write(dir, "qwen2", "f32").Dispose();
        File.Delete(Path.Combine(dir, ChatTemplate.FileName));
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), System.Text.Json.JsonSerializer.Serialize(new
        {
            chat_template = new[] { new { name = "tool_use", template = "unused" }, new { name = "default", template = "{% for m in messages %}{{ m.role | upper }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}ASSISTANT: {% endif %}" } },
            eos_token = new { content = "\n\n", special = true }, bos_token = (string?)null,
        }));
        var template = ChatTemplate.Load(dir);
        Assert.Equal(["\n\n"], template.Stop);
        var chat = AutoPipeline.OpenChat(dir);
        var prompt = chat.Format.Encode(Chat(("system", "Be brief."), ("user", "Hi")), 16, ContextPolicy.Reject);   // the "default" of the file's templates
        Assert.Equal("SYSTEM: Be brief.\nUSER: Hi\nASSISTANT: ", prompt.Text);
        // Saved with a fine-tuned model, the template stays the model's own (chat_template.jinja and its EOS text).
        var saved = Path.Combine(_dir, "saved");
        Directory.CreateDirectory(saved);
        template.Save(Path.Combine(saved, ChatTemplate.FileName));
        var reloaded = ChatTemplate.Load(saved);
        Assert.Equal((template.Jinja, template.EosToken), (reloaded.Jinja, reloaded.EosToken));
        Assert.False(File.Exists(Path.Combine(saved, ChatTemplate.FileName)));
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"chat_template\": \"{% if %}\"}");
        Assert.Contains("tokenizer_config.json: the chat template does not parse", Assert.ThrowsAny<Exception>(() => ChatTemplate.Load(dir)).Message);
    }
}
