// GenSharp playground: chat (streamed), A/B compare, 👍/👎 feedback, answers from documents with their sources,
// and class-prompted images.
// Model output is only ever set with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { messages: [], models: [], busy: false };

// ---- API -------------------------------------------------------------------------------------------

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = sessionStorage.getItem("gensharp-key");
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

// POST/GET with the API key; on 401 asks for the key once and retries.
async function call(path, body, retried = false) {
  const res = await fetch(path, body === undefined ? { headers: headers() } : { method: "POST", headers: headers(), body: JSON.stringify(body) });
  if (res.status === 401 && !retried) {
    const key = window.prompt("This server needs an API key:");
    if (key) { sessionStorage.setItem("gensharp-key", key); return call(path, body, true); }
  }
  if (!res.ok) {
    let message = res.status + " " + res.statusText;
    try { message = (await res.json()).error.message; } catch { /* not JSON */ }
    const error = new Error(message);
    error.status = res.status;
    throw error;
  }
  return res;
}

function showError(e) {
  $("error").textContent = e ? String(e.message || e) : "";
  $("error").hidden = !e;
}

// Reads an SSE response, calling onChunk for each JSON event until [DONE].
async function readEvents(res, onChunk) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const line = buffer.slice(0, cut).trim();
      buffer = buffer.slice(cut + 2);
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (data === "[DONE]") return;
      onChunk(JSON.parse(data));
    }
  }
}

// ---- Chat ------------------------------------------------------------------------------------------

function settings() {
  const s = { temperature: Number($("temperature").value), top_p: Number($("top-p").value) };
  if ($("max-tokens").value) s.max_tokens = Number($("max-tokens").value);
  if ($("seed").value) s.seed = Number($("seed").value);
  return s;
}

function conversation() {
  const system = $("system").value.trim();
  return system ? [{ role: "system", content: system }, ...state.messages] : [...state.messages];
}

function bubble(role, text) {
  const div = document.createElement("div");
  div.className = "message " + role;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "user" ? "You" : $("chat-model").value;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  div.append(who, body);
  return div;
}

