"""The playground's web server (Starlette, served by uvicorn).

Routes
------
``GET /``                      page 1, the playground
``GET /lenet``                 page 2, inside LeNet-5
``GET /static/...``            the pages' CSS and JavaScript (inside the package: works offline)
``WS  /ws/train``              one training worker per page (see :class:`Worker`)
``POST /api/csv``              a CSV file as the raw request body (at most 2 MB, else 413)
``GET /api/export/{sid}/model.tanul`` and ``.../run.py``   the run of the page whose worker is ``sid``
``GET /api/lenet/status``, ``POST /api/lenet/start``, ``POST /api/lenet/predict?w=&h=``

Nothing from the page is ever a path, code or a pickle: settings are JSON checked field by field,
uploads are CSV text, drawings are raw grey-level bytes, and ids are random tokens the server
made.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tanul.playground.csvdata import MAX_BYTES, CsvError, CsvTable, parse_csv
from tanul.playground.lenet import LenetService, inspect, mnist_style
from tanul.playground.trainer import LIMITS, Settings, SettingsError, Trainer, validate_settings

if TYPE_CHECKING:  # Starlette is imported where it is used: `import tanul` loads only NumPy
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.websockets import WebSocket

__all__ = ["create_app", "Worker"]

STATIC = Path(__file__).parent / "static"
FRAME_BUDGET_S = 0.03   # while playing: train whole epochs for about this long, then draw
MAX_TABLES = 16


class Worker:
    """The trainer behind one page: created when its WebSocket opens, ended when it closes.

    Messages from the page (JSON objects): ``{"type": "settings", "settings": {...}}`` (a new run),
    ``play``, ``pause``, ``step`` (one epoch), ``reset`` (same settings, epoch 0). Replies: binary
    frames (:func:`tanul.playground.trainer.encode_frame`), ``points`` and ``error`` JSON.
    """

    def __init__(self, app_state: Any) -> None:
        self.id = secrets.token_hex(16)
        self.app_state = app_state
        self.trainer: Trainer | None = None
        self.playing = False
        self.lock = asyncio.Lock()          # orders the page's messages and the player (one loop)
        self.tlock = threading.Lock()       # guards the trainer in worker threads (any loop)
        self.wake = asyncio.Event()

    def __repr__(self) -> str:
        return f"Worker({self.id[:8]}…, playing={self.playing}, {self.trainer!r})"

    def _table(self, settings: Settings) -> CsvTable | None:
        if settings.dataset != "csv":
            return None
        return self.app_state.tables.get(settings.csv["id"])

    async def run(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` in a worker thread, holding the trainer's lock."""
        def locked() -> Any:
            with self.tlock:
                return fn(*args)
        return await asyncio.to_thread(locked)

    async def build(self, settings: Settings) -> None:
        table = self._table(settings)
        trainer = await self.run(Trainer, settings, table)
        self.trainer = trainer


def _error(field: str, message: str) -> str:
    return json.dumps({"type": "error", "field": field, "message": message})


async def _send_new_run(ws: WebSocket, worker: Worker) -> None:
    t = worker.trainer
    await ws.send_text(json.dumps(t.points()))
    await ws.send_bytes(await worker.run(t.frame))


async def _handle(ws: WebSocket, worker: Worker, msg: Any) -> None:
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        await ws.send_text(_error("message", f"expected a JSON object with a 'type', got {msg!r:.80}"))
        return
    kind = msg["type"]
    async with worker.lock:
        if kind == "settings":
            try:
                settings = validate_settings(msg.get("settings"), worker.trainer.settings)
                worker.playing = False
                await worker.build(settings)
            except (SettingsError, CsvError) as exc:
                await ws.send_text(_error(getattr(exc, "field", "csv"), str(exc)))
                return
            await _send_new_run(ws, worker)
        elif kind == "reset":
            worker.playing = False
            await worker.build(worker.trainer.settings)
            await _send_new_run(ws, worker)
        elif kind == "pause":
            worker.playing = False
            await ws.send_bytes(await worker.run(worker.trainer.frame))
        elif kind in ("play", "step"):
            if worker.trainer.status == "diverged":
                await ws.send_bytes(await worker.run(
                    worker.trainer.frame, "the network diverged (a loss or weight is not finite): press reset"))
                return
            if kind == "play":
                worker.playing = True
                worker.wake.set()
            else:
                worker.playing = False
                await worker.run(worker.trainer.run_epochs, 1)
                await ws.send_bytes(await worker.run(worker.trainer.frame))
        else:
            await ws.send_text(_error("type", f"unknown message type {kind!r}; expected settings, "
                                              "play, pause, step or reset"))


