// Peephole inspector: reads the server's JSON API and draws what a recurrent layer does.
// Every view keeps its state in the URL (/inspect/{view}?model=…&layer=…&unit=…), so a link
// shows the same thing to whoever opens it.
"use strict";

const $ = (id) => document.getElementById(id);
// The fields each kind of recurrent layer records: h, then its cell state and gates.
const LAYER_FIELDS = { LSTM: ["h", "c", "i", "f", "g", "o"], GRU: ["h", "z", "r", "hh"], SimpleRNN: ["h"] };
const FIELD_NAMES = { h: "h (hidden)", c: "c (cell)", i: "i (input gate)", f: "f (forget gate)", g: "g (candidate)",
  o: "o (output gate)", z: "z (update gate)", r: "r (reset gate)", hh: "hh (candidate)" };
const layerFields = () => LAYER_FIELDS[model?.layers.find((l) => l.name === state.layer)?.class_name] ?? ["h"];
const state = readURL();
let model = null;       // GET /models/{m}/versions/{v}: layers, vocabulary
let reading = null;     // the last text read: {chars, fields: {h: [steps][units], …}, units}
const nextCache = new Map();

// Colours. h, c and candidates on a diverging scale (blue below zero, red above; c through
// tanh, as its values are unbounded), gates on a sequential one (white to green over 0…1).
function color(field, value) {
  if (["h", "c", "g", "hh"].includes(field)) {
    const t = Math.max(-1, Math.min(1, field === "c" ? Math.tanh(value) : value));
    const target = t >= 0 ? [214, 39, 40] : [31, 119, 180];
    return mix(target, Math.abs(t));
  }
  return mix([44, 160, 44], Math.max(0, Math.min(1, value)));
}
function mix(target, amount) {
  const channel = (c) => Math.round(255 + (c - 255) * amount);
  return `rgb(${channel(target[0])}, ${channel(target[1])}, ${channel(target[2])})`;
}
window.Peephole = { color };  // parseRows is added below; tests call both

function readURL() {
  const query = new URLSearchParams(location.search);
  const view = location.pathname.replace(/^\/inspect\/?/, "").split("/")[0] || "read";
  const get = (key, fallback) => query.get(key) ?? fallback;
  return {
    view, model: get("model", ""), version: get("version", ""), layer: get("layer", ""), field: get("field", "h"),
    unit: Number(get("unit", 0)), text: get("text", "This program is free software; you can redistribute it and/or modify it"),
    from: query.has("from") ? Number(query.get("from")) : null, to: query.has("to") ? Number(query.get("to")) : null,
    threshold: Number(get("threshold", 0.3)), before: get("before", "") === "1", after: get("after", "") === "1",
    sort: get("sort", "index"), prompt: get("prompt", "This program is "), length: Number(get("length", 120)),
    temperature: Number(get("temperature", 0.5)), seed: Number(get("seed", 42)),
  };
}

function writeURL() {
  const query = new URLSearchParams();
  for (const key of ["model", "version", "layer", "field", "unit", "threshold", "sort"]) query.set(key, state[key]);
  if (state.view === "unit") query.set("text", state.text);  // the context of the unit's effect
  if (state.view === "read") {
    query.set("text", state.text);
    if (state.from !== null) { query.set("from", state.from); query.set("to", state.to); }
    if (state.before) query.set("before", "1");
    if (state.after) query.set("after", "1");
  }
  if (state.view === "generate") for (const key of ["prompt", "length", "temperature", "seed"]) query.set(key, state[key]);
  history.replaceState(null, "", `/inspect/${state.view}?${query}`);
}

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(json.error?.message ?? `HTTP ${response.status}`);
  return json;
}
const base = () => `/models/${encodeURIComponent(state.model)}/versions/${state.version}`;
const say = (message) => { $("status").textContent = message ?? ""; };

