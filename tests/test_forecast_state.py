"""A forecaster whose fitted state is written by hand (scalers, climatology, ridge weights, two
one-layer networks with chosen weights): ``forecast``, ``_methods``, the unit checks, ``save`` and
``load`` against values worked out from the formulas in docs/forecasting.md. No training: fast."""

import json
import math

import numpy as np
import pytest

import tanul
from tanul.datasets.weather import WeatherData
from tanul.forecast import Forecaster, ForecastError
from tanul.forecast.forecaster import MAX_MANIFEST_BYTES

N = 40
DATES = np.datetime64("2001-01-01") + np.arange(N)
STEP = np.arange(N, dtype=float)
TEMP = 5 + 0.5 * STEP                  # A_temp_mean
PRES = 1.0 + 0.001 * STEP              # A_pressure
B = 10 - 0.25 * STEP                   # B_temp_mean
UNITS = {"A_temp_mean": "°C", "A_pressure": "1000 hPa", "B_temp_mean": "°C"}


def _names(h):
    return ["A_temp_mean(t-1)", "A_temp_mean(t)", "A_pressure(t-1)", "A_pressure(t)", "B_temp_mean(t)",
            "sin_doy(t)", "cos_doy(t)", f"sin_doy(t+{h})", f"cos_doy(t+{h})"]


def _data(cols=None, units=UNITS, dates=DATES, source="hand.csv"):
    cols = cols if cols is not None else {"A_temp_mean": TEMP.copy(), "A_pressure": PRES.copy(), "B_temp_mean": B.copy()}
    return WeatherData(dates=dates, columns=cols, city=None, cities=["A", "B"], units=units, source=source)


def _net(weight_on_lag1, bias):
    """Dense(1) on the 9 features: ``weight · A_temp_mean(t-1) + bias`` (the scaled feature)."""
    m = tanul.Sequential([tanul.Dense(1)], seed=0, input_shape=(9,), name="forecaster")
    w = np.zeros((9, 1), np.float32)
    w[0, 0] = weight_on_lag1
    m.layers[0].params["W"][:] = w
    m.layers[0].params["b"][:] = bias
    return m


def _state(h, method, stack, keep, shrink, offsets, scale):
    e = np.eye(9)
    x_mean, x_scale = np.zeros(9), np.ones(9)
    x_mean[1], x_scale[1] = 5.0, 2.0            # A_temp_mean(t) is standardised: (T − 5) / 2
    return {"feature_names": _names(h),
            "columns": {"target": "A_temp_mean", "own": ["A_temp_mean", "A_pressure"], "others": ["B_temp_mean"]},
            "x_mean": x_mean, "x_scale": x_scale, "y_mean": 0.25, "y_scale": 2.0,
            "climatology": np.arange(366) * 0.1,
            "ridge_w": 2.0 * e[1], "ridge_b": 1.0, "ridge_alpha": np.float64(10.0),
            "ridge_anomaly_w": 0.5 * e[4], "ridge_anomaly_b": 0.25, "ridge_anomaly_alpha": 100.0,
            # NumPy scalars, as a fit may leave them: written to JSON as plain numbers
            "networks": [_net(1.0, 0.5), _net(3.0, -0.5)], "best_epochs": [np.int64(3), np.int64(4)], "shrink": shrink,
            "stack": stack, "stack_keep": keep, "method": method, "offsets": offsets, "interval_scale": scale,
            "val_mae": {"ridge": 1.5}, "val_gain_p05": {"shrunk": 0.125}}


def _fitted():
    fc = Forecaster(city="A", horizons=(1, 3), lags=2)
    fc.horizons_[1] = _state(1, "stacked", {"network": 0.25, "ridge": 0.5, "climatology": 0.25}, 0.8, 0.0,
                             {"80": (-1.0, 1.5), "95": (-2.0, 3.0)}, np.ones(366))
    scale = np.full(366, 2.0)
    scale[30] = 3.0                          # 31 January
    fc.horizons_[3] = _state(3, "shrunk", {"ridge": 1.0}, 0.15, 0.4, {"80": (-0.5, 0.5), "95": (-1.0, 1.25)}, scale)
    fc.columns_ = {"target": "A_temp_mean", "own": ["A_temp_mean", "A_pressure"], "others": ["B_temp_mean"],
                   "stats": {"A_temp_mean": {"unit": "°C", "median": 10.0, "std": 3.0},
                             "A_pressure": {"unit": "1000 hPa", "median": 1.01, "std": 0.01},
                             "B_temp_mean": {"unit": "", "median": 7.5, "std": 2.0}},
                   "trained_on": "2001-01-01 .. 2001-02-09", "source": "hand.csv",
                   "last_training_target": "2001-01-20"}
    return fc


