// Peephole inspector: selecting and matching, the unit card, generation and model views. They use the helpers and the
// URL state of inspector.js, which loads after this file and starts the page.
"use strict";

// 2. Select like LSTMVis: drag over characters, then match the units on over the span.
let brushing = null;
function brushStart(event) {
  const step = Number(event.target.dataset.step);
  if (Number.isNaN(step)) return;
  brushing = step;
  setSpan(step, step + 1);
}
function brushMove(event) {
  const step = Number(event.target.dataset.step);
  if (brushing === null || Number.isNaN(step)) return;
  setSpan(Math.min(brushing, step), Math.max(brushing, step) + 1);
}
function setSpan(from, to) {
  state.from = from;
  state.to = to;
  $("span-label").textContent = `characters ${from}…${to - 1}`;
  for (const span of $("chars").children) span.classList.toggle("selected", span.dataset.step >= from && span.dataset.step < to);
}
async function match() {
  if (state.from === null || !reading) return say("Drag across some characters first.");
  writeURL();
  const answer = await api(`${base()}/layers/${encodeURIComponent(state.layer)}/match`, {
    text: reading.chars.join(""), span: { from: state.from, to: state.to }, threshold: state.threshold, field: state.field,
    constraints: { before: state.before, after: state.after },
  });
  const units = answer.units.map((u) => `<span title="${u.min.toFixed(3)} … ${u.max.toFixed(3)}"><a href="#" data-unit="${u.unit}">unit ${u.unit}</a> ${u.min.toFixed(2)}…${u.max.toFixed(2)}</span>`).join("");
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  $("selection").innerHTML = `<h2>${plural(answer.units.length, "unit")} above ${answer.threshold} over characters ${state.from}…${state.to - 1}</h2><div class="units">${units}</div>`
    + `<h2>${plural(answer.matches.length, "place")} in the corpus where they are on together, longest first</h2>`;
  for (const m of answer.matches) $("selection").append(snippet(m.window, m.values, `${m.text} ${m.from}…${m.to - 1}`, m.position, m.to - m.from));
}
function snippet(text, values, where, highlight, length = 1) {
  const line = document.createElement("div");
  line.className = "snippet";
  line.innerHTML = `<span class="where">${escapeHTML(where)}</span>`;
  [...text].forEach((c, index) => {
    const span = document.createElement("span");
    span.textContent = c === "\n" ? "↵" : c;
    if (values) span.style.backgroundColor = color(state.field, values[index]);
    if (index >= highlight && index < highlight + length) span.className = "hit";
    line.append(span);
  });
  return line;
}

// 3. A unit's card: top contexts, quantile samples, histogram, moments, saturation.
async function unitCard() {
  const answer = await api(`${base()}/layers/${encodeURIComponent(state.layer)}/units/${state.unit}?field=${state.field}&k=10`);
  const card = $("card");
  card.innerHTML = `<h2>${escapeHTML(answer.layer)} unit ${answer.unit}, field ${answer.field}, over ${answer.steps.toLocaleString()} corpus steps</h2>`;
  const grid = document.createElement("div");
  grid.className = "card-grid";
  const moments = document.createElement("div");
  const saturation = answer.saturation
    ? `<tr><td>left-saturated (&lt; 0.1)</td><td>${(answer.saturation.left * 100).toFixed(1)}%</td></tr><tr><td>right-saturated (&gt; 0.9)</td><td>${(answer.saturation.right * 100).toFixed(1)}%</td></tr>` : "";
  moments.innerHTML = `<h2>Moments</h2><table class="moments"><tr><td>mean</td><td>${answer.mean.toFixed(4)}</td></tr><tr><td>variance</td><td>${answer.variance.toFixed(4)}</td></tr>`
    + `<tr><td>range</td><td>${answer.min.toFixed(3)} … ${answer.max.toFixed(3)}</td></tr>${saturation}</table>`;
  const most = Math.max(...answer.histogram.counts);
  const histogram = document.createElement("div");
  histogram.innerHTML = `<h2>Histogram</h2><div class="bars">${answer.histogram.counts.map((c) => `<div title="${c}" style="height:${(100 * c / most).toFixed(1)}%"></div>`).join("")}</div>`
    + `<div class="axis"><span>${answer.min.toFixed(2)}</span><span>${answer.max.toFixed(2)}</span></div>`;
  const top = document.createElement("div");
  top.className = "wide";
  top.innerHTML = "<h2>Top-activating contexts</h2>";
  for (const c of answer.top) top.append(snippet(c.window, null, `${c.value.toFixed(3)}`, c.position));
  const bands = document.createElement("div");
  bands.className = "wide";
  bands.innerHTML = "<h2>Samples by quantile band</h2>";
  for (const band of answer.quantiles) for (const c of band.samples) bands.append(snippet(c.window, null, `${Math.round(band.from * 100)}–${Math.round(band.to * 100)}% ${c.value.toFixed(3)}`, c.position));
  grid.append(moments, histogram, top, bands);
  card.append(grid);
  await clampedNext(card, answer);
}

