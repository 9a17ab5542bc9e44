"""Issuing forecasts: --as-of date arithmetic, no peeking after as-of, intervals, bootstrap skill,
the method chosen on validation, save/load (issue 12) and the target scaler (issue 18)."""

import json
import math

import numpy as np
import pytest

from tanul.datasets.weather import WeatherData
from tanul.forecast import (
    ALTERNATIVES,
    FORECAST_COLUMNS,
    METHODS,
    STACK_MEMBERS,
    Forecaster,
    ForecastError,
    block_bootstrap_skill,
    choose_method,
    climatology_table,
    coverage,
    day_of_year,
    fit_shrinkage,
    fit_stack,
    interval_offsets,
)


def _series(start="2000-01-01", years=4, seed=0, city=None):
    rng = np.random.default_rng(seed)
    first = np.datetime64(start)
    n = int((np.datetime64(str(int(start[:4]) + years) + start[4:]) - first).astype(int))
    dates = first + np.arange(n)
    doy = day_of_year(dates)
    anomaly = np.zeros(n)
    for i in range(1, n):  # red noise: anomalies persist for days
        anomaly[i] = 0.8 * anomaly[i - 1] + rng.normal(0, 1.5)
    temp = 10 - 10 * np.cos(2 * np.pi * doy / 365.25) + anomaly
    cols = {"A_temp_mean": temp, "A_pressure": 1 + 0.01 * rng.normal(size=n),
            "B_temp_mean": np.roll(temp, -1) + rng.normal(0, 1, n)}
    units = {"A_temp_mean": "°C", "A_pressure": "1000 hPa", "B_temp_mean": "°C"}
    return WeatherData(dates=dates, columns=cols, city=None, cities=["A", "B"], units=units, source="synthetic")


def _fit(data, horizons=(1, 7), **kw):
    kw = {"city": "A", "horizons": horizons, "epochs": 3, "ensemble": 1, "bootstrap": 20, "hidden": (8,), **kw}
    return Forecaster(**kw).fit(data)


@pytest.fixture(scope="module")
def fitted():
    data = _series()
    return data, _fit(data, horizons=(1, 7, 28))


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], float) and math.isnan(a[k]):
            assert math.isnan(b[k]), k
        else:
            assert a[k] == b[k], k


# ---------------------------------------------------------------------- dates
def test_as_of_date_arithmetic_across_leap_days(fitted):
    data, fc = fitted
    rows = fc.forecast(data, as_of="2000-02-28")     # 2000 is a leap year
    assert [r["target_date"] for r in rows] == ["2000-02-29", "2000-03-06", "2000-03-27"]
    rows = fc.forecast(data, as_of="2001-02-28")     # 2001 is not
    assert [r["target_date"] for r in rows] == ["2001-03-01", "2001-03-07", "2001-03-28"]
    assert all(r["issued"] == "2001-02-28" for r in rows)
    # the climatology column is the table's value on the target's day of year (29 Feb = day 59)
    st = fc.horizons_[1]
    row = fc.forecast(data, as_of="2000-02-28")[0]
    assert row["climatology"] == st["climatology"][59]
    # observed: the data's value on the target day
    i = int((np.datetime64("2001-03-01") - data.dates[0]).astype(int))
    assert fc.forecast(data, as_of="2001-02-28")[0]["observed"] == data.columns["A_temp_mean"][i]


def test_the_homework_dates():
    data = _series("2017-01-01", years=4)
    fc = _fit(data, horizons=(1, 7, 28))
    rows = fc.forecast(data, as_of="2020-10-27")
    assert [r["target_date"] for r in rows] == ["2020-10-28", "2020-11-03", "2020-11-24"]
    last = fc.forecast(data)            # default: the last observed day
    assert last[0]["issued"] == "2020-12-31" and last[0]["target_date"] == "2021-01-01"
    assert math.isnan(last[0]["observed"])
    assert list(last[0]) == FORECAST_COLUMNS


def test_nothing_after_as_of_is_read(fitted):
    data, fc = fitted
    as_of = np.datetime64("2002-03-15")
    before = fc.forecast(data, as_of=str(as_of))
    rng = np.random.default_rng(5)
    scrambled = {k: v.copy() for k, v in data.columns.items()}
    after = data.dates > as_of
    for v in scrambled.values():
        v[after] = rng.normal(0, 50, after.sum())
    other = WeatherData(data.dates, scrambled, None, data.cities, data.units, "scrambled")
    now = fc.forecast(other, as_of=str(as_of))
    for a, b in zip(before, now):
        assert {k: a[k] for k in a if k != "observed"} == {k: b[k] for k in b if k != "observed"}
        assert a["observed"] != b["observed"]   # the scrambled future is only looked up as 'observed'
    # a forecast from data cut at as-of is the same
    cut = WeatherData(data.dates[~after], {k: v[~after] for k, v in data.columns.items()}, None,
                      data.cities, data.units, "cut")
    for a, b in zip(before, fc.forecast(cut)):
        assert a["forecast"] == b["forecast"] and math.isnan(b["observed"])


