"""The forecast intervals (split-conformal ranks, residuals pooled beyond a day, the optional
seasonal scale) and the horizon-specific inputs, on small synthetic data (docs/forecasting.md)."""

import json
import shutil

import numpy as np
import pytest

from forecast_data import seasonal_series as _series
from tanul.datasets.weather import WeatherData
from tanul.forecast import (
    INTERVALS,
    ForecastConfig,
    Forecaster,
    ForecastError,
    build_samples,
    coverage,
    day_of_year,
    horizon_inputs,
    interval_offsets,
    interval_rows,
    seasonal_scale,
)
from tanul.forecast.core import window_days


# ---------------------------------------------------------------------- conformal ranks
def test_conformal_offsets_are_the_finite_sample_ranks():
    r = np.arange(1.0, 100.0)[::-1]                 # 99 residuals 1 .. 99, unsorted
    off = interval_offsets(r, conformal=True)
    # n + 1 = 100: 80 %: ranks floor(100 * 0.1) = 10 and ceil(100 * 0.9) = 90;
    # 95 %: floor(2.5) = 2 and ceil(97.5) = 98
    assert off["80"] == (10.0, 90.0) and off["95"] == (2.0, 98.0)
    # too few residuals for the 95 % ranks: the smallest and the largest residual
    assert interval_offsets(np.array([3.0, -1.0, 2.0]), conformal=True)["95"] == (-1.0, 3.0)
    # the empirical quantiles interpolate: 0.1 of 1 .. 99 is 10.8, 0.9 is 89.2
    assert interval_offsets(r)["80"] == pytest.approx((10.8, 89.2))
    with pytest.raises(ForecastError, match="at least 2 validation residuals"):
        interval_offsets(np.array([np.nan, 1.0]), conformal=True)


def test_conformal_intervals_keep_their_level_with_few_residuals_where_quantiles_do_not():
    # 20 residuals per fit, then one new day: split-conformal promises P(inside) >= 0.8
    # (exactly 17/21 = 0.810 here), the interpolated quantiles cover only about 15.2/21 = 0.724
    rng = np.random.default_rng(0)
    reps = 8000
    cal = rng.normal(size=(reps, 20))
    new = rng.normal(size=reps)
    hit = {"conformal": 0, "empirical": 0}
    for i in range(reps):
        for rule in hit:
            lo, hi = interval_offsets(cal[i], conformal=rule == "conformal")["80"]
            hit[rule] += lo <= new[i] <= hi
    se = np.sqrt(0.8 * 0.2 / reps)
    assert abs(hit["conformal"] / reps - 17 / 21) < 4 * se
    assert hit["empirical"] / reps < 0.75


# ---------------------------------------------------------------------- seasonal scale
def test_seasonal_scale_follows_the_spread_by_day_of_year():
    rng = np.random.default_rng(1)
    dates = np.datetime64("2001-01-01") + np.arange(365 * 20)
    doy = day_of_year(dates)
    sd = np.where((doy < 59) | (doy >= 334), 3.0, np.where((doy >= 151) & (doy < 243), 1.0, 2.0))
    r = rng.normal(0, sd)
    table = seasonal_scale(dates, r, window=15)      # about 300 squared residuals per day of year
    assert table.shape == (366,) and table.mean() == pytest.approx(1.0)
    assert table[15] / table[196] == pytest.approx(3.0, rel=0.15)      # mid-January / mid-July
    # normalised residuals give the same coverage in winter and summer; plain ones do not
    new = rng.normal(0, sd)
    sig = table[doy]
    off = interval_offsets(r / sig, conformal=True)["80"]
    flat = interval_offsets(r, conformal=True)["80"]
    winter, summer = sd == 3.0, sd == 1.0
    for m in (winter, summer):
        assert 0.76 < coverage(new[m], sig[m] * off[0], sig[m] * off[1]) < 0.84
    assert coverage(new[winter], np.full(winter.sum(), flat[0]), np.full(winter.sum(), flat[1])) < 0.7
    assert coverage(new[summer], np.full(summer.sum(), flat[0]), np.full(summer.sum(), flat[1])) > 0.95
    with pytest.raises(ForecastError, match="all zero"):
        seasonal_scale(dates, np.zeros(len(dates)))
    with pytest.raises(ForecastError, match="at least 2 finite"):
        seasonal_scale(dates[:3], np.array([np.nan, np.nan, 1.0]))


