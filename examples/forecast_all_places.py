"""The issued forecast on every place of the weather data, with the default settings.

    python examples/forecast_all_places.py --data ../shared/data/weather [--jobs 2] [--write-docs]

For each of the 18 places: test year 2009, MAE (°C) of the issued forecast against climatology,
ridge, the network ensemble and persistence at 1, 7 and 30 days, the method chosen on the
validation year, the 80 % interval coverage, and whether the targets of issue 12 hold (issued
7- and 30-day MAE <= climatology + 0.02; issued 1-day MAE <= ridge + 0.02). With --write-docs the
table replaces the one between the markers in docs/forecasting.md. Same settings for every place;
nothing is tuned per place.
"""

from __future__ import annotations

import os

# one BLAS thread per process: the matrices are small and the places run in parallel processes
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

HORIZONS = (1, 7, 30)
MARK = ("<!-- all-places:start -->", "<!-- all-places:end -->")


def one_place(args: tuple) -> dict:
    city, data_path, seed, ensemble, epochs, periods = args
    from tanul.datasets import weather
    from tanul.forecast import ForecastConfig, Forecaster

    data = weather(None, path=data_path)
    kw = {k: v for k, v in (("ensemble", ensemble), ("epochs", epochs), *periods.items()) if v}
    t0 = time.perf_counter()
    fc = Forecaster(ForecastConfig(city=city, horizons=HORIZONS, seed=seed, **kw)).fit(data)
    out = {"city": city, "seconds": time.perf_counter() - t0}
    for r in fc.result_["metrics"]:
        if r["split"] == "test":
            out[(r["horizon"], r["method"])] = r["mae"]
            if r["method"] == "issued":
                out[(r["horizon"], "chosen")] = r["chosen"]
                out[(r["horizon"], "cov80")] = r["coverage_80"]
                out[(r["horizon"], "cov95")] = r["coverage_95"]
    for r in fc.result_["skill"]:
        if r["method"] == "issued" and r["baseline"] == "climatology":
            out[(r["horizon"], "skill_clim")] = (r["skill"], r["low_90"], r["high_90"])
    return out


def checks(r: dict) -> dict[int, bool]:
    return {1: r[(1, "issued")] <= r[(1, "ridge")] + 0.02,
            7: r[(7, "issued")] <= r[(7, "climatology")] + 0.02,
            30: r[(30, "issued")] <= r[(30, "climatology")] + 0.02}


def table(results: list[dict]) -> str:
    lines = ["| place | issued 1 / 7 / 30 d | chosen (1 / 7 / 30 d) | climatology | ridge 1 d | network 1 / 7 / 30 d | "
             "80 % coverage | 95 % coverage | skill vs climatology 7 d [90 %] | targets |",
             "| --- | --- | --- | ---: | ---: | --- | --- | --- | --- | --- |"]
    for r in results:
        ok = checks(r)
        sk, lo, hi = r[(7, "skill_clim")]
        lines.append(
            f"| {r['city']} | " + " / ".join(f"{r[(h, 'issued')]:.2f}" for h in HORIZONS)
            + " | " + " / ".join(r[(h, "chosen")] for h in HORIZONS)
            + f" | {r[(30, 'climatology')]:.2f} | {r[(1, 'ridge')]:.2f} | "
            + " / ".join(f"{r[(h, 'network')]:.2f}" for h in HORIZONS)
            + " | " + " / ".join(f"{r[(h, 'cov80')]:.0%}" for h in HORIZONS)
            + " | " + " / ".join(f"{r[(h, 'cov95')]:.0%}" for h in HORIZONS)
            + f" | {sk:+.1%} [{lo:+.1%}, {hi:+.1%}] | "
            + ("all met" if all(ok.values()) else "missed " + ", ".join(f"{h} d" for h, v in ok.items() if not v))
            + " |")
    met = sum(all(checks(r).values()) for r in results)
    lines.append("")
    lines.append(f"Targets met on {met} of {len(results)} places.")
    c80 = [r[(h, "cov80")] for r in results for h in HORIZONS]
    c95 = [r[(h, "cov95")] for r in results for h in HORIZONS]
    lines.append(f"Interval coverage over the {len(c80)} place-horizons: 80 % {min(c80):.0%}-{max(c80):.0%} "
                 f"(mean {sum(c80) / len(c80):.1%}; {sum(0.75 <= c <= 0.85 for c in c80)} of {len(c80)} within "
                 f"0.75-0.85), 95 % {min(c95):.0%}-{max(c95):.0%} (mean {sum(c95) / len(c95):.1%}).")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="weather_prediction_dataset.csv or its folder (default: download)")
    p.add_argument("--places", nargs="+", default=None)
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ensemble", type=int, default=None, help="networks per horizon (default: the library's)")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (default: the library's)")
    p.add_argument("--train-end", default=None, help="e.g. 2006-12-31 for the design check (see docs)")
    p.add_argument("--val-end", default=None, help="e.g. 2007-12-31")
    p.add_argument("--test-end", default=None, help="e.g. 2008-12-31")
    p.add_argument("--write-docs", action="store_true", help="put the table into docs/forecasting.md")
    args = p.parse_args()
    from tanul.datasets import weather

    places = args.places or weather(None, path=args.data).cities
    t0 = time.perf_counter()
    periods = {"train_end": args.train_end, "val_end": args.val_end, "test_end": args.test_end}
    jobs = [(c, args.data, args.seed, args.ensemble, args.epochs, periods) for c in places]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as ex:
            results = []
            for r in ex.map(one_place, jobs):
                print(f"{r['city']}: {r['seconds']:.0f} s", flush=True)
                results.append(r)
    else:
        results = [one_place(j) for j in jobs]
    wall = time.perf_counter() - t0
    text = table(results)
    if args.test_end or args.val_end:
        text = (f"Periods: training to {args.train_end}, validation to {args.val_end}, test to "
                f"{args.test_end or 'the end'}.\n\n" + text)
    text += (f"\n`python examples/forecast_all_places.py --jobs {args.jobs}`: {wall / 60:.1f} min wall-clock "
             f"on {os.cpu_count()} CPU(s) (sum over places {sum(r['seconds'] for r in results) / 60:.1f} min).\n")
    print(text)
    if args.write_docs and (args.test_end or args.val_end):
        print("--write-docs writes only the default periods' table", file=sys.stderr)
        return 2
    if args.write_docs:
        doc = Path(__file__).resolve().parents[1] / "docs" / "forecasting.md"
        old = doc.read_text(encoding="utf-8")
        if MARK[0] not in old:
            print(f"no {MARK[0]} marker in {doc}", file=sys.stderr)
            return 1
        head, rest = old.split(MARK[0], 1)
        tail = rest.split(MARK[1], 1)[1]
        doc.write_text(head + MARK[0] + "\n" + text + MARK[1] + tail, encoding="utf-8")
        print(f"wrote the table into {doc}")
    return 0 if all(all(checks(r).values()) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
