"""``tanul forecast``'s options and its ``--from`` path (a saved forecaster, no training), with a
forecaster whose state is written by hand: fast, and every printed and written value worked out."""

import argparse

import numpy as np
import pytest

import tanul
from tanul.cli import main
from tanul.forecast import ForecastConfig, Forecaster, ForecastError, add_arguments
from tanul.forecast.command import _truncate, load_data

OPTIONS = [  # option, dest, default, help (what `tanul forecast --help` shows)
    ("--city", "city", "BUDAPEST", "a place of the weather data (default BUDAPEST)"),
    ("--horizons", "horizons", None, "days ahead (default 1 7 30)"),
    ("--data", "data", None, "the weather CSV (or its folder); default: download"),
    ("--csv", "csv", None, "your own daily series (see --date-column ... --inputs)"),
    ("--date-column", "date_column", "date", "--csv: the date column (default 'date')"),
    ("--temp-column", "temp_column", "temperature",
     "--csv: the daily mean temperature column in °C (default 'temperature')"),
    ("--sep", "sep", ",", "--csv: field separator (default ','; ';' for semicolon-separated exports)"),
    ("--date-format", "date_format", None, "--csv: strptime format, e.g. %%Y.%%m.%%d (default YYYY-MM-DD or YYYYMMDD)"),
    ("--decimal", "decimal", ".", "--csv: decimal mark, '.' or ','"),
    ("--inputs", "inputs", None, "--csv: further numeric columns used as inputs"),
    ("--as-of", "as_of", None,
     "issue the forecast as of this date, reading nothing after it (default: the last day of the data)"),
    ("--from", "from_dir", None,
     "a saved forecaster (the --out folder of an earlier run): forecast without training"),
    ("--out", "out", "runs/forecast", None),
    ("--seed", "seed", 0, None),
    ("--epochs", "epochs", None, "maximum epochs per network"),
    ("--ensemble", "ensemble", None, "networks averaged per horizon"),
    ("--lags", "lags", None, "days of the place's own variables per sample"),
    ("--train-end", "train_end", None, "last training target date (default: see docs)"),
    ("--val-end", "val_end", None, "last validation target date"),
    ("--no-plots", "no_plots", False, None),
]


def _parser():
    p = argparse.ArgumentParser(prog="tanul forecast")
    add_arguments(p)
    return p


def test_options_defaults_and_help():
    actions = _parser()._actions[1:]
    assert [(a.option_strings, a.dest, a.default, a.help) for a in actions] == [
        ([o], d, v, h) for o, d, v, h in OPTIONS]
    args = _parser().parse_args(["--horizons", "1", "7", "--inputs", "a", "b", "--seed", "3", "--epochs", "5",
                                 "--ensemble", "2", "--lags", "4", "--no-plots", "--from", "dir"])
    assert args.horizons == [1, 7] and args.inputs == ["a", "b"] and args.no_plots is True
    assert (args.seed, args.epochs, args.ensemble, args.lags, args.from_dir) == (3, 5, 2, 4, "dir")
    for opt in ("--seed", "--epochs", "--ensemble", "--lags", "--horizons"):
        with pytest.raises(SystemExit):
            _parser().parse_args([opt, "x"])
    assert _parser().parse_args([]).no_plots is False
    text = _parser().format_help()
    assert "%Y.%m.%d" in text and "--csv: the daily mean temperature column in °C" in text


# ---------------------------------------------------------------------- a saved single-place forecaster
DAYS = np.datetime64("2001-01-01") + np.arange(30)
CSV_OPTS = {"date_column": "date", "temperature_column": "temperature", "sep": ",", "date_format": None,
            "decimal": ".", "inputs": ["pressure"]}