def test_as_of_outside_or_too_early(fitted):
    data, fc = fitted
    with pytest.raises(ForecastError, match=r"synthetic: --as-of 2010-01-01 is outside the data \(2000-01-01 \.\. "):
        fc.forecast(data, as_of="2010-01-01")
    with pytest.raises(ForecastError, match=r"--as-of 2000-01-02 is too early: the lags window needs 3 days"):
        fc.forecast(data, as_of="2000-01-02")
    assert fc.forecast(data, as_of="2000-01-03")[0]["target_date"] == "2000-01-04"   # 3 days: enough
    with pytest.raises(ForecastError, match=r"--as-of: expected a date YYYY-MM-DD, got '2001-02-30'"):
        fc.forecast(data, as_of="2001-02-30")


# ---------------------------------------------------------------------- intervals and skill
def test_interval_offsets_are_the_residual_quantiles():
    r = np.arange(1001, dtype=float) - 500        # -500 .. 500: quantile q is 1000 q - 500
    off = interval_offsets(r)
    assert off["80"] == pytest.approx((-400.0, 400.0)) and off["95"] == pytest.approx((-475.0, 475.0))
    y = np.array([0.0, 1.0, 2.0, 3.0])
    assert coverage(y, y - 1, y + 1) == 1.0
    assert coverage(y, np.array([0.5, 0, 0, 3.5]), np.array([1, 2, 1, 4.0])) == 0.25  # days 0, 2, 3 outside
    with pytest.raises(ForecastError, match="at least 2 validation residuals"):
        interval_offsets(np.array([1.0]))


def test_empirical_intervals_cover_new_days_at_their_level():
    rng = np.random.default_rng(0)
    off = interval_offsets(rng.standard_t(5, 5000) * 2 + 0.3)   # skewed-free but heavy-tailed, biased
    new = rng.standard_t(5, 20000) * 2 + 0.3
    pred = np.zeros_like(new)
    c80 = coverage(new, pred + off["80"][0], pred + off["80"][1])
    c95 = coverage(new, pred + off["95"][0], pred + off["95"][1])
    assert 0.78 < c80 < 0.82 and 0.94 < c95 < 0.96


def test_forecaster_reports_test_coverage(fitted):
    data, fc = fitted
    rows = [r for r in fc.result_["metrics"] if r["method"] == "issued" and r["split"] == "test"]
    for r in rows:
        h = r["horizon"]
        res = fc.result_["horizons"][h]
        m = res["split"]["test"]
        y = res["samples"]["y"][m]
        p = res["predictions"]["issued"][m]
        lo, hi = fc.horizons_[h]["offsets"]["80"]
        assert r["coverage_80"] == coverage(y, p + lo, p + hi)
        assert 0.6 < r["coverage_80"] < 0.95    # the synthetic weather keeps its noise level


def test_paired_block_bootstrap():
    rng = np.random.default_rng(1)
    y = rng.normal(size=400)
    ref = y + rng.normal(0, 2, 400)
    half = y + 0.5 * (ref - y)            # half the error on every day: skill exactly 0.5 in any resample
    s, lo, hi = block_bootstrap_skill(y, half, ref, block=30, n_boot=200)
    assert s == pytest.approx(0.5) and lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
    s, lo, hi = block_bootstrap_skill(y, ref, ref, n_boot=50)
    assert (s, lo, hi) == (0.0, 0.0, 0.0)
    noisy = y + rng.normal(0, 2, 400)   # as good as ref, independently: the interval holds 0
    s, lo, hi = block_bootstrap_skill(y, noisy, ref, n_boot=300)
    assert lo < 0 < hi and lo < s < hi
    s, lo, hi = block_bootstrap_skill(y, y, y)   # perfect reference: no skill figure, no crash
    assert math.isnan(s) and math.isnan(lo)


def test_shrinkage_factor():
    rng = np.random.default_rng(2)
    base = rng.normal(size=500)
    pred = base + rng.normal(size=500)
    y = base + 0.3 * (pred - base)
    assert fit_shrinkage(y, base, pred) == pytest.approx(0.3)
    assert fit_shrinkage(base, base, pred) == 0.0
    assert fit_shrinkage(pred, base, pred) == 1.0


