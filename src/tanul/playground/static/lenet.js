/* Page 2: draw a digit, see inside the network. The server centres and scales the drawing as
   MNIST digits are (tanul.playground.lenet.mnist_style) and runs the model layer by layer. */
"use strict";

const $ = (id) => document.getElementById(id);
const canvas = $("draw"), ctx = canvas.getContext("2d");
let drawing = false, last = null, ready = false, pending = false, timer = null;

function clearCanvas() {
  ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  $("prediction").textContent = ""; $("probabilities").innerHTML = ""; $("layers").innerHTML = "";
  $("input28").getContext("2d").clearRect(0, 0, 28, 28);
}

function point(ev) {
  const r = canvas.getBoundingClientRect();
  return [(ev.clientX - r.left) * (canvas.width / r.width), (ev.clientY - r.top) * (canvas.height / r.height)];
}

canvas.addEventListener("pointerdown", (ev) => { drawing = true; last = point(ev); canvas.setPointerCapture(ev.pointerId); stroke(last); });
canvas.addEventListener("pointermove", (ev) => { if (drawing) stroke(point(ev)); });
const end = () => { if (drawing) { drawing = false; predictSoon(0); } };
canvas.addEventListener("pointerup", end);
canvas.addEventListener("pointercancel", end);
$("clear").onclick = clearCanvas;

function stroke(p) {
  ctx.strokeStyle = "#fff"; ctx.lineWidth = 18; ctx.lineCap = "round"; ctx.lineJoin = "round";
  ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(p[0], p[1]); ctx.stroke();
  last = p;
  predictSoon(120);
}

function predictSoon(ms) {
  if (timer) clearTimeout(timer);
  timer = setTimeout(predict, ms);
}

async function predict() {
  if (!ready) return;
  if (pending) { predictSoon(60); return; }
  pending = true;
  try {
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const grey = new Uint8Array(canvas.width * canvas.height);
    for (let i = 0; i < grey.length; i++) grey[i] = img[4 * i];
    const r = await fetch(`/api/lenet/predict?w=${canvas.width}&h=${canvas.height}`, { method: "POST", body: grey, headers: { "Content-Type": "application/octet-stream" } });
    const out = await r.json();
    if (!r.ok) { showMessage(out.error); return; }
    showMessage("");
    if (out.empty) { clearCanvas(); return; }
    show(out);
  } finally { pending = false; }
}

function b64bytes(s) {
  const bin = atob(s), out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function mapCanvas(bytes, w, h, scale, lut) {
  const c = document.createElement("canvas");
  c.width = w; c.height = h; c.style.width = `${w * scale}px`; c.style.height = `${h * scale}px`;
  paintBytes(c, bytes, w, h, lut, false);
  return c;
}

function show(out) {
  paintBytes($("input28"), b64bytes(out.input), 28, 28, null, false);
  $("prediction").textContent = out.prediction;
  const probs = $("probabilities");
  probs.innerHTML = "";
  out.probabilities.forEach((p, d) => {
    const row = document.createElement("div");
    row.className = "row" + (d === out.prediction ? " best" : "");
    row.innerHTML = `<span>${d}</span><div class="barbg"><div class="fill" style="width:${(100 * p).toFixed(1)}%"></div></div><span class="p" data-p="${p}">${(100 * p).toFixed(1)}%</span>`;
    probs.appendChild(row);
  });
  const layers = $("layers");
  layers.innerHTML = "";
  let convIndex = 0;
  out.maps.forEach((m) => {
    const [c, h, w] = m.shape, bytes = b64bytes(m.data);
    const row = document.createElement("div");
    row.className = "layerrow";
    row.innerHTML = `<h3>${m.name} (${m.kind}): ${c}@${h}×${w}</h3>`;
    const cells = document.createElement("div");
    const scale = Math.max(2, Math.floor(56 / w));
    for (let k = 0; k < c; k++) cells.appendChild(mapCanvas(bytes.subarray(k * h * w, (k + 1) * h * w), w, h, scale, null));
    row.appendChild(cells);
    layers.appendChild(row);
    if (m.kind === "Conv2D" && out.filters[convIndex]) {
      const f = out.filters[convIndex++], [F, C, kh, kw] = f.shape, fb = b64bytes(f.data);
      const fr = document.createElement("div");
      fr.className = "layerrow";
      fr.innerHTML = `<h3>${f.name}: its ${F} learned filters (${C}×${kh}×${kw}; blue positive, orange negative${C > 1 ? "; one row per filter, one tile per input map" : ""})</h3>`;
      for (let o = 0; o < F; o++) {
        const line = document.createElement("div");
        for (let i = 0; i < C; i++) {
          const off = (o * C + i) * kh * kw;
          line.appendChild(mapCanvas(fb.subarray(off, off + kh * kw), kw, kh, C > 1 ? 3 : 6, LUT));
        }
        line.className = "filter";
        fr.appendChild(line);
      }
      layers.appendChild(fr);
    }
  });
  out.dense.forEach((dl) => {
    const row = document.createElement("div");
    row.className = "layerrow";
    const m = Math.max(...dl.values.map(Math.abs), 1e-9);
    row.innerHTML = `<h3>${dl.name} (${dl.kind}): ${dl.values.length} activations</h3>`;
    const cells = document.createElement("div");
    cells.className = "cells";
    dl.values.forEach((v, i) => {
      const s = document.createElement("span");
      s.style.background = colourOf(v / m); s.title = `unit ${i}: ${v}`;
      cells.appendChild(s);
    });
    row.appendChild(cells);
    layers.appendChild(row);
  });
}

async function pollStatus() {
  const r = await fetch("/api/lenet/status");
  let st = await r.json();
  if (st.state === "empty") st = await (await fetch("/api/lenet/start", { method: "POST" })).json();
  $("status-text").textContent = st.state === "ready" ? st.message : (st.message || st.state);
  $("progress").value = st.progress;
  $("model-status").dataset.state = st.state;
  if (st.state === "ready") { ready = true; $("progress").hidden = true; predictSoon(0); return; }
  if (st.state === "error") { showMessage(st.message); return; }
  setTimeout(pollStatus, 500);
}

clearCanvas();
pollStatus();