def _by_hand(i, h):
    """Every method for day index i and horizon h, from the formulas (docs/forecasting.md)."""
    target = DATES[i] + h
    clim = 0.1 * (target - np.datetime64("2001-01-01")).astype(int)      # January/February 2001
    ridge = 2.0 * (TEMP[i] - 5.0) / 2.0 + 1.0
    anomaly = clim + 0.5 * B[i] + 0.25
    net = ((1.0 * TEMP[i - 1] + 0.5) + (3.0 * TEMP[i - 1] - 0.5)) / 2      # the two networks' mean
    network = clim + 2.0 * net + 0.25                                       # clim + y_scale·net + y_mean
    members = [network, anomaly] + ([ridge] if h <= 1 else [])              # short_horizon = 1
    ensemble = sum(members) / len(members)
    return {"climatology": clim, "ridge": ridge, "ridge_anomaly": anomaly, "network": network,
            "ensemble": ensemble}


def test_forecast_of_a_hand_built_forecaster():
    fc = _fitted()
    rows = fc.forecast(_data(), as_of="2001-01-28")
    i = 27
    m1, m3 = _by_hand(i, 1), _by_hand(i, 3)
    stacked = m1["climatology"] + 0.8 * (0.25 * m1["network"] + 0.5 * m1["ridge"] + 0.25 * m1["climatology"]
                                         - m1["climatology"])
    shrunk = m3["climatology"] + 0.4 * (m3["ensemble"] - m3["climatology"])
    assert [r["horizon"] for r in rows] == [1, 3]
    r1, r3 = rows
    assert r1["issued"] == r3["issued"] == "2001-01-28"
    assert (r1["target_date"], r3["target_date"]) == ("2001-01-29", "2001-01-31")
    assert (r1["method"], r3["method"]) == ("stacked", "shrunk")
    assert r1["forecast"] == pytest.approx(stacked, abs=1e-5) and r3["forecast"] == pytest.approx(shrunk, abs=1e-5)
    assert r1["climatology"] == pytest.approx(2.8) and r3["climatology"] == pytest.approx(3.0)
    # intervals: ŷ + σ(d)·q; σ ≡ 1 at 1 day, σ(31 January) = 3 at 3 days
    assert (r1["lower_80"], r1["upper_80"], r1["lower_95"], r1["upper_95"]) == pytest.approx(
        (stacked - 1.0, stacked + 1.5, stacked - 2.0, stacked + 3.0), abs=1e-5)
    assert (r3["lower_80"], r3["upper_80"], r3["lower_95"], r3["upper_95"]) == pytest.approx(
        (shrunk - 1.5, shrunk + 1.5, shrunk - 3.0, shrunk + 3.75), abs=1e-5)
    assert r1["observed"] == TEMP[28] and r3["observed"] == TEMP[30]
    assert all(isinstance(r[k], float) for r in rows for k in ("forecast", "lower_80", "climatology", "observed"))
    # as of the last day: no observation of the target; the default as-of is that day
    last = fc.forecast(_data())
    same = fc.forecast(_data(), as_of=str(DATES[-1]))
    assert [{k: v for k, v in r.items() if k != "observed"} for r in last] == [
        {k: v for k, v in r.items() if k != "observed"} for r in same]
    assert last[0]["issued"] == "2001-02-09"
    assert math.isnan(last[0]["observed"]) and last[1]["target_date"] == "2001-02-12"


