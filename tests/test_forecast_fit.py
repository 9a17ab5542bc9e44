"""What ``Forecaster.fit`` computes, checked piece by piece on one small fit (5 synthetic years, two
horizons, two-epoch networks): periods, climatology, the ridge against ``np.linalg.lstsq``, the
networks' settings, λ, the stack, the guard's arguments, the intervals, every metric and skill row
by hand, the column statistics and the verbose lines."""

import contextlib
import io
import re

import numpy as np
import pytest

from forecast_data import seasonal_series
from tanul.datasets.weather import WeatherData
from tanul.forecast import (
    METHODS,
    STACK_MEMBERS,
    Forecaster,
    ForecastError,
    block_bootstrap_skill,
    choose_method,
    climatology_table,
    day_of_year,
    fit_shrinkage,
    fit_stack,
    interval_offsets,
    seasonal_scale,
)
from tanul.forecast.forecaster import _train_network
from tanul.layers import activations

ALPHAS = (0.1, 10.0, 1e4)


@pytest.fixture(scope="module")
def fitted():
    data = seasonal_series(years=5, seed=4)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fc = Forecaster(city="A", horizons=(1, 3), epochs=2, ensemble=2, hidden=(4,), bootstrap=30, block=20, seed=3,
                        climatology_window=15, ridge_alphas=ALPHAS, interval_seasonal=True, interval_years="pooled",
                        issue_long="guard", confidence=0.75).fit(data, verbose=1)
    return data, fc, buf.getvalue()


def _std(x, tr):
    return (x - x[tr].mean(axis=0)) / x[tr].std(axis=0)


def test_periods_climatology_and_ridge(fitted):
    data, fc, _ = fitted
    # the data end on 2004-12-30: test 2004 (365 days from 1 January), validation 2003, training before
    assert (fc.config.train_end, fc.config.val_end) == ("2002-12-31", "2003-12-31")
    for h in (1, 3):
        res, st = fc.result_["horizons"][h], fc.horizons_[h]
        s, sp = res["samples"], res["split"]
        td, y = s["target_dates"], s["y"]
        tr, va = sp["train"], sp["val"]
        np.testing.assert_array_equal(tr, td <= np.datetime64("2002-12-31"))
        np.testing.assert_array_equal(sp["test"], td > np.datetime64("2003-12-31"))
        clim = climatology_table(td[tr], y[tr], 15)
        np.testing.assert_array_equal(st["climatology"], clim)
        base = clim[day_of_year(td)]
        np.testing.assert_array_equal(res["base"], base)
        np.testing.assert_array_equal(res["predictions"]["climatology"], base)
        np.testing.assert_array_equal(res["predictions"]["persistence"], s["temp_t"])
        xs = _std(s["x"], tr)
        np.testing.assert_allclose(res["x_scaler"].transform(s["x"]), xs, rtol=1e-10, atol=1e-10)
        for name, offset in (("ridge", np.zeros_like(base)), ("ridge_anomaly", base)):
            target = y - offset
            fits = {}
            for a in ALPHAS:
                k = xs.shape[1]
                w = np.linalg.lstsq(np.vstack([xs[tr], np.sqrt(a) * np.eye(k)]),
                                    np.concatenate([target[tr] - target[tr].mean(), np.zeros(k)]), rcond=None)[0]
                pred = offset + xs @ w + target[tr].mean()
                fits[a] = (np.abs(pred[va] - y[va]).mean(), w, pred)
            best = min(ALPHAS, key=lambda a: fits[a][0])
            assert st[f"{name}_alpha"] == best
            np.testing.assert_allclose(st[f"{name}_w"], fits[best][1], rtol=1e-6, atol=1e-9)
            assert st[f"{name}_b"] == pytest.approx(target[tr].mean())
            np.testing.assert_allclose(res["predictions"][name], fits[best][2], rtol=1e-9, atol=1e-9)
        assert res["ridge_alpha"] == st["ridge_alpha"]