// Pickers: model, version, layer, field, unit.
async function loadModels() {
  const list = await api("/models");
  const names = list.models.map((m) => m.name);
  if (!names.includes(state.model)) state.model = list.default_model ?? names[0] ?? "";
  fill($("model"), names, state.model);
  const entry = list.models.find((m) => m.name === state.model);
  const versions = entry.versions.filter((v) => v.status === "ready").map((v) => String(v.version));
  if (!versions.includes(String(state.version))) state.version = String(entry.served_version);
  fill($("version"), versions, String(state.version));
  model = await api(base());
  const recurrent = model.layers.filter((l) => l.class_name in LAYER_FIELDS).map((l) => l.name);
  if (!recurrent.includes(state.layer)) state.layer = recurrent[0] ?? model.layers[0].name;
  fill($("layer"), model.layers.map((l) => l.name), state.layer);
  fillFields();
  $("unit").value = state.unit;
}
// The field picker offers what the chosen layer records.
function fillFields() {
  const fields = layerFields();
  if (!fields.includes(state.field)) state.field = "h";
  $("field").replaceChildren(...fields.map((f) => new Option(FIELD_NAMES[f], f, false, f === state.field)));
}
function fill(select, values, chosen) {
  select.replaceChildren(...values.map((v) => new Option(v, v, false, v === chosen)));
}

// A float-input model's sequence pasted as JSON ([[…], …], steps × features) or CSV (a step
// per line); null when it is neither.
function parseRows(text) {
  try {
    const rows = JSON.parse(text);
    if (Array.isArray(rows) && rows.length && rows.every((r) => Array.isArray(r) && r.every((v) => typeof v === "number"))) return rows;
  } catch (_) { /* not JSON: try CSV */ }
  const rows = text.trim().split(/\r?\n/).filter((l) => l.trim()).map((l) => l.split(/[,;\t ]+/).filter((v) => v !== "").map(Number));
  return rows.length && rows.every((r) => r.length && r.every((v) => Number.isFinite(v))) ? rows : null;
}

window.Peephole.parseRows = parseRows;

// 1. Read a text (or a float-input model's pasted sequence): characters coloured by a unit, the
// heatmap of every unit, a tooltip per step.
async function read() {
  let chars, input;
  if (model.vocabulary) {
    const vocabulary = new Set(model.vocabulary);
    chars = [...state.text].filter((c) => vocabulary.has(c));
    if (chars.length < [...state.text].length) say(`${[...state.text].length - chars.length} characters outside the vocabulary were left out.`);
    input = { text: [chars.join("")] };
  } else {
    const rows = parseRows(state.text);
    if (!rows) return say("This model reads numbers: paste a sequence as JSON [[…], …] (steps × features) or CSV, one step per line.");
    chars = rows.map(() => "▪");
    input = { inputs: [rows] };
  }
  if (chars.length === 0) return;
  const started = performance.now();
  const gates = layerFields().length > 1;
  const answer = await api(`${base()}/layers/${encodeURIComponent(state.layer)}/output`, { ...input, sequences: true, gates });
  const fields = { h: answer.sequence[0] };
  for (const name of layerFields().slice(1)) fields[name] = answer.gates[name][0];
  reading = { chars, fields, units: answer.units.length };
  drawRead();
  window.Peephole.lastRenderMs = performance.now() - started;
}

function drawRead() {
  if (!reading) return;
  const values = reading.fields[state.field];
  const unit = Math.min(state.unit, reading.units - 1);
  $("chars").replaceChildren(...reading.chars.map((c, step) => {
    const span = document.createElement("span");
    span.className = "ch";
    span.textContent = c === "\n" ? "↵\n" : c;
    span.dataset.step = step;
    span.dataset.value = values[step][unit];
    span.style.backgroundColor = color(state.field, values[step][unit]);
    if (state.from !== null && step >= state.from && step < state.to) span.classList.add("selected");
    return span;
  }));
  drawHeatmap(values);
}

function drawHeatmap(values) {
  const steps = values.length, units = values[0].length;
  const stats = [...Array(units).keys()].map((u) => {
    const column = values.map((row) => row[u]);
    const mean = column.reduce((a, b) => a + b, 0) / steps;
    return { u, mean, variance: column.reduce((a, b) => a + (b - mean) ** 2, 0) / steps };
  });
  if (state.sort !== "index") stats.sort((a, b) => b[state.sort] - a[state.sort]);
  const canvas = $("heatmap");
  canvas.width = steps;
  canvas.height = units;
  canvas.style.height = `${Math.max(units * 4, 60)}px`;
  const context = canvas.getContext("2d");
  stats.forEach(({ u }, row) => values.forEach((v, step) => {
    context.fillStyle = color(state.field, v[u]);
    context.fillRect(step, row, 1, 1);
  }));
  canvas.dataset.order = stats.map((s) => s.u).join(",");
}