def test_methods_of_a_hand_built_forecaster():
    fc = _fitted()
    for h in (1, 3):
        st = fc.horizons_[h]
        rows = np.array([5, 20])
        x = np.stack([TEMP[rows - 1], TEMP[rows], PRES[rows - 1], PRES[rows], B[rows]] + [np.zeros(2)] * 4, axis=1)
        z = (x - st["x_mean"]) / st["x_scale"]
        base = np.array([1.0, -2.0])
        out = fc._methods(st, h, z, base)
        want = {k: np.array([_by_hand(i, h)[k] for i in rows]) for k in ("ridge", "network", "ensemble")}
        clim_of_rows = np.array([_by_hand(i, h)["climatology"] for i in rows])
        np.testing.assert_allclose(out["climatology"], base)
        np.testing.assert_allclose(out["ridge"], want["ridge"])
        np.testing.assert_allclose(out["ridge_anomaly"], base + 0.5 * B[rows] + 0.25)
        np.testing.assert_allclose(out["network"], want["network"] - clim_of_rows + base, rtol=1e-6)
        members = [out["network"], out["ridge_anomaly"]] + ([out["ridge"]] if h == 1 else [])
        np.testing.assert_allclose(out["ensemble"], np.mean(members, axis=0))
        np.testing.assert_allclose(out["shrunk"], base + st["shrink"] * (out["ensemble"] - base))
        stack = sum(w * out[m] for m, w in st["stack"].items())
        np.testing.assert_allclose(out["stacked"], base + st["stack_keep"] * (stack - base))
        assert "shrunk" not in fc._methods(st, h, z, base, with_shrunk=False)
    # without the anomaly, the networks learn the temperature itself; a state saved before the stack
    fc.config.anomaly = False
    st = {k: v for k, v in fc.horizons_[1].items() if k not in ("stack", "stack_keep")}
    z = np.zeros((1, 9))
    z[0, 0] = 2.0
    out = fc._methods(st, 1, z, np.array([7.0]))
    np.testing.assert_allclose(out["network"], [2.0 * ((2.0 + 0.5) + (6.0 - 0.5)) / 2 + 0.25])
    assert "stacked" not in out
    st["stack"] = {"ridge": 1.0}                   # stack weights without stack_keep: kept whole
    np.testing.assert_allclose(fc._methods(st, 1, z, np.array([7.0]))["stacked"], out["ridge"])


def test_forecast_refuses_bad_requests():
    fc = _fitted()
    with pytest.raises(ForecastError, match=r"^Forecaster.forecast: the forecaster is not fitted \(call fit or load\)$"):
        Forecaster().forecast(_data())
    with pytest.raises(ForecastError, match=r"^empty.csv: no rows$"):
        fc.forecast(_data({k: v[:0] for k, v in _data().columns.items()}, dates=DATES[:0], source="empty.csv"))
    with pytest.raises(ForecastError, match=r"^the data: no rows$"):
        fc.forecast(_data({k: v[:0] for k, v in _data().columns.items()}, dates=DATES[:0], source=""))
    for day in ("2000-12-31", "2001-02-10"):
        with pytest.raises(ForecastError, match=rf"^hand.csv: --as-of {day} is outside the data \(2001-01-01 "
                                                r"\.\. 2001-02-09\)$"):
            fc.forecast(_data(), as_of=day)
    fc.forecast(_data(), as_of="2001-01-02")           # both ends of the window inside: enough
    with pytest.raises(ForecastError, match=r"^hand.csv: --as-of 2001-01-01 is too early: the lags window needs 2 "
                                            r"days up to it, the data starts 2001-01-01 \(1 days\)$"):
        fc.forecast(_data(), as_of="2001-01-01")
    # missing columns: named, with the first twelve columns the data has
    many = {f"C{k}_x": np.zeros(N) for k in range(13)}
    with pytest.raises(ForecastError, match=r"^few.csv: the forecaster needs the columns A_pressure, B_temp_mean, "
                                            r"which the data lacks \(it has A_temp_mean\)$"):
        fc.forecast(_data({"A_temp_mean": TEMP}, source="few.csv"))
    twelve = {f"C{k}_x": np.zeros(N) for k in range(12)}
    with pytest.raises(ForecastError, match=r"which the data lacks \(it has C0_x, C1_x, .*, C10_x, C11_x\)$"):
        fc.forecast(_data(twelve))
    with pytest.raises(ForecastError, match=r"needs the columns A_temp_mean, A_pressure, B_temp_mean, which the "  # each once
                                            r"data lacks \(it has C0_x, C1_x, .*, C11_x\.\.\.\)$"):
        fc.forecast(_data(many))
    # a day missing before as-of (not after it)
    keep = np.ones(N, bool)
    keep[10] = False
    holes = _data({k: v[keep] for k, v in _data().columns.items()}, dates=DATES[keep])
    with pytest.raises(ForecastError, match=r"^hand.csv: expected one row per consecutive day up to --as-of "
                                            r"2001-01-20$"):
        fc.forecast(holes, as_of="2001-01-20")
    fc.forecast(holes, as_of="2001-01-10")         # the missing day comes after: fine
    two = _data({k: v[[0, 2]] for k, v in _data().columns.items()}, dates=DATES[[0, 2]])
    with pytest.raises(ForecastError, match=r"expected one row per consecutive day up to --as-of 2001-01-03$"):
        fc.forecast(two)
    one_day = _data({k: v[:1] for k, v in _data().columns.items()}, dates=DATES[:1])
    with pytest.raises(ForecastError, match="too early"):
        fc.forecast(one_day)
    # gaps in the window: the first six features named, then "..."
    cols = {k: v.copy() for k, v in _data().columns.items()}
    for v in cols.values():
        v[18:20] = np.nan
    with pytest.raises(ForecastError, match=r"^hand.csv: cannot issue the 1-day forecast as of 2001-01-20: missing "
                                            r"values in A_temp_mean\(t-1\), A_temp_mean\(t\), A_pressure\(t-1\), "
                                            r"A_pressure\(t\), B_temp_mean\(t\) \(a gap in the last days\)$"):
        fc.forecast(_data(cols), as_of="2001-01-20")