def test_default_issues_the_stacked_forecast_shrunk_by_kappa(fitted):
    data, fc = fitted
    for h, res in fc.result_["horizons"].items():
        st, p = fc.horizons_[h], res["predictions"]
        va, y = res["split"]["val"], res["samples"]["y"]
        assert st["method"] == "stacked" and st["stack_keep"] == {1: 1.0, 7: 0.15, 28: 0.10}[h]
        members = ("ridge",) if h == 7 else STACK_MEMBERS     # medium_members at 7 days
        assert st["stack"] == fit_stack(y[va], {m: p[m][va] for m in members})
        s = sum(w * p[m] for m, w in st["stack"].items())
        np.testing.assert_allclose(p["issued"], p["climatology"] + st["stack_keep"] * (s - p["climatology"]))


def test_issued_method_is_chosen_on_validation_only():
    data = _series()
    fc = _fit(data, horizons=(1, 7, 28), issue_short="guard", issue_long="guard")
    for h, res in fc.result_["horizons"].items():
        va, y = res["split"]["val"], res["samples"]["y"]
        val = {m: np.abs(res["predictions"][m][va] - y[va]).mean() for m in METHODS}
        st = fc.horizons_[h]
        method, gains = st["method"], st["val_gain_p05"]
        np.testing.assert_array_equal(res["predictions"]["issued"], res["predictions"][method])
        default = "shrunk" if gains["shrunk"] > 0 and st["shrink"] > 0 else "climatology"
        alts = [a for a in ALTERNATIVES if a in gains]
        assert bool(alts) == (h <= fc.config.short_horizon)
        if method in ("shrunk", "climatology"):     # no alternative was surely better
            assert method == default
            assert all(gains[a] <= 0 or val[a] >= val[default] for a in alts)
        else:                                       # the alternative is better with 90 % confidence
            assert method in alts and gains[method] > 0 and val[method] < val[default]
        lam = st["shrink"]
        base = res["predictions"]["climatology"]
        members = ["network", "ridge_anomaly"] + (["ridge"] if h <= fc.config.short_horizon else [])
        ens = np.mean([res["predictions"][m] for m in members], axis=0)
        np.testing.assert_allclose(res["predictions"]["shrunk"], base + lam * (ens - base))
        rows = [r for r in fc.result_["metrics"] if r["horizon"] == h and r["method"] == "issued"]
        assert {r["chosen"] for r in rows} == {method}


def test_choose_method_needs_a_sure_gain_on_validation():
    rng = np.random.default_rng(3)
    y = rng.normal(0, 3, 366)
    clim = y + rng.normal(0, 3, 366)
    shrunk = y + rng.normal(0, 2, 366)                                     # far better than climatology
    preds = {"climatology": clim, "shrunk": shrunk, "ridge": y + rng.normal(0, 1, 366),   # far better: chosen
             "network": y + rng.normal(0, 1.9, 366), "ridge_anomaly": shrunk + 5}
    method, gains = choose_method(y, preds)
    assert method == "ridge" and gains["ridge"] > 0 and gains["ridge_anomaly"] < 0 and gains["shrunk"] > 0
    assert choose_method(y, preds, alternatives=())[0] == "shrunk"          # beyond short_horizon
    preds["ridge"] = shrunk + rng.normal(0, 0.05, 366)     # about as good: not a sure gain
    preds["network"] = shrunk - 0.001 * np.sign(shrunk - y)  # better on every day, by a hair: a sure gain
    assert choose_method(y, preds)[0] == "network"
    preds["network"] = y + rng.normal(0, 1.97, 366)
    assert choose_method(y, preds)[0] == "shrunk"
    preds["shrunk"] = clim + rng.normal(0, 0.05, 366)      # no sure gain over climatology: climatology
    method, gains = choose_method(y, preds, alternatives=())
    assert method == "climatology" and gains["shrunk"] <= 0


def test_issued_choice_does_not_depend_on_the_test_period():
    data = _series()
    a = _fit(data, horizons=(7,))
    test = data.dates > np.datetime64(a.config.val_end) + 7
    wild = {k: v.copy() for k, v in data.columns.items()}
    wild["A_temp_mean"][test] += 15.0
    b = _fit(WeatherData(data.dates, wild, None, data.cities, data.units, "w"), horizons=(7,))
    assert a.horizons_[7]["method"] == b.horizons_[7]["method"]
    assert a.horizons_[7]["offsets"] == b.horizons_[7]["offsets"]


