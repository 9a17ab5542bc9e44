"""The playground's server through Starlette's test client: every endpoint and every bad input."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import tanul
from tanul.playground import create_app
from tanul.playground.csvdata import MAX_BYTES
from tanul.playground.server import STATIC
from tanul.playground.trainer import GRID, NEURON_GRID, _grid, decode_frame, features

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def client(lenet_file, tmp_path):
    app = create_app(str(lenet_file), cache_dir=tmp_path)
    with TestClient(app) as c:
        yield c


def _open(ws):
    hello = ws.receive_json()
    assert hello["type"] == "hello" and re.fullmatch(r"[0-9a-f]{32}", hello["worker"])
    points = ws.receive_json()
    assert points["type"] == "points"
    meta, payload = decode_frame(ws.receive_bytes())
    return hello, points, meta, payload


def _frame(ws):
    msg = ws.receive()
    assert "bytes" in msg and msg["bytes"] is not None, f"expected a frame, got {msg}"
    return decode_frame(msg["bytes"])


def _settings(ws, **kw):
    """Send settings; returns ("error", message) or ("ok", points, meta, payload)."""
    ws.send_json({"type": "settings", "settings": kw})
    msg = ws.receive_json()
    if msg["type"] == "error":
        return "error", msg
    meta, payload = _frame(ws)
    return "ok", msg, meta, payload


# ----------------------------------------------------------------------------- pages
def test_pages_and_assets_are_served_and_need_no_network(client):
    for url in ("/", "/lenet", "/static/app.js", "/static/lenet.js", "/static/common.js", "/static/style.css"):
        r = client.get(url)
        assert r.status_code == 200, url
    page = client.get("/").text
    for tid in ["dataset-circle", "dataset-xor", "dataset-gauss", "dataset-spiral", "upload", "play", "pause",
                "step", "reset", "epoch", "train-loss", "test-loss", "boundary", "add-layer", "remove-layer",
                "export-model", "export-code"]:
        assert f'data-testid="{tid}"' in page, tid
    lenet = client.get("/lenet").text
    for tid in ["draw-canvas", "clear", "prediction", "probabilities"]:
        assert f'data-testid="{tid}"' in lenet, tid
    # no CDN, no remote font: every asset is inside the package
    for f in STATIC.iterdir():
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", f.read_text()), f.name
    assert client.get("/static/../server.py").status_code == 404


# ----------------------------------------------------------------------------- the worker
def test_worker_streams_frames_with_byte_heat_maps(client):
    with client.websocket_connect("/ws/train") as ws:
        hello, points, meta, payload = _open(ws)
        assert meta["epoch"] == 0 and meta["sizes"] == [2, 8, 8, 1] and meta["grid"] == GRID
        assert len(payload) == GRID * GRID + (2 + 8 + 8) * NEURON_GRID ** 2
        assert len(points["train"]) == 250 and len(points["test"]) == 250
        assert [len(w["W"]) for w in meta["weights"]] == [2, 8, 8]
        ws.send_json({"type": "step"})
        meta1, _ = _frame(ws)
        assert meta1["epoch"] == 1 and meta1["train_loss"] < meta["train_loss"]
        ws.send_json({"type": "play"})
        epochs = [_frame(ws)[0]["epoch"] for _ in range(3)]
        assert epochs == sorted(epochs) and epochs[0] > 1
        ws.send_json({"type": "pause"})
        ws.send_json({"type": "reset"})
        # frames still in flight, then the new run's points and frame at epoch 0
        while True:
            msg = ws.receive()
            if msg.get("text"):
                break
        meta2, _ = _frame(ws)
        assert meta2["epoch"] == 0


def test_output_heat_map_is_the_model_on_the_grid(client):
    with client.websocket_connect("/ws/train") as ws:
        hello, points, _, _ = _open(ws)
        ws.send_json({"type": "step"})
        meta, payload = _frame(ws)
        r = client.get(f"/api/export/{hello['worker']}/model.tanul")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    path = client.app.state.lenet.cache_dir / "m.tanul"
    path.write_bytes(r.content)
    model = tanul.load_model(path)
    z = model.predict(features(_grid(tuple(points["domain"]), GRID), meta["features"]))[:, 0].astype(np.float64)
    expected = np.rint((2 / (1 + np.exp(-z))) * 127.5)
    got = np.frombuffer(payload[:GRID * GRID], np.uint8)
    assert np.abs(expected - got).max() <= 1


@pytest.mark.parametrize("settings, field, text", [
    ({"lr": -1}, "lr", "expected a number in (0, 10], got -1"),
    ({"lr": 0}, "lr", "got 0"),
    ({"lr": "fast"}, "lr", "expected a number, got 'fast'"),
    ({"layers": [8] * 100}, "layers", "at most 6 hidden layers, got 100"),
    ({"layers": [9]}, "layers", "expected 1 to 8 neurons in hidden layer 1, got 9"),
    ({"layers": [0]}, "layers", "got 0"),
    ({"layers": "8,8"}, "layers", "list of neuron counts"),
    ({"batch_size": 0}, "batch_size", "expected an integer in [1, 1000], got 0"),
    ({"batch_size": 2.5}, "batch_size", "expected an integer"),
    ({"batch_size": 500}, "batch_size", "at most the 250 training points"),
    ({"dropout": 0.95}, "dropout", "got 0.95"),
    ({"noise": -0.1}, "noise", "got -0.1"),
    ({"seed": -3}, "seed", "got -3"),
    ({"seed": True}, "seed", "got True"),
    ({"activation": "swish"}, "activation", "expected one of tanh, relu"),
    ({"optimizer": "lbfgs"}, "optimizer", "got 'lbfgs'"),
    ({"features": []}, "features", "non-empty list"),
    ({"features": ["x3"]}, "features", "x3"),
    ({"dataset": "moons"}, "dataset", "got 'moons'"),
    ({"dataset": "csv"}, "csv", "after uploading a CSV"),
    ({"path": "/etc/passwd"}, "path", "unknown setting"),
    ({"n_points": 101}, "n_points", "even number"),
])
def test_bad_settings_are_refused_and_the_worker_goes_on(client, settings, field, text):
    with client.websocket_connect("/ws/train") as ws:
        _open(ws)
        kind, msg = _settings(ws, **settings)
        assert kind == "error" and msg["field"] == field and text in msg["message"], msg
        ws.send_json({"type": "step"})
        meta, _ = _frame(ws)
        assert meta["epoch"] == 1 and meta["sizes"] == [2, 8, 8, 1]  # the old run goes on


@pytest.mark.parametrize("raw, text", [
    ("not json", "expected JSON"),
    ("[1, 2]", "expected a JSON object with a 'type'"),
    ('{"type": "exec", "code": "import os"}', "unknown message type 'exec'"),
    ('{"type": "settings", "settings": [1]}', "expected an object"),
])
def test_bad_messages_get_an_answer(client, raw, text):
    with client.websocket_connect("/ws/train") as ws:
        _open(ws)
        ws.send_text(raw)
        msg = ws.receive_json()
        assert msg["type"] == "error" and text in msg["message"]
        ws.send_json({"type": "step"})
        assert _frame(ws)[0]["epoch"] == 1


def test_good_settings_start_a_new_run(client):
    with client.websocket_connect("/ws/train") as ws:
        _open(ws)
        kind, points, meta, payload = _settings(
            ws, dataset="circle", layers=[3, 2, 4], features=["x1", "x2", "x1sq", "sinx2"], activation="relu",
            optimizer="rmsprop", regularization="l1", reg_rate=0.001, dropout=0.2, batch_size=25, seed=3,
            train_ratio=0.3, noise=0.2)
        assert kind == "ok" and meta["sizes"] == [4, 3, 2, 4, 1] and len(points["train"]) == 150
        assert len(payload) == GRID * GRID + (4 + 3 + 2 + 4) * NEURON_GRID ** 2
        assert points["settings"]["features"] == ["x1", "x2", "x1sq", "sinx2"]


def test_a_diverged_worker_says_so_and_can_be_reset(client):
    with client.websocket_connect("/ws/train") as ws:
        _open(ws)
        kind, *_ = _settings(ws, dataset="gauss", optimizer="sgd", lr=10, activation="linear", layers=[8] * 6,
                             batch_size=1)
        assert kind == "ok"
        ws.send_json({"type": "step"})
        meta, payload = _frame(ws)
        assert meta["status"] == "diverged" and meta["train_loss"] is None and payload == b""
        ws.send_json({"type": "play"})
        meta, _ = _frame(ws)
        assert meta["status"] == "diverged" and "press reset" in meta["message"]
        ws.send_json({"type": "reset"})
        assert ws.receive_json()["type"] == "points"
        meta, _ = _frame(ws)
        assert meta["status"] == "ready" and meta["epoch"] == 0 and meta["train_loss"] is not None


def test_workers_are_bounded_and_end_with_their_page(lenet_file, tmp_path):
    app = create_app(str(lenet_file), cache_dir=tmp_path, max_workers=1)
    with TestClient(app) as c:
        with c.websocket_connect("/ws/train") as ws:
            _open(ws)
            assert len(app.state.workers) == 1
            with c.websocket_connect("/ws/train") as ws2:
                msg = ws2.receive_json()
                assert msg["type"] == "error" and "at most 1" in msg["message"]
            ws.send_json({"type": "play"})
            _frame(ws)
        for _ in range(100):  # the worker is gone once its page is
            if not app.state.workers:
                break
            __import__("time").sleep(0.02)
        assert app.state.workers == {}
        with c.websocket_connect("/ws/train") as ws:  # and a new page gets one
            _open(ws)
    with pytest.raises(ValueError, match="max_workers"):
        create_app(str(lenet_file), max_workers=0)


# ----------------------------------------------------------------------------- CSV
def _csv_rows(n, label=lambda i: i % 2):
    return "x1,x2,label\n" + "".join(f"{i * 0.1:.2f},{(i * 7) % 13 * 0.3:.2f},{label(i)}\n" for i in range(n))


def test_csv_upload_then_train_classification_and_regression(client):
    r = client.post("/api/csv?name=mine.csv", content=_csv_rows(60).encode())
    assert r.status_code == 200
    info = r.json()
    assert info["columns"] == ["x1", "x2", "label"] and info["rows"] == 60
    with client.websocket_connect("/ws/train") as ws:
        _open(ws)
        csv = {"id": info["id"], "x1": 0, "x2": 1, "y": 2, "task": "classification"}
        kind, points, meta, _ = _settings(ws, dataset="csv", csv=csv)
        assert kind == "ok" and points["task"] == "classification"
        assert len(points["train"]) == 30 and {p[2] for p in points["train"]} == {0.0, 1.0}
        ws.send_json({"type": "step"})
        assert np.isfinite(_frame(ws)[0]["train_loss"])
        kind, points, meta, _ = _settings(ws, dataset="csv", csv=csv | {"x1": 2, "y": 0, "task": "regression"})
        assert kind == "ok" and meta["task"] == "regression"
        ys = [p[2] for p in points["train"] + points["test"]]
        assert min(ys) == -1 and max(ys) == 1  # the target scaled to [-1, 1]


def test_csv_with_a_constant_or_subnormal_column_still_trains(client):
    body = "a,b,c\n" + "".join(f"{'2.2e-309' if i % 2 else '0'},{i},{i * 0.5}\n" for i in range(20))
    info = client.post("/api/csv", content=body.encode()).json()
    with client.websocket_connect("/ws/train") as ws:
        _open(ws)
        kind, points, meta, _ = _settings(ws, dataset="csv", csv={"id": info["id"], "x1": 0, "x2": 1, "y": 2,
                                                                  "task": "regression"})
        assert kind == "ok" and {p[0] for p in points["train"]} == {-1.0}
        ws.send_json({"type": "step"})
        assert np.isfinite(_frame(ws)[0]["train_loss"])


def test_csv_without_header_and_with_semicolons(client):
    body = "".join(f"{i};{i % 5};{i % 2}\n" for i in range(20))
    info = client.post("/api/csv", content=body.encode()).json()
    assert info["columns"] == ["column 1", "column 2", "column 3"] and info["rows"] == 20


@pytest.mark.parametrize("body, status, text", [
    (b"a,b\n" + b"1,2\n" * 20, 400, "2 column(s); expected at least 3"),
    (b"a,b,c\n" + b"1,2,0\n" * 5, 400, "only 5 data rows; expected at least 10"),
    (b"a,b,c\n" + b"1,2,0\n" * 10_001, 400, "at most 10,000"),
    (b"a,b,c\n" + b"1,2,0\n" * 12 + b"1,2\n", 400, "line 14: 2 cells; expected 3"),
    (b"a,b,c\n\xff\xfe1,2,3\n", 400, "not UTF-8"),
    (b"", 400, "the file is empty"),
])
def test_bad_csv_files_are_refused_with_a_message(client, body, status, text):
    r = client.post("/api/csv", content=body)
    assert r.status_code == status and text in r.json()["error"], r.json()


@pytest.mark.parametrize("rows, task, text", [
    (["1,2,0"] * 6 + ["1,abc,1"] + ["3,4,1"] * 6, "classification", "line 8, column 'b': expected a number, got 'abc'"),
    (["1,2,0"] * 6 + ["1,nan,1"] + ["3,4,1"] * 6, "classification", "line 8, column 'b': expected a finite number"),
    (["1,2,0"] * 3 + [",2,1"] + ["3,4,1"] * 9, "classification", "line 5, column 'a': the cell is empty"),
    (["1,2,0"] * 12, "classification", "column 'c': only one class (0) in 12 rows"),
    ([f"1,2,{i % 3}" for i in range(12)], "classification", "3 different values (0, 1, 2)"),
    (["1,2,0"] * 6 + ["1,2,inf"] + ["3,4,1"] * 6, "regression", "line 8, column 'c': expected a finite number, got 'inf'"),
    (["1,2,0"] * 6 + ["-1e300,2,1"] + ["3,4,1"] * 6, "regression", "line 8, column 'a': expected a number between -1e15 and 1e15"),
])
def test_csv_columns_that_are_not_what_the_page_asked_for(client, rows, task, text):
    info = client.post("/api/csv", content=("a,b,c\n" + "\n".join(rows) + "\n").encode()).json()
    with client.websocket_connect("/ws/train") as ws:
        _open(ws)
        kind, msg = _settings(ws, dataset="csv", csv={"id": info["id"], "x1": 0, "x2": 1, "y": 2, "task": task})
        assert kind == "error" and text in msg["message"], msg
        ws.send_json({"type": "step"})
        assert _frame(ws)[0]["epoch"] == 1


def test_csv_column_and_id_checks(client):
    info = client.post("/api/csv", content=_csv_rows(20).encode()).json()
    with client.websocket_connect("/ws/train") as ws:
        _open(ws)
        for csv, text in [({"id": info["id"], "x1": 0, "x2": 7, "y": 2, "task": "classification"}, "column 7 does not exist"),
                          ({"id": info["id"], "x1": 0, "x2": 0, "y": 2, "task": "classification"}, "three different columns"),
                          ({"id": "../../etc", "x1": 0, "x2": 1, "y": 2, "task": "classification"}, "upload id"),
                          ({"id": "abc123", "x1": 0, "x2": 1, "y": 2, "task": "classification"}, "upload it again"),
                          ({"id": info["id"], "x1": 0, "x2": 1, "y": 2, "task": "clustering"}, "task")]:
            kind, msg = _settings(ws, dataset="csv", csv=csv)
            assert kind == "error" and text in msg["message"], msg


def test_uploads_over_2_mb_are_refused_with_413(client):
    big = b"1,2,0\n" * (MAX_BYTES // 6 + 10)
    r = client.post("/api/csv", content=big)  # announced by Content-Length: refused before reading
    assert r.status_code == 413 and "2 MB" in r.json()["error"]


    def chunks():  # no Content-Length: the server counts while reading and stops past 2 MB
        for _ in range(64):
            yield b"1,2,0\n" * 10_000
    r = client.post("/api/csv", content=chunks())
    assert r.status_code == 413


def _raw_request(url: str, head: bytes, body: bytes) -> bytes:
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(head + body)
        return s.recv(4096)


def test_a_real_server_answers_413_before_the_body_is_sent(live_server):
    # Content-Length says 3 MB, only 10 bytes follow: the answer comes at once
    head = b"POST /api/csv HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 3145728\r\n\r\n"
    assert _raw_request(live_server, head, b"a,b,c\n1,2,").startswith(b"HTTP/1.1 413")
    # chunked, 2.2 MB sent and never finished: the server stops reading past 2 MB
    head = b"POST /api/csv HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"1,2,0\n" * 40_000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(9))
    assert _raw_request(live_server, head, body).startswith(b"HTTP/1.1 413")


# ----------------------------------------------------------------------------- exports
def test_export_script_replays_the_run(client, tmp_path):
    import subprocess
    import sys

    with client.websocket_connect("/ws/train") as ws:
        hello, *_ = _open(ws)
        _settings(ws, dataset="xor", layers=[4, 3], dropout=0.1, regularization="l2", reg_rate=0.001,
                  optimizer="momentum", seed=5)
        for _ in range(4):
            ws.send_json({"type": "step"})
            meta, _ = _frame(ws)
        sid = hello["worker"]
        model = client.get(f"/api/export/{sid}/model.tanul")
        code = client.get(f"/api/export/{sid}/run.py")
        assert client.get(f"/api/export/{sid}/run.py?download=1").headers["content-disposition"].startswith("attachment")
    assert code.status_code == 200 and "EPOCHS = 4" in code.text and "SEED = 5" in code.text
    (tmp_path / "exported.tanul").write_bytes(model.content)
    (tmp_path / "run.py").write_text(code.text)
    out = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"test loss {meta['test_loss']:.4f}" in out.stdout
    a, b = tanul.load_model(tmp_path / "exported.tanul"), tanul.load_model(tmp_path / "playground_run.tanul")
    x = np.random.default_rng(0).uniform(-1.5, 1.5, (64, 2)).astype(np.float32)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))


def test_export_script_of_a_csv_run(client, tmp_path):
    import subprocess
    import sys

    info = client.post("/api/csv", content=_csv_rows(40).encode()).json()
    with client.websocket_connect("/ws/train") as ws:
        hello, *_ = _open(ws)
        _settings(ws, dataset="csv", csv={"id": info["id"], "x1": 0, "x2": 1, "y": 2, "task": "regression"})
        ws.send_json({"type": "step"})
        meta, _ = _frame(ws)
        code = client.get(f"/api/export/{hello['worker']}/run.py").text
    (tmp_path / "run.py").write_text(code)
    out = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"test loss {meta['test_loss']:.4f}" in out.stdout


def test_export_of_an_unknown_page_is_404(client):
    assert client.get("/api/export/0123abcd/model.tanul").status_code == 404
    assert client.get("/api/export/0123abcd/run.py").status_code == 404


# ----------------------------------------------------------------------------- page 2
def _stroke(w=280, h=280):
    img = np.zeros((h, w), np.uint8)
    img[40:240, w // 2 - 9:w // 2 + 9] = 255
    return img


def test_lenet_predict_vertical_stroke(client):
    assert client.get("/api/lenet/status").json()["state"] == "ready"
    r = client.post("/api/lenet/predict?w=280&h=280", content=_stroke().tobytes())
    assert r.status_code == 200
    out = r.json()
    p = np.array(out["probabilities"])
    assert p.shape == (10,) and abs(p.sum() - 1) < 1e-9 and out["prediction"] == int(p.argmax())
    assert [m["shape"] for m in out["maps"]] == [[6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 5, 5]]
    assert [f["shape"] for f in out["filters"]] == [[6, 1, 5, 5], [16, 6, 5, 5]]
    assert [len(d["values"]) for d in out["dense"]] == [120, 84]
    import base64
    seen = np.frombuffer(base64.b64decode(out["input"]), np.uint8).reshape(28, 28)
    cols = np.nonzero(seen.sum(axis=0))[0]
    assert 12 <= cols.mean() <= 15 and (seen.sum(axis=1) > 0).sum() == 20  # centred, 20 tall


@pytest.mark.parametrize("query, body, status, text", [
    ("w=280&h=280", b"\0" * 100, 400, "expected 280x280 = 78400 bytes, got 100"),
    ("w=280&h=280", b"\0" * 80_000, 413, "larger than"),
    ("w=2&h=280", b"", 400, "w: expected an integer in [8, 1024], got 2"),
    ("w=abc&h=28", b"", 400, "got 'abc'"),
    ("h=28", b"", 400, "w: expected an integer"),
])
def test_lenet_predict_bad_input(client, query, body, status, text):
    r = client.post(f"/api/lenet/predict?{query}", content=body)
    assert r.status_code == status and text in r.json()["error"]


def test_lenet_empty_drawing(client):
    r = client.post("/api/lenet/predict?w=28&h=28", content=bytes(28 * 28))
    assert r.json() == {"empty": True}


def test_lenet_not_ready_yet(tmp_path):
    app = create_app(None, cache_dir=tmp_path)
    with TestClient(app) as c:
        assert c.get("/api/lenet/status").json()["state"] == "empty"
        r = c.post("/api/lenet/predict?w=28&h=28", content=bytes(28 * 28))
        assert r.status_code == 409 and "not ready" in r.json()["error"]


def test_a_model_that_is_not_a_digit_classifier_is_refused(tmp_path):
    m = tanul.Sequential([tanul.Dense(3)], input_shape=(4,))
    m.save(tmp_path / "mlp.tanul")
    with pytest.raises(ValueError, match=r"1x28x28 images"):
        create_app(str(tmp_path / "mlp.tanul"), cache_dir=tmp_path)
