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

``--variant`` runs the same study with other settings (``--variant long_other_lags=2``) so that
inputs can be compared the same way. ``--seven-day`` compares the 7-day candidates (each method
alone or the stack, shrunk by κ) with the default; ``--intervals`` the interval rules by their
coverage on the evaluation years; ``--folds 2006`` fits and reads the confirmation fold 2006
(training to 2004, validation 2005, evaluation 2006), which chose nothing (``--kappa 0.15`` keeps
the κ chosen on 2007 and 2008). docs/forecasting.md records what each said.
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
#: a third fold that chose nothing: it confirms (or not) what the two above chose (``--folds 2006``)
ALL_FOLDS = {"2006": ("2004-12-31", "2005-12-31", "2006-12-31"), **FOLDS}
KEEP = ("climatology", "ridge", "ridge_anomaly", "network", "ensemble", "persistence")


def fit_one(args: tuple) -> str:
    fold, city, data_path, variant, overrides, cache = args
    out = Path(cache) / variant / f"{fold}_{city}.npz"
    if out.is_file():
        return f"{fold} {city}: cached"
    from tanul.datasets import weather
    from tanul.forecast import ForecastConfig, Forecaster

    data = weather(None, path=data_path)
    tr, va, te = ALL_FOLDS[fold]
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
        # every sample, for the interval study: role 0 = fitted on, 1 = early stopping year, 2 =
        # validation, 3 = evaluation (-1: after the evaluation year, never stored)
        role = np.full(len(sp["val"]), -1)
        role[res["net_fit"]], role[res["net_stop"] & sp["train"]] = 0, 1
        role[sp["val"]], role[sp["test"]] = 2, 3
        ok = role >= 0
        arrays[f"h{h}_all_role"] = role[ok]
        arrays[f"h{h}_all_date"] = res["samples"]["target_dates"][ok].astype("datetime64[D]").astype(np.int64)
        arrays[f"h{h}_all_y"] = res["samples"]["y"][ok]
        for m in KEEP:
            arrays[f"h{h}_all_{m}"] = res["predictions"][m][ok]
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
    "stack, κ = 1 / 0.15 / 0.10 (the design before)": lambda h, yv, pv, pt: _keep(
        h, yv, pv, pt, {1: 1.0, 7: 0.15, 30: 0.1}),
    "stack, κ = 1 / 0.15 / 0.10, ridge alone at 7 d (the default)": lambda h, yv, pv, pt: (
        pt["climatology"] + 0.15 * (pt["ridge"] - pt["climatology"]) if h == 7
        else _keep(h, yv, pv, pt, {1: 1.0, 7: 0.15, 30: 0.1})),
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


def keep_study(cache: Path, variant: str, places: list[str], grid=None, base: str = "stack") -> dict:
    """For every horizon and κ of ``grid``: the stacked forecast (weights fitted on the fold's
    validation year; or, with ``base`` one of :data:`KEEP`, that method as it is, nothing fitted on
    the validation year) issued as ``clim + κ (stack − clim)`` on the fold's evaluation year.
    Returns ``{h: {κ: {"misses": n, "gain": mean MAE change against the target's reference (°C,
    both folds), "worst": largest excess, "fold_gain": {fold: mean change}}}}``; the reference is
    ridge at 1 day, climatology beyond."""
    from tanul.forecast import apply_stack, fit_stack

    grid = np.round(np.arange(0, 1.0001, 0.05), 2) if grid is None else grid
    out: dict = {}
    for h in HORIZONS:
        members = []
        for fold in FOLDS:
            for city in places:
                z = np.load(cache / variant / f"{fold}_{city}.npz")
                y, v = z[f"h{h}_y"], z[f"h{h}_val"]
                pt = {m: z[f"h{h}_{m}"][~v] for m in KEEP}
                if base == "stack":
                    w = fit_stack(y[v], {m: z[f"h{h}_{m}"][v] for m in STACK})
                    b = apply_stack(w, pt)
                else:
                    b = pt[base]
                ref = np.abs(pt["ridge" if h <= 1 else "climatology"] - y[~v]).mean()
                members.append((fold, y[~v], pt["climatology"], b, ref))
        out[h] = {}
        folds = np.array([f for f, *_ in members])
        for k in grid:
            ex = np.array([np.abs(c + k * (st - c) - y).mean() - ref for _, y, c, st, ref in members])
            out[h][float(k)] = {"misses": int((ex > 0.02).sum()), "gain": float(ex.mean()),
                                "worst": float(ex.max()),
                                "fold_gain": {f: float(ex[folds == f].mean()) for f in FOLDS},
                                "fold_misses": {f: int((ex[folds == f] > 0.02).sum()) for f in FOLDS}}
    return out


