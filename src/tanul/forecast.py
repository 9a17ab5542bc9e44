"""Forecasting a city's daily mean temperature h days ahead, honestly.

The steps, each a function here so that a learner can run them one by one
(``examples/forecast_budapest.py`` does):

1. :func:`build_samples`: for every day *t*, features from days ``t−L+1 .. t`` only (the last L
   days of the city's variables, day *t* of the other places' variables, the day of year of
   *t* and of the target day as sin/cos) and the target ``temp_mean[t + h]``.
2. :func:`split_by_target_date`: chronological train / validation / test split by the
   *target* date (default: targets in 2000-2007 / 2008 / 2009 onwards). A sample's features
   may reach back into an earlier period (a test sample of early January 2009 looks at late
   December 2008): that is the past, which a real forecaster sees too; no sample ever sees a
   day after its own day *t*.
3. Scalers fitted on the training period only; the network learns standardised targets and its
   predictions are turned back into °C.
4. Baselines next to the network: persistence (``T̂(t+h) = T(t)``), climatology (the training
   years' mean for the target's day of year, smoothed over a 31-day circular window) and a
   ridge regression on the same features (α chosen on the validation period).
5. One tanul network **per horizon** (not one multi-output network): each horizon has its own
   target dates, hence its own split, and its own early stopping on its own validation loss;
   the 1-day network would otherwise stop too early or too late for the 30-day one.

``tanul forecast`` runs everything and writes the samples, predictions, metrics, model files and
plots; :func:`run_forecast` is the same from Python.
"""

from __future__ import annotations

import csv
import io as _io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ForecastConfig", "build_samples", "split_by_target_date", "persistence", "climatology",
           "fit_ridge", "run_forecast", "write_outputs", "day_of_year"]

OWN_VARIABLES = ("temp_mean", "temp_min", "temp_max", "humidity", "pressure", "global_radiation",
                 "sunshine", "precipitation", "cloud_cover")


@dataclass
class ForecastConfig:
    """Settings of a forecasting run (all saved next to the results)."""

    city: str = "BUDAPEST"
    horizons: tuple[int, ...] = (1, 7, 30)
    lags: int = 7                       #: days of the city's own variables per sample
    variables: tuple[str, ...] = OWN_VARIABLES  #: the city's variables (those present are used)
    other_places: bool = True           #: add day t of every other place's variables
    train_end: str = "2007-12-31"       #: last target date of the training period
    val_end: str = "2008-12-31"         #: last target date of the validation period
    hidden: tuple[int, ...] = (64, 32)  #: ReLU layers; settings chosen on the validation period
    dropout: float = 0.2
    l2: float = 1e-3
    epochs: int = 300
    batch_size: int = 64
    lr: float = 1e-3
    patience: int = 25
    seed: int = 0
    climatology_window: int = 31
    anomaly: bool = True                #: the network learns the departure from climatology
    ensemble: int = 5                   #: networks (seeds) averaged per horizon
    ridge_alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.horizons = tuple(int(h) for h in self.horizons)
        if not self.horizons or min(self.horizons) < 1:
            raise ValueError(f"ForecastConfig: expected horizons >= 1 day, got {self.horizons}")
        if self.lags < 1:
            raise ValueError(f"ForecastConfig: expected lags >= 1, got {self.lags}")
        if not np.datetime64(self.train_end) < np.datetime64(self.val_end):
            raise ValueError(f"ForecastConfig: expected train_end < val_end, got {self.train_end} and "
                             f"{self.val_end}")


def day_of_year(dates: np.ndarray) -> np.ndarray:
    """0-based day of the year (0 = 1 January; 365 only on 31 December of leap years)."""
    d = np.asarray(dates, dtype="datetime64[D]")
    return (d - d.astype("datetime64[Y]")).astype(int)


def _cyclic(dates: np.ndarray) -> np.ndarray:
    a = 2 * np.pi * day_of_year(dates) / 365.25
    return np.stack([np.sin(a), np.cos(a)], axis=1)


def _full_columns(data: Any) -> dict[str, np.ndarray]:
    if data.city is not None:
        return {f"{data.city}_{k}": v for k, v in data.columns.items()}
    return dict(data.columns)


