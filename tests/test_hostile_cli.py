"""The command line on hostile input (issue 17): every error of tanul's is one line and exit
code 2; anything else is an "internal error" line (exit 1), the traceback only with --debug."""

from __future__ import annotations

import json
import os
import zipfile

import pytest

from hostile_files import cli_in_child, edit, good_files
from tanul import cli
from tanul.cli import main


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return good_files(tmp_path_factory.mktemp("good"))


def one_line_error(capsys, argv, code=2):
    assert main(argv) == code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _bad_files(good, tmp_path):
    files = {
        "deflate": edit(good[0], tmp_path / "deflate.tanul", methods={"params/dense_0.W.npy": zipfile.ZIP_DEFLATED}),
        "huge dense": edit(good[0], tmp_path / "units.tanul",
                           lambda c: c["model"]["layers"][1]["config"].update(units=40_000_000)),
        "deep json": tmp_path / "deep.tanul",
        "not a zip": tmp_path / "text.tanul",
        "iterations": edit(good[1], tmp_path / "it.tanul", lambda c: c["optimizer_state"].update(iterations=-1)),
    }
    raw = json.dumps({"format": "tanul", "x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})
    with zipfile.ZipFile(files["deep json"], "w") as zf:
        zf.writestr("config.json", raw)
    files["not a zip"].write_text("hello")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.tanul")
        files["fifo"] = tmp_path / "fifo.tanul"
    if os.path.exists("/dev/zero"):
        files["dev zero"] = "/dev/zero"
    files["directory"] = tmp_path
    return files


def child_error(argv):
    """Run the CLI in a child under a 1 GiB address-space limit (a regression must not take
    this machine's memory): exit code 2 and one line on stderr."""
    code, err = cli_in_child(argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, err[-3000:])
    return lines[0]


def test_evaluate_on_hostile_files(good, tmp_path):
    for what, path in _bad_files(good, tmp_path).items():
        line = child_error(["evaluate", str(path), "--out", str(tmp_path / "eval")])
        assert line.startswith(f"tanul evaluate: error: {path}"), (what, line)


@pytest.mark.parametrize("what", ["deflate", "huge dense", "deep json", "not a zip", "iterations", "fifo"])
def test_train_resume_on_hostile_checkpoints(good, tmp_path, what):
    files = _bad_files(good, tmp_path / "src" if (tmp_path / "src").mkdir() is None else tmp_path)
    if what not in files:
        pytest.skip(f"{what} cannot be made here")
    out = tmp_path / "run"
    out.mkdir()
    src = files[what]
    if what == "fifo":
        os.mkfifo(out / "checkpoint.tanul")
    else:
        (out / "checkpoint.tanul").write_bytes(src.read_bytes())
    line = child_error(["train", "--resume", "--out", str(out), "--epochs", "3", "--quiet"])
    assert line.startswith(f"tanul train: error: {out / 'checkpoint.tanul'}: "), line


@pytest.mark.parametrize("settings,match", [({}, "extra.settings.model is missing or invalid"),
                                            ([1], "extra.settings must be an object"),
                                            ({"model": "mlp", "dataset": "digits", "batch_size": 0,
                                              "seed": 0, "val_fraction": 0.1}, "extra.settings.batch_size"),
                                            ({"model": "__import__", "dataset": "digits"}, "extra.settings.model")])
def test_train_resume_with_bad_settings(tmp_path, capsys, settings, match):
    from hostile_files import trained_model

    out = tmp_path / "run"
    trained_model().save_checkpoint(out / "checkpoint.tanul", epoch=0, extra={"settings": settings})
    line = one_line_error(capsys, ["train", "--resume", "--out", str(out), "--epochs", "3", "--quiet"])
    assert match in line and "checkpoint.tanul" in line, line


@pytest.mark.parametrize("content", ["[1, 2]", "{\"seed\": \"x\"}", "{\"seed\": -1}", "[[[[", "9" * 5000])
def test_evaluate_with_a_bad_run_json(good, tmp_path, capsys, content):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "model.tanul").write_bytes(good[0].read_bytes())
    (folder / "run.json").write_text(content)
    line = one_line_error(capsys, ["evaluate", str(folder / "model.tanul")])
    assert f"{folder / 'run.json'}: " in line, line


@pytest.mark.parametrize("lr", ["nan", "-1", "0", "inf", "-inf"])
def test_train_lr_must_be_a_finite_positive_number(tmp_path, capsys, lr):
    line = one_line_error(capsys, ["train", f"--lr={lr}", "--out", str(tmp_path / "r"), "--epochs", "1", "--quiet"])
    assert "expected lr to be a finite number > 0" in line, line
    assert not (tmp_path / "r").exists()


def test_an_unexpected_exception_is_an_internal_error_line(monkeypatch, capsys):
    help_, add, _ = cli.COMMANDS["evaluate"]

    def broken(args):
        return {}["missing"]

    monkeypatch.setitem(cli.COMMANDS, "evaluate", (help_, add, broken))
    line = one_line_error(capsys, ["evaluate", "m.tanul"], code=1)
    assert line.startswith("tanul evaluate: internal error: KeyError: 'missing'; this is a bug in tanul")
    assert "report it" in line and "tanul --debug evaluate" in line
    assert main(["--debug", "evaluate", "m.tanul"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error" in err


def test_memory_errors_are_one_line(monkeypatch, capsys):
    help_, add, _ = cli.COMMANDS["evaluate"]

    def hungry(args):
        raise MemoryError

    monkeypatch.setitem(cli.COMMANDS, "evaluate", (help_, add, hungry))
    assert one_line_error(capsys, ["evaluate", "m.tanul"]) == "tanul evaluate: error: out of memory"


def test_multi_line_messages_become_one_line(monkeypatch, capsys):
    help_, add, _ = cli.COMMANDS["evaluate"]

    def shapes(args):
        raise ValueError("input shape mismatch.\n  Expect: (N, 2)\n  Actual: (4, 3)")

    monkeypatch.setitem(cli.COMMANDS, "evaluate", (help_, add, shapes))
    line = one_line_error(capsys, ["evaluate", "m.tanul"])
    assert line == "tanul evaluate: error: input shape mismatch.; Expect: (N, 2); Actual: (4, 3)"


def test_a_zero_division_is_a_bug_not_a_user_error(monkeypatch, capsys):
    help_, add, _ = cli.COMMANDS["evaluate"]
    monkeypatch.setitem(cli.COMMANDS, "evaluate", (help_, add, lambda args: 1 / 0))
    line = one_line_error(capsys, ["evaluate", "m.tanul"], code=1)
    assert line.startswith("tanul evaluate: internal error: ZeroDivisionError: division by zero; ")
