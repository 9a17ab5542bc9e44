"""Forecasting: no leakage, splits by target date, baselines by hand, the real figures."""

import csv
import os

import numpy as np
import pytest

from tanul.cli import main
from tanul.datasets.weather import WeatherData, weather
from tanul.forecast import (
    METHODS,
    ForecastConfig,
    build_samples,
    climatology,
    persistence,
    run_forecast,
    split_by_target_date,
)


def _synthetic(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64("2000-01-01"), np.datetime64("2000-01-01") + n)
    doy = (dates - dates.astype("datetime64[Y]")).astype(int)
    temp = 10 - 10 * np.cos(2 * np.pi * doy / 365.25) + rng.normal(0, 2, n)
    cols = {"A_temp_mean": temp, "A_pressure": 1 + 0.01 * rng.normal(size=n),
            "B_temp_mean": np.roll(temp, -1) + rng.normal(0, 1, n)}
    return WeatherData(dates=dates, columns=cols, city=None, cities=["A", "B"])


def test_no_feature_uses_information_after_day_t():
    data = _synthetic()
    cfg = ForecastConfig(city="A", lags=5, horizons=(7,))
    s = build_samples(data, cfg, 7)
    rng = np.random.default_rng(1)
    for row in rng.choice(len(s["t"]), 15, replace=False):
        t = s["t"][row]
        future = {k: v.copy() for k, v in data.columns.items()}
        for v in future.values():  # scramble every value after day t
            v[t + 1:] = rng.normal(size=len(v) - t - 1) * 100
        s2 = build_samples(WeatherData(data.dates, future, None, ["A", "B"]), cfg, 7)
        np.testing.assert_array_equal(s2["x"][row], s["x"][row])
        assert s["y"][row] == data.columns["A_temp_mean"][t + 7]


def test_window_holds_the_last_lags_days():
    data = _synthetic()
    s = build_samples(data, ForecastConfig(city="A", lags=3, horizons=(1,)), 1)
    names = s["feature_names"]
    t = s["t"][10]
    temp = data.columns["A_temp_mean"]
    for lag in (2, 1, 0):
        col = names.index(f"A_temp_mean(t-{lag})" if lag else "A_temp_mean(t)")
        assert s["x"][10, col] == temp[t - lag]
    assert s["x"][10, names.index("B_temp_mean(t)")] == data.columns["B_temp_mean"][t]
    assert s["target_dates"][10] == s["dates"][10] + 1


def test_split_by_target_date():
    d = np.arange(np.datetime64("2007-12-30"), np.datetime64("2009-01-03"))
    m = split_by_target_date(d, "2007-12-31", "2008-12-31")
    assert d[m["train"]].max() == np.datetime64("2007-12-31")
    assert d[m["val"]].min() == np.datetime64("2008-01-01") and d[m["val"]].max() == np.datetime64("2008-12-31")
    assert d[m["test"]].min() == np.datetime64("2009-01-01")
    assert (m["train"].astype(int) + m["val"] + m["test"] == 1).all()
    # no ends given (a config's default): the test period is the last stretch of >= 365 days from 1 January
    d = np.arange(np.datetime64("2000-01-01"), np.datetime64("2010-01-02"))
    m = split_by_target_date(d, None, None)
    assert d[m["test"]].min() == np.datetime64("2009-01-01") and d[m["val"]].min() == np.datetime64("2008-01-01")


def test_baselines_by_hand():
    s = {"temp_t": np.array([1.0, 2.0, 3.0])}
    assert persistence(s).tolist() == [1.0, 2.0, 3.0]
    dates = np.array(["2001-01-01", "2002-01-01", "2001-01-02", "2002-01-02"], dtype="datetime64[D]")
    clim = climatology(dates, np.array([1.0, 3.0, 10.0, 20.0]), window=1)
    assert clim(np.array(["2005-01-01", "2005-01-02"], dtype="datetime64[D]")).tolist() == [2.0, 15.0]


def test_scalers_are_fitted_on_the_training_period_only():
    data = _synthetic(900)
    cfg = ForecastConfig(city="A", horizons=(1,), train_end="2001-06-30", val_end="2001-12-31",
                         epochs=3, ensemble=1)
    r = run_forecast(data, cfg, verbose=0)["horizons"][1]
    s, tr = r["samples"], r["split"]["train"]
    np.testing.assert_allclose(r["x_scaler"].mean_, s["x"][tr].mean(axis=0))
    assert not np.allclose(r["x_scaler"].mean_, s["x"].mean(axis=0))


def test_real_data_baselines_and_a_short_network_run(weather_csv):
    """On Budapest (test targets from 2009): the issue's persistence and climatology figures,
    and a small, fast network that already beats persistence one day ahead."""
    data = weather(None, path=weather_csv)
    cfg = ForecastConfig(horizons=(1, 7, 30), epochs=15, ensemble=1, hidden=(32,))
    res = run_forecast(data, cfg, verbose=0)
    test = {(r["horizon"], r["method"]): r["mae"] for r in res["metrics"] if r["split"] == "test"}
    assert [round(test[(h, "persistence")], 2) for h in (1, 7, 30)] == [1.71, 3.88, 5.70]
    assert round(test[(1, "climatology")], 2) == 3.09
    assert test[(1, "network")] < test[(1, "persistence")]
    assert test[(1, "ridge")] < test[(1, "persistence")]
    # leakage alarm of the issue: far below these means a bug
    assert test[(7, "network")] > 2.8 and test[(30, "network")] > 3.0