def test_networks_of_each_horizon(fitted):
    data, fc, _ = fitted
    for h, short in ((1, True), (3, False)):
        res, st = fc.result_["horizons"][h], fc.horizons_[h]
        td, tr = res["samples"]["target_dates"], res["split"]["train"]
        # stopped early on the last training year (targets 2002-01-01 .. 2002-12-31), fitted on the years before
        np.testing.assert_array_equal(res["net_stop"], tr & (td >= np.datetime64("2002-01-01")))
        np.testing.assert_array_equal(res["net_fit"], tr & (td <= np.datetime64("2001-12-31")))
        nets = st["networks"]
        assert len(nets) == 2 and res["models"] == nets and res["model"] is nets[0]
        assert res["history"] is nets[0].history
        dropout = [layer.rate for layer in nets[0].layers if type(layer).__name__ == "Dropout"]
        l2 = [layer.regularizers["W"].l2 for layer in nets[0].layers if "W" in layer.regularizers]
        assert dropout == [0.2 if short else 0.3]             # short_dropout / dropout
        assert l2 == [pytest.approx(1e-3 if short else 3e-2)]  # short_l2 / l2
        # EarlyStopping keeps the epoch of the lowest validation loss (0-based)
        assert st["best_epochs"] == [int(np.argmin(m.history["val_loss"])) for m in nets] == res["best_epochs"]
        s, sp = res["samples"], res["split"]
        xs = _std(s["x"], sp["train"]).astype(np.float32)
        mean = np.mean([m.predict(xs).ravel() for m in nets], axis=0)
        assert not np.allclose(nets[0].predict(xs[:50]), nets[1].predict(xs[:50]))   # two seeds
        np.testing.assert_allclose(res["predictions"]["network"], res["base"] + mean * st["y_scale"] + st["y_mean"],
                                   rtol=1e-5, atol=1e-4)


def test_train_network_uses_the_short_settings_up_to_the_short_horizon(capsys):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)).astype(np.float32), rng.normal(size=(40, 1)).astype(np.float32)
    cfg = Forecaster(hidden=(5, 3), epochs=3, patience=1, l2=0.0, dropout=0.0, short_l2=0.5, short_dropout=0.25,
                     batch_size=8, lr=0.01).config
    model, es = _train_network(cfg, x, y, x[:10], y[:10], seed=11)
    printed = capsys.readouterr()
    assert printed.out == printed.err == ""                    # silent: no progress bar
    # every epoch of `epochs` when nothing stops it early; the batch size is the config's
    long = Forecaster(hidden=(5,), epochs=3, patience=50, batch_size=8).config
    three, _ = _train_network(long, x, y, x[:10], y[:10], seed=1)
    assert len(three.history["loss"]) == 3
    whole, _ = _train_network(Forecaster(hidden=(5,), epochs=3, patience=50, batch_size=40).config, x, y,
                              x[:10], y[:10], seed=1)
    assert not np.allclose(three.predict(x), whole.predict(x))  # 5 steps per epoch, not 1
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense", "Dense"]   # no dropout, no L2
    assert all(not layer.regularizers for layer in model.layers) and model.name == "forecaster"
    assert [layer.units for layer in model.layers] == [5, 3, 1] and tuple(model.input_shape) == (3,)
    assert [activations.name_of(layer.activation) for layer in model.layers] == ["relu", "relu", None]
    assert model.optimizer.lr == 0.01 and len(model.history["loss"]) <= 3 and es.patience == 1
    assert es.restore_best_weights is True
    short, _ = _train_network(cfg, x, y, x[:10], y[:10], seed=11, short=True)
    assert [type(layer).__name__ for layer in short.layers] == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert [layer.rate for layer in short.layers[1::2]] == [0.25, 0.25]
    assert [layer.regularizers["W"].l2 for layer in short.layers[0::2][:2]] == [0.5, 0.5]
    assert not short.layers[-1].regularizers
    again, _ = _train_network(cfg, x, y, x[:10], y[:10], seed=11)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))        # the seed sets everything


