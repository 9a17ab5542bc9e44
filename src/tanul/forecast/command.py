"""``tanul forecast``: train, evaluate, save and issue; or issue from a saved forecaster (``--from``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .core import ForecastConfig, ForecastError, parse_date


def add_arguments(p: Any) -> None:
    p.add_argument("--city", default="BUDAPEST", help="a place of the weather data (default BUDAPEST)")
    p.add_argument("--horizons", type=int, nargs="+", default=None, help="days ahead (default 1 7 30)")
    p.add_argument("--data", default=None, help="the weather CSV (or its folder); default: download")
    p.add_argument("--csv", default=None, help="your own daily series (see --date-column ... --inputs)")
    p.add_argument("--date-column", default="date", help="--csv: the date column (default 'date')")
    p.add_argument("--temp-column", default="temperature",
                   help="--csv: the daily mean temperature column in °C (default 'temperature')")
    p.add_argument("--sep", default=",", help="--csv: field separator (default ','; ';' for "
                                              "semicolon-separated exports)")
    p.add_argument("--date-format", default=None, help="--csv: strptime format, e.g. %%Y.%%m.%%d "
                                                       "(default YYYY-MM-DD or YYYYMMDD)")
    p.add_argument("--decimal", default=".", help="--csv: decimal mark, '.' or ','")
    p.add_argument("--inputs", nargs="+", default=None, help="--csv: further numeric columns used as inputs")
    p.add_argument("--as-of", default=None, help="issue the forecast as of this date, reading nothing after "
                                                  "it (default: the last day of the data)")
    p.add_argument("--from", dest="from_dir", default=None,
                   help="a saved forecaster (the --out folder of an earlier run): forecast without training")
    p.add_argument("--out", default="runs/forecast")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs per network")
    p.add_argument("--ensemble", type=int, default=None, help="networks averaged per horizon")
    p.add_argument("--lags", type=int, default=None, help="days of the place's own variables per sample")
    p.add_argument("--train-end", default=None, help="last training target date (default: see docs)")
    p.add_argument("--val-end", default=None, help="last validation target date")
    p.add_argument("--no-plots", action="store_true")


def load_data(args: Any, saved: dict | None = None) -> Any:
    """The data the arguments name: ``--csv`` (with its options), else the weather data."""
    from tanul.datasets.weather import load_temperature_csv, weather

    saved = saved or {}
    if args.csv:
        opts = {"date_column": args.date_column, "temperature_column": args.temp_column, "sep": args.sep,
                "date_format": args.date_format, "decimal": args.decimal,
                "inputs": args.inputs if args.inputs is not None else saved.get("inputs", ())}
        return load_temperature_csv(args.csv, city=saved.get("city", "CUSTOM"), **opts), opts
    if args.inputs:
        raise ForecastError("--inputs goes with --csv (the weather data brings its own variables)")
    return weather(None, path=args.data), None


def _truncate(data: Any, as_of: np.datetime64) -> Any:
    from tanul.datasets.weather import WeatherData

    d = data.dates
    if not d[0] <= as_of <= d[-1]:
        raise ForecastError(f"{data.source}: --as-of {as_of} is outside the data ({d[0]} .. {d[-1]})")
    keep = d <= as_of
    return WeatherData(dates=d[keep], columns={k: v[keep] for k, v in data.columns.items()}, city=data.city,
                       cities=data.cities, units=data.units, source=data.source, notes=data.notes)


def run_command(args: Any) -> int:
    from .forecaster import Forecaster
    from .report import forecast_rows_csv, forecast_table, metrics_markdown, write_outputs

    as_of = parse_date(args.as_of, "--as-of") if args.as_of else None
    if args.from_dir:
        fc = Forecaster.load(args.from_dir)
        saved = fc.config.extra.get("csv") or {}
        if saved and not args.csv and not args.data:
            raise ForecastError(f"{args.from_dir}: this forecaster was trained on a --csv series; give the new "
                                "observations with --csv FILE")
        data, _ = load_data(args, {**saved, "city": fc.config.city} if args.csv else None)
        for note in data.notes:
            print(f"note: {note}")
        rows = fc.forecast(data, as_of=as_of)
        print(f"Forecaster from {args.from_dir} ({fc.columns_.get('trained_on', '?')}), data {data.source}")
        if np.datetime64(rows[0]["issued"]) <= np.datetime64(fc.config.val_end):
            print(f"note: the forecaster was fitted on targets up to {fc.config.val_end}, after --as-of: a "
                  "hindcast, not an honest forecast")
        print("\n" + forecast_table(rows, fc.config.city))
        from .report import atomic_text
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_text(out / "forecast.csv", forecast_rows_csv(rows))
        print(f"Wrote: {out / 'forecast.csv'}")
        return 0
    data, csv_opts = load_data(args)
    for note in data.notes:
        print(f"note: {note}")
    full = data
    if as_of is not None:
        data = _truncate(data, as_of)   # training, too, sees nothing after --as-of
    city = data.city or args.city.upper()
    if data.city is None and city not in data.cities:
        raise ForecastError(f"unknown city {args.city!r}; known: {', '.join(data.cities)}")
    kw: dict[str, Any] = {k: getattr(args, k) for k in ("epochs", "ensemble", "lags", "horizons", "train_end",
                                                         "val_end") if getattr(args, k) is not None}
    if csv_opts:
        kw["variables"] = ("temp_mean", *csv_opts["inputs"])
        kw["extra"] = {"csv": {k: v for k, v in csv_opts.items()}}
    cfg = ForecastConfig(city=city, seed=args.seed, **kw)
    print(f"Forecasting {city}'s daily mean temperature {', '.join(map(str, cfg.horizons))} day(s) ahead "
          f"({len(data)} days, {data.dates[0]} .. {data.dates[-1]})", flush=True)
    fc = Forecaster(cfg).fit(data, verbose=1)
    rows = fc.forecast(full, as_of=as_of)   # reads nothing after as_of but the 'observed' values
    result = fc.result_
    written = write_outputs(result, args.out, forecaster=fc, forecast=rows, plots=not args.no_plots)
    print("\n" + metrics_markdown(result))
    print(forecast_table(rows, city))
    print("Wrote:")
    for p in written:
        print(f"  {p}")
    return 0


