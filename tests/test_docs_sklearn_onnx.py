"""The Python examples in docs/sklearn.md and docs/onnx.md run as shown."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _blocks(name):
    text = (DOCS / name).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("name", ["sklearn.md", "onnx.md"])
def test_doc_examples_run(name, tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    if name == "onnx.md":
        pytest.importorskip("onnxruntime")
    blocks = _blocks(name)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)  # the examples write files into the working folder
    for code in blocks:
        exec(compile(code, f"{name} example", "exec"), {"__name__": "__doc_example__"})
