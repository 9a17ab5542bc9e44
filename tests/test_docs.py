"""The documentation runs: every Python block of every page executes, and the site builds.

Each page's ```python blocks run in order in one namespace (a page is one script), in a
temporary working folder. A block may be skipped only with a visible reason on the line before
it: ``<!-- no-run: why -->`` (a server, a download). The site is built with ``mkdocs build
--strict`` (broken links or references to missing objects fail), and every name in the
``__all__`` of a module with an API page must have an entry in the built reference.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_hooks" not in p.parts) + [ROOT / "README.md"]
BLOCK = re.compile(r"(?:<!--\s*no-run:\s*(?P<why>[^>]*?)\s*-->\s*\n)?```python\n(?P<code>.*?)```", re.S)


def python_blocks(page: Path) -> list[tuple[str, str | None]]:
    return [(m["code"], m["why"]) for m in BLOCK.finditer(page.read_text(encoding="utf-8"))]


def test_block_parser_sees_blocks_and_skip_reasons():
    text = "a\n```python\nx = 1\n```\n<!-- no-run: needs a server -->\n```python\nboom()\n```\n"
    found = [(m["code"], m["why"]) for m in BLOCK.finditer(text)]
    assert found == [("x = 1\n", None), ("boom()\n", "needs a server")]


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_page_code_runs(page, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for k, (code, why) in enumerate(python_blocks(page)):
        if why is not None:
            assert why.strip(), f"{page.name}: block {k} is skipped without a reason"
            continue
        try:
            exec(compile(code, f"{page.name}[block {k}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"{page.relative_to(ROOT)}: python block {k} fails: {exc!r}\n{code}") from exc


def _api_modules() -> list[str]:
    """Modules documented whole (``::: tanul.x``); entries naming a single object are skipped."""
    mods = []
    for page in sorted((DOCS / "api").glob("*.md")):
        for name in re.findall(r"^::: (tanul[\w.]*)", page.read_text(encoding="utf-8"), re.M):
            try:
                importlib.import_module(name)
            except ImportError:
                continue
            mods.append(name)
    return mods


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None and not os.environ.get("CI"):
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    # the notebooks are executed by tests/test_notebooks.py and by `make docs` in .ci/run; here the
    # site is built from them as stored, to check the pages, links and the API reference quickly
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", TANUL_DOCS_EXECUTE="false")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_site_builds_strict_with_every_public_object(site):
    html = "\n".join(p.read_text(encoding="utf-8") for p in (site / "api").rglob("*.html"))
    missing = []
    for mod_name in _api_modules():
        mod = importlib.import_module(mod_name)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if isinstance(obj, type(sys)):       # submodules have pages of their own
                continue
            ids = {f'id="{mod_name}.{name}"', f'id="{getattr(obj, "__module__", "")}.{name}"'}
            if not any(i in html for i in ids):
                missing.append(f"{mod_name}.{name}")
    assert not missing, f"public objects without an API entry: {missing}"
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "two commands" in home.lower() and "img/curves.png" in home


def test_every_public_module_has_an_api_page():
    import tanul

    pages = set(_api_modules())
    public = {f"tanul.{n}" for n in tanul.__all__ if isinstance(getattr(tanul, n), type(sys))}
    assert public <= pages, f"modules without an API page: {sorted(public - pages)}"
