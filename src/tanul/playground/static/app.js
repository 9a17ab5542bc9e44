/* Page 1: the playground. The server trains (tanul); this page sends settings and draws frames.

   Frames arrive as one binary WebSocket message: uint32 (little-endian) length of a JSON header,
   the JSON, then GRID*GRID bytes of the output heat map and NEURON_GRID^2 bytes for every input
   and hidden neuron (byte b means the value b / 127.5 - 1). */
"use strict";

const FEATURE_LABEL = { x1: "x₁", x2: "x₂", x1sq: "x₁²", x2sq: "x₂²", x1x2: "x₁x₂", sinx1: "sin x₁", sinx2: "sin x₂" };
const ALL_FEATURES = Object.keys(FEATURE_LABEL);
const ACT_FORMULA = { tanh: "tanh", relu: "relu", sigmoid: "σ", linear: "", leakyrelu: "leaky_relu" };

let ws = null, workerId = null, settings = null, limits = null;
let points = null, lastFrame = null, history = [], playing = false;
let csvUpload = null;   // {id, columns, rows}

const $ = (id) => document.getElementById(id);

function connect() {
  ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/train`);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (ev) => {
    if (typeof ev.data === "string") onJson(JSON.parse(ev.data));
    else onFrame(ev.data);
  };
  ws.onclose = () => { setStatus("disconnected"); playing = false; };
}

function send(obj) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
}

function setStatus(s) {
  const el = $("status");
  el.textContent = s;
  el.classList.toggle("diverged", s === "diverged");
}

function onJson(msg) {
  if (msg.type === "hello") { workerId = msg.worker; limits = msg.limits; settings = msg.defaults; }
  else if (msg.type === "points") {
    points = msg; settings = msg.settings; history = []; playing = false;
    setStatus("paused"); syncControls(); showMessage("");
    $("legend").textContent = msg.task === "classification"
      ? "orange: class 0, blue: class 1; white rings: training points, black rings: test points."
      : "colour: the target scaled to [-1, 1] (orange -1, blue +1); white rings: training points, black rings: test points.";
    $("code").hidden = true; $("code-download").hidden = true;
  } else if (msg.type === "error") {
    showMessage(msg.message, true);
    if (msg.field === "worker" || msg.field === "workers") { playing = false; setStatus("paused"); }
    if (settings) syncControls();  // back to the settings the server runs
  }
}

function onFrame(buf) {
  const dv = new DataView(buf), n = dv.getUint32(0, true);
  const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
  const bytes = new Uint8Array(buf, 4 + n);
  lastFrame = { meta, bytes };
  if (meta.train_loss !== null) {
    if (!history.length || history[history.length - 1][0] < meta.epoch) history.push([meta.epoch, meta.train_loss, meta.test_loss]);
  }
  $("epoch").textContent = meta.epoch;
  $("train-loss").textContent = fmt(meta.train_loss, 3);
  $("test-loss").textContent = fmt(meta.test_loss, 3);
  $("train-loss").dataset.value = meta.train_loss === null ? "NaN" : meta.train_loss;
  $("test-loss").dataset.value = meta.test_loss === null ? "NaN" : meta.test_loss;
  if (meta.status === "diverged") { playing = false; setStatus("diverged"); }
  else setStatus(playing ? "playing" : "paused");
  if (meta.message) showMessage(meta.message, true);
  drawCurve();
  drawNetwork(meta, bytes);
  drawBoundary();
}

/* ---------------------------------------------------------------- controls */
function syncControls() {
  for (const k of ["lr", "activation", "optimizer", "batch_size", "regularization", "reg_rate", "dropout", "seed"]) $(k).value = settings[k];
  $("train_ratio").value = settings.train_ratio; $("train_ratio_out").textContent = Math.round(settings.train_ratio * 100) + "%";
  $("noise").value = settings.noise; $("noise_out").textContent = settings.noise;
  document.querySelectorAll("[data-dataset]").forEach((b) => b.classList.toggle("on", b.dataset.dataset === settings.dataset));
  $("shape").textContent = [settings.features.length, ...settings.layers, 1].join("-");
  $("nlayers").textContent = `${settings.layers.length} hidden layer${settings.layers.length === 1 ? "" : "s"}`;
}

function change(patch) {
  if (!settings) return;
  showMessage("");
  send({ type: "settings", settings: Object.assign({}, settings, patch) });
}

function numberInput(id) {
  $(id).addEventListener("change", () => {
    const raw = $(id).value.trim();
    const v = Number(raw);
    // the server checks ranges; only an empty or non-numeric field is caught here
    if (raw === "" || !isFinite(v)) { showMessage(`${id}: expected a number, got "${raw}"`); syncControls(); return; }
    change({ [id]: v });
  });
}

function setupControls() {
  $("play").onclick = () => { playing = true; setStatus("playing"); send({ type: "play" }); };
  $("pause").onclick = () => { playing = false; setStatus("paused"); send({ type: "pause" }); };
  $("step").onclick = () => { playing = false; send({ type: "step" }); };
  $("reset").onclick = () => { playing = false; send({ type: "reset" }); };
  for (const id of ["lr", "reg_rate", "dropout", "batch_size", "seed"]) numberInput(id);
  for (const id of ["activation", "optimizer", "regularization"]) $(id).onchange = () => change({ [id]: $(id).value });
  $("train_ratio").onchange = () => change({ train_ratio: Number($("train_ratio").value) });
  $("noise").onchange = () => change({ noise: Number($("noise").value) });
  $("train_ratio").oninput = () => { $("train_ratio_out").textContent = Math.round($("train_ratio").value * 100) + "%"; };
  $("noise").oninput = () => { $("noise_out").textContent = $("noise").value; };
  document.querySelectorAll("[data-dataset]").forEach((b) => { b.onclick = () => change({ dataset: b.dataset.dataset }); });
  $("add-layer").onclick = () => {
    if (settings.layers.length >= limits.max_layers) { showMessage(`at most ${limits.max_layers} hidden layers`); return; }
    const last = settings.layers.length ? settings.layers[settings.layers.length - 1] : 4;
    change({ layers: [...settings.layers, last] });
  };
  $("remove-layer").onclick = () => {
    if (!settings.layers.length) { showMessage("no hidden layer left to remove"); return; }
    change({ layers: settings.layers.slice(0, -1) });
  };
  $("show-test").onchange = drawBoundary;
  $("upload").onchange = upload;
  $("csv-use").onclick = () => {
    if (!csvUpload) return;
    change({ dataset: "csv", csv: { id: csvUpload.id, x1: Number($("csv_x1").value), x2: Number($("csv_x2").value),
                                      y: Number($("csv_y").value), task: $("csv_task").value } });
  };
  $("export-model").onclick = () => {
    const a = document.createElement("a");
    a.href = `/api/export/${workerId}/model.tanul`; a.download = "";
    document.body.appendChild(a); a.click(); a.remove();
  };
  $("export-code").onclick = async () => {
    const r = await fetch(`/api/export/${workerId}/run.py`);
    const text = await r.text();
    if (!r.ok) { showMessage(text); return; }
    $("code").textContent = text; $("code").hidden = false;
    const link = $("code-download");
    link.href = `/api/export/${workerId}/run.py?download=1`; link.download = ""; link.hidden = false;
  };
}

async function upload() {
  const file = $("upload").files[0];
  if (!file) return;
  showMessage(`uploading ${file.name} …`, false);
  const r = await fetch(`/api/csv?name=${encodeURIComponent(file.name)}`, { method: "POST", body: file, headers: { "Content-Type": "text/csv" } });
  let body;
  try { body = await r.json(); } catch (e) { body = { error: `HTTP ${r.status}` }; }
  if (!r.ok) { showMessage(`${file.name}: ${body.error}`); $("csvpanel").hidden = true; csvUpload = null; return; }
  csvUpload = body;
  for (const [id, dflt] of [["csv_x1", 0], ["csv_x2", 1], ["csv_y", body.columns.length - 1]]) {
    const sel = $(id);
    sel.innerHTML = "";
    body.columns.forEach((c, j) => { const o = document.createElement("option"); o.value = j; o.textContent = c; sel.appendChild(o); });
    sel.value = dflt;
  }
  $("csvinfo").textContent = `${file.name}: ${body.rows} rows, ${body.columns.length} columns`;
  $("csvpanel").hidden = false;
  showMessage(`${file.name} read: choose the columns and press "train on this CSV"`, false);
}

/* ---------------------------------------------------------------- drawing */
function drawCurve() {
  const c = $("curve"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  if (history.length < 2) return;
  const finite = history.flatMap((h) => [h[1], h[2]]).filter((v) => isFinite(v));
  const top = Math.max(...finite, 1e-6), last = history[history.length - 1][0], first = history[0][0];
  const X = (e) => ((e - first) / Math.max(last - first, 1)) * (c.width - 4) + 2;
  const Y = (v) => c.height - 2 - (Math.min(v, top) / top) * (c.height - 4);
  for (const [k, colour] of [[1, "#333"], [2, "#999"]]) {
    ctx.strokeStyle = colour; ctx.lineWidth = 1.5; ctx.beginPath();
    history.forEach((h, i) => (i ? ctx.lineTo(X(h[0]), Y(h[k])) : ctx.moveTo(X(h[0]), Y(h[k]))));
    ctx.stroke();
  }
  ctx.fillStyle = "#333"; ctx.font = "10px sans-serif"; ctx.fillText("training", 4, 10);
  ctx.fillStyle = "#999"; ctx.fillText("test", 50, 10);
}

function drawBoundary() {
  const c = $("boundary"), ctx = c.getContext("2d");
  if (!lastFrame || !points) return;
  const { meta, bytes } = lastFrame, g = meta.grid;
  if (g) paintBytes(c, bytes.subarray(0, g * g), g, g);
  else { ctx.fillStyle = "#fee"; ctx.fillRect(0, 0, c.width, c.height); }
  const [a0, a1, b0, b1] = points.domain;
  const X = (x) => ((x - a0) / (a1 - a0)) * c.width, Y = (y) => (1 - (y - b0) / (b1 - b0)) * c.height;
  const dot = (p, ring) => {
    const v = points.task === "classification" ? 2 * p[2] - 1 : p[2];
    ctx.beginPath(); ctx.arc(X(p[0]), Y(p[1]), 3, 0, 2 * Math.PI);
    ctx.fillStyle = colourOf(v); ctx.fill(); ctx.strokeStyle = ring; ctx.lineWidth = 1; ctx.stroke();
  };
  points.train.forEach((p) => dot(p, "#fff"));
  if ($("show-test").checked) points.test.forEach((p) => dot(p, "#000"));
}

let netShape = "";
function layout(sizes) {
  const net = $("network"), width = Math.max(net.clientWidth, 420);
  const cols = sizes.length, colW = (width - 80) / Math.max(cols - 1, 1);
  const pos = sizes.map((n, l) => Array.from({ length: n }, (_, i) => ({ x: 60 + l * colW - 20, y: 40 + i * 50 })));
  const inputs = ALL_FEATURES.length;
  net.style.height = `${40 + Math.max(inputs, ...sizes) * 50}px`;
  return pos;
}

function buildNetwork(meta) {
  const nodes = $("nodes");
  nodes.innerHTML = "";
  const sizes = meta.sizes, pos = layout(sizes);
  // every possible input is drawn; switched-off ones are faded and have no map
  const feat = meta.features;
  ALL_FEATURES.forEach((f, i) => {
    const d = document.createElement("div");
    d.className = "node" + (feat.includes(f) ? "" : " off");
    d.style.left = `${pos[0][0].x}px`; d.style.top = `${40 + i * 50}px`;
    d.innerHTML = `<span class="lab" title="switch this input">${feat.includes(f) ? "✓" : "✗"} ${FEATURE_LABEL[f]}</span><canvas width="24" height="24"></canvas>`;
    d.querySelector(".lab").onclick = () => {
      const next = feat.includes(f) ? feat.filter((x) => x !== f) : [...feat, f];
      if (!next.length) { showMessage("keep at least one input"); return; }
      change({ features: next });
    };
    if (feat.includes(f)) { d.dataset.layer = 0; d.dataset.index = feat.indexOf(f); }
    d.dataset.feature = f;
    nodes.appendChild(d);
  });
  // input positions follow ALL_FEATURES order
  pos[0] = feat.map((f) => ({ x: pos[0][0].x, y: 40 + ALL_FEATURES.indexOf(f) * 50 }));
  for (let l = 1; l < sizes.length; l++) {
    if (l < sizes.length - 1) {
      const h = document.createElement("div");
      h.className = "colhead"; h.style.left = `${pos[l][0].x - 10}px`;
      h.innerHTML = `<button title="one neuron more">+</button> <button title="one neuron less">−</button><br>${sizes[l]} neurons`;
      const [plus, minus] = h.querySelectorAll("button");
      plus.onclick = () => { const ls = [...settings.layers]; if (ls[l - 1] >= limits.max_neurons) { showMessage(`at most ${limits.max_neurons} neurons per layer`); return; } ls[l - 1]++; change({ layers: ls }); };
      minus.onclick = () => { const ls = [...settings.layers]; if (ls[l - 1] <= 1) { showMessage("at least one neuron per layer (remove the layer instead)"); return; } ls[l - 1]--; change({ layers: ls }); };
      nodes.appendChild(h);
    }
    for (let i = 0; i < sizes[l]; i++) {
      const d = document.createElement("div");
      d.className = "node"; d.style.left = `${pos[l][i].x}px`; d.style.top = `${pos[l][i].y}px`;
      d.dataset.layer = l; d.dataset.index = i;
      d.innerHTML = `<canvas width="24" height="24"></canvas>`;
      nodes.appendChild(d);
    }
  }
  nodes.querySelectorAll(".node").forEach((d) => {
    d.onmouseenter = (ev) => showTip(d, ev); d.onmousemove = (ev) => moveTip(ev); d.onmouseleave = () => { $("tip").hidden = true; };
  });
  return pos;
}

let positions = null;
function drawNetwork(meta, bytes) {
  const key = JSON.stringify([meta.sizes, meta.features]);
  if (key !== netShape) { positions = buildNetwork(meta); netShape = key; }
  const g = meta.grid, ng = meta.neuron_grid, base = g * g;
  if (ng) {
    const perNeuron = ng * ng;
    let k = 0;
    const sizes = meta.sizes;
    for (let l = 0; l < sizes.length - 1; l++) {
      for (let i = 0; i < sizes[l]; i++, k++) {
        const node = document.querySelector(`.node[data-layer="${l}"][data-index="${i}"] canvas`);
        if (node) paintBytes(node, bytes.subarray(base + k * perNeuron, base + (k + 1) * perNeuron), ng, ng);
      }
    }
    const outNode = document.querySelector(`.node[data-layer="${sizes.length - 1}"] canvas`);
    if (outNode && g) paintBytes(outNode, bytes.subarray(0, base), g, g);
  }
  // connections: colour by sign, width by magnitude
  const svg = $("links");
  const net = $("network");
  svg.setAttribute("viewBox", `0 0 ${net.clientWidth} ${net.clientHeight}`);
  if (!meta.weights) { svg.innerHTML = ""; return; }
  let html = "";
  meta.weights.forEach((layer, l) => {
    layer.W.forEach((row, i) => row.forEach((w, j) => {
      const a = positions[l][i], b = positions[l + 1][j];
      const x1 = a.x + 40, y1 = a.y + 20, x2 = b.x, y2 = b.y + 20, mx = (x1 + x2) / 2;
      const width = Math.min(0.5 + Math.abs(w) * 2, 8).toFixed(2);
      html += `<path d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}" stroke="${w >= 0 ? "#0877bd" : "#f59322"}" stroke-width="${width}" fill="none" opacity="0.75"><title>w = ${w}</title></path>`;
    }));
  });
  svg.innerHTML = html;
}