def compare_seven_day(cache: Path, candidates: dict[str, tuple], places: list[str],
                      reference: tuple[str, str, float] = ("default", "stack", 0.15)) -> tuple[str, dict]:
    """The 7-day comparison with the default on the folds of :data:`FOLDS`: each candidate is
    ``name -> (variant, base)`` (κ chosen as for the default, :func:`choose_keep` over these
    folds) or ``name -> (variant, base, κ)`` (κ fixed, e.g. as chosen on other folds). A
    candidate *wins* only if no place-fold is beyond climatology + 0.02 °C and its mean 7-day MAE
    is lower than the default's (stack, κ = 0.15) in **each** fold. Returns the table and
    ``{name: (κ, wins)}``."""
    folds = list(FOLDS)
    ref = keep_study(cache, reference[0], places, base=reference[1])[7][reference[2]]
    head = " / ".join(folds)
    lines = [f"| 7-day candidate | κ | misses {head} | mean change vs climatology {head} (°C) | worst | "
             "wins in every fold |", "| --- | ---: | --- | --- | ---: | --- |",
             f"| default: {reference[1]}, {reference[0]} inputs | {reference[2]:.2f} | "
             + " / ".join(str(ref["fold_misses"][f]) for f in folds) + " | "
             + " / ".join(f"{ref['fold_gain'][f]:+.4f}" for f in folds) + f" | {ref['worst']:+.3f} | - |"]
    out = {}
    for name, cand in candidates.items():
        variant, base = cand[:2]
        ks = keep_study(cache, variant, places, base=base)
        k = cand[2] if len(cand) > 2 else choose_keep(ks)[7]
        r = ks[7][k]
        win = r["misses"] == 0 and all(r["fold_gain"][f] < ref["fold_gain"][f] for f in folds)
        out[name] = (k, win)
        lines.append(f"| {name} | {k:.2f} | " + " / ".join(str(r["fold_misses"][f]) for f in folds) + " | "
                     + " / ".join(f"{r['fold_gain'][f]:+.4f}" for f in folds)
                     + f" | {r['worst']:+.3f} | {'yes' if win else 'no'} |")
    return "\n".join(lines), out


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


# ---------------------------------------------------------------- the interval rules
def _issued_all(z, h: int, keep: dict, members: dict | None = None) -> np.ndarray:
    """The issued forecast (stack of ``members[h]``, default :data:`STACK`, fitted on the
    validation year, κ = ``keep[h]``) on every stored row."""
    from tanul.forecast import apply_stack, fit_stack

    role, y = z[f"h{h}_all_role"], z[f"h{h}_all_y"]
    p = {m: z[f"h{h}_all_{m}"] for m in KEEP}
    w = fit_stack(y[role == 2], {m: p[m][role == 2] for m in (members or {}).get(h, STACK)})
    return p["climatology"] + keep[h] * (apply_stack(w, p) - p["climatology"])


def _interval_rule(residual_roles: tuple[int, ...], conformal: bool, scale: str | None,
                   short_roles: tuple[int, ...] | None = None):
    """A rule for the intervals: the residuals of the issued forecast on ``residual_roles`` (0 =
    the training years the networks were fitted on, 1 = the last training year, 2 = validation;
    at 1 day ``short_roles`` if given), ``conformal`` quantiles or empirical ones, and a
    seasonal scale (``None``; ``"anomaly"``: the training years' departures from climatology;
    ``"ridge"``: the training years' residuals of ridge_anomaly) by target day of year."""
    def rule(z, h, issued):
        roles = short_roles if (short_roles is not None and h <= 1) else residual_roles
        from tanul.forecast.core import interval_offsets, seasonal_scale

        role, y = z[f"h{h}_all_role"], z[f"h{h}_all_y"]
        dates = z[f"h{h}_all_date"].astype("datetime64[D]")
        tr = role <= 1
        if scale is None:
            sig = np.ones(len(y))
        else:
            ref = z[f"h{h}_all_climatology" if scale == "anomaly" else f"h{h}_all_ridge_anomaly"]
            table = seasonal_scale(dates[tr], (y - ref)[tr])
            from tanul.forecast import day_of_year

            sig = table[day_of_year(dates)]
        use = np.isin(role, roles)
        off = interval_offsets(((y - issued) / sig)[use], conformal=conformal)
        return {k: (issued + sig * lo, issued + sig * hi) for k, (lo, hi) in off.items()}
    return rule


