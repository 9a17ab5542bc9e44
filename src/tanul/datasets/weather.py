"""Daily weather of 18 European places, 2000-2010 (Huber et al.), and any temperature CSV.

The dataset: F. Huber et al., "Weather prediction dataset" (Zenodo, DOI 10.5281/zenodo.7525955,
MIT licence), built from ECA&D observations (Klein Tank et al., 2002, Int. J. Climatol. 22,
1441-1453). One row per day from 2000-01-01 to 2010-01-01, columns ``DATE`` (YYYYMMDD),
``MONTH`` and ``<PLACE>_<variable>``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["WeatherData", "weather", "load_temperature_csv", "WEATHER_SHA256", "WEATHER_URLS", "UNITS"]

WEATHER_SHA256 = "6d5bf0b2cc53292603e710f2562f0296f9b1bd6782ecdfd70e3d6df07c358363"
WEATHER_FILE = "weather_prediction_dataset.csv"
WEATHER_URLS = (
    "https://zenodo.org/records/7525955/files/weather_prediction_dataset.csv?download=1",
    "https://raw.githubusercontent.com/florian-huber/weather_prediction_dataset/main/dataset/"
    "weather_prediction_dataset.csv",
)
#: units of each variable, as converted by the dataset's authors (metadata.txt)
UNITS = {
    "temp_mean": "°C", "temp_min": "°C", "temp_max": "°C", "cloud_cover": "oktas",
    "wind_speed": "m/s", "wind_gust": "m/s", "humidity": "fraction of 100 %",
    "pressure": "1000 hPa", "global_radiation": "100 W/m²", "precipitation": "cm",
    "sunshine": "hours",
}


@dataclass
class WeatherData:
    """A dated table: ``dates`` (datetime64[D]) and ``columns`` (name -> float64 array).

    ``columns`` is keyed by the variable name (``"temp_mean"``) for one place, or by the full
    column name (``"BUDAPEST_temp_mean"``) when several places are loaded. ``cities`` lists every
    place in the file; ``units`` maps each column to its unit.
    """

    dates: np.ndarray
    columns: dict[str, np.ndarray]
    city: str | None
    cities: list[str] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)
    source: str = ""
    notes: list[str] = field(default_factory=list)  #: what the loader did (interpolated gaps...)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; columns: {', '.join(self.columns)}") from None

    def __len__(self) -> int:
        return len(self.dates)

    def to_frame(self) -> Any:
        """A pandas DataFrame indexed by date (needs pandas)."""
        import pandas as pd
        return pd.DataFrame(self.columns, index=pd.DatetimeIndex(self.dates, name="date"))

    def __repr__(self) -> str:
        where = self.city or f"{len(self.cities)} places"
        return (f"WeatherData({where}, {len(self.dates)} days {self.dates[0]} .. {self.dates[-1]}, "
                f"{len(self.columns)} columns)")


def _fetch(cache_dir: Any) -> Path:
    try:
        import pooch
    except ImportError as exc:
        raise ImportError("downloading the weather data needs pooch: pip install 'tanul[data]' "
                          "(or pass path= the CSV file)") from exc
    folder = Path(cache_dir) if cache_dir is not None else Path(pooch.os_cache("tanul")) / "weather"
    if not (folder / WEATHER_FILE).exists():
        pooch.get_logger().setLevel("WARNING")
    errors = []
    for url in WEATHER_URLS:
        try:
            return Path(pooch.retrieve(url, known_hash=f"sha256:{WEATHER_SHA256}", fname=WEATHER_FILE,
                                       path=folder, progressbar=False))
        except Exception as exc:  # noqa: BLE001 - try the next source
            errors.append(f"{url.split('/')[2]}: {type(exc).__name__}")
    from tanul.datasets.mnist import DownloadError
    raise DownloadError(f"could not download {WEATHER_FILE} ({'; '.join(errors)}); pass path= the "
                        "CSV file or its folder")


def _parse_date(text: str, path: Path, row: int, date_format: str | None = None,
                column: str = "DATE") -> np.datetime64:
    t = text.strip()
    try:
        if date_format:
            import datetime as _dt
            return np.datetime64(_dt.datetime.strptime(t, date_format).date(), "D")
        if len(t) == 8 and t.isdigit():
            return np.datetime64(f"{t[:4]}-{t[4:6]}-{t[6:]}", "D")
        if len(t) != 10:
            raise ValueError(t)
        return np.datetime64(t, "D")
    except ValueError:
        want = date_format or "YYYYMMDD or YYYY-MM-DD"
        raise ValueError(f"{path}: row {row}, column {column!r}: malformed date {text[:40]!r} (expected "
                         f"{want})") from None


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    header, rows, _ = _read_rows(path, ",")
    return header, rows


def _column(rows: list[list[str]], j: int, name: str, path: Path) -> np.ndarray:
    out = np.empty(len(rows))
    for i, r in enumerate(rows):
        cell = r[j].strip() if j < len(r) else ""
        try:
            v = float(cell)
        except ValueError:
            v = float("nan")
        if cell == "" or not np.isfinite(v) or v == -9999:
            what = "missing" if cell == "" or v == -9999 else f"malformed ({cell!r})"
            raise ValueError(f"{path}: column {name!r}, row {i + 2}: value {what}; tanul does not "
                             "fill gaps silently: clean the file or drop the column")
        out[i] = v
    return out


def weather(city: str | None = "BUDAPEST", path: str | os.PathLike | None = None,
            cache_dir: Any = None) -> WeatherData:
    """Load the European daily weather dataset for one place (or all with ``city=None``).

    Parameters
    ----------
    city : str or None
        A place name as in the file (``"BUDAPEST"``, ``"DE_BILT"``...; case-insensitive), or
        ``None`` for every column of every place.
    path : file or folder, optional
        A local copy of ``weather_prediction_dataset.csv``. Without it the file is downloaded
        once (SHA-256 checked) and cached (extra ``data``).

    Raises
    ------
    ValueError
        Unknown city (the message lists the known ones), a malformed date, a missing or
        malformed value (named by column and row).
    """
    if path is None:
        file = _fetch(cache_dir)
    else:
        file = Path(path)
        if file.is_dir():
            file = file / WEATHER_FILE
        if not file.exists():
            raise FileNotFoundError(f"weather: no such file {file}")
    header, rows = _read_csv(file)
    if "DATE" not in header:
        raise ValueError(f"{file}: no DATE column; found {', '.join(header[:8])}...")
    di = header.index("DATE")
    dates = np.array([_parse_date(r[di], file, i + 2) for i, r in enumerate(rows)], dtype="datetime64[D]")
    if len(dates) > 1 and not (np.diff(dates).astype(int) > 0).all():
        bad = int(np.flatnonzero(np.diff(dates).astype(int) <= 0)[0]) + 3
        raise ValueError(f"{file}: dates are not strictly increasing (row {bad})")
    known = [v for v in UNITS]
    cities = sorted({h.split("_" + v)[0] for h in header for v in known if h.endswith("_" + v)})
    if city is not None:
        key = city.upper().replace(" ", "_")
        if key not in cities:
            raise ValueError(f"weather: unknown city {city!r}; known: {', '.join(cities)}")
        names = [h for h in header if h.startswith(key + "_") and h[len(key) + 1:] in UNITS]
        columns = {h[len(key) + 1:]: _column(rows, header.index(h), h, file) for h in names}
        units = {k: UNITS[k] for k in columns}
    else:
        key = None
        names = [h for h in header if h not in ("DATE", "MONTH")]
        columns = {h: _column(rows, header.index(h), h, file) for h in names}
        units = {h: next((u for v, u in UNITS.items() if h.endswith("_" + v)), "") for h in columns}
    return WeatherData(dates=dates, columns=columns, city=key, cities=cities, units=units, source=str(file))


def load_temperature_csv(path: str | os.PathLike, date_column: str = "date",
                         temperature_column: str = "temperature", city: str = "CUSTOM", *, sep: str = ",",
                         date_format: str | None = None, decimal: str = ".", inputs: Any = (),
                         max_gap: int = 3) -> WeatherData:
    """Load any daily series: a CSV with a header, a date column and a temperature column in °C.

    Example file (``sep=";", decimal=","``, as the Hungarian weather service exports)::

        date;temperature;pressure
        2020-10-25;9,8;1012,3
        2020-10-26;11,2;1009,8

    Parameters
    ----------
    date_column, temperature_column : str
        Header names of the date and the temperature.
    sep, decimal : str
        Field separator and decimal mark (``","`` turns ``"9,8"`` into 9.8).
    date_format : str, optional
        A :func:`datetime.strptime` format (``"%Y.%m.%d"``); default ``YYYY-MM-DD`` or ``YYYYMMDD``.
    inputs : sequence of str
        Further numeric columns to load (they become inputs of the forecast).
    max_gap : int, default 3
        Runs of up to ``max_gap`` missing days (absent rows or empty cells) are filled by linear
        interpolation and listed in ``notes``; longer gaps stay NaN, so that the forecast's
        windows that cross them are dropped (never filled silently).

    Returns
    -------
    WeatherData
        The columns ``temp_mean`` and each input, one row per calendar day from the first to the
        last date.

    Raises
    ------
    ValueError
        Naming the file, the row and the column: a missing column, a short row, a malformed date,
        duplicate or unsorted dates, a non-numeric cell, a field too large for the CSV reader.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"load_temperature_csv: no such file {file}")
    if not isinstance(sep, str) or len(sep) != 1 or sep in "\"\r\n":
        raise ValueError(f"{file}: --sep must be one character (not a quote or newline), got {sep!r}")
    if decimal not in (".", ","):
        raise ValueError(f"{file}: --decimal must be '.' or ',', got {decimal!r}")
    if decimal == sep:
        raise ValueError(f"{file}: --decimal and --sep are both {sep!r}")
    inputs = [str(c) for c in (inputs or ())]
    header, rows, lines = _read_rows(file, sep)
    wanted = [date_column, temperature_column, *inputs]
    for c in wanted:
        if c not in header:
            raise ValueError(f"{file}: no column {c!r}; the header (sep {sep!r}) has {', '.join(header)}")
    idx = {c: header.index(c) for c in wanted}
    need = max(idx.values()) + 1
    for r, line in zip(rows, lines):
        if len(r) < need:
            short = [c for c in wanted if idx[c] >= len(r)]
            raise ValueError(f"{file}: row {line} has {len(r)} field(s), the header has {len(header)} "
                             f"(no value for column {short[0]!r})")
    di = idx[date_column]
    dates = np.array([_parse_date(r[di], file, line, date_format, date_column) for r, line in zip(rows, lines)],
                     dtype="datetime64[D]")
    if len(dates) < 2:
        raise ValueError(f"{file}: expected at least 2 days of data, got {len(dates)}")
    steps = np.diff(dates).astype(int)
    if (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0])
        what = "duplicate date" if steps[i] == 0 else "dates not in increasing order"
        raise ValueError(f"{file}: row {lines[i + 1]}, column {date_column!r}: {what} ({dates[i + 1]} after "
                         f"{dates[i]} on row {lines[i]}); expected one row per day, sorted")
    n = int((dates[-1] - dates[0]).astype(int)) + 1
    pos = (dates - dates[0]).astype(int)
    full = dates[0] + np.arange(n)
    columns, notes = {}, []
    for c in [temperature_column, *inputs]:
        v = np.full(n, np.nan)
        v[pos] = [_number(r[idx[c]], decimal, file, line, c) for r, line in zip(rows, lines)]
        name = "temp_mean" if c == temperature_column else c
        columns[name] = _fill_gaps(v, full, max_gap, name, notes)
    units = {k: ("°C" if k == "temp_mean" else "") for k in columns}
    key = city.upper()
    return WeatherData(dates=full, columns=columns, city=key, cities=[key], units=units, source=str(file),
                       notes=notes)