# ---------------------------------------------------------------------- the forecaster's intervals
def test_interval_rows_pool_the_training_years_beyond_the_short_horizon():
    split = {"train": np.array([1, 1, 0, 0, 0], bool), "val": np.array([0, 0, 1, 1, 0], bool),
             "test": np.array([0, 0, 0, 0, 1], bool)}
    pooled = ForecastConfig(short_horizon=1, interval_years="pooled")
    assert interval_rows(pooled, 1, split).tolist() == [False, False, True, True, False]
    assert interval_rows(pooled, 7, split).tolist() == [True, True, True, True, False]
    val = ForecastConfig()
    assert (val.interval_rule, val.interval_years, val.interval_seasonal) == ("conformal", "validation", False)
    assert interval_rows(val, 7, split).tolist() == [False, False, True, True, False]


def test_default_intervals_are_conformal_on_the_validation_year():
    data = _series(years=4)
    fc = Forecaster(city="A", horizons=(1, 7), epochs=2, ensemble=1, bootstrap=0, hidden=(4,)).fit(data)
    for h in (1, 7):
        res, st = fc.result_["horizons"][h], fc.horizons_[h]
        va = res["split"]["val"]
        r = res["samples"]["y"][va] - res["predictions"]["issued"][va]
        assert st["offsets"] == interval_offsets(r, conformal=True) != interval_offsets(r)
        assert (st["interval_scale"] == 1).all()
        row = fc.forecast(data, "2002-05-05")[[1, 7].index(h)]
        assert row["upper_95"] == row["forecast"] + st["offsets"]["95"][1]
    # at 7 days the stack is ridge alone (medium_members): clim + 0.15 (ridge − clim)
    st, p = fc.horizons_[7], fc.result_["horizons"][7]["predictions"]
    assert st["stack"] == {"ridge": 1.0} and fc.horizons_[1]["stack"].keys() == {
        "network", "ridge", "ridge_anomaly", "climatology"}
    np.testing.assert_allclose(p["issued"], p["climatology"] + 0.15 * (p["ridge"] - p["climatology"]))


@pytest.fixture(scope="module")
def seasonal():
    data = _series(years=6, winter_noise=3.0)
    fc = Forecaster(city="A", horizons=(1, 7), epochs=3, ensemble=1, bootstrap=0, hidden=(8,),
                    interval_seasonal=True, interval_years="pooled").fit(data)
    return data, fc


def test_forecaster_intervals_come_from_the_documented_residuals(seasonal):
    data, fc = seasonal
    for h, pooled in ((1, False), (7, True)):
        res, st = fc.result_["horizons"][h], fc.horizons_[h]
        s, sp = res["samples"], res["split"]
        use = (sp["train"] | sp["val"]) if pooled else sp["val"]
        sig = st["interval_scale"][day_of_year(s["target_dates"])]
        r = (s["y"] - res["predictions"]["issued"]) / sig
        assert st["offsets"] == interval_offsets(r[use], conformal=True)
        if h == 7:     # the test year plays no part
            assert st["offsets"] != interval_offsets(r[use | sp["test"]], conformal=True)
        # the reported coverage is that of the bands, and the bands are wider in winter
        test = sp["test"]
        lo, hi = res["bands"]["lower_80"], res["bands"]["upper_80"]
        row = next(m for m in fc.result_["metrics"]
                   if m["method"] == "issued" and m["split"] == "test" and m["horizon"] == h)
        assert row["coverage_80"] == coverage(s["y"][test], lo[test], hi[test])
        width = hi - lo
        doy = day_of_year(s["target_dates"])
        assert width[doy < 30].mean() > 1.5 * width[(doy > 180) & (doy < 210)].mean()


def test_seasonal_intervals_survive_save_and_load(seasonal, tmp_path):
    data, fc = seasonal
    back = Forecaster.load(fc.save(tmp_path / "fc"))
    for as_of in ("2004-01-10", "2004-07-10"):
        a, b = fc.forecast(data, as_of), back.forecast(data, as_of)
        for ra, rb in zip(a, b):
            for k in ("forecast", "lower_80", "upper_80", "lower_95", "upper_95"):
                assert ra[k] == rb[k]
    jan, jul = fc.forecast(data, "2004-01-10")[1], fc.forecast(data, "2004-07-10")[1]
    assert jan["upper_80"] - jan["lower_80"] > 1.5 * (jul["upper_80"] - jul["lower_80"])
    # a forecaster saved before the interval scale and rule existed: constant width, old rule named
    old = tmp_path / "old"
    shutil.copytree(tmp_path / "fc", old)
    man = json.loads((old / "forecaster.json").read_text())
    for k in ("interval_rule", "interval_years", "interval_seasonal"):
        man["config"].pop(k)
    (old / "forecaster.json").write_text(json.dumps(man))
    for h in (1, 7):
        (old / f"h{h}_interval_scale.npy").unlink()
    ld = Forecaster.load(old)
    assert ld.config.interval_rule == "empirical" and ld.config.interval_years == "validation"
    row = ld.forecast(data, "2004-01-10")[1]
    lo, hi = ld.horizons_[7]["offsets"]["80"]
    assert row["lower_80"] == pytest.approx(row["forecast"] + lo) and row["upper_80"] == pytest.approx(
        row["forecast"] + hi)