def test_shrinkage_stack_and_the_guards_arguments(fitted):
    data, fc, _ = fitted
    for h in (1, 3):
        res, st = fc.result_["horizons"][h], fc.horizons_[h]
        p, y, va = res["predictions"], res["samples"]["y"], res["split"]["val"]
        base = res["base"]
        members = ["network", "ridge_anomaly"] + (["ridge"] if h == 1 else [])
        ens = np.mean([p[m] for m in members], axis=0)
        np.testing.assert_allclose(p["ensemble"], ens)
        assert st["shrink"] == fit_shrinkage(y[va], base[va], ens[va]) == res["shrink"]
        np.testing.assert_allclose(p["shrunk"], base + st["shrink"] * (ens - base))
        stack_of = STACK_MEMBERS if h == 1 else ("ridge",)          # medium_members up to 7 days
        assert st["stack"] == fit_stack(y[va], {m: p[m][va] for m in stack_of})
        keep = 1.0 if h == 1 else 0.15
        assert st["stack_keep"] == keep
        np.testing.assert_allclose(p["stacked"], base + keep * (sum(w * p[m] for m, w in st["stack"].items()) - base))
        assert st["val_mae"] == res["val_mae"] == {m: pytest.approx(np.abs(p[m][va] - y[va]).mean()) for m in METHODS}
        # the guard: 1000 resamples (not `bootstrap`), blocks of `block` days, seed + h, alternatives up to 1 day,
        # the config's confidence
        method, gains = choose_method(y[va], {m: p[m][va] for m in METHODS}, 20, 1000, seed=3 + h,
                                      alternatives=("ridge", "ridge_anomaly", "network") if h == 1 else (),
                                      confidence=0.75)
        assert st["val_gain_p05"] == gains
        if h == 1:
            assert st["method"] == "stacked"                       # issue_short = "stack"
        else:                                                      # issue_long = "guard"
            assert st["method"] == ("climatology" if method == "shrunk" and st["shrink"] == 0 else method)
        np.testing.assert_array_equal(p["issued"], p[st["method"]])
        assert res["method"] == st["method"]


def test_intervals_pooled_beyond_the_short_horizon_and_seasonal(fitted):
    data, fc, _ = fitted
    for h in (1, 3):
        res, st = fc.result_["horizons"][h], fc.horizons_[h]
        s, sp, p = res["samples"], res["split"], res["predictions"]
        td, y, tr = s["target_dates"], s["y"], sp["train"]
        scale = seasonal_scale(td[tr], (y - res["base"])[tr], 15)
        np.testing.assert_allclose(st["interval_scale"], scale)
        sig = scale[day_of_year(td)]
        rows = sp["val"] if h == 1 else sp["train"] | sp["val"]
        off = interval_offsets(((y - p["issued"]) / sig)[rows], conformal=True)
        assert st["offsets"] == res["offsets"]
        for k in ("80", "95"):
            assert st["offsets"][k] == pytest.approx(off[k])
            np.testing.assert_allclose(res["bands"][f"lower_{k}"], p["issued"] + sig * off[k][0])
            np.testing.assert_allclose(res["bands"][f"upper_{k}"], p["issued"] + sig * off[k][1])