def _hand_built(city="A", extra=None, val_end="2001-01-20"):
    """One place, 2-day horizon, lags 1, inputs temperature and pressure; issues ridge = T(t)."""
    T, P = f"{city}_temp_mean", f"{city}_pressure"
    names = [f"{T}(t)", f"{P}(t)", "sin_doy(t)", "cos_doy(t)", "sin_doy(t+2)", "cos_doy(t+2)"]
    fc = Forecaster(city=city, horizons=(2,), lags=1, variables=("temp_mean", "pressure"), val_end=val_end,
                    train_end="2001-01-10", extra={"csv": CSV_OPTS} if extra is None else extra)
    net = tanul.Sequential([tanul.Dense(1)], seed=0, input_shape=(6,), name="forecaster")
    fc.horizons_[2] = {
        "feature_names": names, "columns": {"target": T, "own": [T, P], "others": []},
        "x_mean": np.zeros(6), "x_scale": np.ones(6), "y_mean": 0.0, "y_scale": 1.0, "climatology": np.full(366, 1.0),
        "ridge_w": np.eye(6)[0], "ridge_b": 0.0, "ridge_alpha": 1.0, "ridge_anomaly_w": np.zeros(6),
        "ridge_anomaly_b": 0.0, "ridge_anomaly_alpha": 1.0, "networks": [net], "best_epochs": [1], "shrink": 0.0,
        "stack": {"ridge": 1.0}, "stack_keep": 1.0, "method": "ridge", "offsets": {"80": (-1.0, 1.0), "95": (-2.0, 2.0)},
        "interval_scale": np.ones(366), "val_mae": {}, "val_gain_p05": {}}
    fc.columns_ = {"target": T, "own": [T, P], "others": [],
                   "stats": {T: {"unit": "°C", "median": 15.0, "std": 9.0}, P: {"unit": "", "median": 1000.0, "std": 5.0}},
                   "trained_on": "2001-01-01 .. 2001-01-30", "source": "a.csv", "last_training_target": val_end}
    return fc


def _saved(tmp_path, extra=None, val_end="2001-01-20"):
    run = tmp_path / "run"
    _hand_built("A", extra, val_end).save(run / "forecaster")
    return run


def _csv(tmp_path, name="new.csv", days=DAYS, sep=",", pressure=True):
    lines = ["date" + sep + "temperature" + (sep + "pressure" if pressure else "")]
    for k, d in enumerate(days):
        lines.append(f"{d}{sep}{k + 1}.0" + (f"{sep}{1000 + k % 3}" if pressure else ""))
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n")
    return f


