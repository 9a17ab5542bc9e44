"""The trained forecaster: ``Forecaster(...).fit(data)``, ``.forecast(data, as_of)``, ``.save(dir)``,
``Forecaster.load(dir)``.

For each horizon *h* it holds the feature scaler and the target scaler (both fitted on the
training period only), the climatology table, a ridge regression, an ensemble of tanul networks,
the shrinkage factor λ and the method chosen on the validation year, and the validation residual
quantiles that give the intervals.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from .core import (
    ALTERNATIVES,
    INTERVALS,
    METHODS,
    STACK_MEMBERS,
    ForecastConfig,
    ForecastError,
    apply_stack,
    block_bootstrap_skill,
    build_samples,
    choose_method,
    climatology_table,
    coverage,
    day_of_year,
    default_periods,
    feature_matrix,
    fit_ridge,
    fit_shrinkage,
    fit_stack,
    full_columns,
    horizon_inputs,
    interval_offsets,
    interval_rows,
    parse_date,
    persistence,
    scores,
    seasonal_scale,
    skill,
    split_by_target_date,
    stack_keep,
    stack_members,
    window_days,
)

FORMAT = "tanul-forecaster"
VERSION = 1
MANIFEST = "forecaster.json"
#: bootstrap resamples behind the choice of the issued method (fixed: ``bootstrap`` only sets the
#: report's skill intervals, and must not change what is issued)
CHOICE_RESAMPLES = 1000
MAX_MANIFEST_BYTES = 16 * 2**20
BASELINES = ("persistence", "climatology", "ridge", "network")
ARRAYS = ("x_mean", "x_scale", "climatology", "ridge_w", "ridge_anomaly_w")
SCALARS = ("y_mean", "y_scale", "ridge_b", "ridge_anomaly_b", "shrink")


def _units(data: Any) -> dict[str, str]:
    units = getattr(data, "units", None) or {}
    if data.city is not None:
        return {f"{data.city}_{k}": v for k, v in units.items()}
    return dict(units)


def _where(data: Any) -> str:
    return getattr(data, "source", "") or "the data"


def check_series(data: Any, target: str) -> None:
    """Consecutive days and a target that is not constant, or a clear error."""
    src = _where(data)
    d = np.asarray(data.dates, dtype="datetime64[D]")
    if len(d) > 1:
        steps = np.diff(d).astype(int)
        if (steps != 1).any():
            i = int(np.flatnonzero(steps != 1)[0])
            raise ForecastError(f"{src}: rows {i + 2} and {i + 3} are {steps[i]} days apart ({d[i]} -> "
                                f"{d[i + 1]}); expected one row per consecutive day (load your own file with "
                                "load_temperature_csv, which marks the gaps)")
    y = full_columns(data)[target]
    finite = y[np.isfinite(y)]
    if len(finite) and np.ptp(finite) == 0:
        raise ForecastError(f"{src}: column {target!r} is constant ({finite[0]:g} on every day): there "
                            "is nothing to forecast")


class Forecaster:
    """Forecast a place's daily mean temperature ``h`` days ahead (see docs/forecasting.md).

    >>> fc = Forecaster(horizons=(1, 7), ensemble=2)      # doctest: +SKIP
    >>> fc.fit(weather(None, path=...)).forecast(data, as_of="2009-06-30")  # doctest: +SKIP

    By default every horizon issues the stacked forecast ``clim + κ (Σ_m w_m ŷ_m − clim)``: the
    weights ``w`` (network ensemble, ridge, ridge_anomaly, climatology; non-negative, summing to 1)
    fitted on the validation year (:func:`tanul.forecast.fit_stack`), κ = ``stack_keep`` (1 up to
    ``short_horizon`` days, 0.15 up to ``medium_horizon``, 0.10 beyond; chosen on the folds 2007 and
    2008, docs/forecasting.md); beyond ``short_horizon`` and up to ``medium_horizon`` days the stack
    has the members ``medium_members`` (default ridge alone: ``clim + 0.15 (ridge − clim)`` at 7
    days). The networks stop early on the last training year, so the validation year is new to
    every method. ``issue_short`` / ``issue_long = "guard"`` gives the earlier rule
    (:func:`tanul.forecast.choose_method`: the shrunk ensemble when it beats climatology with 90 %
    confidence, else climatology; up to ``short_horizon`` days ridge or the network when surely
    better). Intervals are ``[ŷ + σ(d) q_lo, ŷ + σ(d) q_hi]`` with ``q`` the split-conformal ranks
    of the issued method's validation residuals ``(y − ŷ) / σ(d)`` (:func:`tanul.forecast.
    interval_offsets`; ``interval_rule``, ``interval_years``), σ ≡ 1 unless ``interval_seasonal``
    (:func:`tanul.forecast.seasonal_scale`, d the target's day of year).
    """

    def __init__(self, config: ForecastConfig | None = None, **overrides: Any) -> None:
        if config is not None and not isinstance(config, ForecastConfig):
            raise TypeError(f"Forecaster: expected a ForecastConfig, got {type(config).__name__}")
        self.config = ForecastConfig(**{**(asdict(config) if config else {}), **overrides})
        self.horizons_: dict[int, dict[str, Any]] = {}
        self.columns_: dict[str, Any] = {}
        self.result_: dict[str, Any] | None = None

    def __repr__(self) -> str:
        cfg = self.config
        state = ", ".join(f"{h} d: {s['method']}" for h, s in self.horizons_.items()) or "not fitted"
        return (f"Forecaster(city={cfg.city!r}, horizons={cfg.horizons}, lags={cfg.lags}, "
                f"ensemble={cfg.ensemble}; {state})")

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any, verbose: int = 0) -> Forecaster:
        """Train on ``data`` (a :class:`~tanul.datasets.weather.WeatherData`): samples, splits by
        target date, scalers, climatology, ridge, networks, the issued method, intervals, and the
        evaluation of every method on every period (``self.result_``).

        The matrices are small: BLAS runs on one thread while fitting (with threadpoolctl, when
        installed), which is many times faster than several threads on a busy machine."""
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return self._fit(data, verbose)
        with threadpool_limits(limits=1):
            return self._fit(data, verbose)

    def _fit(self, data: Any, verbose: int = 0) -> Forecaster:
        from tanul.preprocessing import StandardScaler

        cfg = self.config
        if data.city is not None:
            cfg.city = data.city
        if cfg.train_end is None or cfg.val_end is None:
            te, ve = default_periods(data.dates)
            cfg.train_end, cfg.val_end = cfg.train_end or te, cfg.val_end or ve
        src = _where(data)
        result: dict[str, Any] = {"config": cfg, "horizons": {}, "metrics": [], "skill": [], "source": src}
        self.horizons_ = {}
        for h in cfg.horizons:
            t0 = time.perf_counter()
            s = build_samples(data, cfg, h)
            if h == cfg.horizons[0]:
                check_series(data, s["columns"]["target"])
            split = split_by_target_date(s["target_dates"], cfg.train_end, cfg.val_end, cfg.test_end)
            for part in ("train", "val", "test"):
                if not split[part].any():
                    raise ForecastError(
                        f"{src}: too little history for horizon {h}: the {part} period has no sample "
                        f"(usable target dates {s['target_dates'][0] if len(s['y']) else '-'} .. "
                        f"{s['target_dates'][-1] if len(s['y']) else '-'}; train_end {cfg.train_end}, "
                        f"val_end {cfg.val_end})")
            tr, va = split["train"], split["val"]
            xs = StandardScaler().fit(s["x"][tr])       # training period only
            x = xs.transform(s["x"])
            clim = climatology_table(s["target_dates"][tr], s["y"][tr], cfg.climatology_window)
            base = clim[day_of_year(s["target_dates"])]
            target = s["y"] - base if cfg.anomaly else s["y"].copy()
            ys = StandardScaler().fit(target[tr].reshape(-1, 1))   # training period only
            alpha, w, b = _ridge_on_validation(x, s["y"], np.zeros_like(base), tr, va, cfg.ridge_alphas)
            alpha_a, w_a, b_a = _ridge_on_validation(x, s["y"], base, tr, va, cfg.ridge_alphas)
            st: dict[str, Any] = {
                "feature_names": s["feature_names"], "columns": s["columns"],
                "x_mean": np.asarray(xs.mean_, dtype=np.float64), "x_scale": np.asarray(xs.scale_, np.float64),
                "y_mean": float(np.ravel(ys.mean_)[0]), "y_scale": float(np.ravel(ys.scale_)[0]),
                "climatology": clim, "ridge_w": w, "ridge_b": b, "ridge_alpha": alpha, "ridge_anomaly_w": w_a,
                "ridge_anomaly_b": b_a, "ridge_anomaly_alpha": alpha_a, "networks": [],
                "best_epochs": []}
            yt = ((target - st["y_mean"]) / st["y_scale"]).astype(np.float32).reshape(-1, 1)
            xf = x.astype(np.float32)
            histories = []
            fit_rows, stop_rows = tr, va
            if cfg.stop_on == "last_training_year":   # the validation year stays new to the networks
                stop_rows = tr & (s["target_dates"] > np.datetime64(cfg.train_end, "D") - 365)
                fit_rows = tr & ~stop_rows
                if fit_rows.sum() < 365 or not stop_rows.any():   # a short series: as before
                    fit_rows, stop_rows = tr, va
                    note = (f"horizon {h}: less than a year of training targets before the last training "
                            "year; the networks stop early on the validation year instead")
                    result.setdefault("notes", []).append(note)
                    if verbose:
                        print(f"note: {note}", flush=True)
            for k in range(horizon_inputs(cfg, h)[2]):
                model, es = _train_network(cfg, xf[fit_rows], yt[fit_rows], xf[stop_rows], yt[stop_rows],
                                           cfg.seed * 1000 + h * 10 + k, short=h <= cfg.short_horizon)
                st["networks"].append(model)
                st["best_epochs"].append(int(es.best_epoch) if es.best_epoch is not None else -1)
                histories.append(model.history)
            preds = self._methods(st, h, x, base, with_shrunk=False)
            preds = {"persistence": persistence(s), **preds}
            st["shrink"] = fit_shrinkage(s["y"][va], preds["climatology"][va], preds["ensemble"][va])
            preds["shrunk"] = base + st["shrink"] * (preds["ensemble"] - base)
            st["stack"] = fit_stack(s["y"][va], {m: preds[m][va] for m in stack_members(cfg, h)})
            st["stack_keep"] = stack_keep(cfg, h)
            preds["stacked"] = base + st["stack_keep"] * (apply_stack(st["stack"], preds) - base)
            val_mae = {m: scores(s["y"][va], preds[m][va])["mae"] for m in METHODS}
            st["val_mae"] = val_mae
            alts = ALTERNATIVES if h <= cfg.short_horizon else ()
            method, st["val_gain_p05"] = choose_method(s["y"][va], {m: preds[m][va] for m in METHODS},
                                                       cfg.block, CHOICE_RESAMPLES, seed=cfg.seed + h,
                                                       alternatives=alts, confidence=cfg.confidence)
            rule = cfg.issue_short if h <= cfg.short_horizon else cfg.issue_long
            if rule == "shrunk":
                method = "shrunk"
            elif rule == "stack":
                method = "stacked"
            st["method"] = "climatology" if method == "shrunk" and st["shrink"] == 0 else method
            preds["issued"] = preds[st["method"]]
            st["interval_scale"] = np.ones(366)
            if cfg.interval_seasonal:       # the training years' departures from climatology
                st["interval_scale"] = seasonal_scale(s["target_dates"][tr], (s["y"] - base)[tr],
                                                      cfg.climatology_window)
            sig = st["interval_scale"][day_of_year(s["target_dates"])]
            rows_ = interval_rows(cfg, h, split)
            st["offsets"] = interval_offsets(((s["y"] - preds["issued"]) / sig)[rows_],
                                             conformal=cfg.interval_rule == "conformal")
            self.horizons_[h] = st
            bands = {f"{side}_{k}": preds["issued"] + sig * st["offsets"][k][j]
                     for k in INTERVALS for j, side in enumerate(("lower", "upper"))}
            result["metrics"] += self._metric_rows(h, s["y"], preds, split, bands, st["method"])
            te_ = split["test"]
            for base_name in BASELINES:
                for m in ("issued", "network"):
                    if m == base_name:
                        continue
                    sk, lo, hi = block_bootstrap_skill(s["y"][te_], preds[m][te_], preds[base_name][te_],
                                                       cfg.block, cfg.bootstrap, seed=cfg.seed + h)
                    result["skill"].append({"horizon": h, "method": m, "baseline": base_name, "skill": sk,
                                            "low_90": lo, "high_90": hi})
            result["horizons"][h] = {
                "samples": s, "split": split, "net_fit": fit_rows, "net_stop": stop_rows, "predictions": preds,
                "bands": bands,
                "models": st["networks"], "model": st["networks"][0], "history": histories[0],
                "x_scaler": xs, "y_scaler": ys, "ridge_alpha": alpha, "best_epochs": st["best_epochs"],
                "base": base, "method": st["method"], "shrink": st["shrink"], "offsets": st["offsets"],
                "val_mae": val_mae, "seconds": time.perf_counter() - t0}
            if verbose:
                test = {r["method"]: r["mae"] for r in result["metrics"]
                        if r["split"] == "test" and r["horizon"] == h}
                print(f"h={h:>2} d: issued {st['method']}" + (f" (λ={st['shrink']:.2f})" if st["method"] ==
                                                              "shrunk" else "")
                      + f"; test MAE issued {test['issued']:.2f}  network {test['network']:.2f}  ridge "
                      f"{test['ridge']:.2f}  climatology {test['climatology']:.2f}  persistence "
                      f"{test['persistence']:.2f} °C  (best epochs {st['best_epochs']}, "
                      f"{time.perf_counter() - t0:.0f} s)", flush=True)
        target, own, others = input_columns_of(self.horizons_)
        cols, units = full_columns(data), _units(data)
        train_end = np.datetime64(cfg.train_end, "D")
        stats = {}
        for c in [target, *own, *others]:
            v = cols[c][(data.dates <= train_end) & np.isfinite(cols[c])]
            stats[c] = {"unit": units.get(c, ""), "median": float(np.median(v)) if len(v) else 0.0,
                        "std": float(np.std(v)) if len(v) else 0.0}
        self.columns_ = {"target": target, "own": own, "others": others, "stats": stats,
                         "trained_on": f"{data.dates[0]} .. {data.dates[-1]}", "source": src,
                         "last_training_target": str(cfg.val_end)}
        self.result_ = result
        return self

    @staticmethod
    def _metric_rows(h: int, y: np.ndarray, preds: dict, split: dict, bands: dict, chosen: str) -> list[dict]:
        rows = []
        for part in ("train", "val", "test"):
            m = split[part]
            ref = {k: preds[k][m] for k in ("persistence", "climatology")}
            for method, p in preds.items():
                r = {"horizon": h, "method": method, "split": part, **scores(y[m], p[m]),
                     "skill_vs_persistence": skill(y[m], p[m], ref["persistence"]),
                     "skill_vs_climatology": skill(y[m], p[m], ref["climatology"]),
                     "chosen": chosen if method == "issued" else "", "coverage_80": "", "coverage_95": ""}
                if method == "issued":
                    for k in INTERVALS:
                        r[f"coverage_{k}"] = coverage(y[m], bands[f"lower_{k}"][m], bands[f"upper_{k}"][m])
                rows.append(r)
        return rows

    def _methods(self, st: dict, h: int, x: np.ndarray, base: np.ndarray, with_shrunk: bool = True) -> dict:
        """Every method's prediction (°C) for standardised features ``x``."""
        out = {"climatology": base.copy(), "ridge": x @ st["ridge_w"] + st["ridge_b"],
               "ridge_anomaly": base + x @ st["ridge_anomaly_w"] + st["ridge_anomaly_b"]}
        xf = x.astype(np.float32)
        net = np.mean([m.predict(xf).ravel().astype(np.float64) for m in st["networks"]], axis=0)
        out["network"] = (base if self.config.anomaly else 0.0) + net * st["y_scale"] + st["y_mean"]
        members = ["network", "ridge_anomaly"] + (["ridge"] if h <= self.config.short_horizon else [])
        out["ensemble"] = np.mean([out[m] for m in members], axis=0)
        if with_shrunk:
            out["shrunk"] = base + st["shrink"] * (out["ensemble"] - base)
            if "stack" in st:
                out["stacked"] = base + st.get("stack_keep", 1.0) * (apply_stack(st["stack"], out) - base)
        return out

    # ------------------------------------------------------------------ forecast
    def forecast(self, data: Any, as_of: Any = None) -> list[dict[str, Any]]:
        """Issue the forecast as of ``as_of`` (default: the last day of ``data``), reading only
        the days up to ``as_of``. One dict per horizon: ``issued, horizon, target_date, forecast,
        lower_80, upper_80, lower_95, upper_95, method, climatology, observed`` (``observed`` is
        the data's value on the target day when the data holds it, else NaN)."""
        if not self.horizons_:
            raise ForecastError("Forecaster.forecast: the forecaster is not fitted (call fit or load)")
        cfg, src = self.config, _where(data)
        dates = np.asarray(data.dates, dtype="datetime64[D]")
        if len(dates) == 0:
            raise ForecastError(f"{src}: no rows")
        day = dates[-1] if as_of is None else parse_date(as_of, "--as-of")
        if not dates[0] <= day <= dates[-1]:
            raise ForecastError(f"{src}: --as-of {day} is outside the data ({dates[0]} .. {dates[-1]})")
        cols, units = full_columns(data), _units(data)
        # the target is the first of the own columns: each column once
        need = list(dict.fromkeys([self.columns_["target"], *self.columns_["own"], *self.columns_["others"]]))
        missing = [c for c in need if c not in cols]
        if missing:
            raise ForecastError(f"{src}: the forecaster needs the columns {', '.join(missing)}, which the "
                                f"data lacks (it has {', '.join(list(cols)[:12])}"
                                f"{'...' if len(cols) > 12 else ''})")
        i = int(np.searchsorted(dates, day))
        if len(dates) > 1 and (np.diff(dates[:i + 1]).astype(int) != 1).any():
            raise ForecastError(f"{src}: expected one row per consecutive day up to --as-of {day}")
        past = {c: np.asarray(cols[c][:i + 1], dtype=np.float64) for c in need}   # nothing after as_of
        self._check_units(past, units, src)
        rows = []
        L = window_days(cfg)
        if i < L - 1:
            raise ForecastError(f"{src}: --as-of {day} is too early: the lags window needs {L} days up to "
                                f"it, the data starts {dates[0]} ({i + 1} days)")
        for h, st in self.horizons_.items():
            c = st["columns"]
            other_lags, means, _ = horizon_inputs(cfg, h)
            x, _ = feature_matrix(past, dates[:i + 1], c["own"], c["others"], cfg.lags, h, np.array([i]),
                                  other_lags, means)
            bad = [n for n, v in zip(st["feature_names"], x[0]) if not np.isfinite(v)]
            if bad:
                raise ForecastError(f"{src}: cannot issue the {h}-day forecast as of {day}: missing values "
                                    f"in {', '.join(bad[:6])}{'...' if len(bad) > 6 else ''} (a gap in the "
                                    "last days)")
            target_date = day + np.timedelta64(h, "D")
            base = st["climatology"][day_of_year(np.array([target_date]))]
            p = self._methods(st, h, (x - st["x_mean"]) / st["x_scale"], base)[st["method"]][0]
            row = {"issued": str(day), "horizon": h, "target_date": str(target_date), "forecast": float(p)}
            sig = float(st["interval_scale"][day_of_year(np.array([target_date]))][0])
            for k in INTERVALS:
                row[f"lower_{k}"] = float(p + sig * st["offsets"][k][0])
                row[f"upper_{k}"] = float(p + sig * st["offsets"][k][1])
            row["method"] = st["method"]
            row["climatology"] = float(base[0])
            j = int(np.searchsorted(dates, target_date))
            obs = float(cols[self.columns_["target"]][j]) if j < len(dates) and dates[j] == target_date \
                else float("nan")
            row["observed"] = obs
            rows.append(row)
        return rows

    def _check_units(self, past: dict[str, np.ndarray], units: dict[str, str], src: str) -> None:
        wrong = []
        for c, st in self.columns_["stats"].items():
            u = units.get(c, "")
            if st["unit"] and u and u != st["unit"]:
                wrong.append(f"{c} is in {u}, the forecaster was trained on {st['unit']}")
                continue
            v = past[c][np.isfinite(past[c])]
            if len(v) and abs(float(np.median(v)) - st["median"]) > 5 * max(st["std"], 1e-9) + 1e-9:
                wrong.append(f"{c} has median {float(np.median(v)):.4g}, far from the training median "
                             f"{st['median']:.4g} (std {st['std']:.3g})"
                             + (f" {st['unit']}" if st["unit"] else ""))
        if wrong:
            raise ForecastError(f"{src}: the data does not match the forecaster's units: " + "; ".join(wrong))

    # ------------------------------------------------------------------ save / load
    def save(self, directory: str | os.PathLike) -> Path:
        """Write the forecaster to ``directory`` (created or replaced as a whole): ``forecaster.json``
        (config, choices, interval offsets, column units), ``h{h}_*.npy`` (scalers, climatology,
        ridge weights) and ``h{h}_net{k}.tanul`` (the networks, tanul's safe format). No pickle.
        Written into a temporary folder first, then renamed into place."""
        from tanul.io import save_model

        if not self.horizons_:
            raise ForecastError("Forecaster.save: the forecaster is not fitted")
        target = Path(directory)
        if target.exists() and not (target / MANIFEST).is_file() and any(target.iterdir()):
            raise ForecastError(f"Forecaster.save: {target} exists and is not a forecaster folder; refusing to "
                                "replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        try:
            hs = {}
            for h, st in self.horizons_.items():
                for name in (*ARRAYS, "interval_scale"):
                    np.save(tmp / f"h{h}_{name}.npy", np.asarray(st[name], dtype=np.float64),
                            allow_pickle=False)
                nets = []
                for k, model in enumerate(st["networks"]):
                    save_model(model, tmp / f"h{h}_net{k}.tanul", include_optimizer=False)
                    nets.append(f"h{h}_net{k}.tanul")
                hs[str(h)] = {k: st[k] for k in ("feature_names", "columns", *SCALARS, "ridge_alpha",
                                                  "ridge_anomaly_alpha", "best_epochs", "method", "val_mae",
                                                  "val_gain_p05")}
                hs[str(h)]["offsets"] = {k: list(v) for k, v in st["offsets"].items()}
                if "stack" in st:       # absent in forecasters loaded from before the stacked method
                    hs[str(h)]["stack"] = dict(st["stack"])
                    hs[str(h)]["stack_keep"] = float(st.get("stack_keep", 1.0))
                hs[str(h)]["networks"] = nets
            manifest = {"format": FORMAT, "version": VERSION, "config": asdict(self.config),
                        "columns": self.columns_, "horizons": hs}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, default=_json_default) + "\n",
                                        encoding="utf-8")
            old = None
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
                os.replace(target, old / "x")
            os.replace(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Forecaster:
        """Read a forecaster written by :meth:`save` (or the ``forecaster/`` folder of a
        ``tanul forecast --out DIR`` run, given ``DIR``)."""
        from tanul.io import load_model

        d = Path(directory)
        if not (d / MANIFEST).is_file() and (d / "forecaster" / MANIFEST).is_file():
            d = d / "forecaster"
        mf = d / MANIFEST
        if not mf.is_file():
            raise ForecastError(f"{d}: no {MANIFEST} here: not a saved forecaster (run tanul forecast "
                                "--out DIR first)")
        if mf.stat().st_size > MAX_MANIFEST_BYTES:
            raise ForecastError(f"{mf}: larger than {MAX_MANIFEST_BYTES} bytes; not a forecaster manifest")
        try:
            man = json.loads(mf.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as exc:
            raise ForecastError(f"{mf}: not valid JSON ({str(exc)[:200]})") from None
        if not isinstance(man, dict) or man.get("format") != FORMAT:
            raise ForecastError(f"{mf}: not a {FORMAT} manifest")
        if man.get("version") != VERSION:
            raise ForecastError(f"{mf}: version {man.get('version')!r}; this tanul reads version {VERSION}")
        try:
            known = {f.name for f in fields(ForecastConfig)}
            cfgd = man["config"]
            unknown = set(cfgd) - known
            if unknown:
                raise ForecastError(f"{mf}: unknown config keys {sorted(unknown)}")
            if "interval_rule" not in cfgd:     # saved before the pooled conformal intervals
                cfgd = {**cfgd, "interval_rule": "empirical", "interval_years": "validation"}
            fc = cls(ForecastConfig(**cfgd))
            fc.columns_ = man["columns"]
            for hs, hd in man["horizons"].items():
                h = int(hs)
                st = {k: hd[k] for k in ("feature_names", "columns", "ridge_alpha", "ridge_anomaly_alpha",
                                         "best_epochs", "method", "val_mae", "val_gain_p05")}
                for k in SCALARS:
                    st[k] = float(hd[k])
                if st["method"] not in METHODS:
                    raise ForecastError(f"{mf}: horizon {h}: unknown method {st['method']!r}")
                st["offsets"] = {k: (float(hd["offsets"][k][0]), float(hd["offsets"][k][1])) for k in INTERVALS}
                stack = hd.get("stack")     # absent in forecasters saved before the stacked method
                if stack is not None:
                    if not isinstance(stack, dict) or set(stack) - set(STACK_MEMBERS):
                        raise ForecastError(f"{mf}: horizon {h}: stack weights {stack!r}; expected weights of "
                                            f"{', '.join(STACK_MEMBERS)}")
                    st["stack"] = {k: float(v) for k, v in stack.items()}
                    st["stack_keep"] = float(hd.get("stack_keep", 1.0))
                    if not 0 <= st["stack_keep"] <= 1:
                        raise ForecastError(f"{mf}: horizon {h}: stack_keep {st['stack_keep']!r} is not in "
                                            "[0, 1]")
                elif st["method"] == "stacked":
                    raise ForecastError(f"{mf}: horizon {h}: method 'stacked' without stack weights")
                nf = len(st["feature_names"])
                want = {name: 366 if name == "climatology" else nf for name in ARRAYS}
                st["interval_scale"] = np.ones(366)     # absent in forecasters saved before it
                if (d / f"h{h}_interval_scale.npy").is_file():
                    want["interval_scale"] = 366
                for name, size in want.items():
                    p = d / f"h{h}_{name}.npy"
                    try:
                        a = np.load(p, allow_pickle=False)
                    except (OSError, ValueError) as exc:
                        raise ForecastError(f"{p}: cannot read ({exc})") from None
                    if a.shape != (size,) or a.dtype != np.float64 or not np.isfinite(a).all():
                        raise ForecastError(f"{p}: expected {size} finite float64 values, got {a.dtype} "
                                            f"{a.shape}")
                    st[name] = a
                st["networks"] = []
                for name in hd["networks"]:
                    if Path(name).name != name or not name.endswith(".tanul"):
                        raise ForecastError(f"{mf}: network file name {name!r} is not a plain .tanul name")
                    model = load_model(d / name, compile=False)
                    if tuple(model.input_shape) != (nf,):
                        raise ForecastError(f"{d / name}: expects {model.input_shape} inputs, the forecaster "
                                            f"has {nf} features")
                    st["networks"].append(model)
                if not st["networks"]:
                    raise ForecastError(f"{mf}: horizon {h} has no network")
                fc.horizons_[h] = st
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise ForecastError(f"{mf}: malformed manifest ({type(exc).__name__}: {exc})") from None
        if tuple(fc.horizons_) != fc.config.horizons:
            raise ForecastError(f"{mf}: horizons {list(fc.horizons_)} do not match the config's "
                                f"{list(fc.config.horizons)}")
        return fc


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, (tuple, np.ndarray)):
        return list(o)
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


def input_columns_of(horizons: dict[int, dict]) -> tuple[str, list[str], list[str]]:
    first = next(iter(horizons.values()))["columns"]
    return first["target"], list(first["own"]), list(first["others"])


def _ridge_on_validation(x: np.ndarray, y: np.ndarray, base: np.ndarray, tr: np.ndarray, va: np.ndarray,
                         alphas: tuple[float, ...]) -> tuple[float, np.ndarray, float]:
    """Ridge of ``y − base`` on ``x`` fitted on ``tr``, α with the lowest MAE on ``va``."""
    best = None
    for alpha in alphas:
        w, b = fit_ridge(x[tr], (y - base)[tr], alpha)
        mae = float(np.mean(np.abs(base[va] + x[va] @ w + b - y[va])))
        if best is None or mae < best[0]:
            best = (mae, alpha, w, b)
    return best[1], best[2], best[3]


def _train_network(cfg: ForecastConfig, x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray,
                   seed: int, short: bool = False) -> tuple[Any, Any]:
    import tanul
    from tanul.callbacks import EarlyStopping
    from tanul.regularizers import L2

    l2, dropout = (cfg.short_l2, cfg.short_dropout) if short else (cfg.l2, cfg.dropout)
    layers: list = []
    for units in cfg.hidden:
        layers.append(tanul.Dense(units, activation="relu", kernel_regularizer=L2(l2) if l2 else None))
        if dropout:
            layers.append(tanul.Dropout(dropout))
    layers.append(tanul.Dense(1))
    model = tanul.Sequential(layers, seed=seed, input_shape=(x.shape[1],), name="forecaster")
    model.compile(optimizer=tanul.Adam(lr=cfg.lr), loss="mse")
    es = EarlyStopping(patience=cfg.patience, restore_best_weights=True)
    model.fit(x, y, epochs=cfg.epochs, batch_size=cfg.batch_size, verbose=0, callbacks=[es],
              validation_data=(xv, yv))
    return model, es