def test_unit_checks_name_every_wrong_column():
    fc = _fitted()
    fc.forecast(_data())                            # medians 14.75, 1.0195, 5.125: within 5 std
    units = {**UNITS, "A_temp_mean": "K", "B_temp_mean": "K"}   # B was saved without a unit: not compared
    with pytest.raises(ForecastError, match=r"^u.csv: the data does not match the forecaster's units: A_temp_mean "
                                            r"is in K, the forecaster was trained on °C$"):
        fc.forecast(_data(units=units, source="u.csv"))
    units = {**UNITS, "A_temp_mean": "K", "A_pressure": "Pa"}              # every wrong column is named
    with pytest.raises(ForecastError, match=r"units: A_temp_mean is in K, the forecaster was trained on °C; "
                                            r"A_pressure is in Pa, the forecaster was trained on 1000 hPa$"):
        fc.forecast(_data(units=units))
    cols = {"A_temp_mean": TEMP, "A_pressure": PRES, "B_temp_mean": B + 13.0}   # a unit, then a median
    with pytest.raises(ForecastError, match=r"units: A_temp_mean is in K, the forecaster was trained on °C; "
                                            r"B_temp_mean has median 18\.12, far from"):
        fc.forecast(_data(cols, units={**UNITS, "A_temp_mean": "K"}))
    fc.forecast(_data(units={}))                    # no units given: only the medians are compared
    # medians: |median − training median| > 5 std (+ 1e-9) is refused, with the unit where known
    cols = {"A_temp_mean": TEMP + 20.0, "A_pressure": PRES + 0.2, "B_temp_mean": B + 13.0}
    with pytest.raises(ForecastError, match=r"^hand.csv: the data does not match the forecaster's units: "
                                            r"A_temp_mean has median 34\.75, far from the training median 10 "
                                            r"\(std 3\) °C; A_pressure has median 1\.22, far from the training "
                                            r"median 1\.01 \(std 0\.01\) 1000 hPa; B_temp_mean has median 18\.12, "
                                            r"far from the training median 7\.5 \(std 2\)$"):
        fc.forecast(_data(cols))
    # B's median is 5.125; a training std of 0 counts as 1e-9: refused beyond 5·1e-9 + 1e-9
    fc.columns_["stats"]["B_temp_mean"] = {"unit": "", "median": 5.125, "std": 0.0}
    fc.forecast(_data())
    fc.columns_["stats"]["B_temp_mean"]["median"] = 5.125 + 6.5e-9
    with pytest.raises(ForecastError, match=r"B_temp_mean has median 5.125, far from the training median 5.125 "
                                            r"\(std 0\)$"):
        fc.forecast(_data())
    fc.columns_["stats"]["B_temp_mean"]["median"] = 5.125 - 5.5e-9
    fc.forecast(_data())
    fc.columns_["stats"]["B_temp_mean"] = {"unit": "", "median": 5.125 - 10.0, "std": 2.0}   # 5 std away: accepted
    fc.forecast(_data())
    fc.columns_["stats"]["B_temp_mean"]["median"] = 5.125 - 10.01
    with pytest.raises(ForecastError, match="B_temp_mean has median"):
        fc.forecast(_data())
    # only the days up to as-of are compared: a wild column after it is not read
    fc = _fitted()
    cols = {k: v.copy() for k, v in _data().columns.items()}
    cols["A_temp_mean"][15:] = 1e6
    fc.forecast(_data(cols), as_of="2001-01-15")
    with pytest.raises(ForecastError, match="A_temp_mean has median"):
        fc.forecast(_data(cols), as_of="2001-02-09")
    # a column with nothing finite up to as-of has no median to compare: the gap check speaks
    cols = {k: v.copy() for k, v in _data().columns.items()}
    cols["B_temp_mean"][:21] = np.nan
    with pytest.raises(ForecastError, match=r"cannot issue the 1-day forecast as of 2001-01-20: missing values in "
                                            r"B_temp_mean\(t\)"):
        fc.forecast(_data(cols), as_of="2001-01-20")