INTERVAL_RULES = {
    "empirical, validation year (before)": _interval_rule((2,), False, None),
    "split-conformal, validation year": _interval_rule((2,), True, None),
    "empirical, last training + validation years": _interval_rule((1, 2), False, None),
    "split-conformal, last training + validation years": _interval_rule((1, 2), True, None),
    "seasonal (anomaly spread), conformal, validation year": _interval_rule((2,), True, "anomaly"),
    "seasonal (ridge residual spread), conformal, validation year": _interval_rule((2,), True, "ridge"),
    "seasonal (anomaly spread), conformal, last training + validation": _interval_rule((1, 2), True, "anomaly"),
    # beyond 1 day the issued forecast is climatology plus 10-15 % of the stack's departure: its
    # residuals on the training years are nearly out-of-sample, so every year can be pooled
    "empirical, all years to validation beyond 1 d (1 d: validation)": _interval_rule((0, 1, 2), False, None, (2,)),
    "split-conformal, all years to validation beyond 1 d (1 d: validation)": _interval_rule((0, 1, 2), True, None,
                                                                                              (2,)),
    "seasonal (anomaly spread), conformal, all years beyond 1 d (1 d: validation)": _interval_rule(
        (0, 1, 2), True, "anomaly", (2,)),
}


def interval_study(cache: Path, variant: str, places: list[str], rules: dict | None = None,
                   keep: dict | None = None, members: dict | None = None) -> dict:
    """Coverage on the folds' evaluation years of the issued forecast's 80 % and 95 % intervals
    under each interval rule. Returns ``{rule: {"cov": {level: array (fold, place, horizon)},
    "season": {level: array (fold, place, horizon, 2)}}}`` (season: Dec-Feb, Jun-Aug)."""
    from tanul.forecast import INTERVALS, coverage

    rules = INTERVAL_RULES if rules is None else rules
    keep = {1: 1.0, 7: 0.15, 30: 0.10} if keep is None else keep
    shape = (len(FOLDS), len(places), len(HORIZONS))
    out = {name: {"cov": {k: np.zeros(shape) for k in INTERVALS},
                  "season": {k: np.zeros(shape + (2,)) for k in INTERVALS}} for name in rules}
    for i, fold in enumerate(FOLDS):
        for j, city in enumerate(places):
            z = np.load(cache / variant / f"{fold}_{city}.npz")
            for kh, h in enumerate(HORIZONS):
                issued = _issued_all(z, h, keep, members)
                role, y = z[f"h{h}_all_role"], z[f"h{h}_all_y"]
                month = z[f"h{h}_all_date"].astype("datetime64[D]").astype("datetime64[M]").astype(int) % 12 + 1
                ev = role == 3
                seasons = (ev & np.isin(month, (12, 1, 2)), ev & np.isin(month, (6, 7, 8)))
                for name, rule in rules.items():
                    bands = rule(z, h, issued)
                    for k, (lo, hi) in bands.items():
                        out[name]["cov"][k][i, j, kh] = coverage(y[ev], lo[ev], hi[ev])
                        for q, m in enumerate(seasons):
                            out[name]["season"][k][i, j, kh, q] = coverage(y[m], lo[m], hi[m])
    return out


def interval_score(r: dict) -> float:
    """The criterion, fixed before the study: the mean over places, horizons and folds of
    ``|cov_80 − 0.80| + |cov_95 − 0.95|`` on the evaluation years (lower is better)."""
    return float(np.mean(np.abs(r["cov"]["80"] - 0.80) + np.abs(r["cov"]["95"] - 0.95)))


