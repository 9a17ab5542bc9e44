"""Small synthetic daily weather for the forecast tests: two places, red-noise anomalies on a
seasonal cycle, place B one day ahead of place A (shared by several test files)."""

import numpy as np

from tanul.datasets.weather import WeatherData
from tanul.forecast import day_of_year


def seasonal_series(years=5, seed=0, winter_noise=1.0):
    """Red-noise anomalies on a seasonal cycle; ``winter_noise`` multiplies the noise in winter."""
    rng = np.random.default_rng(seed)
    dates = np.datetime64("2000-01-01") + np.arange(365 * years + 1)
    doy = day_of_year(dates)
    winter = 0.5 + 0.5 * np.cos(2 * np.pi * doy / 365.25)          # 1 in January, 0 in July
    sd = 1.5 * (1 + (winter_noise - 1) * winter)
    anomaly = np.zeros(len(dates))
    for i in range(1, len(dates)):
        anomaly[i] = 0.8 * anomaly[i - 1] + rng.normal(0, sd[i])
    temp = 10 - 10 * np.cos(2 * np.pi * doy / 365.25) + anomaly
    cols = {"A_temp_mean": temp, "A_pressure": 1 + 0.01 * rng.normal(size=len(dates)),
            "B_temp_mean": np.roll(temp, -1) + rng.normal(0, 1, len(dates))}
    return WeatherData(dates=dates, columns=cols, city=None, cities=["A", "B"],
                       units={"A_temp_mean": "°C", "A_pressure": "1000 hPa", "B_temp_mean": "°C"},
                       source="synthetic")