def _read_rows(file: Path, sep: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, non-empty rows and their line numbers; CSV errors name the line."""
    rows, lines = [], []
    with open(file, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=sep)
        try:
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{file}: the file is empty")
            for r in reader:
                if r and any(c.strip() for c in r):
                    rows.append(r)
                    lines.append(reader.line_num)
        except csv.Error as exc:
            raise ValueError(f"{file}: row {reader.line_num}: unreadable CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise ValueError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return [h.strip() for h in header], rows, lines


def _number(cell: str, decimal: str, file: Path, line: int, column: str) -> float:
    t = cell.strip()
    if t == "" or t.upper() in ("NA", "NAN", "-9999"):
        return float("nan")  # a missing value: the gap rule decides
    if decimal == ",":
        t = t.replace(",", ".")
    try:
        v = float(t)
    except ValueError:
        v = float("nan")
    if not np.isfinite(v) or len(t) > 64:
        raise ValueError(f"{file}: row {line}, column {column!r}: not a number ({cell[:40]!r}"
                         f"{'...' if len(cell) > 40 else ''}; decimal mark {decimal!r})")
    return v


def _fill_gaps(v: np.ndarray, dates: np.ndarray, max_gap: int, name: str, notes: list[str]) -> np.ndarray:
    """Interpolate runs of at most ``max_gap`` NaN between two values; report each run."""
    miss = ~np.isfinite(v)
    if not miss.any():
        return v
    edges = np.flatnonzero(np.diff(np.concatenate([[0], miss.astype(int), [0]])))
    for a, b in zip(edges[::2], edges[1::2]):   # missing rows a .. b-1
        span = f"{dates[a]}" + (f" .. {dates[b - 1]}" if b - 1 > a else "")
        if b - a <= max_gap and a > 0 and b < len(v):
            v[a:b] = np.interp(np.arange(a, b), [a - 1, b], [v[a - 1], v[b]])
            notes.append(f"{name}: interpolated {b - a} missing day(s) {span}")
        else:
            notes.append(f"{name}: left a gap of {b - a} day(s) {span} (windows crossing it are dropped)")
    return v