def _advance(t: Trainer) -> bytes:
    t.run_epochs(budget_s=FRAME_BUDGET_S)
    return t.frame()


async def _player(ws: WebSocket, worker: Worker) -> None:
    """While playing: train for about FRAME_BUDGET_S, send a frame, repeat."""
    while True:
        if not worker.playing:
            worker.wake.clear()
            await worker.wake.wait()
            continue
        async with worker.lock:
            if not worker.playing:
                continue
            t = worker.trainer

            try:
                frame = await worker.run(_advance, t)
            except Exception as exc:  # noqa: BLE001 - never let the worker die
                worker.playing = False
                await ws.send_text(_error("worker", f"{type(exc).__name__}: {exc}"))
                continue
            if t.status == "diverged":
                worker.playing = False
            await ws.send_bytes(frame)
        await asyncio.sleep(0)  # let the page's messages in


async def train_socket(ws: WebSocket) -> None:
    from starlette.websockets import WebSocketDisconnect

    state = ws.app.state
    await ws.accept()
    if len(state.workers) >= state.max_workers:
        await ws.send_text(_error("workers", f"{len(state.workers)} pages are already training (at most "
                                             f"{state.max_workers}); close one and reload this page"))
        await ws.close(code=1013)
        return
    worker = Worker(state)
    state.workers[worker.id] = worker
    player = None
    try:
        await worker.build(Settings())
        await ws.send_text(json.dumps({"type": "hello", "worker": worker.id, "limits": LIMITS,
                                       "defaults": Settings().to_dict()}))
        await _send_new_run(ws, worker)
        player = asyncio.create_task(_player(ws, worker))
        while True:
            text = await ws.receive_text()
            if len(text) > 65536:
                await ws.send_text(_error("message", f"message of {len(text)} characters; at most 65536"))
                continue
            try:
                msg = json.loads(text)
            except ValueError:
                await ws.send_text(_error("message", f"expected JSON, got {text[:60]!r}"))
                continue
            try:
                await _handle(ws, worker, msg)
            except (WebSocketDisconnect, asyncio.CancelledError):
                raise
            except Exception as exc:  # noqa: BLE001 - the worker answers and goes on
                worker.playing = False
                await ws.send_text(_error("worker", f"{type(exc).__name__}: {exc}"))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        worker.playing = False
        if player is not None:
            player.cancel()
            try:
                await player
            except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                pass
        state.workers.pop(worker.id, None)


# --------------------------------------------------------------------------- HTTP
async def page_playground(request: Request) -> Response:
    from starlette.responses import FileResponse

    return FileResponse(STATIC / "index.html")


async def page_lenet(request: Request) -> Response:
    from starlette.responses import FileResponse

    return FileResponse(STATIC / "lenet.html")


def _json(content: Any, status_code: int = 200) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse(content, status_code=status_code)


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is longer than ``limit`` (never read whole)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Response:
    return _json({"error": f"the upload is larger than {limit / 2**20:g} MB; the limit is "
                                  f"{limit / 2**20:g} MB"}, status_code=413)


def _content_length(request: Request) -> int | None:
    try:
        return int(request.headers.get("content-length", ""))
    except ValueError:
        return None


async def upload_csv(request: Request) -> Response:
    n = _content_length(request)
    if n is not None and n > MAX_BYTES:
        return _too_large(MAX_BYTES)
    data = await _read_limited(request, MAX_BYTES)
    if data is None:
        return _too_large(MAX_BYTES)
    name = request.query_params.get("name", "data.csv")[:100]
    try:
        table = await asyncio.to_thread(parse_csv, data, name)
    except CsvError as exc:
        return _json({"error": str(exc)}, status_code=400)
    tables: OrderedDict = request.app.state.tables
    tid = secrets.token_hex(12)
    tables[tid] = table
    while len(tables) > MAX_TABLES:
        tables.popitem(last=False)
    return _json({"id": tid, "columns": table.header, "rows": len(table.rows),
                         "preview": table.rows[:5]})