def test_metric_and_skill_rows_by_hand(fitted):
    data, fc, _ = fitted
    names = ["persistence", "climatology", "ridge", "ridge_anomaly", "network", "ensemble", "shrunk", "stacked",
             "issued"]
    rows = fc.result_["metrics"]
    assert len(rows) == 2 * 3 * len(names)
    for h in (1, 3):
        res = fc.result_["horizons"][h]
        y, p = res["samples"]["y"], res["predictions"]
        assert sorted(p) == sorted(names)
        for part in ("train", "val", "test"):
            m = res["split"][part]
            mine = [r for r in rows if r["horizon"] == h and r["split"] == part]
            assert sorted(r["method"] for r in mine) == sorted(names)
            ref_p = np.abs(p["persistence"][m] - y[m]).mean()
            ref_c = np.abs(p["climatology"][m] - y[m]).mean()
            for r in mine:
                e = p[r["method"]][m] - y[m]
                assert r["mae"] == pytest.approx(np.abs(e).mean()) and r["rmse"] == pytest.approx(np.sqrt((e * e).mean()))
                assert r["skill_vs_persistence"] == pytest.approx(1 - np.abs(e).mean() / ref_p)
                assert r["skill_vs_climatology"] == pytest.approx(1 - np.abs(e).mean() / ref_c)
                if r["method"] == "issued":
                    assert r["chosen"] == res["method"]
                    for k in ("80", "95"):
                        lo, hi = res["bands"][f"lower_{k}"][m], res["bands"][f"upper_{k}"][m]
                        assert r[f"coverage_{k}"] == pytest.approx(np.mean((lo <= y[m]) & (y[m] <= hi)))
                else:
                    assert (r["chosen"], r["coverage_80"], r["coverage_95"]) == ("", "", "")
        # skill on the test period: the issued forecast and the network against each baseline
        skill = [r for r in fc.result_["skill"] if r["horizon"] == h]
        assert [(r["baseline"], r["method"]) for r in skill] == [
            ("persistence", "issued"), ("persistence", "network"), ("climatology", "issued"),
            ("climatology", "network"), ("ridge", "issued"), ("ridge", "network"), ("network", "issued")]
        te = res["split"]["test"]
        for r in skill:
            mae = np.abs(p[r["method"]][te] - y[te]).mean()
            assert r["skill"] == pytest.approx(1 - mae / np.abs(p[r["baseline"]][te] - y[te]).mean())
            want = block_bootstrap_skill(y[te], p[r["method"]][te], p[r["baseline"]][te], 20, 30, seed=3 + h)
            assert (r["low_90"], r["high_90"]) == pytest.approx(want[1:])
            if np.allclose(p[r["method"]][te], p[r["baseline"]][te], rtol=0, atol=1e-9):
                # the issued forecast is the baseline's (the network chosen, or a stack that put
                # all its weight on ridge): no skill and no spread, up to rounding
                assert (r["skill"], r["low_90"], r["high_90"]) == pytest.approx((0, 0, 0), abs=1e-9)
            else:
                assert r["low_90"] < r["high_90"]


def test_columns_stats_and_the_verbose_lines(fitted):
    data, fc, printed = fitted
    cols = fc.columns_
    assert (cols["target"], cols["own"], cols["others"]) == ("A_temp_mean", ["A_temp_mean", "A_pressure"],
                                                             ["B_temp_mean"])
    train = data.dates <= np.datetime64("2002-12-31")
    for c, unit in (("A_temp_mean", "°C"), ("A_pressure", "1000 hPa"), ("B_temp_mean", "°C")):
        v = data.columns[c][train]
        assert cols["stats"][c] == {"unit": unit, "median": pytest.approx(np.median(v)), "std": pytest.approx(v.std())}
    assert cols["trained_on"] == "2000-01-01 .. 2004-12-30" and cols["source"] == "synthetic"
    assert cols["last_training_target"] == "2003-12-31" and fc.result_["source"] == "synthetic"
    assert fc.result_["config"] is fc.config and "notes" not in fc.result_
    # the time each horizon took (a sanity range, not a speed test: the fit takes about a second)
    assert all(0 < fc.result_["horizons"][h]["seconds"] < 3600 for h in (1, 3))
    lines = printed.splitlines()
    assert len(lines) == 2
    for line, h in zip(lines, (1, 3)):
        res = fc.result_["horizons"][h]
        te, y, p = res["split"]["test"], res["samples"]["y"], res["predictions"]
        mae = {m: f"{np.abs(p[m][te] - y[te]).mean():.2f}" for m in ("issued", "network", "ridge", "climatology",
                                                                    "persistence")}
        method = res["method"] + (f" (λ={res['shrink']:.2f})" if res["method"] == "shrunk" else "")
        head = (f"h={h:>2} d: issued {method}; test MAE issued {mae['issued']}  network {mae['network']}  ridge "
                f"{mae['ridge']}  climatology {mae['climatology']}  persistence {mae['persistence']} °C  (best epochs "
                f"{res['best_epochs']}, ")
        assert line.startswith(head), (line, head)
        assert re.fullmatch(r"\d+ s\)", line[len(head):]) and int(line[len(head):].split()[0]) < 3600