def test_repr_names_the_settings_and_each_horizons_method():
    fc = _fitted()
    assert repr(fc) == "Forecaster(city='A', horizons=(1, 3), lags=2, ensemble=3; 1 d: stacked, 3 d: shrunk)"
    assert repr(Forecaster(city="X", horizons=(7,), lags=4, ensemble=2)) == (
        "Forecaster(city='X', horizons=(7,), lags=4, ensemble=2; not fitted)")
    with pytest.raises(TypeError, match="^Forecaster: expected a ForecastConfig, got dict$"):
        Forecaster({"city": "A"})
    fc2 = Forecaster(fc.config, lags=5)              # overrides on top of a config; the config is not changed
    assert fc2.config.lags == 5 and fc.config.lags == 2 and fc2.config.horizons == (1, 3)
    assert fc2.horizons_ == {} and fc2.columns_ == {} and fc2.result_ is None


# ---------------------------------------------------------------------- save / load
def test_save_and_load_a_hand_built_forecaster(tmp_path):
    fc = _fitted()
    d = fc.save(tmp_path / "sub" / "dir" / "fc")          # the parents are made
    assert d == tmp_path / "sub" / "dir" / "fc"
    names = sorted(p.name for p in d.iterdir())
    arrays = ["climatology", "interval_scale", "ridge_anomaly_w", "ridge_w", "x_mean", "x_scale"]
    assert names == sorted(["forecaster.json"] + [f"h{h}_{a}.npy" for h in (1, 3) for a in arrays]
                           + [f"h{h}_net{k}.tanul" for h in (1, 3) for k in (0, 1)])
    man = json.loads((d / "forecaster.json").read_text(encoding="utf-8"))
    assert man["format"] == "tanul-forecaster" and man["version"] == 1
    assert man["config"]["horizons"] == [1, 3] and man["config"]["lags"] == 2 and man["columns"] == fc.columns_
    h1 = man["horizons"]["1"]
    assert h1["offsets"] == {"80": [-1.0, 1.5], "95": [-2.0, 3.0]} and h1["networks"] == ["h1_net0.tanul",
                                                                                           "h1_net1.tanul"]
    assert h1["stack"] == {"network": 0.25, "ridge": 0.5, "climatology": 0.25} and h1["stack_keep"] == 0.8
    assert {k: h1[k] for k in ("y_mean", "y_scale", "ridge_b", "ridge_anomaly_b", "shrink", "ridge_alpha",
                               "ridge_anomaly_alpha", "best_epochs", "method", "val_mae", "val_gain_p05")} == {
        "y_mean": 0.25, "y_scale": 2.0, "ridge_b": 1.0, "ridge_anomaly_b": 0.25, "shrink": 0.0, "ridge_alpha": 10.0,
        "ridge_anomaly_alpha": 100.0, "best_epochs": [3, 4], "method": "stacked", "val_mae": {"ridge": 1.5},
        "val_gain_p05": {"shrunk": 0.125}}
    assert h1["feature_names"] == _names(1) and h1["columns"]["others"] == ["B_temp_mean"]
    assert (d / "forecaster.json").read_text(encoding="utf-8").startswith('{\n "format"')      # indent 1
    np.testing.assert_array_equal(np.load(d / "h3_interval_scale.npy"), fc.horizons_[3]["interval_scale"])
    assert np.load(d / "h1_x_scale.npy").dtype == np.float64

    with pytest.raises(ForecastError, match="no forecaster.json here"):      # the folder above: not a run's --out
        Forecaster.load(tmp_path / "sub" / "dir")


