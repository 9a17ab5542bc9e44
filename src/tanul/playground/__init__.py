"""``tanul playground``: watch a network learn in the browser, and look inside LeNet-5.

A local web application (Starlette on uvicorn, extra ``tanul[playground]``) whose pages run on
tanul itself:

* ``/`` — a TensorFlow-Playground-like trainer: 2-D data sets or your own CSV, derived inputs,
  up to 6 hidden layers of up to 8 neurons, live losses and heat maps, export as ``.tanul`` and as
  a Python script that replays the run;
* ``/lenet`` — draw a digit and see every feature map, filter, dense activation and the 10
  probabilities of a LeNet-5.

>>> from tanul.playground import serve            # doctest: +SKIP
>>> serve(port=8765)                              # doctest: +SKIP
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["create_app", "serve", "add_arguments", "run_command"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`tanul.playground.server.create_app` (imported lazily: needs the extra)."""
    from tanul.playground.server import create_app as _create

    return _create(*args, **kwargs)


def serve(host: str = "127.0.0.1", port: int = 8765, model: str | None = None,
          open_browser: bool = False, max_workers: int = 4) -> None:
    """Start the server (blocks until Ctrl+C). Listens on 127.0.0.1 unless ``host`` says otherwise."""
    try:
        import uvicorn
    except ImportError as exc:
        raise ImportError("tanul playground needs its extra: pip install 'tanul[playground]'") from exc
    app = create_app(model, max_workers=max_workers)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    where = "only this computer can reach it" if host in ("127.0.0.1", "localhost", "::1") else \
        f"WARNING: listening on {host}, other machines on the network can reach it"
    print(f"tanul playground: listening on {host}:{port} ({where}); open {url} "
          f"(page 2: {url}lenet); Ctrl+C stops it", flush=True)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning", ws_max_size=1 << 16)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--model", default=None,
                   help="a saved model for page 2 (1x28x28 input, 10 outputs), e.g. one `tanul train` "
                        "wrote; default: a LeNet-5 trained on first use and cached")
    p.add_argument("--max-workers", type=int, default=4, help="pages that may train at once")


def run_command(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise ValueError(f"--port: expected 1..65535, got {args.port}")
    serve(host=args.host, port=args.port, model=args.model, open_browser=not args.no_browser,
          max_workers=args.max_workers)
    return 0