def test_a_single_place_short_series_names_its_city_and_notes_the_early_stopping(capsys):
    d = seasonal_series(years=4, seed=2)          # ends 2003-12-31: training 2000-2001
    one = WeatherData(d.dates, {"temp_mean": d.columns["A_temp_mean"], "pressure": d.columns["A_pressure"]}, "X",
                      ["X"], {"temp_mean": "°C"}, "x.csv")
    fc = Forecaster(city="BUDAPEST", horizons=(2,), epochs=1, ensemble=1, hidden=(2,), bootstrap=0,
                    variables=("temp_mean", "pressure")).fit(one, verbose=1)
    assert fc.config.city == "X" and fc.columns_["own"] == ["X_temp_mean", "X_pressure"]
    assert fc.columns_["stats"]["X_pressure"]["unit"] == "" and fc.columns_["stats"]["X_temp_mean"]["unit"] == "°C"
    note = ("horizon 2: less than a year of training targets before the last training year; the networks stop "
            "early on the validation year instead")
    assert fc.result_["notes"] == [note]
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"note: {note}" and out[1].startswith("h= 2 d: issued stacked; test MAE issued ")
    assert all(np.isnan(r["low_90"]) for r in fc.result_["skill"])            # bootstrap = 0: no interval
    assert (fc.config.train_end, fc.config.val_end) == ("2001-12-31", "2002-12-31")
    Forecaster(city="A", horizons=(2,), epochs=1, ensemble=1, hidden=(2,), bootstrap=0).fit(d)   # not verbose
    assert capsys.readouterr().out == ""


def test_too_little_history_is_one_clear_error():
    d = seasonal_series(years=2, seed=1)            # 2000-01-01 .. 2001-12-31
    fc = Forecaster(city="A", horizons=(1, 2), train_end="2000-12-31", val_end="2001-12-31", epochs=1)
    with pytest.raises(ForecastError, match=r"^synthetic: too little history for horizon 1: the test period has no "
                                            r"sample \(usable target dates 2000-01-04 \.\. 2001-12-31; train_end "
                                            r"2000-12-31, val_end 2001-12-31\)$"):
        fc.fit(d)
    fc = Forecaster(city="A", horizons=(1,), train_end="1999-12-31", val_end="2000-12-31", epochs=1)
    with pytest.raises(ForecastError, match=r"the train period has no sample"):
        fc.fit(d)
    holes = {k: v.copy() for k, v in d.columns.items()}
    holes["A_temp_mean"][(d.dates >= np.datetime64("2001-06-01")) & (d.dates <= np.datetime64("2001-06-30"))] = np.nan
    fc = Forecaster(city="A", horizons=(1,), train_end="2001-05-31", val_end="2001-06-30", epochs=1)
    with pytest.raises(ForecastError, match=r"the val period has no sample \(usable target dates 2000-01-04 \.\. "
                                            r"2001-12-31; train_end 2001-05-31, val_end 2001-06-30\)$"):
        fc.fit(WeatherData(d.dates, holes, None, d.cities, d.units, "synthetic"))
    nan = WeatherData(d.dates, {k: np.full(len(d.dates), np.nan) for k in d.columns}, None, d.cities, d.units, "")
    with pytest.raises(ForecastError, match=r"^the data: too little history for horizon 1: the train period has no "
                                            r"sample \(usable target dates - \.\. -; train_end 2000-12-31"):
        Forecaster(city="A", horizons=(1,), train_end="2000-12-31", val_end="2001-06-30").fit(nan)


def test_the_target_scaler_and_networks_without_the_anomaly(fitted):
    data, fc, _ = fitted
    for h in (1, 3):                     # anomaly (default): the departure from climatology, training rows only
        res, st = fc.result_["horizons"][h], fc.horizons_[h]
        dep = (res["samples"]["y"] - res["base"])[res["split"]["train"]]
        assert st["y_mean"] == pytest.approx(dep.mean()) and st["y_scale"] == pytest.approx(dep.std())
    d = seasonal_series(years=5, seed=6)
    raw = Forecaster(city="A", horizons=(2,), epochs=1, ensemble=1, hidden=(3,), bootstrap=0, anomaly=False).fit(d)
    res, st = raw.result_["horizons"][2], raw.horizons_[2]
    y, tr = res["samples"]["y"], res["split"]["train"]
    assert st["y_mean"] == pytest.approx(y[tr].mean()) and st["y_scale"] == pytest.approx(y[tr].std())
    xs = _std(res["samples"]["x"], tr).astype(np.float32)
    net = st["networks"][0].predict(xs).ravel()
    np.testing.assert_allclose(res["predictions"]["network"], net * st["y_scale"] + st["y_mean"], rtol=1e-5, atol=1e-4)