async function showTooltip(event) {
  const step = Number(event.target.dataset.step);
  if (Number.isNaN(step) || !reading) return;
  const tip = $("tooltip");
  const unit = Math.min(state.unit, reading.units - 1);
  const rows = Object.keys(reading.fields).map((f) => `<tr><td>${f}</td><td>${reading.fields[f][step][unit].toFixed(4)}</td></tr>`).join("");
  tip.innerHTML = `<b>step ${step}</b>, unit ${unit}<table>${rows}</table><div id="next">next: …</div>`;
  tip.style.left = `${event.clientX + 12}px`;
  tip.style.top = `${event.clientY + 12}px`;
  tip.hidden = false;
  if (!model.vocabulary) return $("next").remove();
  const prefix = reading.chars.slice(0, step + 1).join("");
  if (!nextCache.has(prefix)) nextCache.set(prefix, api(`${base()}/predict`, { text: [prefix], top_k: 5 }).catch(() => null));
  const answer = await nextCache.get(prefix);
  const next = $("next");
  if (answer && next) next.innerHTML = "next: " + answer.top_k[0].map((t) => `<code>${escapeHTML(JSON.stringify(t.token))}</code> ${t.p.toFixed(3)}`).join(", ");
}
const escapeHTML = (s) => s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);

async function show() {
  say("");
  for (const view of ["read", "unit", "generate", "model"]) $(`view-${view}`).hidden = view !== state.view;
  for (const link of $("views").children) link.classList.toggle("active", link.dataset.view === state.view);
  writeURL();
  try {
    if (state.view === "read") await read();
    if (state.view === "unit") await unitCard();
    if (state.view === "generate") await generate();
    if (state.view === "model") await modelView();
  } catch (error) {
    say(error.message);
  }
  document.body.dataset.ready = state.view;
}

function bind() {
  $("text").value = state.text;
  $("threshold").value = state.threshold;
  $("before").checked = state.before;
  $("after").checked = state.after;
  $("sort").value = state.sort;
  for (const key of ["prompt", "length", "temperature", "seed"]) $(key).value = state[key];
  for (const link of $("views").children) link.addEventListener("click", (event) => {
    event.preventDefault();
    state.view = link.dataset.view;
    show();
  });
  $("model").addEventListener("change", async () => { state.model = $("model").value; state.version = ""; await loadModels(); show(); });
  $("version").addEventListener("change", async () => { state.version = $("version").value; await loadModels(); show(); });
  $("layer").addEventListener("change", () => { state.layer = $("layer").value; fillFields(); show(); });
  $("field").addEventListener("change", () => { state.field = $("field").value; state.view === "read" && reading ? (drawRead(), writeURL()) : show(); });
  $("unit").addEventListener("change", () => { state.unit = Number($("unit").value); state.view === "read" && reading ? (drawRead(), writeURL()) : show(); });
  $("sort").addEventListener("change", () => { state.sort = $("sort").value; drawRead(); writeURL(); });
  $("run").addEventListener("click", () => { state.text = $("text").value; state.from = state.to = null; show(); });
  $("threshold").addEventListener("change", () => { state.threshold = Number($("threshold").value); });
  $("before").addEventListener("change", () => { state.before = $("before").checked; });
  $("after").addEventListener("change", () => { state.after = $("after").checked; });
  $("match").addEventListener("click", () => match().catch((error) => say(error.message)));
  $("generate").addEventListener("click", () => {
    for (const key of ["prompt", "length", "temperature", "seed"]) state[key] = key === "prompt" ? $(key).value : Number($(key).value);
    generate().catch((error) => say(error.message));
  });
  const chars = $("chars");
  chars.addEventListener("mouseover", (event) => showTooltip(event));
  chars.addEventListener("mouseleave", () => { $("tooltip").hidden = true; });
  chars.addEventListener("mousedown", brushStart);
  chars.addEventListener("mousemove", brushMove);
  document.addEventListener("mouseup", () => { if (brushing !== null) { brushing = null; writeURL(); } });
  $("selection").addEventListener("click", (event) => {
    const unit = event.target.dataset.unit;
    if (unit === undefined) return;
    event.preventDefault();
    state.unit = Number(unit);
    state.view = "unit";
    $("unit").value = unit;
    show();
  });
}

(async () => {
  bind();
  try {
    await loadModels();
  } catch (error) {
    return say(error.message);
  }
  await show();
  if (state.view === "read" && state.from !== null) {
    setSpan(state.from, state.to);
    await match().catch((error) => say(error.message));
  }
})();