/* ---------------------------------------------------------------- hover: formula and weights */
function nodeName(l, i, meta) {
  if (l === 0) return FEATURE_LABEL[meta.features[i]];
  if (l === meta.sizes.length - 1) return "ŷ";
  return `h${l},${i + 1}`;
}

function showTip(d, ev) {
  if (!lastFrame || d.dataset.layer === undefined) return;
  const meta = lastFrame.meta, l = Number(d.dataset.layer), i = Number(d.dataset.index);
  let text;
  if (l === 0) text = `input ${FEATURE_LABEL[meta.features[i]]} (the map shows its value over the plane)`;
  else if (!meta.weights) text = "no weights: the network diverged";
  else {
    const W = meta.weights[l - 1].W, b = meta.weights[l - 1].b[i];
    const terms = W.map((row, k) => `${row[i] >= 0 ? "+" : "−"} ${Math.abs(row[i]).toFixed(3)}·${nodeName(l - 1, k, meta)}`);
    const inner = `${terms.join(" ").replace(/^\+ /, "")} ${b >= 0 ? "+" : "−"} ${Math.abs(b).toFixed(3)}`;
    const last = l === meta.sizes.length - 1;
    const f = last ? (meta.task === "classification" ? "σ" : "") : ACT_FORMULA[meta.activation];
    text = `${nodeName(l, i, meta)} = ${f}(${inner})\n\nweights in: ${W.map((row) => row[i].toFixed(4)).join(", ")}\nbias: ${b.toFixed(4)}`;
    if (last && meta.task === "classification") text += "\n(σ gives the probability of class 1)";
  }
  $("tip").textContent = text; $("tip").hidden = false; moveTip(ev);
}

function moveTip(ev) {
  const t = $("tip");
  t.style.left = `${ev.clientX + 14}px`; t.style.top = `${ev.clientY + 14}px`;
}

setupControls();
connect();
window.addEventListener("resize", () => { netShape = ""; if (lastFrame) drawNetwork(lastFrame.meta, lastFrame.bytes); });
