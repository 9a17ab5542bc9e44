"""Search spaces and bad input: one clear message each, no traceback from the command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import tiny_space
from tanul.cli import main
from tanul.tune import Space, default_space, load_space
from tanul.tune.models import DEFAULTS, MODELS, build


def test_import_tanul_loads_neither_optuna_nor_tanul_tune():
    code = "import sys, tanul; print(sorted(m for m in sys.modules if m.startswith(('optuna', 'tanul.tune', 'sqlalchemy'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("model", MODELS)
def test_default_space_ships_and_names_only_known_hyperparameters(model):
    space = default_space(model)
    assert len(space.searched()) >= 5
    space.check_names(DEFAULTS[model], model)
    # every default of a searched hyperparameter lies in the space (it is trial 0 of a new study)
    assert all(space[k].contains(DEFAULTS[model][k]) for k in space.searched())
    net = build(model, {}, (1, 8, 8), 10)
    assert net.output_shape == (10,)


def test_params_parse_and_reject_bad_specs():
    s = Space.from_dict({"lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
                         "units": {"type": "int", "low": 8, "high": 64, "step": 8},
                         "opt": {"type": "categorical", "choices": ["adam", "sgd"]}, "epochs": 5})
    assert s.searched() == ["lr", "units", "opt"]
    assert s["units"].contains(16) and not s["units"].contains(65) and not s["opt"].contains("rmsprop")
    assert not s["units"].contains(20)      # off the grid 8, 16, ..., 64
    assert load_space(s.to_dict()).to_dict() == s.to_dict()
    cases = [({"lr": {"type": "float", "low": 0.1, "high": 0.1}}, r"'lr': empty range: expected low < high, got low=0.1, high=0.1"),
             ({"lr": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}, r"log scale needs low > 0"),
             ({"lr": {"type": "float", "low": 1, "hihg": 2}}, r"unknown key\(s\) hihg"),
             ({"n": {"type": "int", "low": 1.5, "high": 4}}, r"expected integer low and high"),
             ({"o": {"type": "categorical", "choices": []}}, r"expected choices to be a non-empty list"),
             ({"o": {"type": "normal"}}, r"expected type to be one of float, int, categorical, got type='normal'"),
             ({}, r"the search space is empty")]
    for spec, msg in cases:
        with pytest.raises(ValueError, match=msg):
            load_space(spec)


def test_only_if_searches_a_parameter_only_where_it_matters():
    from conftest import optuna

    space = default_space("mlp")
    assert repr(space["momentum"]) == "Param(momentum=float[0.5, 0.99] if optimizer='sgd')"
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        values = space.suggest(study.ask())
        assert ("momentum" in values) == (values["optimizer"] == "sgd")
        seen.add(values["optimizer"])
    assert seen == {"adam", "sgd", "rmsprop"}
    with pytest.raises(ValueError, match=r"'m': only_if names 'opt', which is not a hyperparameter listed before it"):
        load_space({"m": {"type": "float", "low": 0, "high": 1, "only_if": {"opt": "sgd"}},
                    "opt": {"type": "categorical", "choices": ["sgd", "adam"]}})


def test_space_files_toml_and_json(tmp_path):
    assert load_space(tiny_space(tmp_path)).searched() == ["lr", "units"]
    (tmp_path / "s.json").write_text('{"lr": {"type": "float", "low": 0.001, "high": 0.1}}')
    assert load_space(tmp_path / "s.json").searched() == ["lr"]
    (tmp_path / "bad.toml").write_text("[lr\ntype = 'float'\n")
    with pytest.raises(ValueError, match=r"bad.toml: not valid TOML"):
        load_space(tmp_path / "bad.toml")
    (tmp_path / "bad.json").write_text('{"lr": {"type": "float",}}')
    with pytest.raises(ValueError, match=r"bad.json: not valid JSON"):
        load_space(tmp_path / "bad.json")


def _cli_error(capsys, *argv):
    rc = main(["tune", *argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_cli_bad_input_gives_one_line_each(tmp_path, capsys):
    out = str(tmp_path / "o")
    assert "unknown model 'resnet'" in _cli_error(capsys, "--model", "resnet", "--out", out)
    (tmp_path / "s.toml").write_text("[depth]\ntype = 'int'\nlow = 1\nhigh = 3\n")
    line = _cli_error(capsys, "--space", str(tmp_path / "s.toml"), "--out", out)
    assert "unknown hyperparameter 'depth' for model mlp; expected one of" in line
    (tmp_path / "e.toml").write_text("[lr]\ntype = 'float'\nlow = 0.1\nhigh = 0.01\n")
    assert "empty range" in _cli_error(capsys, "--space", str(tmp_path / "e.toml"), "--out", out)
    (tmp_path / "t.toml").write_text("lr = [\n")
    assert "not valid TOML" in _cli_error(capsys, "--space", str(tmp_path / "t.toml"), "--out", out)
    assert "not found" in _cli_error(capsys, "--space", str(tmp_path / "missing.toml"), "--out", out)
    # a server that does not answer: one line, naming the URL, without its password
    line = _cli_error(capsys, "--storage", "postgresql://me:s3cret@127.0.0.1:1/db", "--out", out)
    assert "cannot open storage postgresql://me:***@127.0.0.1:1/db" in line and "s3cret" not in line
    assert "cannot open storage nosuchdb://x" in _cli_error(capsys, "--storage", "nosuchdb://x", "--out", out)


def test_show_space_prints_the_shipped_file(capsys):
    assert main(["tune", "--model", "lenet5", "--show-space"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# Default search space of `tanul tune --model lenet5`")
    assert "[filters1]" in text and "log = true" in text