def test_the_shrunk_rule_and_a_constant_series():
    d = seasonal_series(years=4, seed=3)
    fc = Forecaster(city="A", horizons=(1, 2), epochs=1, ensemble=1, hidden=(2,), bootstrap=0, issue_short="shrunk",
                    issue_long="shrunk").fit(d)
    for h in (1, 2):
        st, p = fc.horizons_[h], fc.result_["horizons"][h]["predictions"]
        assert st["method"] == ("climatology" if st["shrink"] == 0 else "shrunk")
        np.testing.assert_array_equal(p["issued"], p[st["method"]])
    # λ = 0 (every method is climatology, so λ ties at its smallest value): issued as "climatology"
    fc = Forecaster(city="A", horizons=(1,), epochs=1, ensemble=1, hidden=(2,), bootstrap=0, issue_short="shrunk")
    fc._methods = lambda st, h, x, base, with_shrunk=True: {
        "climatology": base.copy(), "ridge": base.copy(), "ridge_anomaly": base.copy(), "network": base.copy(),
        "ensemble": base.copy()}
    fc.fit(d)
    assert fc.horizons_[1]["shrink"] == 0.0 and fc.horizons_[1]["method"] == "climatology"
    const = {k: np.full(len(d.dates), 4.0) if k == "A_temp_mean" else v for k, v in d.columns.items()}
    with pytest.raises(ForecastError, match=r"^c.csv: column 'A_temp_mean' is constant \(4 on every day\)"):
        Forecaster(city="A", horizons=(2,), epochs=1).fit(WeatherData(d.dates, const, None, d.cities, d.units, "c.csv"))


def test_given_period_ends_and_the_target_scaler_in_the_result(fitted):
    data, fc, _ = fitted
    for h in (1, 3):
        res, st = fc.result_["horizons"][h], fc.horizons_[h]
        assert np.ravel(res["y_scaler"].mean_)[0] == st["y_mean"] and np.ravel(res["y_scaler"].scale_)[0] == st["y_scale"]
    d = seasonal_series(years=4, seed=5)                 # 2000-01-01 .. 2003-12-31
    kw = {"city": "A", "horizons": (1,), "epochs": 1, "ensemble": 1, "hidden": (2,), "bootstrap": 0}
    one = Forecaster(train_end="2001-06-30", **kw).fit(d)     # validation end from the default periods
    assert (one.config.train_end, one.config.val_end) == ("2001-06-30", "2002-12-31")
    two = Forecaster(val_end="2003-03-31", **kw).fit(d)       # training end from the default periods
    assert (two.config.train_end, two.config.val_end) == ("2001-12-31", "2003-03-31")
    three = Forecaster(train_end="2001-12-31", val_end="2002-12-31", test_end="2003-06-30", **kw).fit(d)
    td = three.result_["horizons"][1]["samples"]["target_dates"]
    test = three.result_["horizons"][1]["split"]["test"]
    assert td[test].min() == np.datetime64("2003-01-01") and td[test].max() == np.datetime64("2003-06-30")


def test_run_forecast_and_fit_without_threadpoolctl(monkeypatch, capsys):
    import sys

    from tanul.forecast import run_forecast

    d = seasonal_series(years=4, seed=7)
    cfg = Forecaster(city="A", horizons=(1,), epochs=1, ensemble=1, hidden=(2,), bootstrap=0).config
    res = run_forecast(d, cfg)                      # verbose by default: one line per horizon
    assert isinstance(res["forecaster"], Forecaster) and res["forecaster"].result_["metrics"] == res["metrics"]
    assert "\nh= 1 d: issued stacked; test MAE issued " in capsys.readouterr().out     # after the note
    run_forecast(d, cfg, verbose=0)
    assert capsys.readouterr().out == ""
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)          # not installed: fit runs as it is
    fc = Forecaster(cfg).fit(d, verbose=1)
    assert "\nh= 1 d: issued stacked;" in capsys.readouterr().out and fc.columns_["target"] == "A_temp_mean"
    np.testing.assert_allclose(fc.result_["horizons"][1]["predictions"]["ridge"],
                               res["horizons"][1]["predictions"]["ridge"])