def test_load_reads_what_save_wrote(tmp_path):
    fc = _fitted()
    d = fc.save(tmp_path / "fc")
    back = Forecaster.load(d)
    assert back.config == fc.config and back.columns_ == fc.columns_ and list(back.horizons_) == [1, 3]
    for h in (1, 3):
        a, b = fc.horizons_[h], back.horizons_[h]
        for k in ("x_mean", "x_scale", "climatology", "ridge_w", "ridge_anomaly_w", "interval_scale"):
            np.testing.assert_array_equal(a[k], b[k])
            assert b[k].dtype == np.float64
        for k in ("y_mean", "y_scale", "ridge_b", "ridge_anomaly_b", "shrink", "stack_keep", "ridge_alpha",
                  "ridge_anomaly_alpha", "method", "stack", "best_epochs", "val_mae", "val_gain_p05",
                  "feature_names", "columns"):
            assert b[k] == a[k], k
        assert b["offsets"] == a["offsets"] and all(type(v) is tuple for v in b["offsets"].values())
        assert len(b["networks"]) == 2
    assert back.forecast(_data(), "2001-01-28") == fc.forecast(_data(), "2001-01-28")
    # a run's --out folder holds the forecaster in forecaster/
    run = tmp_path / "run"
    fc.save(run / "forecaster")
    assert Forecaster.load(run).forecast(_data(), "2001-01-28") == fc.forecast(_data(), "2001-01-28")


def _resave(tmp_path, edit=None, name="fc"):
    d = _fitted().save(tmp_path / name)
    if edit is not None:
        man = json.loads((d / "forecaster.json").read_text(encoding="utf-8"))
        edit(man)
        (d / "forecaster.json").write_text(json.dumps(man), encoding="utf-8")
    return d


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(format="other"), r"forecaster.json: not a tanul-forecaster manifest$"),
    (lambda m: m.update(version=2), r"forecaster.json: version 2; this tanul reads version 1$"),
    (lambda m: m.pop("version"), r"forecaster.json: version None; this tanul reads version 1$"),
    (lambda m: m["config"].update(colour="red", size=1), r"forecaster.json: unknown config keys \['colour', 'size'\]$"),
    (lambda m: m["horizons"]["3"].update(method="best"), r"forecaster.json: horizon 3: unknown method 'best'$"),
    (lambda m: m["horizons"]["1"].update(stack={"lasso": 1.0}),
     r"forecaster.json: horizon 1: stack weights \{'lasso': 1.0\}; expected weights of network, ridge, "
     r"ridge_anomaly, climatology$"),
    (lambda m: m["horizons"]["1"].update(stack=[1.0]), r"horizon 1: stack weights \[1.0\]; expected weights"),
    (lambda m: m["horizons"]["1"].update(stack_keep=1.5), r"forecaster.json: horizon 1: stack_keep 1.5 is not in "
                                                            r"\[0, 1\]$"),
    (lambda m: m["horizons"]["1"].update(stack_keep=-0.5), r"horizon 1: stack_keep -0.5 is not in \[0, 1\]$"),
    (lambda m: m["horizons"]["1"].pop("stack"), r"forecaster.json: horizon 1: method 'stacked' without stack "
                                                r"weights$"),
    (lambda m: m["horizons"]["3"].update(networks=["../h3_net0.tanul"]),
     r"forecaster.json: network file name '../h3_net0.tanul' is not a plain .tanul name$"),
    (lambda m: m["horizons"]["3"].update(networks=["h3_ridge_w.npy"]), r"'h3_ridge_w.npy' is not a plain .tanul"),
    (lambda m: m["horizons"]["3"].update(networks=[]), r"forecaster.json: horizon 3 has no network$"),
    (lambda m: m["horizons"]["3"].update(feature_names=_names(3)[:8]),
     r"h3_x_mean.npy: expected 8 finite float64 values, got float64 \(9,\)$"),
    (lambda m: m["horizons"].pop("3"), r"forecaster.json: horizons \[1\] do not match the config's \[1, 3\]$"),
    (lambda m: m["horizons"]["3"].pop("offsets"), r"forecaster.json: malformed manifest \(KeyError: 'offsets'\)$"),
    (lambda m: m["horizons"]["3"].update(y_mean=None), r"malformed manifest \(TypeError: "),
    (lambda m: m["horizons"]["3"]["offsets"].update({"80": []}), r"malformed manifest \(IndexError: "),
    (lambda m: m.update(columns=None, horizons=[]), r"malformed manifest \(AttributeError: "),
])
def test_load_refuses_a_damaged_manifest(tmp_path, edit, message):
    d = _resave(tmp_path, edit)
    with pytest.raises(ForecastError, match=message) as e:
        Forecaster.load(d)
    assert str(e.value).startswith(str(d))


