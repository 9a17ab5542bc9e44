"""What a forecasting run writes: CSV files, Markdown tables, plots (all written atomically)."""

from __future__ import annotations

import csv
import io as _io
import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .core import INTERVALS

FORECAST_COLUMNS = ["issued", "horizon", "target_date", "forecast", "lower_80", "upper_80", "lower_95",
                    "upper_95", "method", "climatology", "observed"]
SHOWN = ["issued", "network", "ridge", "climatology", "persistence"]


def atomic_text(path: Path, text: str) -> None:
    from tanul.io import atomic_write
    with atomic_write(path, "w") as f:
        f.write(text)


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _fmt(v: Any, digits: int = 4) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def forecast_rows_csv(rows: list[dict[str, Any]]) -> str:
    """``forecast.csv``: one row per horizon, columns :data:`FORECAST_COLUMNS` (``observed`` empty
    when the data does not hold the target day)."""
    return csv_text(FORECAST_COLUMNS, [[_fmt(r[c], 2) for c in FORECAST_COLUMNS] for r in rows])


def forecast_table(rows: list[dict[str, Any]], city: str = "") -> str:
    """The forecast as a small Markdown table."""
    lines = [f"Forecast{' for ' + city if city else ''} issued as of {rows[0]['issued']} "
             "(daily mean temperature, °C):", "",
             "| horizon | target date | forecast | 80 % interval | 95 % interval | method | climatology "
             "| observed |",
             "| ---: | --- | ---: | --- | --- | --- | ---: | ---: |"]
    for r in rows:
        obs = "" if math.isnan(r["observed"]) else f"{r['observed']:.1f}"
        lines.append(f"| {r['horizon']} d | {r['target_date']} | {r['forecast']:.1f} | "
                     f"{r['lower_80']:.1f} .. {r['upper_80']:.1f} | "
                     f"{r['lower_95']:.1f} .. {r['upper_95']:.1f} | "
                     f"{r['method']} | {r['climatology']:.1f} | {obs} |")
    return "\n".join(lines) + "\n"


