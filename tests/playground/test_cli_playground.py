"""`tanul playground` on the command line (uvicorn.run replaced: no server is started)."""

from __future__ import annotations

import pytest

from tanul.cli import main

pytest.importorskip("uvicorn")


@pytest.fixture
def fake_run(monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_listens_on_127_0_0_1_by_default_and_says_so(fake_run, capsys, lenet_file):
    assert main(["playground", "--no-browser", "--model", str(lenet_file)]) == 0
    (app, kw), = fake_run
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8765
    out = capsys.readouterr().out
    assert "listening on 127.0.0.1:8765 (only this computer can reach it)" in out
    assert app.state.lenet.state == "ready"


def test_another_host_is_a_warning(fake_run, capsys, lenet_file):
    assert main(["playground", "--no-browser", "--host", "0.0.0.0", "--port", "9000",
                 "--model", str(lenet_file)]) == 0
    assert fake_run[0][1]["host"] == "0.0.0.0"
    assert "WARNING: listening on 0.0.0.0, other machines on the network can reach it" in capsys.readouterr().out


def test_bad_arguments_are_one_line(fake_run, capsys, tmp_path):
    assert main(["playground", "--no-browser", "--port", "0"]) == 2
    assert "--port: expected 1..65535, got 0" in capsys.readouterr().err
    assert main(["playground", "--no-browser", "--model", str(tmp_path / "missing.tanul")]) == 2
    assert "missing.tanul" in capsys.readouterr().err
    assert fake_run == []


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["playground", "--help"])
    out = capsys.readouterr().out
    for opt in ("--host", "--port", "--no-browser", "--model", "--max-workers"):
        assert opt in out
