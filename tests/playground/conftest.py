"""Fixtures of the playground tests: a small LeNet-5 file, a live server, a headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def lenet_file(tmp_path_factory) -> Path:
    """A LeNet-5 trained for a second on scikit-learn's 8x8 digits blown up to 28x28 (bundled, no
    download): page 2 only needs a real model of the right shape, fast."""
    import numpy as np

    import tanul
    from tanul.models import lenet5

    if os.environ.get("TANUL_SCREENSHOT_MODEL"):  # the README's screenshot shows a well-trained one
        return Path(os.environ["TANUL_SCREENSHOT_MODEL"])
    model = lenet5(seed=0)
    model.compile(optimizer=tanul.Adam(lr=2e-3), loss="cross_entropy")
    try:
        from tanul.datasets import digits

        x, y = digits(images=True)
        x = np.pad(np.kron(x[:512], np.ones((1, 1, 3, 3), np.float32)), ((0, 0), (0, 0), (2, 2), (2, 2)))
        for s in range(0, len(x), 64):
            model.train_on_batch(x[s:s + 64], y[s:s + 64])
    except ImportError:  # no scikit-learn: an untrained LeNet-5 still has every layer to show
        pass
    path = tmp_path_factory.mktemp("lenet") / "lenet5.tanul"
    model.save(path)
    return path


class _Url(str):
    """The server's base URL, with the application at ``.app`` (to look at its workers)."""

    app: object = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(lenet_file, tmp_path_factory):
    """The real app under uvicorn on 127.0.0.1, in a thread; yields its base URL."""
    pytest.importorskip("starlette", reason="the playground needs its extra: pip install 'tanul[playground]'")
    uvicorn = pytest.importorskip("uvicorn")
    from tanul.playground import create_app

    app = create_app(str(lenet_file), cache_dir=tmp_path_factory.mktemp("cache"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws_max_size=1 << 16))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    url = _Url(f"http://127.0.0.1:{port}")
    url.app = app
    yield url
    server.should_exit = True
    thread.join(timeout=10)


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never `playwright install`). Outside CI a missing
    Chromium or Playwright skips; with CI=true it fails."""
    in_ci = os.environ.get("CI", "").lower() == "true"
    exe = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if exe is None or sync_playwright is None:
        why = "no Chromium found (apt-get install chromium)" if exe is None else \
            "Playwright is not installed (pip install playwright)"
        if in_ci:
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(f"browser tests skipped: {why}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
