"""The playground in a real browser (Debian's headless Chromium driven by Playwright).

The flows of issue 13: spiral until the test loss shown is below 0.1 with both class colours on
the boundary canvas; a CSV uploaded and trained on; the model exported and loaded back with
tanul to the same predictions; on page 2 a vertical stroke gives a prediction and ten
probabilities summing to 1. With TANUL_SCREENSHOTS=1 the screenshots of docs/img are rewritten
(with TANUL_SCREENSHOT_MODEL=FILE page 2 shows that model, e.g. one `tanul train` wrote).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"


def circle_csv(n: int = 200, seed: int = 0) -> str:
    """A disc of class 1 inside a square of class 0, in units unlike toy2d's."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, (n, 2))
    y = (x[:, 0] ** 2 + x[:, 1] ** 2 < 4).astype(int)
    return "x,y,label\n" + "".join(f"{a:.4f},{b:.4f},{c}\n" for (a, b), c in zip(x, y))


def _ready(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => typeof workerId === 'string' && workerId && lastFrame !== null")


def _colours(page) -> dict[str, int]:
    """Pixels of the boundary canvas that are clearly blue or clearly orange."""
    return page.evaluate("""() => {
        const c = document.querySelector('[data-testid=boundary]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let blue = 0, orange = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 2] > d[i] + 60) blue++;
            if (d[i] > d[i + 2] + 60) orange++;
        }
        return {blue, orange};
    }""")


def _shape(page) -> str:
    return page.inner_text("#shape")


def test_spiral_learns_until_test_loss_below_0_1(page, live_server):
    _ready(page, live_server)
    page.click("[data-testid=dataset-spiral]")
    page.wait_for_function("() => settings.dataset === 'spiral'")
    # add layers until the network can learn the spiral: three hidden layers of eight
    while _shape(page).count("-") < 4:
        before = _shape(page)
        page.click("[data-testid=add-layer]")
        page.wait_for_function("(b) => document.querySelector('#shape').textContent !== b", arg=before)
    assert _shape(page) == "2-8-8-8-1"
    page.click("[data-testid=play]")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=test-loss]').dataset.value) < 0.1",
        timeout=60_000)
    page.click("[data-testid=pause]")
    # a step already in flight may land after the pause, so the loss can move a little past 0.1;
    # what must hold: the number shown is the loss the page holds, rounded to 3 places, and it
    # stays low once paused
    shown, value = page.evaluate(  # both read in one turn of the page's event loop
        "() => { const e = document.querySelector('[data-testid=test-loss]');"
        " return [e.textContent, Number(e.dataset.value)]; }")
    assert len(shown.split(".")[1]) == 3 and abs(float(shown) - value) <= 0.0005 + 1e-12
    assert value < 0.15
    assert int(page.inner_text("[data-testid=epoch]")) > 0
    colours = _colours(page)
    assert colours["blue"] > 2000 and colours["orange"] > 2000, colours
    # hovering a neuron shows its formula and weights; the drawn connections are one per weight
    page.hover(".node[data-layer='2'][data-index='0']")
    tip = page.inner_text("#tip")
    assert tip.startswith("h2,1 = tanh(") and "weights in:" in tip and tip.count("h1,") == 8
    assert page.locator("#links path").count() == 2 * 8 + 8 * 8 + 8 * 8 + 8
    if os.environ.get("TANUL_SCREENSHOTS"):
        page.check("#show-test")
        page.hover(".node[data-layer='2'][data-index='0']")
        page.screenshot(path=str(SHOTS / "playground.png"), full_page=False)


def test_the_worker_ends_when_its_page_goes_away(page, live_server):
    import time

    workers = live_server.app.state.workers
    before = set(workers)
    _ready(page, live_server)
    mine = page.evaluate("() => workerId")
    assert mine in workers and mine not in before
    page.click("[data-testid=play]")
    page.wait_for_function("() => Number(document.querySelector('[data-testid=epoch]').textContent) > 0")
    page.goto("about:blank")
    deadline = time.monotonic() + 10
    while mine in workers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mine not in workers


def test_out_of_range_settings_get_a_message(page, live_server):
    _ready(page, live_server)
    page.fill("#lr", "-1")
    page.press("#lr", "Enter")
    page.wait_for_selector("[data-testid=message]:not([hidden])")
    assert "lr: expected a number in (0, 10], got -1" in page.inner_text("[data-testid=message]")
    assert page.input_value("#lr") == "0.01"  # back to what the worker runs
    page.fill("#batch_size", "0")
    page.press("#batch_size", "Enter")
    page.wait_for_function("() => document.querySelector('[data-testid=message]').textContent.includes('batch_size')")
    page.click("[data-testid=step]")  # the worker goes on
    page.wait_for_function("() => document.querySelector('[data-testid=epoch]').textContent === '1'")