def test_target_and_feature_scalers_are_fitted_on_the_training_period_only(fitted):
    data, fc = fitted
    for h, res in fc.result_["horizons"].items():
        s, tr = res["samples"], res["split"]["train"]
        anomaly = s["y"] - climatology_table(s["target_dates"][tr], s["y"][tr])[day_of_year(s["target_dates"])]
        st = fc.horizons_[h]
        assert st["y_mean"] == pytest.approx(anomaly[tr].mean(), abs=1e-12)
        assert st["y_scale"] == pytest.approx(anomaly[tr].std(), rel=1e-12)
        assert st["y_mean"] != pytest.approx(anomaly.mean(), abs=1e-6)   # all periods would differ
        assert st["y_scale"] != pytest.approx(anomaly.std(), rel=1e-6)
        np.testing.assert_allclose(st["x_mean"], s["x"][tr].mean(axis=0))


# ---------------------------------------------------------------------- save / load
def test_save_load_round_trip_gives_identical_forecasts(fitted, tmp_path):
    data, fc = fitted
    path = fc.save(tmp_path / "fc")
    names = {p.name for p in path.iterdir()}
    assert "forecaster.json" in names and "h7_net0.tanul" in names and "h28_ridge_w.npy" in names
    assert not any(n.endswith((".pkl", ".pickle")) for n in names)
    back = Forecaster.load(tmp_path / "fc")
    for as_of in ("2001-02-28", "2003-12-31", None):
        for a, b in zip(fc.forecast(data, as_of), back.forecast(data, as_of)):
            _same(a, b)
    assert repr(back) == repr(fc)
    # saving again replaces the folder as a whole
    fc.save(tmp_path / "fc")
    assert {p.name for p in (tmp_path / "fc").iterdir()} == names
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporary leftovers


def test_save_refuses_a_foreign_folder_and_load_refuses_bad_files(fitted, tmp_path):
    data, fc = fitted
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(ForecastError, match="exists and is not a forecaster folder"):
        fc.save(tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").exists()
    with pytest.raises(ForecastError, match="no forecaster.json here"):
        Forecaster.load(tmp_path / "mine")
    d = fc.save(tmp_path / "fc")
    man = json.loads((d / "forecaster.json").read_text())
    man["horizons"]["1"]["method"] = "__import__"
    (d / "forecaster.json").write_text(json.dumps(man))
    with pytest.raises(ForecastError, match="unknown method '__import__'"):
        Forecaster.load(d)
    d = fc.save(tmp_path / "fc")
    np.save(d / "h1_x_mean.npy", np.zeros(3))
    with pytest.raises(ForecastError, match=r"h1_x_mean.npy: expected \d+ finite float64 values"):
        Forecaster.load(d)
    d = fc.save(tmp_path / "fc")
    (d / "forecaster.json").write_text("[" * 5000)
    with pytest.raises(ForecastError, match="not valid JSON"):
        Forecaster.load(d)


def test_new_data_with_other_columns_or_units_is_refused(fitted):
    data, fc = fitted
    kelvin = {k: v + 273.15 if k == "A_temp_mean" else v for k, v in data.columns.items()}
    with pytest.raises(ForecastError, match=r"units: A_temp_mean has median 28\d\.\d+, far from the training"):
        fc.forecast(WeatherData(data.dates, kelvin, None, data.cities, data.units, "k.csv"))
    units = {**data.units, "A_pressure": "hPa"}
    with pytest.raises(ForecastError, match="A_pressure is in hPa, the forecaster was trained on 1000 hPa"):
        fc.forecast(WeatherData(data.dates, data.columns, None, data.cities, units, "u.csv"))
    fewer = {k: v for k, v in data.columns.items() if k != "B_temp_mean"}
    with pytest.raises(ForecastError, match="f.csv: the forecaster needs the columns B_temp_mean"):
        fc.forecast(WeatherData(data.dates, fewer, None, ["A"], data.units, "f.csv"))


def test_gaps_end_windows_and_block_a_forecast_that_needs_them(fitted):
    data, fc = fitted
    cols = {k: v.copy() for k, v in data.columns.items()}
    i = int((np.datetime64("2003-05-10") - data.dates[0]).astype(int))
    cols["A_temp_mean"][i - 4:i - 1] = np.nan
    holey = WeatherData(data.dates, cols, None, data.cities, data.units, "holes.csv")
    with pytest.raises(ForecastError, match=r"holes.csv: cannot issue the 1-day forecast as of 2003-05-10: "
                                            r"missing values in A_temp_mean\(t-2\)"):
        fc.forecast(holey, as_of="2003-05-10")
    fc.forecast(holey, as_of="2003-05-20")   # the window no longer reaches the gap