def build_samples(data: Any, cfg: ForecastConfig, horizon: int) -> dict[str, Any]:
    """Windowed samples for one horizon.

    Returns a dict with ``x`` (float64, one row per usable day *t*), ``feature_names``,
    ``y`` (``temp_mean[t + h]``), ``t`` (row index of day *t*), ``dates`` (day *t*),
    ``target_dates`` (day *t + h*) and ``temp_t`` (``temp_mean[t]``, for persistence).
    Every feature of a row comes from days ``<= t`` (the target day's *date* is known in
    advance and enters only as sin/cos of its day of year).
    """
    cols = _full_columns(data)
    city = cfg.city.upper() if data.city is None else data.city
    target_name = f"{city}_temp_mean"
    if target_name not in cols:
        raise ValueError(f"forecast: no column {target_name!r} in the data (columns: "
                         f"{', '.join(list(cols)[:10])}...)")
    temp = cols[target_name]
    n = len(temp)
    own = [f"{city}_{v}" for v in cfg.variables if f"{city}_{v}" in cols]
    others = [k for k in cols if cfg.other_places and not k.startswith(city + "_")]
    L, h = cfg.lags, int(horizon)
    t = np.arange(L - 1, n - h)
    if len(t) < 1:
        raise ValueError(f"forecast: {n} days are too few for lags={L} and horizon={h}")
    blocks, names = [], []
    for k in own:  # the last L days: columns "X(t-L+1) .. X(t)"
        win = np.lib.stride_tricks.sliding_window_view(cols[k], L)[t - (L - 1)]
        blocks.append(win)
        names += [f"{k}(t-{L - 1 - j})" if L - 1 - j else f"{k}(t)" for j in range(L)]
    for k in others:
        blocks.append(cols[k][t][:, None])
        names.append(f"{k}(t)")
    blocks.append(_cyclic(data.dates[t]))
    names += ["sin_doy(t)", "cos_doy(t)"]
    blocks.append(_cyclic(data.dates[t + h]))
    names += [f"sin_doy(t+{h})", f"cos_doy(t+{h})"]
    x = np.hstack(blocks).astype(np.float64)
    return {"x": x, "feature_names": names, "y": temp[t + h].astype(np.float64), "t": t,
            "dates": data.dates[t], "target_dates": data.dates[t + h], "temp_t": temp[t].astype(np.float64),
            "horizon": h}


def split_by_target_date(target_dates: np.ndarray, train_end: str, val_end: str) -> dict[str, np.ndarray]:
    """Boolean masks ``train`` (target <= train_end), ``val`` (<= val_end), ``test`` (after)."""
    d = np.asarray(target_dates, dtype="datetime64[D]")
    te, ve = np.datetime64(train_end, "D"), np.datetime64(val_end, "D")
    return {"train": d <= te, "val": (d > te) & (d <= ve), "test": d > ve}


def persistence(samples: dict[str, Any]) -> np.ndarray:
    """Tomorrow (and every later day) will be like today: ``T̂(t + h) = T(t)``."""
    return samples["temp_t"].copy()