// The unit's effect on the output: the next-character distribution after the read view's text
// as it is, with the unit's state clamped to 0 (ablation), and clamped to its largest value over
// the corpus (an intervention on its h, or on c for the cell field; for a gate field, h clamped to 1).
async function clampedNext(card, statistics) {
  if (!model.vocabulary) return;
  const vocabulary = new Set(model.vocabulary);
  const context = [...state.text].filter((c) => vocabulary.has(c)).slice(-120).join("");
  if (!context) return;
  const field = state.field === "c" ? "c" : "h";
  const high = field === state.field ? statistics.max : 1;
  const clamp = (value) => [{ layer: state.layer, field, units: [state.unit], value }];
  const ask = (interventions) => api(`${base()}/predict`, { text: [context], top_k: 5, ...(interventions ? { interventions } : {}) });
  let answers;
  try {
    answers = await Promise.all([ask(null), ask(clamp(0)), ask(clamp(high))]);
  } catch (error) {
    return;  // a model whose output is not a softmax over its vocabulary has no next character
  }
  const effect = document.createElement("div");
  effect.className = "wide effect";
  const column = (title, answer) => `<div><h3>${title}</h3><ol>${answer.top_k[0].map((t) => `<li><code>${escapeHTML(JSON.stringify(t.token))}</code> ${t.p.toFixed(3)}</li>`).join("")}</ol></div>`;
  effect.innerHTML = `<h2>Effect on the next character after “…${escapeHTML(context.slice(-30))}”</h2><div class="columns">`
    + column("as is", answers[0]) + column(`${field} of unit ${state.unit} clamped to 0`, answers[1])
    + column(field === state.field ? `clamped to ${high.toFixed(3)} (its largest)` : "clamped to 1", answers[2]) + "</div>";
  const grid = card.querySelector(".card-grid");
  grid.insertBefore(effect, grid.querySelector(".wide"));  // after the moments and histogram, before the contexts
}

// 4. Generate, then colour the generated text by the chosen unit.
async function generate() {
  writeURL();
  const answer = await api(`${base()}/generate`, { prompt: state.prompt, length: state.length, temperature: state.temperature, seed: state.seed });
  const text = answer.prompt + answer.text;
  const output = await api(`${base()}/layers/${encodeURIComponent(state.layer)}/output`, { text: [text], sequences: true, gates: layerFields().length > 1 });
  const values = state.field === "h" ? output.sequence[0] : output.gates[state.field][0];
  const promptLength = [...answer.prompt].length;
  $("generated").replaceChildren(...[...text].map((c, step) => {
    const span = document.createElement("span");
    span.className = step < promptLength ? "ch prompt" : "ch";
    span.textContent = c;
    span.dataset.value = values[step][state.unit];
    span.style.backgroundColor = color(state.field, values[step][state.unit]);
    return span;
  }));
}

// 5. The model: its layers as a table and a graph, and its corpus.
async function modelView() {
  $("layers").tBodies[0].replaceChildren(...model.layers.map((l) => {
    const row = document.createElement("tr");
    row.innerHTML = `<td>${escapeHTML(l.name)}</td><td>${escapeHTML(l.class_name)}</td><td>(${l.output_shape.map((d) => d ?? "None").join(", ")})</td><td>${l.parameter_count.toLocaleString()}</td>`;
    return row;
  }));
  const nodes = [`<span class="node">input (${model.input_shape.map((d) => d ?? "None").join(", ")})</span>`]
    .concat(model.layers.map((l) => `<span class="node">${escapeHTML(l.name)}<br><small>${escapeHTML(l.class_name)}</small></span>`));
  $("graph").innerHTML = nodes.join('<span class="arrow">→</span>');
  const corpus = await api(`/models/${encodeURIComponent(state.model)}/corpus`);
  $("corpus").innerHTML = corpus.texts.length ? corpus.texts.map((t) => `<li>${escapeHTML(t.name)}: ${t.characters.toLocaleString()} characters</li>`).join("") : "<li>none (peephole corpus add)</li>";
}

