"""Forecasting a place's daily mean temperature h days ahead, honestly, and issuing the forecast.

The steps, each a function so that a learner can run them one by one
(``examples/forecast_budapest.py`` does):

1. :func:`build_samples`: for every day *t*, features from days ``t−L+1 .. t`` only (the last L
   days of the place's variables, day *t* of the other places' variables, the day of year of
   *t* and of the target day as sin/cos) and the target ``temp_mean[t + h]``.
2. :func:`split_by_target_date`: chronological train / validation / test split by the
   *target* date (default on the weather data: targets in 2000-2007 / 2008 / 2009). A sample's
   features may reach back into an earlier period: that is the past, which a real forecaster
   sees too; no sample ever sees a day after its own day *t*.
3. Scalers (features and the network's target) fitted on the training period only.
4. Baselines: persistence (``T̂(t+h) = T(t)``), climatology (the training years' mean for the
   target's day of year, smoothed over 31 days) and a ridge regression on the same features.
5. An ensemble of tanul networks per horizon, learning the departure from climatology, with
   early stopping on the last training year.
6. The **issued** forecast per horizon, fitted on the validation year only: the stacked
   combination of the network ensemble, ridge, ridge_anomaly and climatology
   (:func:`fit_stack`), of whose departure from climatology a share κ is kept (1 at 1 day, 0.15 at
   a week, 0.10 beyond); intervals from the validation residuals.

:class:`Forecaster` holds all of it (``fit``, ``forecast``, ``save``, ``load``);
``tanul forecast`` runs it from the command line; :func:`run_forecast` returns the evaluation.
"""

from __future__ import annotations

from typing import Any

from .command import add_arguments, run_command
from .core import (  # noqa: F401 - the constants are importable, not API-page entries
    ALTERNATIVES,
    INTERVAL_RULES,
    INTERVAL_YEARS,
    INTERVALS,
    ISSUE_RULES,
    METHODS,
    OWN_VARIABLES,
    STACK_MEMBERS,
    ForecastConfig,
    ForecastError,
    apply_stack,
    block_bootstrap_skill,
    build_samples,
    choose_method,
    climatology,
    climatology_table,
    coverage,
    day_of_year,
    default_periods,
    fit_ridge,
    fit_shrinkage,
    fit_stack,
    horizon_inputs,
    interval_offsets,
    interval_rows,
    persistence,
    seasonal_scale,
    skill,
    split_by_target_date,
    stack_members,
)
from .forecaster import Forecaster
from .report import (
    FORECAST_COLUMNS,  # noqa: F401
    forecast_rows_csv,
    forecast_table,
    metrics_markdown,
    write_outputs,
)

__all__ = ["ForecastConfig", "ForecastError", "Forecaster", "build_samples", "split_by_target_date",
           "persistence", "climatology", "climatology_table", "fit_ridge", "fit_shrinkage", "fit_stack",
           "apply_stack", "choose_method",
           "run_forecast", "write_outputs", "day_of_year", "default_periods", "interval_offsets", "coverage",
           "interval_rows", "seasonal_scale", "horizon_inputs", "stack_members",
           "skill", "block_bootstrap_skill", "metrics_markdown", "forecast_table", "forecast_rows_csv",
           "add_arguments", "run_command"]


def run_forecast(data: Any, cfg: ForecastConfig | None = None, verbose: int = 1) -> dict[str, Any]:
    """Fit a :class:`Forecaster` and return its evaluation: ``{"config", "horizons": {h: {...}},
    "metrics": rows, "skill": rows, "forecaster"}``. Each horizon holds the samples, split masks,
    every method's predictions (°C) for every sample (``issued`` included), the interval bands,
    the networks, the scalers and the method chosen; ``metrics`` lists ``{"horizon", "method",
    "split", "mae", "rmse", "skill_vs_persistence", "skill_vs_climatology", "chosen",
    "coverage_80", "coverage_95"}``."""
    fc = Forecaster(cfg).fit(data, verbose=verbose)
    return {**fc.result_, "forecaster": fc}