def climatology(train_dates: np.ndarray, train_temps: np.ndarray, window: int = 31):
    """The training years' mean temperature per day of year, smoothed by a circular moving
    average of ``window`` days. Returns ``predict(dates) -> temperatures``."""
    doy = day_of_year(train_dates)
    sums, counts = np.zeros(366), np.zeros(366)
    np.add.at(sums, doy, train_temps)
    np.add.at(counts, doy, 1)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0)
        # leap day (or a short record): borrow the neighbours
        for k in missing:
            near = [(k - 1) % 366, (k + 1) % 366]
            sums[k], counts[k] = sums[near].sum(), counts[near].sum()
    mean = sums / np.maximum(counts, 1)
    if window > 1:
        w = int(window)
        padded = np.concatenate([mean[-w:], mean, mean[:w]])
        mean = np.convolve(padded, np.ones(w) / w, mode="same")[w:-w]
    return lambda dates: mean[day_of_year(dates)]


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge regression on standardised ``x``: ``w = (XᵀX + αI)⁻¹ Xᵀ(y − ȳ)``, ``b = ȳ``."""
    ym = y.mean()
    a = x.T @ x + alpha * np.eye(x.shape[1])
    w = np.linalg.solve(a, x.T @ (y - ym))
    return w, float(ym)


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    e = p - y
    return {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e * e)))}


def _network(cfg: ForecastConfig, n_in: int, seed: int) -> Any:
    import tanul
    from tanul.regularizers import L2

    layers: list = []
    for units in cfg.hidden:
        layers.append(tanul.Dense(units, activation="relu", kernel_regularizer=L2(cfg.l2) if cfg.l2 else None))
        if cfg.dropout:
            layers.append(tanul.Dropout(cfg.dropout))
    layers.append(tanul.Dense(1))
    model = tanul.Sequential(layers, seed=seed, input_shape=(n_in,), name="forecaster")
    model.compile(optimizer=tanul.Adam(lr=cfg.lr), loss="mse")
    return model


def run_forecast(data: Any, cfg: ForecastConfig | None = None, verbose: int = 1) -> dict[str, Any]:
    """Build samples, split, fit the scalers, baselines and one network per horizon; evaluate.

    Returns ``{"config", "horizons": {h: {...}}, "metrics": rows}`` where each horizon holds the
    samples, split masks, predictions per method (°C) for every sample, the trained model, its
    history and the scalers, and ``metrics`` lists ``{"horizon", "method", "split", "mae",
    "rmse", "skill_vs_persistence", "skill_vs_climatology"}``.
    """
    from tanul.callbacks import EarlyStopping
    from tanul.preprocessing import StandardScaler

    cfg = cfg or ForecastConfig()
    out: dict[str, Any] = {"config": cfg, "horizons": {}, "metrics": []}
    for h in cfg.horizons:
        t0 = time.perf_counter()
        s = build_samples(data, cfg, h)
        split = split_by_target_date(s["target_dates"], cfg.train_end, cfg.val_end)
        for part in ("train", "val", "test"):
            if not split[part].any():
                raise ValueError(f"forecast: the {part} period is empty for horizon {h} (target dates "
                                 f"{s['target_dates'][0]} .. {s['target_dates'][-1]}; train_end "
                                 f"{cfg.train_end}, val_end {cfg.val_end})")
        tr, va = split["train"], split["val"]
        xs = StandardScaler().fit(s["x"][tr])       # training period only
        x = xs.transform(s["x"])
        preds: dict[str, np.ndarray] = {"persistence": persistence(s)}
        clim = climatology(s["target_dates"][tr], s["y"][tr], cfg.climatology_window)
        preds["climatology"] = clim(s["target_dates"])
        # the network's target: the departure from the (training-period) climatology, or T itself
        base = preds["climatology"] if cfg.anomaly else np.zeros_like(s["y"])
        target = s["y"] - base
        ys = StandardScaler().fit(target[tr])
        best = None
        for alpha in cfg.ridge_alphas:
            w, b = fit_ridge(x[tr], s["y"][tr], alpha)
            mae = np.mean(np.abs(x[va] @ w + b - s["y"][va]))
            if best is None or mae < best[0]:
                best = (mae, alpha, w, b)
        _, alpha, w, b = best
        preds["ridge"] = x @ w + b
        # an ensemble of networks that differ only in their seed (initialisation, dropout,
        # shuffling); averaging them removes much of the variance of a single run
        members, outs = [], []
        for k in range(cfg.ensemble):
            model = _network(cfg, x.shape[1], cfg.seed * 1000 + h * 10 + k)
            es = EarlyStopping(patience=cfg.patience, restore_best_weights=True)
            model.fit(x[tr].astype(np.float32), ys.transform(target[tr]).astype(np.float32).reshape(-1, 1),
                      epochs=cfg.epochs, batch_size=cfg.batch_size, verbose=0, callbacks=[es],
                      validation_data=(x[va].astype(np.float32),
                                       ys.transform(target[va]).astype(np.float32).reshape(-1, 1)))
            members.append((model, es.best_epoch))
            outs.append(model.predict(x.astype(np.float32)).ravel().astype(np.float64))
        out_n = np.mean(outs, axis=0)
        preds["network"] = base + ys.inverse_transform(out_n)    # back in °C
        model, best_epoch = members[0]
        rows = []
        for part in ("train", "val", "test"):
            m = split[part]
            ref = {k: _metrics(s["y"][m], preds[k][m])["mae"] for k in ("persistence", "climatology")}
            for method, p in preds.items():
                r = {"horizon": h, "method": method, "split": part, **_metrics(s["y"][m], p[m])}
                r["skill_vs_persistence"] = 1 - r["mae"] / ref["persistence"]
                r["skill_vs_climatology"] = 1 - r["mae"] / ref["climatology"]
                rows.append(r)
        out["metrics"] += rows
        out["horizons"][h] = {"samples": s, "split": split, "predictions": preds, "model": model,
                              "models": [m for m, _ in members], "history": model.history,
                              "x_scaler": xs, "y_scaler": ys, "ridge_alpha": alpha,
                              "best_epochs": [b for _, b in members], "base": base,
                              "seconds": time.perf_counter() - t0}
        if verbose:
            test = {r["method"]: r["mae"] for r in rows if r["split"] == "test"}
            print(f"h={h:>2} d: test MAE  network {test['network']:.2f}  ridge {test['ridge']:.2f}  "
                  f"climatology {test['climatology']:.2f}  persistence {test['persistence']:.2f} °C  "
                  f"({cfg.ensemble} networks, best epochs {[b for _, b in members]}, "
                  f"{time.perf_counter() - t0:.0f} s)", flush=True)
    return out


# ---------------------------------------------------------------------- writing
def _atomic_text(path: Path, text: str) -> None:
    from tanul.io import atomic_write
    with atomic_write(path, "w") as f:
        f.write(text)


def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buf = _io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def metrics_markdown(result: dict[str, Any], split: str = "test") -> str:
    """The metrics table of one split as Markdown (MAE and RMSE in °C, skill)."""
    rows = [r for r in result["metrics"] if r["split"] == split]
    hs = sorted({r["horizon"] for r in rows})
    methods = ["network", "ridge", "climatology", "persistence"]
    lines = ["| method | " + " | ".join(f"MAE {h} d | RMSE {h} d" for h in hs) + " |",
             "| --- | " + " | ".join("---: | ---:" for _ in hs) + " |"]
    for m in methods:
        cells = []
        for h in hs:
            r = next(r for r in rows if r["method"] == m and r["horizon"] == h)
            cells.append(f"{r['mae']:.2f} | {r['rmse']:.2f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    skill = []
    for h in hs:
        r = next(r for r in rows if r["method"] == "network" and r["horizon"] == h)
        skill.append(f"{h} d: {r['skill_vs_persistence']:+.0%} vs persistence, "
                     f"{r['skill_vs_climatology']:+.0%} vs climatology")
    return "\n".join(lines) + "\n\nNetwork skill (1 − MAE/MAE_ref): " + "; ".join(skill) + "\n"


def write_outputs(result: dict[str, Any], out: str | os.PathLike) -> list[Path]:
    """Write samples, predictions, metrics (CSV + Markdown), models and plots; return the paths."""
    from tanul.io import save_model

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = result["config"]
    written: list[Path] = []
    cfg_d = asdict(cfg)
    _atomic_text(out / "config.json", json.dumps(cfg_d, indent=2, default=list) + "\n")
    written.append(out / "config.json")
    for h, r in result["horizons"].items():
        s, split = r["samples"], r["split"]
        part = np.where(split["train"], "train", np.where(split["val"], "val", "test"))
        rows = [[str(s["dates"][i]), str(s["target_dates"][i]), part[i], repr(float(s["y"][i])),
                 *(repr(float(v)) for v in s["x"][i])] for i in range(len(s["y"]))]
        p = out / f"samples_h{h}.csv"
        _atomic_text(p, _csv_text(["date", "target_date", "split", "target", *s["feature_names"]], rows))
        written.append(p)
        methods = list(r["predictions"])
        rows = [[str(s["target_dates"][i]), part[i], f"{s['y'][i]:.2f}",
                 *(f"{r['predictions'][m][i]:.3f}" for m in methods)] for i in range(len(s["y"]))]
        p = out / f"predictions_h{h}.csv"
        _atomic_text(p, _csv_text(["target_date", "split", "observed", *methods], rows))
        written.append(p)
        for k, model in enumerate(r["models"]):  # the ensemble's members
            p = out / f"model_h{h}_{k}.tanul"
            save_model(model, p)
            written.append(p)
        scalers = {"x": r["x_scaler"].get_state(), "y": r["y_scaler"].get_state(),
                   "feature_names": s["feature_names"], "ridge_alpha": r["ridge_alpha"]}
        p = out / f"scalers_h{h}.json"
        _atomic_text(p, json.dumps(scalers) + "\n")
        written.append(p)
    keys = ["horizon", "method", "split", "mae", "rmse", "skill_vs_persistence", "skill_vs_climatology"]
    p = out / "metrics.csv"
    _atomic_text(p, _csv_text(keys, [[r[k] if isinstance(r[k], (int, str)) else f"{r[k]:.4f}" for k in keys]
                                     for r in result["metrics"]]))
    written.append(p)
    p = out / "metrics.md"
    _atomic_text(p, f"# {cfg.city}: test period (target dates after {cfg.val_end})\n\n"
                    + metrics_markdown(result) + "\n## Validation period\n\n" + metrics_markdown(result, "val"))
    written.append(p)
    written += _plots(result, out)
    return written


def _plots(result: dict[str, Any], out: Path) -> list[Path]:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return []
    from tanul import plot

    written = []
    hs = list(result["horizons"])
    fig = Figure(figsize=(10, 2.6 * len(hs)), layout="constrained")
    axes = fig.subplots(len(hs), 1, squeeze=False)[:, 0]
    for ax, h in zip(axes, hs):
        r = result["horizons"][h]
        m = r["split"]["test"]
        d = r["samples"]["target_dates"][m]
        ax.plot(d, r["samples"]["y"][m], color="black", lw=1, label="observed")
        ax.plot(d, r["predictions"]["network"][m], lw=1, label="network")
        ax.plot(d, r["predictions"]["climatology"][m], lw=1, ls="--", label="climatology")
        ax.set_title(f"{h} day(s) ahead, test period")
        ax.set_ylabel("°C")
        ax.legend(loc="upper left", fontsize=8)
    written.append(_save(fig, out / "predicted_vs_observed.png"))
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    for h in hs:
        r = result["horizons"][h]
        m = r["split"]["test"]
        months = r["samples"]["target_dates"][m].astype("datetime64[M]").astype(int) % 12
        err = np.abs(r["predictions"]["network"][m] - r["samples"]["y"][m])
        ax.plot(range(1, 13), [err[months == k].mean() if (months == k).any() else np.nan for k in range(12)],
                marker="o", label=f"{h} d")
    ax.set_xlabel("month of the target date")
    ax.set_ylabel("network MAE (°C)")
    ax.set_title("Error by month (test period)")
    ax.legend()
    written.append(_save(fig, out / "error_by_month.png"))
    for h in hs:
        path = out / f"learning_curves_h{h}.png"
        plot.plot_history(result["horizons"][h]["history"], save=path)
        written.append(path)
    return written


def _save(fig: Any, path: Path) -> Path:
    from tanul.io import atomic_write
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=90)
    return path


# ---------------------------------------------------------------------- command line
def add_arguments(p: Any) -> None:
    p.add_argument("--city", default="BUDAPEST")
    p.add_argument("--horizons", type=int, nargs="+", default=[1, 7, 30])
    p.add_argument("--data", default=None, help="the weather CSV (or its folder); default: download")
    p.add_argument("--csv", default=None, help="your own daily series: a CSV with date,temperature columns")
    p.add_argument("--out", default="runs/forecast")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--ensemble", type=int, default=5, help="networks averaged per horizon")
    p.add_argument("--lags", type=int, default=7)
    p.add_argument("--train-end", default=None, help="last training target date (default 2007-12-31)")
    p.add_argument("--val-end", default=None, help="last validation target date (default 2008-12-31)")


def run_command(args: Any) -> int:
    from tanul.datasets.weather import load_temperature_csv, weather

    if args.csv:
        data = load_temperature_csv(args.csv)
        city = data.city
    else:
        data = weather(None, path=args.data)
        city = args.city.upper()
        if city not in data.cities:
            raise ValueError(f"unknown city {args.city!r}; known: {', '.join(data.cities)}")
    kw: dict[str, Any] = {}
    if args.train_end:
        kw["train_end"] = args.train_end
    if args.val_end:
        kw["val_end"] = args.val_end
    cfg = ForecastConfig(city=city, horizons=tuple(args.horizons), seed=args.seed, epochs=args.epochs,
                         lags=args.lags, ensemble=args.ensemble, **kw)
    print(f"Forecasting {city}'s daily mean temperature {', '.join(map(str, cfg.horizons))} day(s) ahead "
          f"({len(data)} days, {data.dates[0]} .. {data.dates[-1]})", flush=True)
    result = run_forecast(data, cfg)
    written = write_outputs(result, args.out)
    print("\n" + metrics_markdown(result))
    print("Wrote:")
    for p in written:
        print(f"  {p}")
    return 0
