"""The stacked forecast, the guard's confidence, the averaged-temperature inputs and early stopping
on the last training year (the design chosen in docs/forecasting.md), on small synthetic data."""

import csv
import math

import numpy as np
import pytest

from forecast_data import seasonal_series as _series
from tanul.datasets.weather import WeatherData
from tanul.forecast import (
    STACK_MEMBERS,
    ForecastConfig,
    Forecaster,
    ForecastError,
    apply_stack,
    build_samples,
    choose_method,
    fit_stack,
    write_outputs,
)
from tanul.forecast.core import simplex_grid


def test_simplex_grid_lists_every_weight_vector_once():
    g = simplex_grid(3, 0.25)
    assert len(g) == math.comb(4 + 2, 2)          # 15 ways to share 4 quarters among 3 members
    np.testing.assert_allclose(g.sum(axis=1), 1.0)
    assert (g >= 0).all() and len({tuple(r) for r in g}) == len(g)
    with pytest.raises(ForecastError, match="1/step"):
        simplex_grid(3, 0.3)


def test_fit_stack_recovers_the_mixing_weights_and_leans_on_the_last_member():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 400))
    y = 0.3 * a + 0.7 * b
    w = fit_stack(y, {"a": a, "b": b, "c": c})
    assert w == pytest.approx({"a": 0.3, "b": 0.7, "c": 0.0})
    np.testing.assert_allclose(apply_stack(w, {"a": a, "b": b, "c": c}), y)
    # two identical members: the tie goes to the one listed last (climatology in the forecaster)
    assert fit_stack(a, {"x": a, "clim": a.copy()}) == {"x": 0.0, "clim": 1.0}
    with pytest.raises(ForecastError, match="at least one"):
        fit_stack(y, {})
    with pytest.raises(ForecastError, match="predictions per member"):
        fit_stack(y, {"a": a[:10]})


def test_the_guards_confidence_sets_the_quantile_of_the_gain():
    rng = np.random.default_rng(1)
    y = rng.normal(0, 3, 366)
    clim = y + rng.normal(0, 2.0, 366)
    shrunk = y + rng.normal(0, 1.93, 366)      # a little better, not surely
    preds = {"climatology": clim, "shrunk": shrunk}
    g50 = choose_method(y, preds, alternatives=(), confidence=0.5)[1]["shrunk"]
    g90 = choose_method(y, preds, alternatives=(), confidence=0.9)[1]["shrunk"]
    assert g90 < g50                             # a higher confidence asks for more
    mean_gain = np.abs(clim - y).mean() - np.abs(shrunk - y).mean()
    assert abs(g50 - mean_gain) < 0.05          # the median gain is about the observed gain
    with pytest.raises(ForecastError, match="confidence"):
        choose_method(y, preds, confidence=1.0)


def test_mean_temperature_inputs_read_only_the_past():
    data = _series(years=2)
    cfg = ForecastConfig(city="A", lags=2, other_lags=2, means=(5,), horizons=(3,))
    s = build_samples(data, cfg, 3)
    names = s["feature_names"]
    temp = data.columns["A_temp_mean"]
    row = 40
    t = s["t"][row]
    assert s["x"][row, names.index("A_temp_mean_mean5(t)")] == pytest.approx(temp[t - 4:t + 1].mean())
    assert s["x"][row, names.index("B_temp_mean(t-1)")] == data.columns["B_temp_mean"][t - 1]
    assert s["t"][0] == 4                        # the first day with 5 days of history
    wild = {k: v.copy() for k, v in data.columns.items()}
    for v in wild.values():                      # scramble everything after day t
        v[t + 1:] = 1e3
    s2 = build_samples(WeatherData(data.dates, wild, None, ["A", "B"]), cfg, 3)
    np.testing.assert_array_equal(s2["x"][row], s["x"][row])


def test_config_refuses_unknown_rules_and_windows():
    with pytest.raises(ForecastError, match="issue_short"):
        ForecastConfig(issue_short="best")
    with pytest.raises(ForecastError, match="confidence"):
        ForecastConfig(confidence=0.0)
    with pytest.raises(ForecastError, match="means"):
        ForecastConfig(means=(1,))
    with pytest.raises(ForecastError, match="stop_on"):
        ForecastConfig(stop_on="test")


@pytest.fixture(scope="module")
def stacked():
    data = _series(years=6)
    fc = Forecaster(city="A", horizons=(1, 7), epochs=3, ensemble=1, bootstrap=10, hidden=(8,), means=(7,),
                    issue_short="stack", issue_long="guard", stop_on="last_training_year").fit(data)
    return data, fc


def test_stacked_forecast_is_issued_with_weights_from_the_validation_year(stacked):
    data, fc = stacked
    res, st = fc.result_["horizons"][1], fc.horizons_[1]
    assert st["method"] == "stacked" and fc.horizons_[7]["method"] in ("climatology", "shrunk")
    p, y, va = res["predictions"], res["samples"]["y"], res["split"]["val"]
    assert st["stack"] == fit_stack(y[va], {m: p[m][va] for m in STACK_MEMBERS})
    assert sum(st["stack"].values()) == pytest.approx(1.0)
    np.testing.assert_allclose(p["issued"], sum(st["stack"][m] * p[m] for m in STACK_MEMBERS))
    # the issued forecast of a day is the same combination
    row = fc.forecast(data, as_of="2004-06-30")[0]
    i = int(np.flatnonzero(res["samples"]["dates"] == np.datetime64("2004-06-30"))[0])
    assert row["forecast"] == pytest.approx(p["stacked"][i])


def test_networks_stop_early_on_the_last_training_year(stacked, tmp_path):
    data, fc = stacked
    res = fc.result_["horizons"][1]
    train_end = np.datetime64(fc.config.train_end)
    td = res["samples"]["target_dates"]
    assert td[res["net_stop"]].min() == train_end - 364 and td[res["net_stop"]].max() == train_end
    assert td[res["net_fit"]].max() == train_end - 365
    assert not (res["net_fit"] & res["split"]["val"]).any() and not (res["net_stop"] & res["split"]["val"]).any()
    write_outputs({**fc.result_, "forecaster": fc}, tmp_path, plots=False)
    with open(tmp_path / "training_data.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["horizon"] == "1"]
    stop = [r["target_date"] for r in rows if r["role"] == "early_stopping"]
    assert min(stop) == str(train_end - 364) and max(stop) == str(train_end)
    assert max(r["target_date"] for r in rows if r["role"] == "fit") == str(train_end - 365)


def test_a_short_training_period_stops_on_the_validation_year_and_says_so():
    data = _series(years=4)          # training 2000-2001: not a year before the last training year
    fc = Forecaster(city="A", horizons=(1,), epochs=2, ensemble=1, bootstrap=0, hidden=(4,)).fit(data)
    res = fc.result_["horizons"][1]
    assert (res["net_stop"] == res["split"]["val"]).all() and (res["net_fit"] == res["split"]["train"]).all()
    assert fc.result_["notes"] and "validation year instead" in fc.result_["notes"][0]


def test_stacked_forecaster_round_trip(stacked, tmp_path):
    data, fc = stacked
    back = Forecaster.load(fc.save(tmp_path / "fc"))
    assert back.horizons_[1]["stack"] == fc.horizons_[1]["stack"]
    for a, b in zip(fc.forecast(data, "2004-03-01"), back.forecast(data, "2004-03-01")):
        assert a == b or all(a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]) for k in a)
