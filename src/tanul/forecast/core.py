"""The steps of a forecast, each a plain function: samples, splits, baselines, scores.

Nothing here trains a network (see :mod:`tanul.forecast.forecaster`); everything is NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

OWN_VARIABLES = ("temp_mean", "temp_min", "temp_max", "humidity", "pressure", "global_radiation",
                 "sunshine", "precipitation", "cloud_cover")

#: the candidates for the issued forecast (see :func:`choose_method`)
METHODS = ("climatology", "shrunk", "ridge", "ridge_anomaly", "network", "stacked")
ALTERNATIVES = ("ridge", "ridge_anomaly", "network")
#: the members of the stacked forecast (:func:`fit_stack`), climatology last (ties lean on it)
STACK_MEMBERS = ("network", "ridge", "ridge_anomaly", "climatology")
#: how a horizon's issued forecast is chosen (``ForecastConfig.issue_short`` / ``issue_long``)
ISSUE_RULES = ("guard", "shrunk", "stack")
#: the two central intervals every forecast carries: name -> (lower quantile, upper quantile)
INTERVALS = {"80": (0.10, 0.90), "95": (0.025, 0.975)}
#: ``ForecastConfig.interval_rule``: empirical quantiles or split-conformal ranks (:func:`interval_offsets`)
INTERVAL_RULES = ("empirical", "conformal")
#: ``ForecastConfig.interval_years``: whose residuals give the intervals (:func:`interval_rows`)
INTERVAL_YEARS = ("validation", "pooled")


class ForecastError(ValueError):
    """Bad data or settings for a forecast (the message names the file, row and column)."""


@dataclass
class ForecastConfig:
    """Settings of a forecasting run (all saved with the forecaster).

    The same settings serve every place (nothing is tuned per place); what is fitted per place
    and horizon (early stopping, ridge α, the shrinkage λ, the issued method, the intervals) is
    chosen on the validation period only. docs/forecasting.md says how the defaults were chosen.
    """

    city: str = "BUDAPEST"
    horizons: tuple[int, ...] = (1, 7, 30)
    lags: int = 3                       #: days of the place's own variables per sample
    variables: tuple[str, ...] = OWN_VARIABLES  #: the city's variables (those present are used)
    other_places: bool = True           #: add day t of the other places' variables
    #: which variables of the other places (``None``: all of them)
    other_variables: tuple[str, ...] | None = None
    other_lags: int = 1                 #: days of the other places' variables per sample (t−k+1 .. t)
    #: the place's mean temperature averaged over the last k days, for each k (e.g. (7, 30))
    means: tuple[int, ...] = ()
    #: horizons beyond ``short_horizon`` days only: ``other_lags``, ``means`` and ``ensemble`` for them
    #: (``None``: the same as the short horizons; see :func:`horizon_inputs`)
    long_other_lags: int | None = None
    long_means: tuple[int, ...] | None = None
    long_ensemble: int | None = None
    train_end: str | None = None        #: last training target date (None: see :func:`default_periods`)
    val_end: str | None = None          #: last validation target date
    test_end: str | None = None         #: last test target date (None: the end of the data)
    hidden: tuple[int, ...] = (64, 32)  #: ReLU layers
    dropout: float = 0.3
    l2: float = 3e-2
    #: dropout and L2 of the networks of horizons up to ``short_horizon`` days (validation study)
    short_dropout: float = 0.2
    short_l2: float = 1e-3
    epochs: int = 300
    batch_size: int = 128
    lr: float = 2e-3
    patience: int = 20
    seed: int = 0
    climatology_window: int = 31
    anomaly: bool = True                #: the network learns the departure from climatology
    ensemble: int = 3                   #: networks (seeds) averaged per horizon
    ridge_alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0)
    bootstrap: int = 1000               #: resamples for the skill intervals
    #: horizons up to this many days: the ensemble also averages the ridge on temperatures, and
    #: ridge, ridge_anomaly or the network may be issued alone (see :func:`choose_method`)
    short_horizon: int = 1
    #: the issuing rule up to ``short_horizon`` days and beyond (:data:`ISSUE_RULES`): "guard"
    #: (:func:`choose_method` at ``confidence``), "shrunk" (always the shrunk ensemble, λ fitted on
    #: validation) or "stack" (the weights of :func:`fit_stack` fitted on validation)
    issue_short: str = "stack"
    issue_long: str = "stack"
    confidence: float = 0.9             #: the guard's confidence (see :func:`choose_method`)
    #: "stack": the share κ of the stacked forecast's departure from climatology that is issued,
    #: ``clim + κ (stack − clim)``, up to ``short_horizon`` days, up to ``medium_horizon`` days, and
    #: beyond (chosen on the folds 2007 and 2008, see docs/forecasting.md)
    stack_keep: tuple[float, float, float] = (1.0, 0.15, 0.10)
    medium_horizon: int = 7
    #: the members of the stack beyond ``short_horizon`` and up to ``medium_horizon`` days (a subset
    #: of :data:`STACK_MEMBERS`; one member: that method, nothing weighed on the validation year).
    #: The default, ridge alone, beat the full stack at 7 days on the folds 2007 and 2008 and on the
    #: confirmation fold 2006 (docs/forecasting.md)
    medium_members: tuple[str, ...] = ("ridge",)
    #: the year the networks are stopped early on: "validation" (the validation year, which then
    #: also chooses λ, the stack and the issued method) or "last_training_year" (the networks are
    #: fitted on the training years before it, so that the validation year is new to them)
    stop_on: str = "last_training_year"
    block: int = 30                     #: days per bootstrap block
    #: the intervals (chosen on the folds 2006, 2007 and 2008, docs/forecasting.md): the quantiles
    #: of the issued forecast's residuals, "empirical" or split-"conformal" (:func:`interval_offsets`),
    #: of the validation year ("validation") or, beyond ``short_horizon`` days, of every year up to it
    #: ("pooled", :func:`interval_rows`); ``interval_seasonal``: residuals normalised by the training
    #: years' spread per day of year (:func:`seasonal_scale`), so the width follows the season
    interval_rule: str = "conformal"
    interval_years: str = "validation"
    interval_seasonal: bool = False
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.horizons = tuple(int(h) for h in self.horizons)
        self.hidden = tuple(int(u) for u in self.hidden)
        self.variables = tuple(self.variables)
        if self.other_variables is not None:
            self.other_variables = tuple(self.other_variables)
        self.ridge_alphas = tuple(float(a) for a in self.ridge_alphas)
        self.means = tuple(int(k) for k in self.means)
        if self.long_means is not None:
            self.long_means = tuple(int(k) for k in self.long_means)
        for name in ("means", "long_means"):
            if any(k < 2 for k in getattr(self, name) or ()):
                raise ForecastError(f"ForecastConfig: expected {name} of >= 2 days, got {getattr(self, name)}")
        for name in ("long_other_lags", "long_ensemble"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
                raise ForecastError(f"ForecastConfig: expected {name} None or an integer >= 1, got {v!r}")
        if self.stop_on not in ("validation", "last_training_year"):
            raise ForecastError("ForecastConfig: expected stop_on 'validation' or 'last_training_year', got "
                                f"{self.stop_on!r}")
        if not self.horizons or min(self.horizons) < 1:
            raise ForecastError(f"ForecastConfig: expected horizons >= 1 day, got {self.horizons}")
        if len(set(self.horizons)) != len(self.horizons):
            raise ForecastError(f"ForecastConfig: expected distinct horizons, got {self.horizons}")
        for name, low in (("lags", 1), ("other_lags", 1), ("ensemble", 1), ("epochs", 1), ("batch_size", 1),
                          ("patience", 0), ("climatology_window", 1), ("bootstrap", 0), ("block", 1),
                          ("short_horizon", 0), ("medium_horizon", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                what = "network" if name == "ensemble" else ""
                raise ForecastError(f"ForecastConfig: expected {name} >= {low} {what}".rstrip()
                                    + f" (an integer), got {v!r}")
        if not (0 <= self.dropout < 1 and 0 <= self.short_dropout < 1):
            raise ForecastError(f"ForecastConfig: expected 0 <= dropout < 1, got {self.dropout}, "
                                f"{self.short_dropout}")
        if not (self.l2 >= 0 and self.short_l2 >= 0 and self.lr > 0):
            raise ForecastError(f"ForecastConfig: expected l2 >= 0 and lr > 0, got {self.l2} and {self.lr}")
        for name in ("issue_short", "issue_long"):
            if getattr(self, name) not in ISSUE_RULES:
                raise ForecastError(f"ForecastConfig: expected {name} in {ISSUE_RULES}, got "
                                    f"{getattr(self, name)!r}")
        if self.interval_rule not in INTERVAL_RULES:
            raise ForecastError(f"ForecastConfig: expected interval_rule in {INTERVAL_RULES}, got "
                                f"{self.interval_rule!r}")
        if self.interval_years not in INTERVAL_YEARS:
            raise ForecastError(f"ForecastConfig: expected interval_years in {INTERVAL_YEARS}, got "
                                f"{self.interval_years!r}")
        if not isinstance(self.interval_seasonal, (bool, np.bool_)):
            raise ForecastError(f"ForecastConfig: expected interval_seasonal True or False, got "
                                f"{self.interval_seasonal!r}")
        self.medium_members = tuple(self.medium_members)
        if not self.medium_members or set(self.medium_members) - set(STACK_MEMBERS) or len(
                set(self.medium_members)) != len(self.medium_members):
            raise ForecastError(f"ForecastConfig: expected medium_members = distinct names of {STACK_MEMBERS}, "
                                f"got {self.medium_members!r}")
        self.stack_keep = tuple(float(k) for k in self.stack_keep)
        if len(self.stack_keep) != 3 or not all(0 <= k <= 1 for k in self.stack_keep):
            raise ForecastError("ForecastConfig: expected stack_keep = three shares in [0, 1] (up to "
                                f"short_horizon, up to medium_horizon, beyond), got {self.stack_keep!r}")
        if not 0 < self.confidence < 1:
            raise ForecastError(f"ForecastConfig: expected 0 < confidence < 1, got {self.confidence!r}")
        for name in ("train_end", "val_end", "test_end"):
            v = getattr(self, name)
            if v is not None:
                setattr(self, name, str(parse_date(v, what=name)))
        if self.train_end and self.val_end and not self.train_end < self.val_end:
            raise ForecastError(f"ForecastConfig: expected train_end < val_end, got {self.train_end} and "
                                f"{self.val_end}")


def parse_date(text: Any, what: str = "date") -> np.datetime64:
    """``YYYY-MM-DD`` (or a datetime64) as ``datetime64[D]``; a clear error otherwise."""
    try:
        d = np.datetime64(text, "D") if not isinstance(text, np.datetime64) else text.astype("datetime64[D]")
    except (ValueError, TypeError):
        raise ForecastError(f"{what}: expected a date YYYY-MM-DD, got {text!r}") from None
    if np.isnat(d):
        raise ForecastError(f"{what}: expected a date YYYY-MM-DD, got {text!r}")
    return d


def default_periods(dates: np.ndarray) -> tuple[str, str]:
    """Training and validation ends when none are given: the test period is the last stretch
    of at least 365 days that starts on 1 January, validation the calendar year before it,
    training everything earlier. On the weather data (2000-01-01 .. 2010-01-01): 2007-12-31 and
    2008-12-31 (test 2009)."""
    last = np.asarray(dates, dtype="datetime64[D]")[-1]
    year = int(str((last - 364).astype("datetime64[Y]")))   # last - 364: the 365th day back
    return f"{year - 2}-12-31", f"{year - 1}-12-31"


def day_of_year(dates: np.ndarray) -> np.ndarray:
    """0-based day of the year (0 = 1 January; 365 only on 31 December of leap years)."""
    d = np.asarray(dates, dtype="datetime64[D]")
    return (d - d.astype("datetime64[Y]")).astype(int)


def _cyclic(dates: np.ndarray) -> np.ndarray:
    a = 2 * np.pi * day_of_year(dates) / 365.25
    return np.stack([np.sin(a), np.cos(a)], axis=1)


def full_columns(data: Any) -> dict[str, np.ndarray]:
    """The data's columns keyed ``PLACE_variable`` (one place's data gets its place prefixed)."""
    if data.city is not None:
        return {f"{data.city}_{k}": v for k, v in data.columns.items()}
    return dict(data.columns)


def stack_keep(cfg: ForecastConfig, horizon: int) -> float:
    """κ of ``cfg.stack_keep`` for a horizon: up to ``short_horizon``, up to ``medium_horizon``,
    beyond."""
    h = int(horizon)
    return cfg.stack_keep[0 if h <= cfg.short_horizon else 1 if h <= cfg.medium_horizon else 2]


def horizon_inputs(cfg: ForecastConfig, horizon: int) -> tuple[int, tuple[int, ...], int]:
    """``(other_lags, means, ensemble)`` of a horizon: the ``long_*`` settings beyond
    ``short_horizon`` days where they are set, else ``other_lags``, ``means``, ``ensemble``."""
    if int(horizon) <= cfg.short_horizon:
        return cfg.other_lags, cfg.means, cfg.ensemble
    return (cfg.other_lags if cfg.long_other_lags is None else cfg.long_other_lags,
            cfg.means if cfg.long_means is None else cfg.long_means,
            cfg.ensemble if cfg.long_ensemble is None else cfg.long_ensemble)


def stack_members(cfg: ForecastConfig, horizon: int) -> tuple[str, ...]:
    """The members of a horizon's stack: ``medium_members`` beyond ``short_horizon`` and up to
    ``medium_horizon`` days, else :data:`STACK_MEMBERS`."""
    h = int(horizon)
    return cfg.medium_members if cfg.short_horizon < h <= cfg.medium_horizon else STACK_MEMBERS


def window_days(cfg: ForecastConfig) -> int:
    """Days up to and including *t* that a sample reads (the longest over the horizons, so that
    every horizon starts its samples on the same day)."""
    return max(cfg.lags, cfg.other_lags, cfg.long_other_lags or 1, *cfg.means, *(cfg.long_means or ()), 1)


def input_columns(data: Any, cfg: ForecastConfig) -> tuple[str, list[str], list[str]]:
    """``(target column, own columns with lags, other places' columns at day t)``."""
    cols = full_columns(data)
    city = (data.city or cfg.city).upper()
    target = f"{city}_temp_mean"
    if target not in cols:
        raise ForecastError(f"forecast: no column {target!r} in {data.source or 'the data'} (columns: "
                            f"{', '.join(list(cols)[:10])}{'...' if len(cols) > 10 else ''})")
    own = [target] + [f"{city}_{v}" for v in cfg.variables if v != "temp_mean" and f"{city}_{v}" in cols]
    others = []
    if cfg.other_places:
        others = [k for k in cols if not k.startswith(city + "_")
                  and (cfg.other_variables is None or any(k.endswith("_" + v) for v in cfg.other_variables))]
    return target, own, others


def feature_matrix(cols: dict[str, np.ndarray], dates: np.ndarray, own: list[str], others: list[str],
                   lags: int, horizon: int, t: np.ndarray, other_lags: int = 1,
                   means: tuple[int, ...] = ()) -> tuple[np.ndarray, list[str]]:
    """Features of the days ``t`` (row indices): the last ``lags`` days of ``own``, the last
    ``other_lags`` days of ``others``, the mean of ``own[0]`` (the target variable) over the last k
    days for each k of ``means``, sin/cos of the day of year of *t* and of the target day *t + h*.
    Reads no row after ``t``."""
    h = int(horizon)
    t = np.asarray(t, dtype=int)
    blocks, names = [], []
    for group, L in ((own, int(lags)), (others, int(other_lags))):
        for k in group:  # the last L days: columns "X(t-L+1) .. X(t)"
            blocks.append(np.stack([cols[k][t - (L - 1 - j)] for j in range(L)], axis=1))
            names += [f"{k}(t-{L - 1 - j})" if L - 1 - j else f"{k}(t)" for j in range(L)]
    for k in means:
        blocks.append(np.mean([cols[own[0]][t - j] for j in range(int(k))], axis=0)[:, None])
        names.append(f"{own[0]}_mean{int(k)}(t)")
    d = np.asarray(dates, dtype="datetime64[D]")[t]
    blocks += [_cyclic(d), _cyclic(d + h)]
    names += ["sin_doy(t)", "cos_doy(t)", f"sin_doy(t+{h})", f"cos_doy(t+{h})"]
    return np.hstack(blocks).astype(np.float64), names


def build_samples(data: Any, cfg: ForecastConfig, horizon: int) -> dict[str, Any]:
    """Windowed samples for one horizon.

    Returns a dict with ``x`` (float64, one row per usable day *t*), ``feature_names``,
    ``y`` (``temp_mean[t + h]``), ``t`` (row index of day *t*), ``dates`` (day *t*),
    ``target_dates`` (day *t + h*) and ``temp_t`` (``temp_mean[t]``, for persistence).
    Every feature of a row comes from days ``<= t`` (the target day's *date* is known in
    advance and enters only as sin/cos of its day of year). Days whose window or target falls
    in a gap (NaN) give no sample: a gap ends the windows that cross it.
    """
    cols = full_columns(data)
    target, own, others = input_columns(data, cfg)
    temp = cols[target]
    n, L, h = len(temp), window_days(cfg), int(horizon)
    t = np.arange(L - 1, n - h)
    if len(t) < 1:
        raise ForecastError(f"forecast: {n} days in {data.source or 'the data'} are too few for lags={L} "
                            f"and horizon={h} (need at least {L + h})")
    other_lags, means, _ = horizon_inputs(cfg, h)
    x, names = feature_matrix(cols, data.dates, own, others, cfg.lags, h, t, other_lags, means)
    y = temp[t + h].astype(np.float64)
    ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
    t = t[ok]
    return {"x": x[ok], "feature_names": names, "y": y[ok], "t": t, "dates": data.dates[t],
            "target_dates": data.dates[t + h], "temp_t": temp[t].astype(np.float64), "horizon": h,
            "columns": {"target": target, "own": own, "others": others}}


def split_by_target_date(target_dates: np.ndarray, train_end: str | None, val_end: str | None,
                         test_end: str | None = None) -> dict[str, np.ndarray]:
    """Boolean masks ``train`` (target <= train_end), ``val`` (<= val_end), ``test`` (after, up to
    ``test_end`` if given). A period end left ``None`` comes from :func:`default_periods` of the
    target dates."""
    d = np.asarray(target_dates, dtype="datetime64[D]")
    if train_end is None or val_end is None:
        te, ve = default_periods(d)
        train_end, val_end = train_end or te, val_end or ve
    te, ve = np.datetime64(train_end, "D"), np.datetime64(val_end, "D")
    test = d > ve
    if test_end is not None:
        test &= d <= np.datetime64(test_end, "D")
    return {"train": d <= te, "val": (d > te) & (d <= ve), "test": test}


def persistence(samples: dict[str, Any]) -> np.ndarray:
    """Tomorrow (and every later day) will be like today: ``T̂(t + h) = T(t)``."""
    return samples["temp_t"].copy()


def climatology_table(train_dates: np.ndarray, train_temps: np.ndarray, window: int = 31) -> np.ndarray:
    """The training years' mean temperature per day of year (366 values), smoothed by a circular
    moving average of ``window`` days: ``c[d] = (1/w) Σ_{|k−d| ≤ w/2} mean(T | doy = k)``."""
    doy = day_of_year(train_dates)
    sums, counts = np.zeros(366), np.zeros(366)
    np.add.at(sums, doy, train_temps)
    np.add.at(counts, doy, 1)
    if (counts == 0).all():
        raise ForecastError("climatology: no training day to average")
    while (counts == 0).any():  # a leap day or a short record: borrow the neighbours
        missing = np.flatnonzero(counts == 0)
        s2, c2 = sums.copy(), counts.copy()
        for k in missing:
            near = [(k - 1) % 366, (k + 1) % 366]
            s2[k], c2[k] = sums[near].sum(), counts[near].sum()
        sums, counts = s2, c2
    mean = sums / counts
    if window > 1:
        w = int(window)
        padded = np.concatenate([mean[-w:], mean, mean[:w]])
        mean = np.convolve(padded, np.ones(w) / w, mode="same")[w:-w]
    return mean


def climatology(train_dates: np.ndarray, train_temps: np.ndarray, window: int = 31):
    """Like :func:`climatology_table`, as a function ``predict(dates) -> temperatures``."""
    table = climatology_table(train_dates, train_temps, window)
    return lambda dates: table[day_of_year(dates)]


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge regression on standardised ``x``: ``w = (XᵀX + αI)⁻¹ Xᵀ(y − ȳ)``, ``b = ȳ``."""
    ym = y.mean()
    a = x.T @ x + alpha * np.eye(x.shape[1])
    w = np.linalg.solve(a, x.T @ (y - ym))
    return w, float(ym)


def fit_shrinkage(y: np.ndarray, base: np.ndarray, pred: np.ndarray, grid: int = 101) -> float:
    """The factor λ in [0, 1] minimising the MAE of ``base + λ (pred − base)`` on ``y`` (the
    smallest λ among ties): 0 is climatology, 1 the network."""
    lams = np.linspace(0.0, 1.0, grid)
    mae = np.abs(base[None] + lams[:, None] * (pred - base)[None] - y[None]).mean(axis=1)
    return float(lams[int(np.argmin(np.round(mae, 12)))])


def choose_method(y: np.ndarray, preds: dict[str, np.ndarray], block: int = 30, n_boot: int = 1000,
                  seed: int = 0, alternatives: tuple[str, ...] = ALTERNATIVES,
                  confidence: float = 0.9) -> tuple[str, dict[str, float]]:
    """The issued method, from validation-year data only.

    The default is ``"shrunk"`` if it beats ``"climatology"`` with 90 % confidence, else
    ``"climatology"``. An alternative (of ``alternatives``) replaces the default only if it beats it
    with 90 % confidence; among such alternatives the lowest validation MAE wins. "With 90 %
    confidence" means: the 5th percentile of ``MAE(default) − MAE(alt)`` over a paired
    moving-block bootstrap of the validation days (blocks of ``block`` days) is above 0. One
    validation year is a small sample; without this guard a method that was lucky in that year
    (at 7 or 30 days, where there is little skill to find) is issued.

    ``confidence`` other than 0.9 uses the ``1 − confidence`` quantile instead of the 5th
    percentile (0.5: the median gain, about "better on the validation year").

    Returns ``(method, {name: that quantile of its MAE gain over what it had to beat})``.
    """
    if not 0 < confidence < 1:
        raise ForecastError(f"choose_method: expected 0 < confidence < 1, got {confidence!r}")
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    err = {k: np.abs(np.asarray(v, dtype=np.float64) - y) for k, v in preds.items()}
    b = min(int(block), n)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - b + 1, size=(n_boot, -(-n // b)))
    idx = (starts[:, :, None] + np.arange(b)[None, None, :]).reshape(n_boot, -1)[:, :n]

    def gain(ref: str, alt: str) -> float:
        return float(np.quantile((err[ref] - err[alt])[idx].mean(axis=1), 1 - confidence))

    gains = {"shrunk": gain("climatology", "shrunk")}
    best = "shrunk" if gains["shrunk"] > 0 else "climatology"
    default, best_mae = best, float(err[best].mean())
    for alt in alternatives:
        if alt not in err:
            continue
        gains[alt] = gain(default, alt)
        if gains[alt] > 0 and err[alt].mean() < best_mae:
            best, best_mae = alt, float(err[alt].mean())
    return best, gains


def simplex_grid(k: int, step: float) -> np.ndarray:
    """Every weight vector of ``k`` non-negative multiples of ``step`` that sum to 1 (rows)."""
    n = int(round(1 / step))
    if k < 1 or n < 1 or abs(n * step - 1) > 1e-9:
        raise ForecastError(f"simplex_grid: expected k >= 1 and 1/step an integer, got {k}, {step}")
    rows: list[list[int]] = []

    def rec(prefix: list[int], left: int, slots: int) -> None:
        if slots == 1:
            rows.append(prefix + [left])
            return
        for i in range(left + 1):
            rec(prefix + [i], left - i, slots - 1)

    rec([], n, k)
    return np.asarray(rows, dtype=np.float64) / n


def fit_stack(y: np.ndarray, members: dict[str, np.ndarray], step: float = 0.05) -> dict[str, float]:
    """Weights ``w`` (non-negative, summing to 1, multiples of ``step``) of the combination
    ``Σ_m w_m ŷ_m`` with the lowest MAE on ``y`` (the validation year), found by trying every
    such ``w``. Ties go to the weight vector listed first, which puts the most weight on the
    *last* member: list climatology last to lean on it. With climatology among the members,
    ``w_clim`` shrinks the rest towards it, as λ does."""
    names = list(members)
    if not names:
        raise ForecastError("fit_stack: expected at least one member")
    y = np.asarray(y, dtype=np.float64)
    p = np.stack([np.asarray(members[m], dtype=np.float64) for m in names])   # (k, n)
    if p.shape[1] != len(y) or len(y) == 0:
        raise ForecastError(f"fit_stack: expected {len(y)} (> 0) predictions per member, got {p.shape[1]}")
    grid = simplex_grid(len(names), step)
    best, best_mae = None, np.inf
    for chunk in np.array_split(grid, max(1, len(grid) // 256)):
        mae = np.abs(chunk @ p - y[None]).mean(axis=1)
        i = int(np.argmin(np.round(mae, 12)))
        if round(float(mae[i]), 12) < round(best_mae, 12):
            best, best_mae = chunk[i], float(mae[i])
    return {m: float(w) for m, w in zip(names, best)}


def apply_stack(weights: dict[str, float], preds: dict[str, np.ndarray]) -> np.ndarray:
    """``Σ_m w_m ŷ_m`` for the weights of :func:`fit_stack`."""
    return np.sum([w * np.asarray(preds[m], dtype=np.float64) for m, w in weights.items()], axis=0)


def interval_offsets(residuals: np.ndarray, conformal: bool = False) -> dict[str, tuple[float, float]]:
    """Quantiles of ``y − ŷ`` (validation residuals) for each interval of :data:`INTERVALS`: the
    interval is ``[ŷ + q_lo, ŷ + q_hi]``.

    ``conformal=False``: the empirical quantiles (``np.quantile``, linear interpolation).
    ``conformal=True``: split-conformal with the finite-sample correction, each tail on its own:
    with the ``n`` residuals sorted, ``r_(1) <= ... <= r_(n)``, ``q_hi = r_(⌈(n+1)·hi⌉)`` and
    ``q_lo = r_(⌊(n+1)·lo⌋)`` (the smallest or largest residual when the rank falls outside
    ``1..n``). For a new residual exchangeable with the ``n`` ones, ``P(r <= q_hi) >= hi`` and
    ``P(r >= q_lo) >= 1 − lo``, so the central interval covers at least ``hi − lo``."""
    r = np.asarray(residuals, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) < 2:
        raise ForecastError(f"intervals: expected at least 2 validation residuals, got {len(r)}")
    if not conformal:
        return {k: (float(np.quantile(r, lo)), float(np.quantile(r, hi))) for k, (lo, hi) in INTERVALS.items()}
    r, n = np.sort(r), len(r)
    out = {}
    for k, (lo, hi) in INTERVALS.items():
        i_lo = min(max(int(np.floor((n + 1) * lo + 1e-9)), 1), n)     # 1-based ranks
        i_hi = min(max(int(np.ceil((n + 1) * hi - 1e-9)), 1), n)
        out[k] = (float(r[i_lo - 1]), float(r[i_hi - 1]))
    return out


def interval_rows(cfg: ForecastConfig, horizon: int, split: dict[str, np.ndarray]) -> np.ndarray:
    """The samples whose residuals give a horizon's intervals: the validation year; with
    ``interval_years = "pooled"`` and a horizon beyond ``short_horizon`` days, every training year
    as well. Beyond a day the issued forecast is climatology plus a small share κ of the stack's
    departure from it, so its residuals on the training years are nearly out-of-sample; up to
    ``short_horizon`` days the networks and ridge fit the training years much better than new
    ones: validation only. Not the default: pooling was the closest to nominal on the folds 2007
    and 2008 and the farthest on 2006, a year whose errors were larger than the training years'
    (docs/forecasting.md)."""
    if cfg.interval_years == "pooled" and int(horizon) > cfg.short_horizon:
        return split["train"] | split["val"]
    return split["val"].copy()


def seasonal_scale(dates: np.ndarray, residuals: np.ndarray, window: int = 31) -> np.ndarray:
    """A spread per day of year (366 values, normalised to a mean of 1) for intervals whose width
    follows the season: ``σ(d) = sqrt(c[d]) / mean(sqrt(c))`` with ``c`` the
    :func:`climatology_table` (circular moving average over ``window`` days) of ``residuals²``
    by the day of year of ``dates``. With ``residuals`` the training years' departures from
    climatology, ``T − clim``, it is larger in winter than in summer on continental places. A
    residual ``r`` on day ``d`` is then normalised as ``r / σ(d)`` and an interval is
    ``[ŷ + σ(d) q_lo, ŷ + σ(d) q_hi]`` (see :func:`interval_offsets`)."""
    r = np.asarray(residuals, dtype=np.float64)
    d = np.asarray(dates, dtype="datetime64[D]")
    ok = np.isfinite(r)
    if ok.sum() < 2:
        raise ForecastError(f"seasonal_scale: expected at least 2 finite residuals, got {int(ok.sum())}")
    sd = np.sqrt(np.maximum(climatology_table(d[ok], r[ok] ** 2, window), 0.0))
    if not np.isfinite(sd).all() or sd.mean() <= 0:
        raise ForecastError("seasonal_scale: the residuals are all zero; no spread to follow")
    sd = np.maximum(sd, 0.05 * sd.mean())    # no day of year with a near-zero width
    return sd / sd.mean()


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of days with ``lower <= y <= upper``."""
    y = np.asarray(y)
    if len(y) == 0:
        return float("nan")
    return float(np.mean((lower <= y) & (y <= upper)))


def skill(y: np.ndarray, pred: np.ndarray, ref: np.ndarray) -> float:
    """``1 − MAE(pred) / MAE(ref)`` (NaN when the reference is perfect)."""
    ref_mae = float(np.mean(np.abs(ref - y)))
    return 1 - float(np.mean(np.abs(pred - y))) / ref_mae if ref_mae > 0 else float("nan")


def block_bootstrap_skill(y: np.ndarray, pred: np.ndarray, ref: np.ndarray, block: int = 30,
                          n_boot: int = 1000, level: float = 0.9, seed: int = 0) -> tuple[float, float, float]:
    """Skill ``1 − MAE/MAE_ref`` with a ``level`` interval from a paired moving-block bootstrap:
    each resample strings together ``⌈n/block⌉`` runs of ``block`` consecutive days (random
    starts), the same days for both forecasts, so that the autocorrelation of the errors and the
    pairing are kept. Returns ``(skill, low, high)``."""
    y, pred, ref = (np.asarray(a, dtype=np.float64) for a in (y, pred, ref))
    n = len(y)
    point = skill(y, pred, ref)
    if n == 0 or n_boot == 0 or not np.isfinite(point):
        return point, float("nan"), float("nan")
    b = min(int(block), n)
    k = -(-n // b)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - b + 1, size=(n_boot, k))
    idx = (starts[:, :, None] + np.arange(b)[None, None, :]).reshape(n_boot, -1)[:, :n]
    e_p, e_r = np.abs(pred - y)[idx].mean(axis=1), np.abs(ref - y)[idx].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = 1 - e_p / e_r
    s = s[np.isfinite(s)]
    if len(s) == 0:
        return point, float("nan"), float("nan")
    a = (1 - level) / 2
    return point, float(np.quantile(s, a)), float(np.quantile(s, 1 - a))


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """MAE and RMSE."""
    e = p - y
    if len(e) == 0:
        return {"mae": float("nan"), "rmse": float("nan")}
    return {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e * e)))}