def test_load_refuses_damaged_files(tmp_path):
    with pytest.raises(ForecastError, match=r"nothing: no forecaster.json here: not a saved forecaster \(run tanul "
                                            r"forecast --out DIR first\)$"):
        Forecaster.load(tmp_path / "nothing")
    d = _resave(tmp_path)
    (d / "forecaster.json").write_bytes(b" " * (MAX_MANIFEST_BYTES + 1))
    with pytest.raises(ForecastError, match=rf"forecaster.json: larger than {MAX_MANIFEST_BYTES} bytes; not a "
                                            r"forecaster manifest$"):
        Forecaster.load(d)
    (d / "forecaster.json").write_bytes(b" " * MAX_MANIFEST_BYTES)           # the limit itself: read (not JSON)
    with pytest.raises(ForecastError, match=r"forecaster.json: not valid JSON \(Expecting value"):
        Forecaster.load(d)
    (d / "forecaster.json").write_text("[1]")
    with pytest.raises(ForecastError, match=r"forecaster.json: not a tanul-forecaster manifest$"):
        Forecaster.load(d)
    d = _resave(tmp_path)
    (d / "h1_climatology.npy").write_bytes(b"not numpy")
    with pytest.raises(ForecastError, match=r"h1_climatology.npy: cannot read \("):
        Forecaster.load(d)
    d = _resave(tmp_path)
    np.save(d / "h1_ridge_w.npy", np.array([{"pickled": 1}] * 9, dtype=object), allow_pickle=True)
    with pytest.raises(ForecastError, match=r"h1_ridge_w.npy: cannot read \(.*allow_pickle"):   # never unpickled
        Forecaster.load(d)
    d = _resave(tmp_path)
    (d / "h3_x_scale.npy").unlink()
    with pytest.raises(ForecastError, match=r"h3_x_scale.npy: cannot read \("):
        Forecaster.load(d)
    for bad in (np.ones(9, np.float32), np.array([1.0] * 8 + [np.nan]), np.ones((9, 1))):
        d = _resave(tmp_path)
        np.save(d / "h3_ridge_w.npy", bad)
        with pytest.raises(ForecastError, match=rf"h3_ridge_w.npy: expected 9 finite float64 values, got "
                                                rf"{bad.dtype} \{bad.shape}".replace(",)", r",\)").replace(", 1)", r", 1\)")):
            Forecaster.load(d)
    d = _resave(tmp_path)
    np.save(d / "h1_climatology.npy", np.ones(365))
    with pytest.raises(ForecastError, match=r"h1_climatology.npy: expected 366 finite float64 values"):
        Forecaster.load(d)
    d = _resave(tmp_path)
    m = tanul.Sequential([tanul.Dense(1)], seed=0, input_shape=(4,))
    tanul.io.save_model(m, d / "h3_net1.tanul", include_optimizer=False)
    with pytest.raises(ForecastError, match=r"h3_net1.tanul: expects \(4,\) inputs, the forecaster has 9 features$"):
        Forecaster.load(d)


def test_load_of_older_manifests(tmp_path):
    # saved before the stacked method: no stack weights; before the interval rule: empirical, validation
    def old(m):
        for h in ("1", "3"):
            m["horizons"][h].pop("stack")
            m["horizons"][h].pop("stack_keep")
        m["horizons"]["1"]["method"] = "ridge"
        for k in ("interval_rule", "interval_years"):
            m["config"].pop(k)
    d = _resave(tmp_path, old)
    (d / "h1_interval_scale.npy").unlink()
    back = Forecaster.load(d)
    assert back.config.interval_rule == "empirical" and back.config.interval_years == "validation"
    assert "stack" not in back.horizons_[1] and (back.horizons_[1]["interval_scale"] == 1).all()
    assert back.horizons_[1]["interval_scale"].shape == (366,)      # one per day of year
    Forecaster.load(back.save(tmp_path / "again"))                 # and it saves and loads again
    np.testing.assert_array_equal(back.horizons_[3]["interval_scale"], _fitted().horizons_[3]["interval_scale"])
    row = back.forecast(_data(), "2001-01-28")[0]
    assert row["method"] == "ridge" and row["forecast"] == pytest.approx(_by_hand(27, 1)["ridge"])
    # stack weights without stack_keep: kept whole
    d = _resave(tmp_path, lambda m: m["horizons"]["1"].pop("stack_keep"), name="nokeep")
    assert Forecaster.load(d).horizons_[1]["stack_keep"] == 1.0
    # κ = 0 (climatology issued) and κ = 1 are both shares in [0, 1]
    for keep in (0.0, 1.0):
        d = _resave(tmp_path, lambda m, k=keep: m["horizons"]["1"].update(stack_keep=k), name=f"keep{keep}")
        assert Forecaster.load(d).horizons_[1]["stack_keep"] == keep


