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


def _parse_date(text: str, path: Path, row: int) -> np.datetime64:
    t = text.strip()
    try:
        if len(t) == 8 and t.isdigit():
            return np.datetime64(f"{t[:4]}-{t[4:6]}-{t[6:]}", "D")
        return np.datetime64(t, "D")
    except ValueError:
        raise ValueError(f"{path}: row {row}: malformed date {text!r} (expected YYYYMMDD or "
                         "YYYY-MM-DD)") from None


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    return [h.strip() for h in rows[0]], [r for r in rows[1:] if r and any(c.strip() for c in r)]


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
                         temperature_column: str = "temperature", city: str = "CUSTOM") -> WeatherData:
    """Load any daily series: a CSV with a header, a date column (``YYYY-MM-DD`` or ``YYYYMMDD``)
    and a temperature column in °C, one row per day, consecutive days, no gaps.

    Example file::

        date,temperature
        1901-01-01,-3.2
        1901-01-02,-4.0

    Returns a :class:`WeatherData` with the single column ``temp_mean``, ready for
    :func:`tanul.forecast.run_forecast` (temperature-only features).
    """
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"load_temperature_csv: no such file {file}")
    header, rows = _read_csv(file)
    for c in (date_column, temperature_column):
        if c not in header:
            raise ValueError(f"{file}: no column {c!r}; the header has {', '.join(header)}")
    di = header.index(date_column)
    dates = np.array([_parse_date(r[di], file, i + 2) for i, r in enumerate(rows)], dtype="datetime64[D]")
    if len(dates) < 2:
        raise ValueError(f"{file}: expected at least 2 days of data, got {len(dates)}")
    steps = np.diff(dates).astype(int)
    if (steps != 1).any():
        i = int(np.flatnonzero(steps != 1)[0])
        raise ValueError(f"{file}: rows {i + 2} and {i + 3} are {steps[i]} days apart ({dates[i]} -> "
                         f"{dates[i + 1]}); expected consecutive days without gaps")
    temp = _column(rows, header.index(temperature_column), temperature_column, file)
    return WeatherData(dates=dates, columns={"temp_mean": temp}, city=city.upper(), cities=[city.upper()],
                       units={"temp_mean": "°C"}, source=str(file))
