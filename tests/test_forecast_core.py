"""The plain functions of ``tanul.forecast.core`` and the settings' checks, against hand-worked
values, formulas written out here and NumPy oracles (``np.linalg.lstsq`` for the ridge)."""

import warnings

import numpy as np
import pytest

from tanul.datasets.weather import WeatherData
from tanul.forecast import (
    STACK_MEMBERS,
    ForecastConfig,
    ForecastError,
    apply_stack,
    build_samples,
    climatology,
    climatology_table,
    coverage,
    day_of_year,
    default_periods,
    fit_ridge,
    fit_shrinkage,
    fit_stack,
    horizon_inputs,
    interval_offsets,
    seasonal_scale,
    skill,
    split_by_target_date,
    stack_members,
)
from tanul.forecast.core import (
    feature_matrix,
    full_columns,
    input_columns,
    parse_date,
    scores,
    simplex_grid,
    stack_keep,
    window_days,
)
from tanul.forecast.forecaster import _ridge_on_validation, check_series


# ---------------------------------------------------------------------- dates and periods
def test_day_of_year_and_parse_date():
    d = np.array(["2001-01-01", "2001-03-01", "2004-02-29", "2004-12-31", "2003-12-31"], dtype="datetime64[D]")
    assert day_of_year(d).tolist() == [0, 59, 59, 365, 364]
    assert day_of_year(["2001-02-01"]).tolist() == [31]
    assert parse_date("2001-02-03") == np.datetime64("2001-02-03")
    assert parse_date(np.datetime64("2001-02-03T10:00")) == np.datetime64("2001-02-03")
    assert parse_date(np.datetime64("2001-02-03T10:00")).dtype == np.dtype("datetime64[D]")
    for bad in ("2001-02-30", "soon", None, 3.5):
        with pytest.raises(ForecastError, match=rf"^--as-of: expected a date YYYY-MM-DD, got {repr(bad)}$".replace(
                "(", r"\(").replace(")", r"\)").replace(".", r"\.")):
            parse_date(bad, "--as-of")
    with pytest.raises(ForecastError, match=r"^date: expected a date YYYY-MM-DD, got 'NaT'$"):
        parse_date("NaT")


@pytest.mark.parametrize("last, ends", [
    ("2010-01-01", ("2007-12-31", "2008-12-31")),   # the weather data: test 2009-01-01 .. 2010-01-01
    ("2009-12-31", ("2007-12-31", "2008-12-31")),   # 2009: 365 days, enough
    ("2008-12-31", ("2006-12-31", "2007-12-31")),   # 2008: 366 days
    ("2009-12-30", ("2006-12-31", "2007-12-31")),   # 2009 short of a day: 2008-01-01 .. 2009-12-30
    ("2009-06-30", ("2006-12-31", "2007-12-31")),
])
def test_default_periods_leave_a_last_stretch_of_365_days_from_1_january(last, ends):
    dates = np.arange(np.datetime64("2001-01-01"), np.datetime64(last) + 1)
    assert default_periods(dates) == ends
    assert default_periods([str(d) for d in dates[-3:]]) == ends        # dates as text
    test_start = np.datetime64(ends[1]) + 1
    assert str(test_start)[5:] == "01-01" and (dates[-1] - test_start).astype(int) + 1 >= 365


def test_split_by_target_date_ends():
    d = np.arange(np.datetime64("2001-12-30"), np.datetime64("2003-01-03"))
    m = split_by_target_date(d, "2001-12-31", "2002-12-31", test_end="2003-01-01")
    assert d[m["train"]].tolist() == d[:2].tolist()
    assert d[m["test"]].tolist() == [np.datetime64("2003-01-01").astype(object)]
    assert not (m["train"] | m["val"] | m["test"])[-1]                 # after test_end: in no period
    # one end given, the other from default_periods of the target dates (last 2003-01-02 → 2000, 2001)
    m = split_by_target_date(d, None, "2002-12-31")
    assert m["train"].sum() == 0 and m["val"].sum() == 2 + 365 and m["test"].sum() == 2