def metrics_markdown(result: dict[str, Any], split: str = "test") -> str:
    """The metrics table of one split as Markdown (MAE and RMSE in °C), the issued method per
    horizon, the interval coverage and the skill with its 90 % bootstrap interval (test split)."""
    rows = [r for r in result["metrics"] if r["split"] == split]
    hs = sorted({r["horizon"] for r in rows})
    lines = ["| method | " + " | ".join(f"MAE {h} d | RMSE {h} d" for h in hs) + " |",
             "| --- | " + " | ".join("---: | ---:" for _ in hs) + " |"]
    for m in SHOWN:
        cells = []
        for h in hs:
            r = next(r for r in rows if r["method"] == m and r["horizon"] == h)
            cells.append(f"{r['mae']:.2f} | {r['rmse']:.2f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    issued = {r["horizon"]: r for r in rows if r["method"] == "issued"}
    text = "\n".join(lines) + "\n\nIssued: " + "; ".join(
        f"{h} d {issued[h]['chosen']}" + (f" (λ = {result['horizons'][h]['shrink']:.2f})"
                                          if issued[h]["chosen"] == "shrunk" else "") for h in hs) + ".\n"
    text += "Interval coverage: " + "; ".join(
        f"{h} d " + ", ".join(f"{k} % → {issued[h]['coverage_' + k]:.0%}" for k in INTERVALS)
        for h in hs) + ".\n"
    if split == "test" and result.get("skill"):
        text += ("\nSkill of the issued forecast, 1 − MAE/MAE_ref, with a 90 % paired block-bootstrap "
                 "interval (blocks of 30 test days):\n\n"
                 "| horizon | vs persistence | vs climatology | vs ridge | vs network |\n"
                 "| ---: | --- | --- | --- | --- |\n")
        for h in hs:
            cells = []
            for b in ("persistence", "climatology", "ridge", "network"):
                r = next((r for r in result["skill"] if r["horizon"] == h and r["method"] == "issued"
                          and r["baseline"] == b), None)
                cells.append("—" if r is None or not np.isfinite(r["skill"]) else
                             f"{r['skill']:+.1%} [{r['low_90']:+.1%}, {r['high_90']:+.1%}]")
            text += f"| {h} d | " + " | ".join(cells) + " |\n"
    return text


def write_outputs(result: dict[str, Any], out: str | os.PathLike, forecaster: Any = None,
                  forecast: list[dict] | None = None, plots: bool = True) -> list[Path]:
    """Write samples, training data, predictions with intervals, metrics, skill, the forecast, the
    saved forecaster and plots into ``out``; return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = result["config"]
    written: list[Path] = []

    def put(name: str, text: str) -> None:
        atomic_text(out / name, text)
        written.append(out / name)

    put("config.json", json.dumps(asdict(cfg), indent=2, default=list) + "\n")
    train_rows, train_header = [], None
    for h, r in result["horizons"].items():
        s, split = r["samples"], r["split"]
        part = np.where(split["train"], "train", np.where(split["val"], "val", "test"))
        put(f"samples_h{h}.csv", csv_text(
            ["date", "target_date", "split", "target", *s["feature_names"]],
            [[str(s["dates"][i]), str(s["target_dates"][i]), part[i], repr(float(s["y"][i])),
              *(repr(float(v)) for v in s["x"][i])] for i in range(len(s["y"]))]))
        generic = [n.replace(f"(t+{h})", "(target)") for n in s["feature_names"]]
        train_header = train_header or ["horizon", "role", "date", "target_date", "target", *generic]
        fit, stop = r.get("net_fit", split["train"]), r.get("net_stop", split["val"])
        for i in np.flatnonzero(fit | stop):
            train_rows.append([h, "fit" if fit[i] else "early_stopping", str(s["dates"][i]),
                               str(s["target_dates"][i]), repr(float(s["y"][i])),
                               *(repr(float(v)) for v in s["x"][i])])
        methods = ["issued", "shrunk", "stacked", "network", "ridge", "ridge_anomaly", "climatology",
                   "persistence"]
        bands = [f"{side}_{k}" for k in INTERVALS for side in ("lower", "upper")]
        put(f"predictions_h{h}.csv", csv_text(
            ["target_date", "split", "observed", *methods, *bands, "method"],
            [[str(s["target_dates"][i]), part[i], f"{s['y'][i]:.2f}",
              *(f"{r['predictions'][m][i]:.3f}" for m in methods), *(f"{r['bands'][b][i]:.3f}" for b in bands),
              r["method"]] for i in range(len(s["y"]))]))
    put("training_data.csv", csv_text(train_header, train_rows))
    keys = ["horizon", "method", "split", "mae", "rmse", "skill_vs_persistence", "skill_vs_climatology",
            "chosen", "coverage_80", "coverage_95"]
    put("metrics.csv", csv_text(keys, [[_fmt(r[k]) for k in keys] for r in result["metrics"]]))
    keys = ["horizon", "method", "baseline", "skill", "low_90", "high_90"]
    put("skill.csv", csv_text(keys, [[_fmt(r[k]) for k in keys] for r in result["skill"]]))
    text = (f"# {cfg.city}: test period (target dates after {cfg.val_end})\n\n" + metrics_markdown(result)
            + "\n## Validation period (where the issued method was chosen)\n\n"
            + metrics_markdown(result, "val"))
    if forecast:
        text += "\n## Forecast\n\n" + forecast_table(forecast, cfg.city)
        put("forecast.csv", forecast_rows_csv(forecast))
    put("metrics.md", text)
    if forecaster is not None:
        written.append(forecaster.save(out / "forecaster"))
    if plots:
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
        ax.fill_between(d, r["bands"]["lower_80"][m], r["bands"]["upper_80"][m], alpha=0.25, lw=0,
                        label="80 % interval")
        ax.plot(d, r["samples"]["y"][m], color="black", lw=1, label="observed")
        ax.plot(d, r["predictions"]["issued"][m], lw=1, label=f"issued ({r['method']})")
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
        err = np.abs(r["predictions"]["issued"][m] - r["samples"]["y"][m])
        ax.plot(range(1, 13), [err[months == k].mean() if (months == k).any() else np.nan for k in range(12)],
                marker="o", label=f"{h} d")
    ax.set_xlabel("month of the target date")
    ax.set_ylabel("issued forecast's MAE (°C)")
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
