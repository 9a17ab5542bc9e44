/* Shared helpers of the two pages (no libraries). */
"use strict";

/* byte 0..255 (value -1..1) -> [r, g, b]: orange (-1), light grey (0), blue (+1), as in the
   TensorFlow Playground. */
const ORANGE = [245, 147, 34], MID = [232, 234, 235], BLUE = [8, 119, 189];
const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const v = i / 127.5 - 1, a = Math.abs(v), end = v < 0 ? ORANGE : BLUE;
    for (let c = 0; c < 3; c++) lut[3 * i + c] = Math.round(MID[c] + (end[c] - MID[c]) * a);
  }
  return lut;
})();

function colourOf(v) {  // v in [-1, 1] -> css colour
  const i = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
  return `rgb(${LUT[3 * i]},${LUT[3 * i + 1]},${LUT[3 * i + 2]})`;
}

/* Paint an n x n (or w x h) block of bytes into a canvas, scaled to the canvas size. */
function paintBytes(canvas, bytes, w, h, lut = LUT, smooth = true) {
  const off = document.createElement("canvas");
  off.width = w; off.height = h;
  const octx = off.getContext("2d"), img = octx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const b = bytes[i];
    if (lut) {
      img.data[4 * i] = lut[3 * b]; img.data[4 * i + 1] = lut[3 * b + 1]; img.data[4 * i + 2] = lut[3 * b + 2];
    } else {
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = b;
    }
    img.data[4 * i + 3] = 255;
  }
  octx.putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = smooth;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

function showMessage(text, isError = true) {
  const el = document.getElementById("message");
  if (!el) return;
  if (!text) { el.hidden = true; el.textContent = ""; return; }
  el.hidden = false;
  el.textContent = text;
  el.classList.toggle("error", isError);
}

function fmt(v, digits = 4) {
  return v === null || v === undefined || !isFinite(v) ? "NaN" : Number(v).toFixed(digits);
}