# ---------------------------------------------------------------------- climatology
def test_climatology_table_means_borrowing_and_smoothing():
    year = np.arange(np.datetime64("2001-01-01"), np.datetime64("2002-01-01"))     # 365 days: doy 0 .. 364
    doy = day_of_year(year).astype(float)
    keep = ~np.isin(doy, [100, 101])                      # two days without data
    t = climatology_table(year[keep], doy[keep] ** 2, window=1)
    assert t.shape == (366,)
    np.testing.assert_array_equal(t[:100], doy[:100] ** 2)
    assert t[100] == 99.0 ** 2 and t[101] == 102.0 ** 2    # each from its own neighbours of the first pass
    assert t[365] == (364.0 ** 2 + 0.0) / 2                # 31 Dec of leap years: 30 Dec ... 1 Jan
    # two years: the mean per day of year
    two = np.concatenate([year, year + 365])
    t2 = climatology_table(two, np.concatenate([doy, doy + 10.0]), window=1)
    np.testing.assert_allclose(t2[:365], doy + 5.0)
    # a circular moving average of `window` days
    leap = np.arange(np.datetime64("2004-01-01"), np.datetime64("2005-01-01"))    # doy 0 .. 365
    m = np.sin(np.arange(366) / 7.0) * 10 + np.arange(366) * 0.1
    for w in (3, 31):
        c = climatology_table(leap, m, window=w)
        for d in (0, 5, 100, 350, 365):
            assert c[d] == pytest.approx(m[np.arange(d - w // 2, d + w // 2 + 1) % 366].mean(), rel=1e-12)
    # climatology(): the table as a function of the dates, 31 days by default
    f = climatology(leap, m)
    want = [m[np.arange(d - 15, d + 16) % 366].mean() for d in (0, 59, 365)]
    np.testing.assert_allclose(f(np.array(["2010-01-01", "2010-03-01", "2012-12-31"], dtype="datetime64[D]")),
                               want, rtol=1e-12)
    with pytest.raises(ForecastError, match="^climatology: no training day to average$"):
        climatology_table(year[:0], doy[:0])


# ---------------------------------------------------------------------- ridge
def test_fit_ridge_against_lstsq():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0 + rng.normal(0, 0.5, 30)
    for alpha in (0.0, 2.5, 100.0):
        w, b = fit_ridge(x, y, alpha)
        # min ||(y − ȳ) − X w||² + α ||w||²: least squares on X stacked over sqrt(α) I
        a = np.vstack([x, np.sqrt(alpha) * np.eye(4)])
        want = np.linalg.lstsq(a, np.concatenate([y - y.mean(), np.zeros(4)]), rcond=None)[0]
        np.testing.assert_allclose(w, want, rtol=1e-10, atol=1e-12)
        assert b == pytest.approx(y.mean()) and isinstance(b, float)


def test_ridge_alpha_is_chosen_on_validation():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 3))
    base = rng.normal(0, 5, 80)
    y = base + x @ np.array([2.0, 0.0, -1.0]) + rng.normal(0, 1.0, 80)
    tr, va = np.arange(80) < 50, np.arange(80) >= 50
    alphas = (0.01, 30.0, 1000.0)
    by_hand = {}
    for a in alphas:
        w = np.linalg.lstsq(np.vstack([x[tr], np.sqrt(a) * np.eye(3)]),
                            np.concatenate([(y - base)[tr] - (y - base)[tr].mean(), np.zeros(3)]), rcond=None)[0]
        by_hand[a] = np.abs(base[va] + x[va] @ w + (y - base)[tr].mean() - y[va]).mean()
    best = min(alphas, key=by_hand.get)
    alpha, w, b = _ridge_on_validation(x, y, base, tr, va, alphas)
    assert alpha == best and b == pytest.approx((y - base)[tr].mean())
    # the worst α alone is returned when it is the only one
    worst = max(alphas, key=by_hand.get)
    assert _ridge_on_validation(x, y, base, tr, va, (worst,))[0] == worst
    # the order of the candidates does not matter, only their validation MAE
    assert _ridge_on_validation(x, y, base, tr, va, alphas[::-1])[0] == best
    # an intercept far from 0 enters the validation MAE as fitted (+ b): the same choice as by hand
    alpha, w, b = _ridge_on_validation(x, y + 50.0, base, tr, va, alphas)
    assert alpha == best and b == pytest.approx((y - base)[tr].mean() + 50.0)
    shifted = {a: by_hand[a] for a in alphas}
    assert min(alphas, key=shifted.get) == alpha
    # ties (no feature varies on the validation days): the first α listed
    flat = x.copy()
    flat[va] = 0.0
    assert _ridge_on_validation(flat, y, base, tr, va, (1.0, 100.0))[0] == 1.0
    assert _ridge_on_validation(flat, y, base, tr, va, (100.0, 1.0))[0] == 100.0


def test_ridge_choice_uses_the_fitted_intercept():
    # validation days lower by 2 °C and with features shifted by -1: the accurate small α has a
    # validation bias of +2, the flat huge α one of +5 (and a larger MAE)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 1))
    tr, va = np.arange(120) < 80, np.arange(120) >= 80
    x[va] -= 1.0
    y = 10.0 + 3.0 * x[:, 0] + rng.normal(0, 0.3, 120)
    y[va] -= 2.0
    base = np.zeros(120)
    mae = {}
    for a in (0.01, 1e6):
        w = np.linalg.lstsq(np.vstack([x[tr], [[np.sqrt(a)]]]), np.append(y[tr] - y[tr].mean(), 0.0), rcond=None)[0]
        mae[a] = np.abs(x[va] @ w + y[tr].mean() - y[va]).mean()
    assert mae[0.01] < 2.5 < 4.0 < mae[1e6]
    assert _ridge_on_validation(x, y, base, tr, va, (0.01, 1e6))[0] == 0.01
    assert _ridge_on_validation(x, y, base, tr, va, (1e6, 0.01))[0] == 0.01


# ---------------------------------------------------------------------- shrinkage, stack, scores
def test_fit_shrinkage_grid_and_ties():
    base, pred = np.zeros(4), np.ones(4)
    assert fit_shrinkage(np.full(4, 0.37), base, pred) == pytest.approx(0.37)
    assert fit_shrinkage(np.full(4, 0.37), base, pred, grid=11) == pytest.approx(0.4)
    assert fit_shrinkage(np.full(4, 2.0), base, pred) == 1.0         # beyond the network: λ = 1
    assert fit_shrinkage(np.full(4, -1.0), base, pred) == 0.0
    # y half at 0, half at 1: every λ has MAE 0.5, the smallest wins
    assert fit_shrinkage(np.array([0.0, 1.0, 0.0, 1.0]), base, pred) == 0.0
    assert isinstance(fit_shrinkage(np.full(4, 0.5), base, pred), float)


def test_simplex_grid_and_fit_stack_details():
    assert simplex_grid(1, 0.5).tolist() == [[1.0]]
    assert simplex_grid(2, 0.5).tolist() == [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]
    assert len(simplex_grid(4, 0.05)) == 1771                       # C(20 + 3, 3)
    for k, step in ((0, 0.5), (2, 2.0), (2, 0.3)):
        with pytest.raises(ForecastError, match=rf"^simplex_grid: expected k >= 1 and 1/step an integer, got "
                                                rf"{k}, {step}$"):
            simplex_grid(k, step)
    # 1771 weight vectors are tried in chunks: the best one wins wherever it lies
    rng = np.random.default_rng(2)
    p = rng.normal(size=(4, 200))
    for w in ((0.05, 0.0, 0.95, 0.0), (0.0, 0.0, 0.0, 1.0), (1.0, 0.0, 0.0, 0.0), (0.25, 0.25, 0.25, 0.25)):
        y = np.asarray(w) @ p
        got = fit_stack(y, dict(zip("abcd", p)))
        assert list(got.values()) == pytest.approx(list(w)) and list(got) == list("abcd")
    # MAEs far below 1 (members of small spread): the chunks are still compared at full precision
    small = 0.01 * p
    noise = 1e-5 * rng.normal(size=200)             # no exact fit: the best MAE is above 0
    got = fit_stack(np.array([0.05, 0.0, 0.95, 0.0]) @ small + noise, dict(zip("abcd", small)))
    assert list(got.values()) == pytest.approx([0.05, 0.0, 0.95, 0.0])
    assert fit_stack(p[0], {"a": p[0]}, step=0.5) == {"a": 1.0}
    with pytest.raises(ForecastError, match=r"^fit_stack: expected 0 \(> 0\) predictions per member, got 0$"):
        fit_stack(np.array([]), {"a": np.array([])})
    with pytest.raises(ForecastError, match=r"^fit_stack: expected 200 \(> 0\) predictions per member, got 3$"):
        fit_stack(p[0], {"a": p[0][:3]})
    assert fit_stack([1.0, 2.0], {"a": [1, 2], "b": [0, 0]}) == {"a": 1.0, "b": 0.0}    # lists are arrays


def test_apply_stack_by_hand():
    preds = {"a": [0, 4], "b": [4.0, 2.0], "c": [100, 100]}
    got = apply_stack({"a": 0.25, "b": 0.75}, preds)            # c is not a member: not read
    assert got.shape == (2,) and got.dtype == np.float64 and got.tolist() == [3.0, 2.5]
    assert apply_stack({"b": 1.0}, preds).tolist() == [4.0, 2.0]


def test_scores_skill_and_coverage_by_hand():
    y = np.array([1.0, 2.0, 4.0])
    p = np.array([2.0, 2.0, 1.0])                 # errors 1, 0, -3
    assert scores(y, p) == {"mae": pytest.approx(4 / 3), "rmse": pytest.approx(np.sqrt(10 / 3))}
    assert scores(y[:1], p[:1]) == {"mae": 1.0, "rmse": 1.0}
    s = scores(y[:0], p[:0])
    assert set(s) == {"mae", "rmse"} and np.isnan(s["mae"]) and np.isnan(s["rmse"])
    ref = np.array([3.0, 0.0, 4.0])               # MAE 4/3 too; then 8/3
    assert skill(y, p, ref) == pytest.approx(0.0)
    assert skill(y, p, ref * 2 - y) == pytest.approx(1 - (4 / 3) / (8 / 3))
    assert np.isnan(skill(y, p, y))
    assert coverage(y, y, y) == 1.0 and np.isnan(coverage([], [], []))
    assert coverage(y, y + 0.5, y + 1) == 0.0 and coverage(y, y - 1, y - 0.5) == 0.0


def test_interval_offsets_conformal_ranks_by_hand():
    r = np.arange(1.0, 10.0)                       # n = 9: (n + 1) · q
    off = interval_offsets(r[::-1], conformal=True)
    assert off["80"] == (1.0, 9.0)                 # floor(10 · 0.1) = 1, ceil(10 · 0.9) = 9
    assert off["95"] == (1.0, 9.0)                 # floor(0.25) = 0 → 1, ceil(9.75) = 10 → 9
    r = np.arange(1.0, 40.0)                       # n = 39: 40 · 0.1 = 4 exactly, 40 · 0.9 = 36 exactly
    assert interval_offsets(r, conformal=True) == {"80": (4.0, 36.0), "95": (1.0, 39.0)}
    r = np.arange(1.0, 200.0)                      # n = 199: 200 · 0.025 = 5, 200 · 0.975 = 195
    assert interval_offsets(r, conformal=True)["95"] == (5.0, 195.0)
    assert interval_offsets(np.array([2.0, np.nan, 1.0, np.inf]), conformal=True)["80"] == (1.0, 2.0)
    e = interval_offsets([0.0, 10.0])              # empirical: linear interpolation
    assert e == {"80": pytest.approx((1.0, 9.0)), "95": pytest.approx((0.25, 9.75))}
    assert all(type(v) is float for pair in e.values() for v in pair)


def test_seasonal_scale_floor_and_normalisation():
    dates = np.arange(np.datetime64("2004-01-01"), np.datetime64("2005-01-01"))      # 366 days, one each
    r = np.where(np.arange(366) < 183, 2.0, 0.0)
    r[300] = 1e-3                                  # a tiny spread is raised to 5 % of the mean
    s = seasonal_scale(dates, r, window=1)
    sd = np.abs(r)                                 # window 1: the root of each day's squared residual
    sd = np.maximum(sd, 0.05 * sd.mean())          # no day below 5 % of the mean spread
    np.testing.assert_allclose(s, sd / sd.mean(), rtol=1e-12)
    assert s[300] == s[200] and s[300] == pytest.approx(0.05 / ((183 * 2 + 183 * 0.05) / 366), rel=1e-4)
    assert s.mean() == pytest.approx(1.0)
    # a spread is a spread at any scale: small residuals (mean spread far below 1) are fine
    np.testing.assert_allclose(seasonal_scale(dates, 0.01 * r, window=1), s, rtol=1e-12)
    # the default window: 31 days, as the climatology's
    rng = np.random.default_rng(5)
    noisy = rng.normal(0, 1 + np.arange(366) / 100)
    sd = np.sqrt(np.array([np.mean(noisy[np.arange(d - 15, d + 16) % 366] ** 2) for d in range(366)]))
    sd = np.maximum(sd, 0.05 * sd.mean())
    np.testing.assert_allclose(seasonal_scale(dates, noisy), sd / sd.mean(), rtol=1e-10)
    assert seasonal_scale(dates[:3], np.array([1.0, np.nan, 2.0]), window=1).shape == (366,)   # 2 finite: enough
    with pytest.raises(ForecastError, match=r"^seasonal_scale: expected at least 2 finite residuals, got 1$"):
        seasonal_scale(dates[:2], np.array([1.0, np.inf]))
    with pytest.raises(ForecastError, match=r"^seasonal_scale: the residuals are all zero; no spread to follow$"):
        seasonal_scale(dates, np.zeros(366))


# ---------------------------------------------------------------------- horizons and inputs
def test_horizon_rules():
    cfg = ForecastConfig(short_horizon=2, medium_horizon=10, stack_keep=(0.9, 0.5, 0.2),
                         medium_members=("ridge", "climatology"), long_other_lags=3, long_means=(7,), long_ensemble=5,
                         other_lags=2, means=(4,), ensemble=2)
    assert [stack_keep(cfg, h) for h in (1, 2, 3, 10, 11)] == [0.9, 0.9, 0.5, 0.5, 0.2]
    assert [stack_members(cfg, h) for h in (2, 3, 10, 11)] == [STACK_MEMBERS, ("ridge", "climatology"),
                                                               ("ridge", "climatology"), STACK_MEMBERS]
    assert horizon_inputs(cfg, 2) == (2, (4,), 2) and horizon_inputs(cfg, 3) == (3, (7,), 5)
    assert horizon_inputs(ForecastConfig(other_lags=2, means=(4,), ensemble=2), 30) == (2, (4,), 2)
    assert window_days(cfg) == 7
    assert window_days(ForecastConfig(lags=1)) == 1 and window_days(ForecastConfig(lags=2, other_lags=4)) == 4
    assert window_days(ForecastConfig(lags=1, long_other_lags=3)) == 3
    assert window_days(ForecastConfig(lags=2, means=(5,))) == 5


def _two_places(city=None):
    dates = np.datetime64("2001-01-01") + np.arange(10)
    k = np.arange(10.0)
    if city is not None:      # one place: columns by variable name
        return WeatherData(dates, {"temp_mean": k, "humidity": 50 + k, "wind": -k}, city, [city], source="one.csv")
    cols = {"A_temp_mean": k, "A_humidity": 50 + k, "A_wind": -k, "B_temp_mean": 100 + k, "B_humidity": 200 + k,
            "BB_temp_mean": 300 + k}
    return WeatherData(dates, cols, None, ["A", "B", "BB"], source="two.csv")


def test_input_columns_and_feature_names():
    data = _two_places()
    cfg = ForecastConfig(city="a", variables=("temp_mean", "humidity", "pressure"))
    assert full_columns(data) == data.columns
    assert input_columns(data, cfg) == ("A_temp_mean", ["A_temp_mean", "A_humidity"],
                                        ["B_temp_mean", "B_humidity", "BB_temp_mean"])
    cfg = ForecastConfig(city="A", other_variables=("humidity",))
    assert input_columns(data, cfg)[2] == ["B_humidity"]
    assert input_columns(data, ForecastConfig(city="A", other_places=False))[2] == []
    one = _two_places("X")
    assert list(full_columns(one)) == ["X_temp_mean", "X_humidity", "X_wind"]
    assert input_columns(one, ForecastConfig(city="ignored"))[0] == "X_temp_mean"
    with pytest.raises(ForecastError, match=r"^forecast: no column 'C_temp_mean' in two.csv \(columns: A_temp_mean, "
                                            r"A_humidity, A_wind, B_temp_mean, B_humidity, BB_temp_mean\)$"):
        input_columns(data, ForecastConfig(city="C"))
    wide = WeatherData(data.dates, {f"X{i}_v": np.zeros(10) for i in range(11)}, None, [], source="")
    with pytest.raises(ForecastError, match=r"^forecast: no column 'A_temp_mean' in the data \(columns: X0_v, .*, "
                                            r"X9_v\.\.\.\)$"):
        input_columns(wide, ForecastConfig(city="A"))
    ten = WeatherData(data.dates, {f"X{i}_v": np.zeros(10) for i in range(10)}, None, [], source="")
    with pytest.raises(ForecastError, match=r"\(columns: X0_v, .*, X9_v\)$"):          # ten: all named, no "..."
        input_columns(ten, ForecastConfig(city="A"))
    _, one_lag = feature_matrix(data.columns, data.dates, ["A_temp_mean"], ["B_temp_mean"], 2, 1, np.array([4]))
    assert one_lag[:3] == ["A_temp_mean(t-1)", "A_temp_mean(t)", "B_temp_mean(t)"]   # other places: day t only
    x, names = feature_matrix(data.columns, data.dates, ["A_temp_mean", "A_humidity"], ["B_temp_mean"], 3, 2,
                              np.array([4, 6]), other_lags=2, means=(2, 3))
    assert names == ["A_temp_mean(t-2)", "A_temp_mean(t-1)", "A_temp_mean(t)", "A_humidity(t-2)", "A_humidity(t-1)",
                     "A_humidity(t)", "B_temp_mean(t-1)", "B_temp_mean(t)", "A_temp_mean_mean2(t)",
                     "A_temp_mean_mean3(t)", "sin_doy(t)", "cos_doy(t)", "sin_doy(t+2)", "cos_doy(t+2)"]
    a = 2 * np.pi * np.array([4, 6]) / 365.25
    b = 2 * np.pi * np.array([6, 8]) / 365.25
    want = np.column_stack([[2, 4], [3, 5], [4, 6], [52, 54], [53, 55], [54, 56], [103, 105], [104, 106],
                            [3.5, 5.5], [3, 5], np.sin(a), np.cos(a), np.sin(b), np.cos(b)])
    np.testing.assert_allclose(x, want)
    assert x.dtype == np.float64


def test_build_samples_of_one_place_and_too_short_series():
    one = _two_places("X")
    s = build_samples(one, ForecastConfig(city="Y", lags=2, variables=("temp_mean", "wind")), 3)
    assert s["columns"] == {"target": "X_temp_mean", "own": ["X_temp_mean", "X_wind"], "others": []}
    assert s["t"].tolist() == [1, 2, 3, 4, 5, 6] and s["y"].tolist() == [4.0, 5, 6, 7, 8, 9]
    assert s["temp_t"].tolist() == [1.0, 2, 3, 4, 5, 6] and s["horizon"] == 3
    assert s["dates"][0] == np.datetime64("2001-01-02") and s["target_dates"][-1] == np.datetime64("2001-01-10")
    assert s["feature_names"][:4] == ["X_temp_mean(t-1)", "X_temp_mean(t)", "X_wind(t-1)", "X_wind(t)"]
    assert s["x"].dtype == s["y"].dtype == s["temp_t"].dtype == np.float64
    short = WeatherData(one.dates[:4], {k: v[:4] for k, v in one.columns.items()}, "X", ["X"], source="s.csv")
    with pytest.raises(ForecastError, match=r"^forecast: 4 days in s.csv are too few for lags=2 and horizon=3 \(need "
                                            r"at least 5\)$"):
        build_samples(short, ForecastConfig(lags=2), 3)
    build_samples(WeatherData(one.dates[:5], {k: v[:5] for k, v in one.columns.items()}, "X", ["X"]),
                  ForecastConfig(lags=2), 3)
    nosrc = WeatherData(one.dates[:2], {k: v[:2] for k, v in one.columns.items()}, "X", ["X"])
    with pytest.raises(ForecastError, match=r"^forecast: 2 days in the data are too few for lags=3 and horizon=1"):
        build_samples(nosrc, ForecastConfig(), 1)


def test_check_series_names_the_rows_and_the_constant():
    dates = np.array(["2001-01-01", "2001-01-02", "2001-01-05", "2001-01-06"], dtype="datetime64[D]")
    data = WeatherData(dates, {"A_temp_mean": np.arange(4.0)}, None, ["A"], source="gap.csv")
    with pytest.raises(ForecastError, match=r"^gap.csv: rows 3 and 4 are 3 days apart \(2001-01-02 -> 2001-01-05\); "
                                            r"expected one row per consecutive day \(load your own file with "
                                            r"load_temperature_csv, which marks the gaps\)$"):
        check_series(data, "A_temp_mean")
    flat = WeatherData(dates[:2], {"A_temp_mean": np.array([np.nan, 2.5])}, None, ["A"], source="")
    with pytest.raises(ForecastError, match=r"^the data: column 'A_temp_mean' is constant \(2.5 on every day\): "
                                            r"there is nothing to forecast$"):
        check_series(flat, "A_temp_mean")
    check_series(WeatherData(dates[:2], {"A_temp_mean": np.array([1.0, 2.0])}, None, ["A"]), "A_temp_mean")
    check_series(WeatherData(dates[:1], {"A_temp_mean": np.array([np.nan])}, None, ["A"]), "A_temp_mean")


# ---------------------------------------------------------------------- settings
@pytest.mark.parametrize("kw, message", [
    ({"means": (7, 1)}, r"expected means of >= 2 days, got \(7, 1\)"),
    ({"long_means": (1,)}, r"expected long_means of >= 2 days, got \(1,\)"),
    ({"long_other_lags": 0}, r"expected long_other_lags None or an integer >= 1, got 0"),
    ({"long_other_lags": True}, r"expected long_other_lags None or an integer >= 1, got True"),
    ({"long_ensemble": 2.0}, r"expected long_ensemble None or an integer >= 1, got 2.0"),
    ({"stop_on": "never"}, r"expected stop_on 'validation' or 'last_training_year', got 'never'"),
    ({"horizons": ()}, r"expected horizons >= 1 day, got \(\)"),
    ({"horizons": (3, 0)}, r"expected horizons >= 1 day, got \(3, 0\)"),
    ({"horizons": (1, 7, 1)}, r"expected distinct horizons, got \(1, 7, 1\)"),
    ({"lags": 0}, r"expected lags >= 1 \(an integer\), got 0"),
    ({"other_lags": 0}, r"expected other_lags >= 1 \(an integer\), got 0"),
    ({"ensemble": 0}, r"expected ensemble >= 1 network \(an integer\), got 0"),
    ({"epochs": 0}, r"expected epochs >= 1 \(an integer\), got 0"),
    ({"batch_size": 0}, r"expected batch_size >= 1 \(an integer\), got 0"),
    ({"patience": -1}, r"expected patience >= 0 \(an integer\), got -1"),
    ({"climatology_window": 0}, r"expected climatology_window >= 1 \(an integer\), got 0"),
    ({"bootstrap": -1}, r"expected bootstrap >= 0 \(an integer\), got -1"),
    ({"block": 0}, r"expected block >= 1 \(an integer\), got 0"),
    ({"short_horizon": -1}, r"expected short_horizon >= 0 \(an integer\), got -1"),
    ({"medium_horizon": -1}, r"expected medium_horizon >= 0 \(an integer\), got -1"),
    ({"lags": True}, r"expected lags >= 1 \(an integer\), got True"),
    ({"epochs": 2.0}, r"expected epochs >= 1 \(an integer\), got 2.0"),
    ({"dropout": 1.0}, r"expected 0 <= dropout < 1, got 1.0, 0.2"),
    ({"dropout": -0.1}, r"expected 0 <= dropout < 1, got -0.1, 0.2"),
    ({"short_dropout": 1.0}, r"expected 0 <= dropout < 1, got 0.3, 1.0"),
    ({"short_dropout": -0.5}, r"expected 0 <= dropout < 1, got 0.3, -0.5"),
    ({"l2": -1e-9}, r"expected l2 >= 0 and lr > 0, got -1e-09 and 0.002"),
    ({"short_l2": -1.0}, r"expected l2 >= 0 and lr > 0, got 0.03 and 0.002"),
    ({"lr": 0.0}, r"expected l2 >= 0 and lr > 0, got 0.03 and 0.0"),
    ({"issue_long": "best"}, r"expected issue_long in \('guard', 'shrunk', 'stack'\), got 'best'"),
    ({"issue_short": "x"}, r"expected issue_short in \('guard', 'shrunk', 'stack'\), got 'x'"),
    ({"interval_rule": "normal"}, r"expected interval_rule in \('empirical', 'conformal'\), got 'normal'"),
    ({"interval_years": "all"}, r"expected interval_years in \('validation', 'pooled'\), got 'all'"),
    ({"interval_seasonal": 1}, r"expected interval_seasonal True or False, got 1"),
    ({"medium_members": ("ridge", "ridge")}, r"expected medium_members = distinct names of \('network', 'ridge', "
                                             r"'ridge_anomaly', 'climatology'\), got \('ridge', 'ridge'\)"),
    ({"medium_members": ("lasso",)}, r"expected medium_members = distinct names of .*, got \('lasso',\)"),
    ({"medium_members": ()}, r"expected medium_members = distinct names of .*, got \(\)"),
    ({"stack_keep": (1.0, 0.5)}, r"expected stack_keep = three shares in \[0, 1\] \(up to short_horizon, up to "
                                 r"medium_horizon, beyond\), got \(1.0, 0.5\)"),
    ({"stack_keep": (1.0, 0.5, 0.1, 0.1)}, r"expected stack_keep = three shares in \[0, 1\] .*, got \(1.0, 0.5, 0.1, 0.1\)"),
    ({"stack_keep": (1.5, 0.5, 0.1)}, r"expected stack_keep = .*, got \(1.5, 0.5, 0.1\)"),
    ({"stack_keep": (1.0, -0.5, 0.1)}, r"expected stack_keep = .*, got \(1.0, -0.5, 0.1\)"),
    ({"confidence": 1.0}, r"expected 0 < confidence < 1, got 1.0"),
    ({"confidence": 0}, r"expected 0 < confidence < 1, got 0"),
    ({"train_end": "2001-13-01"}, r"train_end: expected a date YYYY-MM-DD, got '2001-13-01'"),
    ({"val_end": "x"}, r"val_end: expected a date YYYY-MM-DD, got 'x'"),
    ({"test_end": "2001-02-30"}, r"test_end: expected a date YYYY-MM-DD, got '2001-02-30'"),
    ({"train_end": "2001-01-02", "val_end": "2001-01-02"},
     r"ForecastConfig: expected train_end < val_end, got 2001-01-02 and 2001-01-02"),
    ({"train_end": "2001-01-03", "val_end": "2001-01-02"}, r"ForecastConfig: expected train_end < val_end, got "
                                                           r"2001-01-03 and 2001-01-02"),
])
def test_config_messages(kw, message):
    prefix = "" if message.startswith(("train_end", "val_end", "test_end", "ForecastConfig")) else "ForecastConfig: "
    with pytest.raises(ForecastError, match=f"^{prefix}{message}$"):
        ForecastConfig(**kw)


def test_config_accepts_the_boundaries_and_normalises():
    cfg = ForecastConfig(horizons=[np.int64(2), 5.0], hidden=[8.0], variables=["temp_mean"], other_variables=["x"],
                         ridge_alphas=[1], means=[np.int64(3)], long_means=[4.0], medium_members=["network"],
                         stack_keep=[1, 0, 0], train_end=np.datetime64("2001-01-05T12:00"), val_end="2002-01-05",
                         patience=0, bootstrap=0, short_horizon=0, medium_horizon=0, lags=np.int64(1), dropout=0.0,
                         short_dropout=0.0, l2=0.0, short_l2=0.0, confidence=0.999, interval_seasonal=np.bool_(True),
                         long_other_lags=np.int64(1), long_ensemble=1)
    assert cfg.horizons == (2, 5) and all(type(h) is int for h in cfg.horizons) and cfg.hidden == (8,)
    assert cfg.variables == ("temp_mean",) and cfg.other_variables == ("x",) and cfg.ridge_alphas == (1.0,)
    assert type(cfg.ridge_alphas[0]) is float and cfg.means == (3,) and cfg.long_means == (4,)
    assert type(cfg.long_means[0]) is int and type(cfg.means[0]) is int
    assert cfg.medium_members == ("network",) and cfg.stack_keep == (1.0, 0.0, 0.0)
    assert all(type(k) is float for k in cfg.stack_keep)
    assert cfg.train_end == "2001-01-05" and cfg.val_end == "2002-01-05" and cfg.test_end is None
    assert ForecastConfig(train_end="2001-01-01", val_end="2001-01-02").val_end == "2001-01-02"
    assert ForecastConfig(train_end="2001-01-03").val_end is None and ForecastConfig(val_end="2001-01-03").train_end is None
    assert ForecastConfig().other_variables is None and ForecastConfig().long_means is None
    low = ForecastConfig(batch_size=1, climatology_window=1, block=1, epochs=1, ensemble=1, other_lags=1,
                         means=(2,), long_means=(2,), long_other_lags=1, stop_on="validation",
                         stack_keep=(0.0, 0.0, 0.0), confidence=1e-9)
    assert (low.batch_size, low.climatology_window, low.block, low.epochs, low.ensemble) == (1, 1, 1, 1, 1)
    assert low.means == low.long_means == (2,) and low.stop_on == "validation" and low.stack_keep == (0.0,) * 3
    assert ForecastConfig(dropout=0.999, short_dropout=0.999, l2=1e-12, short_l2=1e-12, lr=1e-12).lr == 1e-12


# ---------------------------------------------------------------------- the paired block bootstrap, by hand
def _resamples(n, block, n_boot, seed):
    """The documented resampling: ⌈n/block⌉ runs of `block` consecutive days from random starts
    (``default_rng(seed).integers(0, n − block + 1)``), strung together and cut to n days."""
    b = min(block, n)
    starts = np.random.default_rng(seed).integers(0, n - b + 1, size=(n_boot, -(-n // b)))
    return [[int(s) + j for s in row for j in range(b)][:n] for row in starts]


def _skill_interval_by_hand(y, pred, ref, block, n_boot, level, seed):
    s = []
    for days in _resamples(len(y), block, n_boot, seed):
        ep, er = np.abs(pred - y)[days].mean(), np.abs(ref - y)[days].mean()
        if er > 0:
            s.append(1 - ep / er)
    a = (1 - level) / 2
    return float(np.quantile(s, a)), float(np.quantile(s, 1 - a))


def test_block_bootstrap_skill_by_hand():
    from tanul.forecast import block_bootstrap_skill

    rng = np.random.default_rng(7)
    y = rng.normal(size=95)
    pred, ref = y + rng.normal(0, 1, 95), y + rng.normal(0, 1.3, 95)
    point = 1 - np.abs(pred - y).mean() / np.abs(ref - y).mean()
    got = block_bootstrap_skill(y, pred, ref)                        # 30-day blocks, 1000 resamples, 90 %, seed 0
    assert got[0] == pytest.approx(point)
    assert got[1:] == pytest.approx(_skill_interval_by_hand(y, pred, ref, 30, 1000, 0.9, 0), rel=1e-12)
    got = block_bootstrap_skill(list(y), list(pred), list(ref), block=7, n_boot=200, level=0.5, seed=3)
    assert got[1:] == pytest.approx(_skill_interval_by_hand(y, pred, ref, 7, 200, 0.5, 3), rel=1e-12)
    # one day: every resample is that day
    one = 1 - abs(pred[0] - y[0]) / abs(ref[0] - y[0])
    assert block_bootstrap_skill(y[:1], pred[:1], ref[:1], n_boot=5) == pytest.approx((one, one, one))
    # one resample: its own skill at both ends
    lo, hi = _skill_interval_by_hand(y, pred, ref, 10, 1, 0.9, 4)
    assert block_bootstrap_skill(y, pred, ref, block=10, n_boot=1, seed=4)[1:] == pytest.approx((lo, hi)) and lo == hi
    # a reference perfect on most days: resamples without its error days have no skill (dropped, silently)
    ref2 = y.copy()
    ref2[:3] += 1.0
    got = block_bootstrap_skill(y, pred, ref2, block=10, n_boot=300, seed=1)
    assert got[1:] == pytest.approx(_skill_interval_by_hand(y, pred, ref2, 10, 300, 0.9, 1), rel=1e-12)
    pred2 = pred.copy()
    pred2[3:] = y[3:]                                # both perfect after day 3: 0/0 in many resamples, silently
    got = block_bootstrap_skill(y, pred2, ref2, block=10, n_boot=300, seed=1)
    assert got[1:] == pytest.approx(_skill_interval_by_hand(y, pred2, ref2, 10, 300, 0.9, 1), rel=1e-12)
    # no resample with a reference error at all: no interval
    seed = next(s for s in range(200) if all(d >= 3 for d in _resamples(95, 10, 1, s)[0]))
    sk, lo, hi = block_bootstrap_skill(y, pred, ref2, block=10, n_boot=1, seed=seed)
    assert np.isfinite(sk) and np.isnan(lo) and np.isnan(hi)
    sk, lo, hi = block_bootstrap_skill(y, pred, ref, n_boot=0)        # no resamples: no interval
    assert sk == pytest.approx(point) and np.isnan(lo) and np.isnan(hi)
    with warnings.catch_warnings():                 # NumPy's "mean of empty slice" for the point skill
        warnings.simplefilter("ignore", RuntimeWarning)
        s, lo, hi = block_bootstrap_skill(y[:0], pred[:0], ref[:0])
    assert np.isnan(s) and np.isnan(lo) and np.isnan(hi)


def test_choose_method_gain_quantiles_by_hand():
    from tanul.forecast import choose_method

    rng = np.random.default_rng(8)
    y = rng.normal(0, 3, 100)
    preds = {"climatology": y + rng.normal(0, 2, 100), "shrunk": y + rng.normal(0, 1.5, 100),
             "ridge": y + rng.normal(0, 1.0, 100), "network": list(y + rng.normal(0, 1.6, 100))}
    err = {k: np.abs(np.asarray(v) - y) for k, v in preds.items()}

    def gain(ref, alt, block, n_boot, seed, q):
        means = [(err[ref] - err[alt])[days].mean() for days in _resamples(100, block, n_boot, seed)]
        return float(np.quantile(means, q))

    method, gains = choose_method(list(y), preds)                    # 30-day blocks, 1000 resamples, seed 0, 0.9
    assert gains["shrunk"] == pytest.approx(gain("climatology", "shrunk", 30, 1000, 0, 0.1), rel=1e-12)
    default = "shrunk" if gains["shrunk"] > 0 else "climatology"
    assert gains["ridge"] == pytest.approx(gain(default, "ridge", 30, 1000, 0, 0.1), rel=1e-12)
    assert gains["network"] == pytest.approx(gain(default, "network", 30, 1000, 0, 0.1), rel=1e-12)
    assert "ridge_anomaly" not in gains and method == "ridge"
    _, g = choose_method(y, preds, block=9, n_boot=50, seed=2, confidence=0.75, alternatives=("network",))
    assert g["shrunk"] == pytest.approx(gain("climatology", "shrunk", 9, 50, 2, 0.25), rel=1e-12)
    assert set(g) == {"shrunk", "network"}


def test_choose_method_rules_at_their_edges():
    from tanul.forecast import choose_method

    rng = np.random.default_rng(9)
    y = rng.normal(0, 3, 300)
    clim = y + rng.normal(0, 2, 300)
    with pytest.raises(ForecastError, match=r"^choose_method: expected 0 < confidence < 1, got 0$"):
        choose_method(y, {"climatology": clim, "shrunk": clim}, confidence=0)
    # a gain of exactly 0 is no gain: climatology stays
    method, gains = choose_method(y, {"climatology": clim, "shrunk": clim.copy()}, alternatives=())
    assert method == "climatology" and gains["shrunk"] == 0.0
    shrunk = y + rng.normal(0, 1.0, 300)
    # an alternative better on three consecutive days only: most resamples miss them, its 10th percentile
    # gain is exactly 0 although its mean error is lower: not issued
    near = shrunk.copy()
    near[100:103] = y[100:103]
    method, gains = choose_method(y, {"climatology": clim, "shrunk": shrunk, "network": near})
    assert gains["network"] == 0.0 and np.abs(near - y).mean() < np.abs(shrunk - y).mean() and method == "shrunk"
    # better on average but not surely (its 10th percentile gain is below 0): not issued either
    noisy = y + (shrunk - y) * rng.choice([0.3, 1.65], 300)
    method, gains = choose_method(y, {"climatology": clim, "shrunk": shrunk, "network": noisy})
    assert gains["network"] < 0 and np.abs(noisy - y).mean() < np.abs(shrunk - y).mean() and method == "shrunk"
    # an alternative the forecaster does not have is skipped, the next one still considered
    method, gains = choose_method(y, {"climatology": clim, "shrunk": shrunk, "ridge": y + 0.01},
                                  alternatives=("lasso", "ridge"))
    assert method == "ridge" and "lasso" not in gains


def test_coverage_of_one_day():
    assert coverage(np.array([1.0]), np.array([0.0]), np.array([2.0])) == 1.0
    assert coverage(np.array([3.0]), np.array([0.0]), np.array([2.0])) == 0.0


def test_small_edges_of_the_core_helpers():
    assert simplex_grid(3, 1.0).tolist() == [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    with pytest.raises(ForecastError, match=r"^fit_stack: expected at least one member$"):
        fit_stack(np.ones(3), {})
    # ties across the chunks of the 1771 weight vectors: the vector listed first (all on the last member)
    rng = np.random.default_rng(4)
    c, d = rng.normal(size=(2, 50))
    assert fit_stack(c, {"a": c, "b": d, "c": c, "clim": c.copy()}) == {"a": 0.0, "b": 0.0, "c": 0.0, "clim": 1.0}
    assert parse_date("2001-02-03T10:00") == np.datetime64("2001-02-03")
    assert parse_date("2001-02-03T10:00").dtype == np.dtype("datetime64[D]")
    m = split_by_target_date(["2001-12-31", "2002-01-01", "2003-01-01"], "2001-12-31", "2002-12-31")
    assert [m["train"].tolist(), m["val"].tolist(), m["test"].tolist()] == [[True, False, False],
                                                                           [False, True, False],
                                                                           [False, False, True]]