function button(label, text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.setAttribute("aria-label", label);
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

// An answer from the served documents: the sources it was given are listed under it, cited ones marked, each a link.
async function ask(text) {
  const model = $("chat-model").value;
  $("conversation").append(bubble("user", text));
  const answer = bubble("assistant", "…");
  $("conversation").append(answer);
  let json;
  try {
    json = await (await call("/v1/rag/answers", { model, question: text, ...settings() })).json();
  } catch (e) {
    answer.remove();
    showError(e);
    return;
  }
  answer.querySelector(".text").textContent = json.answer || "(no answer)";
  const list = document.createElement("ol");
  list.className = "sources";
  list.setAttribute("aria-label", "Sources");
  for (const s of json.sources) {
    const item = document.createElement("li");
    item.value = s.n;
    if (s.cited) item.className = "cited";
    const link = document.createElement("a");
    link.href = s.url;
    link.textContent = s.source.split("/").pop() + (s.heading ? " · " + s.heading : "") + (s.page ? " · page " + s.page : "");
    link.title = s.source;
    link.addEventListener("click", (e) => { e.preventDefault(); openSource(s.url); });
    const snippet = document.createElement("span");
    snippet.className = "snippet";
    snippet.textContent = s.text.length > 160 ? s.text.slice(0, 160) + " …" : s.text;
    item.append(link, snippet);
    list.append(item);
  }
  if (json.sources.length === 0) list.append(Object.assign(document.createElement("li"), { textContent: "No matching documents." }));
  answer.append(list);
  state.messages.push({ role: "user", content: text }, { role: "assistant", content: json.answer });
}

// Fetched with the API key (a plain link would not carry it), shown in a new tab.
async function openSource(url) {
  try {
    const blob = await (await call(url)).blob();
    window.open(URL.createObjectURL(blob), "_blank", "noopener");
  } catch (e) { showError(e); }
}

async function send(text) {
  showError(null);
  if ($("use-docs").checked) return ask(text);
  const model = $("chat-model").value;
  const compare = $("compare").checked;
  state.messages.push({ role: "user", content: text });
  $("conversation").append(bubble("user", text));
  const prompt = conversation();
  const n = compare ? 2 : 1;
  const answers = Array.from({ length: n }, () => bubble("assistant", ""));
  const holder = compare ? document.createElement("div") : answers[0];
  if (compare) { holder.className = "pair"; holder.append(...answers); }
  $("conversation").append(holder);
  const texts = Array(n).fill("");
  const request = { model, messages: prompt, stream: true, n, ...settings() };
  try {
    const res = await call("/v1/chat/completions", request);
    await readEvents(res, (chunk) => {
      for (const c of chunk.choices) {
        if (c.delta && c.delta.content) {
          texts[c.index] += c.delta.content;
          answers[c.index].querySelector(".text").textContent = texts[c.index];
        }
      }
    });
  } catch (e) {
    holder.remove();
    state.messages.pop();
    showError(e.status === 400 && /context/.test(e.message) ? e.message + " — start a new chat or shorten the message." : e);
    return;
  }
  const used = { model, ...settings() };
  if (!compare) {
    state.messages.push({ role: "assistant", content: texts[0] });
    answers[0].append(rating(model, prompt, texts[0], used));
  } else {
    answers.forEach((a, i) => a.append(choose(model, prompt, texts, i, holder, used)));
  }
}

function rating(model, prompt, response, used) {
  const row = document.createElement("div");
  row.className = "feedback";
  const note = document.createElement("span");
  const rate = (value, pressed) => async () => {
    try {
      await call("/feedback", { kind: "rating", model, messages: prompt, response, rating: value, settings: used });
      row.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", "false"));
      pressed.setAttribute("aria-pressed", "true");
      note.textContent = "Thanks — saved.";
    } catch (e) { showError(e); }
  };
  const up = button("Good answer", "👍", () => rate(1, up)());
  const down = button("Bad answer", "👎", () => rate(-1, down)());
  row.append(up, down, note);
  return row;
}

function choose(model, prompt, texts, i, pair, used) {
  const row = document.createElement("div");
  row.className = "feedback";
  row.append(button(`Answer ${i + 1} is better`, "This one is better", async () => {
    try {
      await call("/feedback", { kind: "comparison", model, messages: prompt, chosen: texts[i], rejected: texts[1 - i], settings: used });
      state.messages.push({ role: "assistant", content: texts[i] });
      const kept = bubble("assistant", texts[i]);
      const note = document.createElement("div");
      note.className = "feedback";
      note.textContent = "Preference saved.";
      kept.append(note);
      pair.replaceWith(kept);
    } catch (e) { showError(e); }
  }));
  return row;
}

// ---- Images ----------------------------------------------------------------------------------------

async function draw() {
  showError(null);
  const model = state.models.find((m) => m.id === $("image-model").value);
  const body = { model: model.id, prompt: $("image-prompt").value, n: Number($("image-n").value), size: "112x112" };
  if ($("image-seed").value) body.seed = Number($("image-seed").value);
  $("draw").disabled = true;
  try {
    const res = await call("/v1/images/generations", body);
    const json = await res.json();
    $("gallery").replaceChildren(...json.data.map((d) => {
      const img = document.createElement("img");
      img.src = "data:image/png;base64," + d.b64_json;
      img.alt = "generated image: " + d.revised_prompt;
      return img;
    }));
  } catch (e) { showError(e); }
  finally { $("draw").disabled = false; }
}

function fillClasses() {
  const model = state.models.find((m) => m.id === $("image-model").value);
  $("image-classes").replaceChildren(...(model && model.classes || []).map((c) => {
    const o = document.createElement("option");
    o.value = "a " + c.toLowerCase();
    return o;
  }));
}

// ---- Set-up ----------------------------------------------------------------------------------------

function selectTab(name) {
  for (const t of ["chat", "images"]) {
    $("tab-" + t).setAttribute("aria-selected", String(t === name));
    $("page-" + t).hidden = t !== name;
  }
}

async function init() {
  $("tab-chat").addEventListener("click", () => selectTab("chat"));
  $("tab-images").addEventListener("click", () => selectTab("images"));
  $("reset").addEventListener("click", () => { state.messages = []; $("conversation").replaceChildren(); showError(null); });
  $("chat-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("prompt").value;
    if (!text.trim() || state.busy) return;
    $("prompt").value = "";
    state.busy = true;
    $("send").disabled = true;
    try { await send(text); } finally { state.busy = false; $("send").disabled = false; $("prompt").focus(); }
  });
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("chat-form").requestSubmit(); }
  });
  $("image-form").addEventListener("submit", (e) => { e.preventDefault(); draw(); });
  $("image-model").addEventListener("change", fillClasses);
  try {
    state.models = (await (await call("/v1/models")).json()).data;
  } catch (e) { showError(e); return; }
  const option = (m) => { const o = document.createElement("option"); o.value = o.textContent = m.id; return o; };
  $("chat-model").replaceChildren(...state.models.filter((m) => m.type === "text").map(option));
  $("image-model").replaceChildren(...state.models.filter((m) => m.type === "image").map(option));
  $("tab-images").hidden = !state.models.some((m) => m.type === "image");
  try {
    const rag = await (await call("/v1/rag")).json();
    $("docs-option").hidden = !rag.enabled;
    if (rag.enabled) $("docs-option").title = `${rag.files} files, ${rag.chunks} chunks, ${rag.mode} search`;
  } catch { /* an older server: no documents */ }
  fillClasses();
}

init();