def test_save_replaces_a_forecaster_folder_and_refuses_others(tmp_path):
    fc = _fitted()
    with pytest.raises(ForecastError, match=r"^Forecaster.save: the forecaster is not fitted$"):
        Forecaster().save(tmp_path / "x")
    assert not (tmp_path / "x").exists()
    (tmp_path / "empty").mkdir()
    fc.save(tmp_path / "empty")                       # an empty folder may be used
    assert (tmp_path / "empty" / "forecaster.json").is_file()
    (tmp_path / "empty" / "stale.txt").write_text("old")
    fc.save(tmp_path / "empty")                       # a forecaster folder is replaced as a whole
    assert not (tmp_path / "empty" / "stale.txt").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with pytest.raises(ForecastError, match=r"^Forecaster.save: .*mine exists and is not a forecaster folder; "
                                            r"refusing to replace it$"):
        fc.save(tmp_path / "mine")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "mine"]     # no temporary folders left
    # a failure half-way leaves no temporary folder and the old forecaster in place
    fc.horizons_[3]["networks"] = ["not a model"]
    with pytest.raises(AttributeError):
        fc.save(tmp_path / "empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "mine"]
    assert Forecaster.load(tmp_path / "empty").horizons_[3]["method"] == "shrunk"


def test_small_helpers_on_duck_typed_data():
    from types import SimpleNamespace

    from tanul.forecast.forecaster import _json_default, _units, _where

    assert _where(SimpleNamespace()) == "the data" and _where(SimpleNamespace(source="")) == "the data"
    assert _where(SimpleNamespace(source="f.csv")) == "f.csv"
    assert _units(SimpleNamespace(city=None)) == {} and _units(SimpleNamespace(city="X", units=None)) == {}
    assert _units(SimpleNamespace(city="X", units={"t": "°C"})) == {"X_t": "°C"}
    assert _units(SimpleNamespace(city=None, units={"A_t": "K"})) == {"A_t": "K"}
    assert _json_default(np.float32(1.5)) == 1.5 and type(_json_default(np.int64(2))) is int
    assert _json_default((1, 2)) == [1, 2] and _json_default(np.array([3.0])) == [3.0]
    with pytest.raises(TypeError, match="^cannot write object to JSON$"):
        _json_default(object())


def test_a_gap_names_at_most_six_missing_features():
    """lags 3: seven data features (A_temp_mean and A_pressure at t-2 .. t, B_temp_mean(t))."""
    fc = Forecaster(city="A", horizons=(1,), lags=3)
    names = [f"{v}(t-{k})" if k else f"{v}(t)" for v in ("A_temp_mean", "A_pressure") for k in (2, 1, 0)]
    names += ["B_temp_mean(t)", "sin_doy(t)", "cos_doy(t)", "sin_doy(t+1)", "cos_doy(t+1)"]
    st = _state(1, "ridge", {"ridge": 1.0}, 1.0, 0.0, {"80": (-1.0, 1.0), "95": (-2.0, 2.0)}, np.ones(366))
    net = tanul.Sequential([tanul.Dense(1)], seed=0, input_shape=(11,), name="forecaster")
    st.update(feature_names=names, x_mean=np.zeros(11), x_scale=np.ones(11), ridge_w=np.zeros(11),
              ridge_anomaly_w=np.zeros(11), networks=[net])
    fc.horizons_[1] = st
    fc.columns_ = _fitted().columns_
    cols = {k: v.copy() for k, v in _data().columns.items()}
    cols["A_temp_mean"][17:20] = np.nan
    cols["A_pressure"][17:20] = np.nan             # six missing features: all named
    with pytest.raises(ForecastError, match=r"missing values in A_temp_mean\(t-2\), A_temp_mean\(t-1\), "
                                            r"A_temp_mean\(t\), A_pressure\(t-2\), A_pressure\(t-1\), "
                                            r"A_pressure\(t\) \(a gap in the last days\)$"):
        fc.forecast(_data(cols), as_of="2001-01-20")
    cols["B_temp_mean"][19] = np.nan                # seven: the first six, then "..."
    with pytest.raises(ForecastError, match=r"missing values in A_temp_mean\(t-2\), .*, A_pressure\(t\)\.\.\. "
                                            r"\(a gap in the last days\)$"):
        fc.forecast(_data(cols), as_of="2001-01-20")
    assert fc.forecast(_data(cols), as_of="2001-01-25")[0]["forecast"] == pytest.approx(1.0)   # ridge = b
