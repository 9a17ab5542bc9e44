"""Forecasting Budapest's daily mean temperature 1, 7 and 30 days ahead, step by step.

    python examples/forecast_budapest.py [--data PATH_TO_weather_prediction_dataset.csv]

The same steps as ``tanul forecast`` (see docs/forecasting.md), spelled out for a learner.
Without --data the dataset is downloaded once (checksum verified) and cached.
"""

import argparse

import numpy as np

from tanul.datasets import weather
from tanul.forecast import (
    ForecastConfig,
    build_samples,
    climatology,
    forecast_table,
    metrics_markdown,
    run_forecast,
    split_by_target_date,
)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=None)
    args = p.parse_args()

    # 1. the data: 18 places, one row per day, 2000-01-01 .. 2010-01-01
    data = weather(None, path=args.data)
    print(data)
    temp = data["BUDAPEST_temp_mean"]
    print(f"Budapest: mean {temp.mean():.1f} °C, coldest {temp.min():.1f} °C, warmest {temp.max():.1f} °C\n")

    # 2. samples for one horizon: features from days t-6..t only, target T(t+7)
    cfg = ForecastConfig()
    s = build_samples(data, cfg, horizon=7)
    print(f"h=7: {len(s['y'])} samples of {s['x'].shape[1]} features, e.g. {s['feature_names'][:3]} ... "
          f"{s['feature_names'][-4:]}")

    # 3. split by the TARGET date: train 2000-2007, validation 2008, test 2009+
    split = split_by_target_date(s["target_dates"], cfg.train_end, cfg.val_end)
    for part, m in split.items():
        print(f"  {part:5s}: {m.sum():5d} samples, targets {s['target_dates'][m][0]} .. {s['target_dates'][m][-1]}")

    # 4. the two baselines any forecast must beat
    test = split["test"]
    pers = np.abs(s["temp_t"][test] - s["y"][test]).mean()
    clim = climatology(s["target_dates"][split["train"]], s["y"][split["train"]])
    cl = np.abs(clim(s["target_dates"][test]) - s["y"][test]).mean()
    print(f"\nh=7 test MAE: persistence {pers:.2f} °C, climatology {cl:.2f} °C\n")

    # 5. everything: scalers fitted on the training period, ridge, an ensemble of networks (stopped
    #    early on the last training year), the stacked forecast with its weights fitted on the
    #    validation year, intervals from its validation residuals
    result = run_forecast(data, cfg)
    print()
    print(metrics_markdown(result))

    # 6. the forecast itself, as of a day (nothing after it is read), and as of the last day
    fc = result["forecaster"]
    print(forecast_table(fc.forecast(data, as_of="2009-10-27"), "BUDAPEST"))
    print(forecast_table(fc.forecast(data), "BUDAPEST"))


if __name__ == "__main__":
    main()