def test_from_a_saved_forecaster_as_of_a_date(tmp_path, capsys):
    run, f = _saved(tmp_path), _csv(tmp_path)
    out = tmp_path / "out"
    assert main(["forecast", "--from", str(run), "--csv", str(f), "--as-of", "2001-01-10", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # ridge = T(t) = 10 on 10 January (the 10th row); the interval offsets ±1, ±2; observed T(12 Jan) = 12
    assert (out / "forecast.csv").read_text() == (
        "issued,horizon,target_date,forecast,lower_80,upper_80,lower_95,upper_95,method,climatology,observed\n"
        "2001-01-10,2,2001-01-12,10.00,9.00,11.00,8.00,12.00,ridge,1.00,12.00\n")
    assert printed.splitlines()[:2] == [
        f"Forecaster from {run} (2001-01-01 .. 2001-01-30), data {f}",
        "note: the forecaster was fitted on targets up to 2001-01-20, after --as-of: a hindcast, not an honest "
        "forecast"]
    assert "| 2 d | 2001-01-12 | 10.0 | 9.0 .. 11.0 | 8.0 .. 12.0 | ridge | 1.0 | 12.0 |" in printed
    assert "Forecast for A issued as of 2001-01-10" in printed
    assert printed.rstrip().endswith(f"Wrote: {out / 'forecast.csv'}")
    # as of the last day, after the validation targets: no hindcast note; the target is not in the data
    assert main(["forecast", "--from", str(run), "--csv", str(f), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "hindcast" not in printed
    assert (out / "forecast.csv").read_text().splitlines()[1] == (
        "2001-01-30,2,2001-02-01,30.00,29.00,31.00,28.00,32.00,ridge,1.00,")
    # as of the last validation target itself: still a hindcast
    main(["forecast", "--from", str(run), "--csv", str(f), "--as-of", "2001-01-20", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "a hindcast" in printed and "forecast\n\nForecast for A issued as of 2001-01-20" in printed   # a blank line
    # a new --out folder is made with its parents
    deep = tmp_path / "a" / "b" / "c"
    assert main(["forecast", "--from", str(run), "--csv", str(f), "--out", str(deep)]) == 0
    assert (deep / "forecast.csv").is_file()
    capsys.readouterr()
    with pytest.raises(ForecastError, match=r"^--as-of: expected a date YYYY-MM-DD, got '2001-02-30'$"):
        tanul.forecast.run_command(_parser().parse_args(["--from", str(run), "--csv", str(f), "--as-of", "2001-02-30"]))


def test_from_a_forecaster_without_its_training_dates(tmp_path, capsys):
    fc = _hand_built()
    del fc.columns_["trained_on"]
    fc.save(tmp_path / "run" / "forecaster")
    f = _csv(tmp_path)
    assert main(["forecast", "--from", str(tmp_path / "run"), "--csv", str(f), "--out", str(tmp_path / "o")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"Forecaster from {tmp_path / 'run'} (?), data {f}"


def test_from_reads_the_saved_csv_options_and_notes(tmp_path, capsys):
    run = _saved(tmp_path)
    days = np.concatenate([DAYS[:12], DAYS[13:]])          # 13 January missing: interpolated, with a note
    f = _csv(tmp_path, "semi.csv", days=days, sep=";")
    out = tmp_path / "o"
    assert main(["forecast", "--from", str(run), "--csv", str(f), "--sep", ";", "--as-of", "2001-01-14",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == "note: temp_mean: interpolated 1 missing day(s) 2001-01-13"
    # the file's 14 January is its 13th row (13.0); 16 January its 15th (15.0)
    assert (out / "forecast.csv").read_text().splitlines()[1] == (
        "2001-01-14,2,2001-01-16,13.00,12.00,14.00,11.00,15.00,ridge,1.00,15.00")
    # the saved inputs are required (pressure), so a file without them is refused, naming the column
    bare = _csv(tmp_path, "bare.csv", pressure=False)
    assert main(["forecast", "--from", str(run), "--csv", str(bare), "--out", str(out)]) == 2
    assert "no column 'pressure'" in capsys.readouterr().err
    # trained on a CSV: the new observations must be given
    with pytest.raises(ForecastError, match=r"run: this forecaster was trained on a --csv series; give the new "
                                            r"observations with --csv FILE$"):
        tanul.forecast.run_command(_parser().parse_args(["--from", str(run)]))


def test_load_data_and_truncate(tmp_path):
    f = _csv(tmp_path)
    args = _parser().parse_args(["--csv", str(f), "--inputs", "pressure"])
    data, opts = load_data(args)
    assert opts == CSV_OPTS and data.city == "CUSTOM" and list(data.columns) == ["temp_mean", "pressure"]
    data, _ = load_data(_parser().parse_args(["--csv", str(f)]), {"city": "x", "inputs": ["pressure"]})
    assert data.city == "X" and list(data.columns) == ["temp_mean", "pressure"]
    data, opts = load_data(_parser().parse_args(["--csv", str(f)]))
    assert list(data.columns) == ["temp_mean"] and opts["inputs"] == ()
    with pytest.raises(ForecastError, match=r"^--inputs goes with --csv \(the weather data brings its own "
                                            r"variables\)$"):
        load_data(_parser().parse_args(["--inputs", "pressure"]))
    cut = _truncate(data, np.datetime64("2001-01-05"))
    assert cut.dates.tolist() == DAYS[:5].tolist() and cut.columns["temp_mean"].tolist() == [1.0, 2, 3, 4, 5]
    assert (cut.city, cut.cities, cut.units, cut.source, cut.notes) == (
        data.city, data.cities, data.units, data.source, data.notes)
    holey, _ = load_data(_parser().parse_args(["--csv", str(_csv(tmp_path, "h.csv", days=np.delete(DAYS, 3)))]))
    assert _truncate(holey, DAYS[9]).notes == holey.notes == ["temp_mean: interpolated 1 missing day(s) 2001-01-04"]
    assert len(_truncate(data, DAYS[0])) == 1 and len(_truncate(data, DAYS[-1])) == 30
    for day in ("2000-12-31", "2001-01-31"):
        with pytest.raises(ForecastError, match=rf"^{f}: --as-of {day} is outside the data \(2001-01-01 \.\. "
                                                r"2001-01-30\)$"):
            _truncate(data, np.datetime64(day))


def test_training_arguments_reach_the_config(tmp_path, monkeypatch, capsys):
    """What run_command hands to the Forecaster, and what it does with the result (fit replaced)."""
    f = _csv(tmp_path)
    seen = {}

    def fake_fit(self, data, verbose=0):
        seen.update(config=self.config, data=data, verbose=verbose)
        raise ForecastError("stop here")

    monkeypatch.setattr(Forecaster, "fit", fake_fit)
    argv = ["forecast", "--csv", str(f), "--inputs", "pressure", "--epochs", "4", "--ensemble", "2", "--lags", "3",
            "--horizons", "2", "5", "--train-end", "2001-01-10", "--val-end", "2001-01-20", "--seed", "7",
            "--as-of", "2001-01-25"]
    assert main(argv) == 2
    cfg = seen["config"]
    assert isinstance(cfg, ForecastConfig) and seen["verbose"] == 1
    assert (cfg.city, cfg.seed, cfg.epochs, cfg.ensemble, cfg.lags, cfg.horizons) == ("CUSTOM", 7, 4, 2, 3, (2, 5))
    assert (cfg.train_end, cfg.val_end) == ("2001-01-10", "2001-01-20")
    assert cfg.variables == ("temp_mean", "pressure") and cfg.extra == {"csv": CSV_OPTS}
    assert seen["data"].dates[-1] == np.datetime64("2001-01-25")        # training sees nothing after --as-of
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == ("Forecasting CUSTOM's daily mean temperature 2, 5 day(s) ahead (25 days, "
                                       "2001-01-01 .. 2001-01-25)")
    assert "stop here" in out.err
    # nothing given: the config's own defaults (not None)
    main(["forecast", "--csv", str(f)])
    cfg = seen["config"]
    default = ForecastConfig()
    assert (cfg.epochs, cfg.ensemble, cfg.lags, cfg.horizons) == (default.epochs, default.ensemble, default.lags,
                                                                  default.horizons)
    assert cfg.train_end is None and cfg.variables == ("temp_mean",) and cfg.seed == 0
    assert seen["data"].dates[-1] == DAYS[-1]


def _result(cfg, data):
    """A run's result for the 2-day horizon of _hand_built on ``data`` (every method: y + a constant)."""
    c = data.city
    temp, pres = data.columns["temp_mean"], data.columns["pressure"]
    dates = data.dates[:-2]
    td = dates + 2
    y = temp[2:]
    preds = {m: y + k / 4 for k, m in enumerate(["issued", "shrunk", "stacked", "network", "ridge",
                                                  "ridge_anomaly", "climatology", "persistence"])}
    bands = {"lower_80": y - 1, "upper_80": y + 1, "lower_95": y - 2, "upper_95": y + 2}
    split = {"train": td <= np.datetime64("2001-01-10"),
             "val": (td > np.datetime64("2001-01-10")) & (td <= np.datetime64("2001-01-20"))}
    split["test"] = ~(split["train"] | split["val"])
    h2 = {"samples": {"dates": dates, "target_dates": td, "y": y, "x": np.column_stack([temp[:-2], pres[:-2]]),
                      "feature_names": [f"{c}_temp_mean(t)", f"{c}_pressure(t)"]},
          "split": split, "predictions": preds, "bands": bands, "method": "ridge", "shrink": 0.0,
          "history": {"loss": [2.0, 1.0], "val_loss": [3.0, 2.5]}}
    metrics = [{"horizon": 2, "method": m, "split": part, "mae": 1.0 + k, "rmse": 2.0 + k, "skill_vs_persistence": 0.1,
                "skill_vs_climatology": 0.2, "chosen": "ridge" if m == "issued" else "",
                "coverage_80": 0.75 if m == "issued" else "", "coverage_95": 1.0 if m == "issued" else ""}
               for part in ("val", "test") for k, m in enumerate(["issued", "network", "ridge", "climatology",
                                                                  "persistence"])]
    return {"config": cfg, "horizons": {2: h2}, "metrics": metrics, "skill": [], "source": data.source}


def test_training_path_issues_from_the_full_data_and_writes_everything(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    f = _csv(tmp_path)

    def fake_fit(self, data, verbose=0):
        built = _hand_built(data.city)
        self.horizons_, self.columns_ = built.horizons_, built.columns_
        self.result_ = _result(self.config, data)
        return self

    monkeypatch.setattr(Forecaster, "fit", fake_fit)
    out = tmp_path / "out"
    fast = ["--lags", "1", "--horizons", "2"]
    assert main(["forecast", "--csv", str(f), "--inputs", "pressure", "--as-of", "2001-01-25", "--out", str(out), *fast]) == 0
    # trained on the days up to 25 January; issued as of that day, the observed value looked up in the full file
    assert (out / "forecast.csv").read_text().splitlines()[1] == (
        "2001-01-25,2,2001-01-27,25.00,24.00,26.00,23.00,27.00,ridge,1.00,27.00")
    assert (out / "forecaster" / "forecaster.json").is_file()
    assert Forecaster.load(out).horizons_[2]["method"] == "ridge"
    assert "## Forecast" in (out / "metrics.md").read_text(encoding="utf-8")
    assert (out / "predicted_vs_observed.png").is_file() and (out / "learning_curves_h2.png").is_file()
    assert (out / "samples_h2.csv").read_text().splitlines()[1] == "2001-01-01,2001-01-03,train,3.0,1.0,1000.0"
    printed = capsys.readouterr().out
    assert "| issued | 1.00 | 2.00 |" in printed and "Issued: 2 d ridge." in printed
    assert "| 2 d | 2001-01-27 | 25.0 | 24.0 .. 26.0 | 23.0 .. 27.0 | ridge | 1.0 | 27.0 |" in printed
    tail = printed[printed.index("Wrote:"):].splitlines()
    assert tail[0] == "Wrote:" and f"  {out / 'forecast.csv'}" in tail and f"  {out / 'forecaster'}" in tail
    assert f"  {out / 'error_by_month.png'}" in tail and len(tail) == 1 + 12    # 9 files and folders, 3 figures
    # --no-plots: no figure
    out2 = tmp_path / "out2"
    capsys.readouterr()
    holey = _csv(tmp_path, "holey.csv", days=np.delete(DAYS, 5))
    assert main(["forecast", "--csv", str(holey), "--inputs", "pressure", "--out", str(out2), "--no-plots", *fast]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[:2] == ["note: temp_mean: interpolated 1 missing day(s) 2001-01-06",
                                        "note: pressure: interpolated 1 missing day(s) 2001-01-06"]
    assert "day(s) ahead (30 days, 2001-01-01 .. 2001-01-30)\n\n| method | MAE 2 d" in printed   # a blank line
    # no figures; the file's 30 January is its 29th row (29.0): 6 January is missing
    assert not list(out2.glob("*.png")) and (out2 / "forecast.csv").read_text().splitlines()[1].startswith(
        "2001-01-30,2,2001-02-01,29.00,")


def test_weather_data_places(tmp_path, monkeypatch, capsys):
    days = np.datetime64("2001-01-01") + np.arange(5)
    lines = ["DATE,MONTH,A_temp_mean,B_temp_mean"] + [f"{str(d).replace('-', '')},1,{k}.5,{k}.25"
                                                     for k, d in enumerate(days)]
    f = tmp_path / "w.csv"
    f.write_text("\n".join(lines) + "\n")
    assert main(["forecast", "--data", str(f), "--city", "nowhere"]) == 2
    assert capsys.readouterr().err.strip().endswith("unknown city 'nowhere'; known: A, B")
    seen = {}

    def fake_fit(self, data, verbose=0):
        seen.update(city=self.config.city, data=data)
        raise ForecastError("stop here")

    monkeypatch.setattr(Forecaster, "fit", fake_fit)
    assert main(["forecast", "--data", str(f), "--city", "b"]) == 2
    assert seen["city"] == "B" and seen["data"].city is None and seen["data"].cities == ["A", "B"]
    assert seen["data"].columns["B_temp_mean"].tolist() == [0.25, 1.25, 2.25, 3.25, 4.25]
    assert capsys.readouterr().out.splitlines()[0] == ("Forecasting B's daily mean temperature 1, 7, 30 day(s) ahead "
                                                       "(5 days, 2001-01-01 .. 2001-01-05)")
    data, opts = load_data(_parser().parse_args(["--data", str(f)]))
    assert opts is None and data.source == str(f) and list(data.columns) == ["A_temp_mean", "B_temp_mean"]