def _worker(request: Request) -> Worker | None:
    worker = request.app.state.workers.get(request.path_params["sid"])
    return None if worker is None or worker.trainer is None else worker


def _no_worker() -> Response:
    return _json({"error": "no open playground page with this id (reload the page)"}, status_code=404)


async def export_model(request: Request) -> Response:
    from starlette.responses import Response

    from tanul.playground.export import describe, model_bytes

    worker = _worker(request)
    if worker is None:
        return _no_worker()
    trainer = worker.trainer
    if trainer.status == "diverged":
        return _json({"error": "the network diverged: reset it before exporting"}, status_code=409)
    data = await worker.run(model_bytes, trainer)
    name = describe(trainer)["model"]
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def export_code(request: Request) -> Response:
    from starlette.responses import Response

    from tanul.playground.export import describe, python_script

    worker = _worker(request)
    if worker is None:
        return _no_worker()
    trainer = worker.trainer
    text = await worker.run(python_script, trainer)
    name = describe(trainer)["code"]
    disposition = "attachment" if request.query_params.get("download") else "inline"
    return Response(text, media_type="text/x-python; charset=utf-8",
                    headers={"Content-Disposition": f'{disposition}; filename="{name}"'})


async def lenet_status(request: Request) -> Response:
    return _json(request.app.state.lenet.status())


async def lenet_start(request: Request) -> Response:
    svc = request.app.state.lenet
    svc.start()
    return _json(svc.status())


def _int_param(request: Request, key: str, lo: int, hi: int) -> int:
    raw = request.query_params.get(key, "")
    try:
        v = int(raw)
    except ValueError:
        raise ValueError(f"{key}: expected an integer in [{lo}, {hi}], got {raw!r}") from None
    if not lo <= v <= hi:
        raise ValueError(f"{key}: expected an integer in [{lo}, {hi}], got {v}")
    return v


async def lenet_predict(request: Request) -> Response:
    """Body: ``w * h`` grey-level bytes of the drawing (ink > 0), row by row."""
    svc = request.app.state.lenet
    try:
        w, h = _int_param(request, "w", 8, 1024), _int_param(request, "h", 8, 1024)
    except ValueError as exc:
        return _json({"error": str(exc)}, status_code=400)
    n = _content_length(request)
    if n is not None and n > w * h:
        return _too_large(w * h)
    data = await _read_limited(request, w * h)
    if data is None:
        return _too_large(w * h)
    if len(data) != w * h:
        return _json({"error": f"expected {w}x{h} = {w * h} bytes, got {len(data)}"}, status_code=400)
    if svc.state != "ready":
        return _json({"error": "the model is not ready yet", **svc.status()}, status_code=409)
    img = np.frombuffer(data, np.uint8).reshape(h, w)

    def run() -> dict[str, Any]:
        x = mnist_style(img)
        if x is None:
            return {"empty": True}
        with request.app.state.lenet_lock:
            return inspect(svc.model, x)
    return _json(await asyncio.to_thread(run))


def create_app(model: str | None = None, *, cache_dir: Any = None, max_workers: int = 4,
               lenet_epochs: int | None = None) -> Starlette:
    """The playground application.

    Parameters
    ----------
    model : path, optional
        A saved model for page 2 (1x28x28 input, 10 outputs); else the cached LeNet-5, else one is
        trained on first use.
    cache_dir : path, optional
        Where the trained LeNet-5 is cached (default :func:`tanul.playground.lenet.default_cache_dir`).
    max_workers : int
        At most this many pages train at once; another page gets a message and is closed.
    """
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"create_app: expected max_workers to be a positive int, got {max_workers!r}")
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles

    routes = [
        Route("/", page_playground),
        Route("/lenet", page_lenet),
        WebSocketRoute("/ws/train", train_socket),
        Route("/api/csv", upload_csv, methods=["POST"]),
        Route("/api/export/{sid}/model.tanul", export_model),
        Route("/api/export/{sid}/run.py", export_code),
        Route("/api/lenet/status", lenet_status),
        Route("/api/lenet/start", lenet_start, methods=["POST"]),
        Route("/api/lenet/predict", lenet_predict, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.workers = {}
    app.state.tables = OrderedDict()
    app.state.max_workers = max_workers
    app.state.lenet = LenetService(model, cache_dir=cache_dir, epochs=lenet_epochs)
    app.state.lenet_lock = threading.Lock()
    return app