def test_csv_upload_and_train(page, live_server):
    _ready(page, live_server)
    # a CSV with a word in it: the page names the line and the column
    bad = "a,b,label\n" + "1,2,0\n" * 5 + "1,oops,1\n" + "3,4,1\n" * 10
    page.set_input_files("[data-testid=upload]", files=[
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    page.wait_for_selector("#csvpanel:not([hidden])")
    page.click("[data-testid=csv-use]")
    page.wait_for_function("() => document.querySelector('[data-testid=message]').textContent.includes('line 7')")
    assert "'b'" in page.inner_text("[data-testid=message]")
    # a good one
    page.set_input_files("[data-testid=upload]", files=[
        {"name": "circle.csv", "mimeType": "text/csv", "buffer": circle_csv().encode()}])
    page.wait_for_function("() => document.querySelector('#csvinfo').textContent.startsWith('circle.csv')")
    page.click("[data-testid=csv-use]")
    page.wait_for_function("() => settings.dataset === 'csv' && points.train.length + points.test.length === 200")
    page.click("[data-testid=play]")
    page.wait_for_function("() => Number(document.querySelector('[data-testid=epoch]').textContent) >= 30")
    page.click("[data-testid=pause]")
    first, last = page.evaluate("() => [history[0][1], history[history.length - 1][1]]")
    assert np.isfinite(last) and last < first  # it learned something
    colours = _colours(page)
    assert colours["blue"] > 0 and colours["orange"] > 0


def test_export_model_loads_to_the_same_predictions(page, live_server, tmp_path):
    import tanul
    from tanul.playground.trainer import GRID, _grid, features

    _ready(page, live_server)
    page.click("[data-testid=dataset-xor]")
    page.wait_for_function("() => settings.dataset === 'xor'")
    for _ in range(3):
        e = int(page.inner_text("[data-testid=epoch]"))
        page.click("[data-testid=step]")
        page.wait_for_function("(e) => Number(document.querySelector('[data-testid=epoch]').textContent) > e", arg=e)
    with page.expect_download() as dl:
        page.click("[data-testid=export-model]")
    path = tmp_path / "model.tanul"
    dl.value.save_as(path)
    model = tanul.load_model(path)
    # the page's output heat map: bytes of 2σ(logit) - 1 on the grid of the data's domain
    shown = np.array(page.evaluate("() => Array.from(lastFrame.bytes.subarray(0, lastFrame.meta.grid ** 2))"))
    domain, feats = page.evaluate("() => [points.domain, lastFrame.meta.features]")
    logits = model.predict(features(_grid(tuple(domain), GRID), feats))[:, 0].astype(np.float64)
    mine = np.rint((2 / (1 + np.exp(-logits)) - 1 + 1) * 127.5)
    assert np.abs(mine - shown).max() <= 1
    # the Python script shown in the page replays the run to the same model
    page.click("[data-testid=export-code]")
    page.wait_for_selector("[data-testid=code]:not([hidden])")
    script = page.inner_text("[data-testid=code]")
    (tmp_path / "run.py").write_text(script)
    out = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    replay = tanul.load_model(tmp_path / "playground_run.tanul")
    x = np.random.default_rng(1).uniform(-1, 1, (50, 2)).astype(np.float32)
    np.testing.assert_allclose(replay.predict(x), model.predict(x), rtol=0, atol=1e-6)
    shown = float(page.get_attribute("[data-testid=test-loss]", "data-value"))
    assert f"test loss {shown:.4f}" in out.stdout


def test_lenet_page_vertical_stroke(page, live_server):
    page.goto(live_server + "/lenet")
    page.wait_for_selector("[data-testid=model-status][data-state=ready]")
    box = page.locator("[data-testid=draw-canvas]").bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + 40)
    page.mouse.down()
    for k in range(1, 21):
        page.mouse.move(x, box["y"] + 40 + k * (box["height"] - 80) / 20)
    page.mouse.up()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=probabilities] [data-p]').length === 10")
    # predictions stream in while the stroke is drawn: read the prediction and the probabilities in
    # one script, so both come from the same rendered answer
    pred, probs = page.evaluate("""() => [
        document.querySelector('[data-testid=prediction]').textContent,
        [...document.querySelectorAll('[data-testid=probabilities] [data-p]')].map(e => e.dataset.p)]""")
    probs = [float(v) for v in probs]
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-6 and min(probs) >= 0
    assert pred.isdigit() and int(pred) == int(np.argmax(probs))
    # every feature map of the two conv and two pooling layers, and both filter banks
    assert page.locator("#layers .layerrow").count() >= 4 + 2 + 2
    if os.environ.get("TANUL_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / "playground-lenet.png"), full_page=True)
    page.click("[data-testid=clear]")
    assert page.inner_text("[data-testid=prediction]") == ""