def test_a_damaged_interval_scale_is_refused(seasonal, tmp_path):
    _, fc = seasonal
    d = fc.save(tmp_path / "fc")
    np.save(d / "h7_interval_scale.npy", np.ones(10))
    with pytest.raises(ForecastError, match="h7_interval_scale.npy: expected 366 finite float64"):
        Forecaster.load(d)


def test_interval_settings_are_checked():
    with pytest.raises(ForecastError, match="medium_members"):
        ForecastConfig(medium_members=("ridge", "lasso"))
    with pytest.raises(ForecastError, match="medium_members"):
        ForecastConfig(medium_members=())
    with pytest.raises(ForecastError, match="interval_rule"):
        ForecastConfig(interval_rule="gaussian")
    with pytest.raises(ForecastError, match="interval_years"):
        ForecastConfig(interval_years="all")
    with pytest.raises(ForecastError, match="interval_seasonal"):
        ForecastConfig(interval_seasonal="yes")
    assert set(INTERVALS) == {"80", "95"}


# ---------------------------------------------------------------------- horizon-specific inputs
def test_long_horizon_inputs_apply_beyond_the_short_horizon_only():
    data = _series(years=2)
    cfg = ForecastConfig(city="A", horizons=(1, 7), long_other_lags=2, long_means=(5,), long_ensemble=2)
    assert horizon_inputs(cfg, 1) == (1, (), 3) and horizon_inputs(cfg, 7) == (2, (5,), 2)
    assert window_days(cfg) == 5
    s1, s7 = build_samples(data, cfg, 1), build_samples(data, cfg, 7)
    assert "B_temp_mean(t-1)" not in s1["feature_names"] and "A_temp_mean_mean5(t)" not in s1["feature_names"]
    names = s7["feature_names"]
    t = s7["t"][30]
    assert s7["x"][30, names.index("B_temp_mean(t-1)")] == data.columns["B_temp_mean"][t - 1]
    assert s7["x"][30, names.index("A_temp_mean_mean5(t)")] == pytest.approx(
        data.columns["A_temp_mean"][t - 4:t + 1].mean())
    assert s1["t"][0] == s7["t"][0] == 4           # both horizons start where the longest window allows
    for bad in ({"long_other_lags": 0}, {"long_ensemble": 1.5}, {"long_means": (1,)}):
        with pytest.raises(ForecastError, match="long_"):
            ForecastConfig(**bad)


def test_long_horizon_inputs_reach_the_networks_and_the_issued_forecast(tmp_path):
    data = _series(years=4)
    fc = Forecaster(city="A", horizons=(1, 7), epochs=2, ensemble=1, bootstrap=0, hidden=(4,),
                    long_other_lags=2, long_ensemble=2).fit(data)
    assert len(fc.horizons_[1]["networks"]) == 1 and len(fc.horizons_[7]["networks"]) == 2
    n1, n7 = len(fc.horizons_[1]["feature_names"]), len(fc.horizons_[7]["feature_names"])
    assert n7 == n1 + 1                               # B_temp_mean(t-1)
    back = Forecaster.load(fc.save(tmp_path / "fc"))
    assert back.forecast(data, "2003-06-01") == fc.forecast(data, "2003-06-01")
    # nothing after as-of is read by the longer windows either
    wild = {k: v.copy() for k, v in data.columns.items()}
    cut = np.datetime64("2003-06-01")
    for v in wild.values():
        v[data.dates > cut] = 99.0
    scrambled = WeatherData(data.dates, wild, None, data.cities, data.units, "w")
    a, b = fc.forecast(data, "2003-06-01"), fc.forecast(scrambled, "2003-06-01")
    for ra, rb in zip(a, b):
        assert ra["forecast"] == rb["forecast"] and ra["lower_95"] == rb["lower_95"]