def interval_table(res: dict) -> str:
    lines = ["| interval rule | score | 80 %: mean, range, within 0.75-0.85 | 95 %: mean, range | "
             f"80 %: range per fold {' / '.join(FOLDS)} | 80 %, Dec-Feb / Jun-Aug: mean abs. dev. |",
             "| --- | ---: | --- | --- | --- | --- |"]
    for name, r in res.items():
        c80, c95, s80 = r["cov"]["80"], r["cov"]["95"], r["season"]["80"]
        inside = int(((c80 >= 0.75) & (c80 <= 0.85)).sum())
        folds = " / ".join(f"{c80[i].min():.0%}-{c80[i].max():.0%}" for i in range(c80.shape[0]))
        lines.append(f"| {name} | {interval_score(r):.4f} | {c80.mean():.3f}, {c80.min():.0%}-{c80.max():.0%}, "
                     f"{inside} of {c80.size} | {c95.mean():.3f}, {c95.min():.0%}-{c95.max():.0%} | {folds} | "
                     f"{np.abs(s80[..., 0] - 0.8).mean():.3f} / {np.abs(s80[..., 1] - 0.8).mean():.3f} |")
    return "\n".join(lines)


def table(res: dict, n: int) -> str:
    folds = list(FOLDS)
    lines = [f"| rule | places met, eval {' / '.join(folds)} | "
             + " | ".join(f"mean issued MAE 1 / 7 / 30 d, {f}" for f in folds) + " | misses |",
             "| --- | ---: | " + " | ".join("---" for _ in folds) + " | --- |"]
    for name, r in res.items():
        mae = [" / ".join(f"{r[f]['mae'][h]:.3f}" for h in HORIZONS) for f in folds]
        miss = "; ".join(f"{f}: {m}" for f in folds for m in r[f]["misses"]) or "none"
        lines.append(f"| {name} | {' / '.join(str(r[f]['met']) for f in folds)} of {n} | {' | '.join(mae)} | "
                     f"{miss} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--places", nargs="+", default=None)
    p.add_argument("--cache", default="runs/design_study")
    p.add_argument("--variant", nargs="*", default=[], help="config overrides, e.g. stop_on=\"'validation'\"")
    p.add_argument("--folds", nargs="+", default=list(FOLDS), choices=list(ALL_FOLDS),
                   help="the folds (2006 is the confirmation fold: it chose nothing)")
    p.add_argument("--rules", action="store_true", help="also the table of the other issuing rules")
    p.add_argument("--intervals", action="store_true",
                   help="also the coverage of the interval rules on the evaluation years")
    p.add_argument("--seven-day", action="store_true",
                   help="also the 7-day candidates (each method alone or the stack, times κ) against the "
                        "default stack with κ = 0.15")
    p.add_argument("--kappa", type=float, default=None,
                   help="with --seven-day: a fixed κ (e.g. as chosen on other folds) instead of choose_keep")
    args = p.parse_args()
    from tanul.datasets import weather

    FOLDS.clear()
    FOLDS.update({f: ALL_FOLDS[f] for f in args.folds})
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
    if args.seven_day:
        cands = {f"{b}, {variant} inputs": (variant, b) + ((args.kappa,) if args.kappa is not None else ())
                 for b in ("stack", "ensemble", "network", "ridge_anomaly", "ridge")}
        print(compare_seven_day(Path(args.cache), cands, places)[0] + "\n")
    if args.intervals:     # the issued forecast of the default design: ridge alone at 7 days
        ir = interval_study(Path(args.cache), variant, places, members={7: ("ridge",)})
        print(f"Coverage of the issued forecast's intervals on the evaluation years {', '.join(FOLDS)} "
              f"({len(places)} places x {len(HORIZONS)} horizons x {len(FOLDS)} folds); score: mean "
              "|cov_80 - 0.80| + |cov_95 - 0.95|:\n")
        print(interval_table(ir))
        print(f"\nLowest score: {min(ir, key=lambda k: interval_score(ir[k]))}\n")
    ks = keep_study(Path(args.cache), variant, places)
    print(f"The stacked forecast issued as clim + κ (stack − clim), evaluation years {', '.join(FOLDS)}: places x "
          "folds missing the target (issued MAE > reference + 0.02 °C; reference ridge at 1 d, climatology "
          "beyond), mean and largest MAE change against the reference (°C):\n")
    print(keep_table(ks, n))
    best = choose_keep(ks)
    print("\nLargest mean gain with no miss: " + ", ".join(f"{h} d: κ = {k:.2f}" for h, k in best.items()))


if __name__ == "__main__":
    main()