def test_same_seed_same_numbers():
    data = _synthetic(800)
    cfg = ForecastConfig(city="A", horizons=(2,), train_end="2001-03-31", val_end="2001-09-30",
                         epochs=5, ensemble=2)
    a = run_forecast(data, cfg, verbose=0)["horizons"][2]["predictions"]["network"]
    b = run_forecast(data, cfg, verbose=0)["horizons"][2]["predictions"]["network"]
    np.testing.assert_array_equal(a, b)


def test_cli_writes_everything(tmp_path, weather_csv, capsys):
    out = tmp_path / "fc"
    rc = main(["forecast", "--data", str(weather_csv), "--out", str(out), "--horizons", "1",
               "--epochs", "2", "--ensemble", "1", "--no-plots"])
    assert rc == 0
    names = {p.name for p in out.iterdir()}
    assert {"samples_h1.csv", "predictions_h1.csv", "metrics.csv", "metrics.md", "config.json", "forecast.csv",
            "training_data.csv", "skill.csv", "forecaster"} <= names
    printed = capsys.readouterr().out
    assert "Wrote:" in printed and "Forecast for BUDAPEST issued as of 2010-01-01" in printed
    head = (out / "predictions_h1.csv").read_text().splitlines()[0]
    assert head == ("target_date,split,observed,issued,shrunk,stacked,network,ridge,ridge_anomaly,climatology,persistence,"
                    "lower_80,upper_80,lower_95,upper_95,method")
    fc = (out / "forecast.csv").read_text().splitlines()
    assert fc[0] == "issued,horizon,target_date,forecast,lower_80,upper_80,lower_95,upper_95,method,climatology,observed"
    assert [r.split(",")[:3] for r in fc[1:]] == [["2010-01-01", "1", "2010-01-02"]]
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    issued = [r for r in rows if r["method"] == "issued"]
    assert len(issued) == 3 and all(r["chosen"] in METHODS for r in issued)
    assert all(0 <= float(r["coverage_80"]) <= 1 for r in issued)
    train = list(csv.DictReader(open(out / "training_data.csv")))
    assert {r["role"] for r in train} == {"fit", "early_stopping"}
    # the networks are fitted on 2000-2006 and stopped early on 2007: never a validation or test day
    assert max(r["target_date"] for r in train) == "2007-12-31"
    assert min(r["target_date"] for r in train if r["role"] == "early_stopping") == "2007-01-01"
    assert "BUDAPEST_temp_mean(t)" in train[0] and "sin_doy(target)" in train[0]
    # a forecast from the saved forecaster, as of a date, without training
    rc = main(["forecast", "--from", str(out), "--data", str(weather_csv), "--as-of", "2009-10-27",
               "--out", str(tmp_path / "again")])
    assert rc == 0
    again = (tmp_path / "again" / "forecast.csv").read_text().splitlines()
    assert [r.split(",")[2] for r in again[1:]] == ["2009-10-28"]
    assert main(["forecast", "--data", str(weather_csv), "--city", "NOWHERE", "--out", str(out)]) == 2
    assert "known: BASEL" in capsys.readouterr().err


@pytest.mark.skipif(not os.environ.get("TANUL_SLOW_TESTS"), reason="a full Budapest run (10-60 s); set "
                    "TANUL_SLOW_TESTS=1 (examples/forecast_all_places.py checks all 18 places)")
def test_budapest_targets_of_the_issue_hold_for_the_issued_forecast(weather_csv):
    """The default settings on Budapest: issued MAE within the issue's targets (1.28 / 3.05 / 3.09 °C),
    never worse than climatology + 0.02 at 7 and 30 days, nor than ridge + 0.02 at 1 day."""
    data = weather(None, path=weather_csv)
    res = run_forecast(data, ForecastConfig(bootstrap=0), verbose=0)
    test = {(r["horizon"], r["method"]): r["mae"] for r in res["metrics"] if r["split"] == "test"}
    assert test[(1, "issued")] <= test[(1, "ridge")] + 0.02
    for h in (7, 30):
        assert test[(h, "issued")] <= test[(h, "climatology")] + 0.02
    # the issue's Budapest targets 1.28 / 3.05 / 3.09: met at 1 and 30 days (at two decimals); at 7 days
    # the issued forecast beats climatology (3.06 against 3.09) but misses 3.05 (docs/forecasting.md)
    assert round(test[(1, "issued")], 2) <= 1.28 and round(test[(30, "issued")], 2) <= 3.09
    assert res["horizons"][7]["method"] == "stacked" and test[(7, "issued")] < test[(7, "climatology")]


def test_all_places_example_makes_its_table(weather_csv, tmp_path):
    """A one-place, two-epoch run of the example: the table row and its climatology figure, which
    the test recomputes from the data by hand."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    proc = subprocess.run([sys.executable, str(root / "examples" / "forecast_all_places.py"), "--data",
                           str(weather_csv), "--places", "ROMA", "--ensemble", "1", "--epochs", "2", "--jobs", "1"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| ROMA |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    data = weather(None, path=weather_csv)
    s = build_samples(data, ForecastConfig(city="ROMA"), 30)
    sp = split_by_target_date(s["target_dates"], "2007-12-31", "2008-12-31")
    clim = climatology(s["target_dates"][sp["train"]], s["y"][sp["train"]])(s["target_dates"][sp["test"]])
    assert cells[3] == f"{np.abs(clim - s['y'][sp['test']]).mean():.2f}"
    assert "Targets met on" in proc.stdout
