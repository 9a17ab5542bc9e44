"""How the issuing rule (and the inputs) were chosen: on years before 2009 only.

    python examples/forecast_design_study.py --data ../shared/data/weather [--jobs 2]

Two folds, each a complete run of the forecaster on all 18 places with the default network
settings, whose *own* test year is still before 2009:

* fold 2007: training targets to 2005, validation 2006, evaluation 2007;
* fold 2008: training targets to 2006, validation 2007, evaluation 2008.

Each fit stores every method's predictions (climatology, ridge, ridge_anomaly, network, the
ensemble) on its validation and evaluation years (``--cache``, default
``runs/design_study``). Every candidate rule of :data:`RULES` then sees only the validation
year's predictions (exactly as :class:`tanul.forecast.Forecaster` would) and issues a forecast
for the evaluation year; the table counts, per fold, the places where the targets of issue 12 hold
on the evaluation year (issued 7- and 30-day MAE <= climatology + 0.02 °C, 1-day MAE <= ridge +
0.02 °C) and gives the mean issued MAE per horizon. The rule with the most places met over both
folds (then the lowest mean MAE) is the default. 2009 is never read: no target date after the
fold's evaluation year enters any fit.

``--variant`` runs the same study with other settings (``--variant others_lags=2``) so that
inputs can be compared the same way.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import ast  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HORIZONS = (1, 7, 30)
FOLDS = {"2007": ("2005-12-31", "2006-12-31", "2007-12-31"),
         "2008": ("2006-12-31", "2007-12-31", "2008-12-31")}
KEEP = ("climatology", "ridge", "ridge_anomaly", "network", "ensemble", "persistence")


def fit_one(args: tuple) -> str:
    fold, city, data_path, variant, overrides, cache = args
    out = Path(cache) / variant / f"{fold}_{city}.npz"
    if out.is_file():
        return f"{fold} {city}: cached"
    from tanul.datasets import weather
    from tanul.forecast import ForecastConfig, Forecaster

    data = weather(None, path=data_path)
    tr, va, te = FOLDS[fold]
    t0 = time.perf_counter()
    fc = Forecaster(ForecastConfig(city=city, horizons=HORIZONS, bootstrap=0, train_end=tr, val_end=va,
                                   test_end=te, **overrides)).fit(data)
    arrays = {}
    for h, res in fc.result_["horizons"].items():
        sp = res["split"]
        keep = sp["val"] | sp["test"]
        arrays[f"h{h}_y"] = res["samples"]["y"][keep]
        arrays[f"h{h}_val"] = sp["val"][keep]
        for m in KEEP:
            arrays[f"h{h}_{m}"] = res["predictions"][m][keep]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, out)
    return f"{fold} {city}: {time.perf_counter() - t0:.0f} s"


# ---------------------------------------------------------------- the candidate rules
def _guard(conf: float, short_alts: bool = True):
    def rule(h, yv, pv, pt):
        from tanul.forecast import ALTERNATIVES, choose_method, fit_shrinkage

        lam = fit_shrinkage(yv, pv["climatology"], pv["ensemble"])
        pv = {**pv, "shrunk": pv["climatology"] + lam * (pv["ensemble"] - pv["climatology"])}
        pt = {**pt, "shrunk": pt["climatology"] + lam * (pt["ensemble"] - pt["climatology"])}
        alts = ALTERNATIVES if (h <= 1 and short_alts) else ()
        m, _ = choose_method(yv, pv, 30, 1000, seed=h, alternatives=alts, confidence=conf)
        return pt["climatology" if m == "shrunk" and lam == 0 else m]
    return rule


def _shrunk(h, yv, pv, pt):
    from tanul.forecast import fit_shrinkage

    lam = fit_shrinkage(yv, pv["climatology"], pv["ensemble"])
    return pt["climatology"] + lam * (pt["ensemble"] - pt["climatology"])


def _stack(members):
    def rule(h, yv, pv, pt):
        from tanul.forecast import apply_stack, fit_stack

        w = fit_stack(yv, {m: pv[m] for m in members})
        return apply_stack(w, pt)
    return rule


def _stack_guard(members, conf):
    def rule(h, yv, pv, pt):
        from tanul.forecast import apply_stack, choose_method, fit_stack

        w = fit_stack(yv, {m: pv[m] for m in members})
        sv, st = apply_stack(w, pv), apply_stack(w, pt)
        m, _ = choose_method(yv, {"climatology": pv["climatology"], "shrunk": sv}, 30, 1000, seed=h,
                             alternatives=(), confidence=conf)
        return st if m == "shrunk" else pt["climatology"]
    return rule


def _keep(h, yv, pv, pt, keep):
    st = _stack(STACK)(h, yv, pv, pt)
    return pt["climatology"] + keep[h] * (st - pt["climatology"])


def _by_horizon(short, long, month=None):
    def rule(h, yv, pv, pt):
        if h >= 28 and month is not None:
            return month(h, yv, pv, pt)
        return (short if h <= 1 else long)(h, yv, pv, pt)
    return rule


def _climatology(h, yv, pv, pt):
    return pt["climatology"]


STACK = ("network", "ridge", "ridge_anomaly", "climatology")
RULES = {
    "guard 90 % (before)": _guard(0.9),
    "guard 75 %": _guard(0.75),
    "guard 50 %": _guard(0.5),
    "shrunk ensemble, every horizon": _shrunk,
    "stack, every horizon": _stack(STACK),
    "stack 1 d; guard 90 % beyond": _by_horizon(_stack(STACK), _guard(0.9)),
    "stack 1 d; guard 75 % beyond": _by_horizon(_stack(STACK), _guard(0.75)),
    "stack 1 d; shrunk beyond": _by_horizon(_stack(STACK), _shrunk),
    "stack 1 d; guard 90 % at 7 d; climatology at 30 d": _by_horizon(_stack(STACK), _guard(0.9), _climatology),
    "stack 1 d; shrunk at 7 d; climatology at 30 d": _by_horizon(_stack(STACK), _shrunk, _climatology),
    "stack 1 d; guard 95 % at 7 d; climatology at 30 d": _by_horizon(_stack(STACK), _guard(0.95), _climatology),
    "stack 1 d; climatology beyond": _by_horizon(_stack(STACK), _climatology),
    "stack 1 and 7 d; climatology at 30 d": _by_horizon(_stack(STACK), _stack(STACK), _climatology),
    "stack 1 d; stack if sure (90 %) at 7 d; climatology at 30 d": _by_horizon(
        _stack(STACK), _stack_guard(STACK, 0.9), _climatology),
    "stack 1 d; stack if sure (75 %) at 7 d; climatology at 30 d": _by_horizon(
        _stack(STACK), _stack_guard(STACK, 0.75), _climatology),
    "stack, κ = 1 / 0.15 / 0.10 (the default)": lambda h, yv, pv, pt: _keep(h, yv, pv, pt, {1: 1.0, 7: 0.15, 30: 0.1}),
    "lowest validation MAE (no guard)": lambda h, yv, pv, pt: pt[min(
        ("climatology", "ridge", "ridge_anomaly", "network", "ensemble"),
        key=lambda m: np.abs(pv[m] - yv).mean())],
}


def evaluate(cache: Path, variant: str, places: list[str], rules: dict) -> dict:
    """``{rule: {fold: {"met": n, "mae": {h: mean}, "misses": [...]}}}``."""
    out: dict = {}
    for name, rule in rules.items():
        out[name] = {}
        for fold in FOLDS:
            met, maes, misses, excess = 0, {h: [] for h in HORIZONS}, [], {h: [] for h in HORIZONS}
            for city in places:
                z = np.load(cache / variant / f"{fold}_{city}.npz")
                ok = True
                for h in HORIZONS:
                    y, v = z[f"h{h}_y"], z[f"h{h}_val"]
                    pv = {m: z[f"h{h}_{m}"][v] for m in KEEP}
                    pt = {m: z[f"h{h}_{m}"][~v] for m in KEEP}
                    p = rule(h, y[v], pv, pt)
                    mae = float(np.abs(p - y[~v]).mean())
                    ref = float(np.abs(pt["ridge" if h <= 1 else "climatology"] - y[~v]).mean())
                    maes[h].append(mae)
                    excess[h].append(mae - ref)
                    if mae > ref + 0.02:
                        ok = False
                        misses.append(f"{city.title()} {h} d (+{mae - ref:.2f})")
                met += ok
            out[name][fold] = {"met": met, "mae": {h: float(np.mean(maes[h])) for h in HORIZONS},
                               "excess": {h: float(np.mean(excess[h])) for h in HORIZONS}, "misses": misses}
    return out


def keep_study(cache: Path, variant: str, places: list[str], grid=None) -> dict:
    """For every horizon and κ of ``grid``: the stacked forecast (weights fitted on the fold's
    validation year) issued as ``clim + κ (stack − clim)`` on the fold's evaluation year. Returns
    ``{h: {κ: {"misses": n, "gain": mean MAE change against the target's reference (°C, both
    folds), "worst": largest excess}}}``; the reference is ridge at 1 day, climatology beyond."""
    from tanul.forecast import apply_stack, fit_stack

    grid = np.round(np.arange(0, 1.0001, 0.05), 2) if grid is None else grid
    out: dict = {}
    for h in HORIZONS:
        members = []
        for fold in FOLDS:
            for city in places:
                z = np.load(cache / variant / f"{fold}_{city}.npz")
                y, v = z[f"h{h}_y"], z[f"h{h}_val"]
                w = fit_stack(y[v], {m: z[f"h{h}_{m}"][v] for m in STACK})
                pt = {m: z[f"h{h}_{m}"][~v] for m in KEEP}
                ref = np.abs(pt["ridge" if h <= 1 else "climatology"] - y[~v]).mean()
                members.append((y[~v], pt["climatology"], apply_stack(w, pt), ref))
        out[h] = {}
        for k in grid:
            ex = np.array([np.abs(c + k * (st - c) - y).mean() - ref for y, c, st, ref in members])
            out[h][float(k)] = {"misses": int((ex > 0.02).sum()), "gain": float(ex.mean()),
                                "worst": float(ex.max())}
    return out


def choose_keep(ks: dict) -> dict[int, float]:
    """Per horizon: the κ with the largest mean gain among those that keep every place within the
    target on both folds (climatology, κ = 0, always does beyond 1 day)."""
    best = {}
    for h, rows in ks.items():
        ok = {k: r for k, r in rows.items() if r["misses"] == 0}
        best[h] = min(ok, key=lambda k: (round(ok[k]["gain"], 6), -k)) if ok else float("nan")
    return best


def keep_table(ks: dict, n: int) -> str:
    lines = ["| κ | " + " | ".join(f"{h} d: misses, mean, worst" for h in HORIZONS) + " |",
             "| ---: | " + " | ".join("---" for _ in HORIZONS) + " |"]
    for k in next(iter(ks.values())):
        lines.append(f"| {k:.2f} | " + " | ".join(
            f"{ks[h][k]['misses']} of {n}, {ks[h][k]['gain']:+.3f}, {ks[h][k]['worst']:+.3f}" for h in HORIZONS)
            + " |")
    return "\n".join(lines)


def table(res: dict, n: int) -> str:
    lines = ["| rule | places met, eval 2007 / 2008 | mean issued MAE 1 / 7 / 30 d, 2007 | same, 2008 | "
             "misses |", "| --- | ---: | --- | --- | --- |"]
    for name, r in res.items():
        a, b = r["2007"], r["2008"]
        mae = [" / ".join(f"{x['mae'][h]:.3f}" for h in HORIZONS) for x in (a, b)]
        miss = "; ".join([f"2007: {m}" for m in a["misses"]] + [f"2008: {m}" for m in b["misses"]]) or "none"
        lines.append(f"| {name} | {a['met']} / {b['met']} of {n} | {mae[0]} | {mae[1]} | {miss} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--places", nargs="+", default=None)
    p.add_argument("--cache", default="runs/design_study")
    p.add_argument("--variant", nargs="*", default=[], help="config overrides, e.g. stop_on=\"'validation'\"")
    p.add_argument("--rules", action="store_true", help="also the table of the other issuing rules")
    args = p.parse_args()
    from tanul.datasets import weather

    places = args.places or weather(None, path=args.data).cities
    overrides = {k: ast.literal_eval(v) for k, v in (a.split("=", 1) for a in args.variant)}
    variant = ",".join(args.variant) or "default"
    t0 = time.perf_counter()
    jobs = [(f, c, args.data, variant, overrides, args.cache) for f in FOLDS for c in places]
    with ProcessPoolExecutor(args.jobs) as ex:
        for msg in ex.map(fit_one, jobs):
            print(msg, flush=True)
    n = len(places) * len(FOLDS)
    print(f"\nvariant: {variant}; {len(places)} places x {len(FOLDS)} folds; fits "
          f"{(time.perf_counter() - t0) / 60:.1f} min\n")
    if args.rules:
        res = evaluate(Path(args.cache), variant, places, RULES)
        print(table(res, len(places)) + "\n")
    ks = keep_study(Path(args.cache), variant, places)
    print("The stacked forecast issued as clim + κ (stack − clim), evaluation years 2007 and 2008: places x "
          "folds missing the target (issued MAE > reference + 0.02 °C; reference ridge at 1 d, climatology "
          "beyond), mean and largest MAE change against the reference (°C):\n")
    print(keep_table(ks, n))
    best = choose_keep(ks)
    print("\nLargest mean gain with no miss: " + ", ".join(f"{h} d: κ = {k:.2f}" for h, k in best.items()))


if __name__ == "__main__":
    main()
