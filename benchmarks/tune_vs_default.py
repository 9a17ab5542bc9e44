"""Tuned vs default hyperparameters, measured: digits (MLP) and the temperature forecaster.

    python benchmarks/tune_vs_default.py [--trials-digits 40] [--trials-forecast 30]
                                         [--weather PATH] [--seeds 3] [--markdown out.md]

Protocol (the same for both settings): the search chooses on the validation split only; then
the default settings and the best trial's settings are each trained from ``--seeds`` seeds
under the same rules (early stopping on the validation loss, best-epoch weights) and evaluated
on the validation and the test split; the table gives the mean over the seeds (and the range).

* digits: ``tanul tune --model mlp`` (its default space, TPE + median pruning); defaults =
  ``tanul train``'s (2 ReLU layers 128-64, Adam lr 1e-3, batch 64), at most 30 epochs,
  patience 5. Validation: a stratified 20 % of the training images; test: the 450 held-out.
* forecast: ``tanul.forecast``'s samples for Budapest's daily mean temperature 1 and 7 days
  ahead (public functions only: ``build_samples``, ``split_by_target_date``, ``climatology``);
  the network learns the standardised departure from climatology as in ``run_forecast``;
  validation = targets in 2008, test = 2009 onwards; defaults = ``ForecastConfig()``'s network
  (ReLU 64-32, dropout 0.2, L2 1e-3, Adam lr 1e-3, batch 64, patience 25, at most 300 epochs);
  single networks (``run_forecast`` averages 5).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

FORECAST_SPACE = {
    "epochs": 300, "patience": 25,
    "layers": {"type": "int", "low": 1, "high": 3},
    "units": {"type": "int", "low": 16, "high": 256, "log": True},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "l2": {"type": "categorical", "choices": [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1]},
    "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "batch_size": {"type": "categorical", "choices": [32, 64, 128, 256]},
}


def _fit(net, x, y, xv, yv, p, epochs, patience):
    from tanul.callbacks import EarlyStopping

    net.fit(x, y, epochs=int(p.get("epochs", epochs)), batch_size=int(p["batch_size"]), verbose=0,
            validation_data=(xv, yv),
            callbacks=[EarlyStopping(patience=int(p.get("patience", patience)), restore_best_weights=True)])
    return net


def _summary(vals):
    return statistics.mean(vals), min(vals), max(vals)


# ---------------------------------------------------------------------- digits
def digits(trials: int, seeds: int, folder: Path) -> list[str]:
    from tanul.cli import main as cli
    from tanul.jobs import adapt_images, load_image_dataset
    from tanul.preprocessing import train_test_split
    from tanul.tune.models import DEFAULTS, build

    out = folder / "digits"
    rc = cli(["tune", "--model", "mlp", "--dataset", "digits", "--trials", str(trials), "--out", str(out),
              "--seed", "0", "--quiet"])
    assert rc == 0
    best = json.loads((out / "best.json").read_text())
    (x_tr, y_tr), (x_te, y_te) = load_image_dataset("digits", seed=0)
    shape = build("mlp", {}, x_tr.shape[1:], 10).input_shape
    x_tr, x_te = adapt_images(x_tr, shape), adapt_images(x_te, shape)
    x_fit, x_val, y_fit, y_val = train_test_split(x_tr, y_tr, test_size=0.2, stratify=y_tr, seed=0)
    rows = []
    for label, params in (("defaults", {}), (f"tuned (best of {trials} trials)", best["params"])):
        p = {**DEFAULTS["mlp"], **params}
        res = {k: [] for k in ("val_loss", "val_acc", "test_loss", "test_acc")}
        for s in range(seeds):
            net = _fit(build("mlp", {**params, "seed": s}, x_tr.shape[1:], 10), x_fit, y_fit, x_val, y_val,
                       p, 30, 5)
            v, t = net.evaluate(x_val, y_val), net.evaluate(x_te, y_te)
            res["val_loss"].append(v["loss"])
            res["val_acc"].append(v["accuracy"])
            res["test_loss"].append(t["loss"])
            res["test_acc"].append(t["accuracy"])
        m = {k: _summary(v) for k, v in res.items()}
        rows.append(f"| digits, MLP | {label} | {m['val_loss'][0]:.4f} | {100 * m['val_acc'][0]:.2f} % | "
                    f"{m['test_loss'][0]:.4f} | {100 * m['test_acc'][0]:.2f} % "
                    f"({100 * m['test_acc'][1]:.2f}-{100 * m['test_acc'][2]:.2f}) |")
    text = ("| task | settings | val loss | val accuracy | test loss | test accuracy (range) |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(rows))
    text += f"\n\nBest digits trial #{best['number']}: {json.dumps(best['params'])}; study: {best['trials']}\n"
    return [text]


# ---------------------------------------------------------------------- forecast
def forecast(trials: int, seeds: int, weather_path: str | None, horizons: list[int]) -> list[str]:
    import tanul
    from tanul.datasets import weather
    from tanul.forecast import ForecastConfig, build_samples, climatology, split_by_target_date
    from tanul.preprocessing import StandardScaler
    from tanul.regularizers import L2
    from tanul.tune import search

    cfg = ForecastConfig()
    data = weather(city=cfg.city, path=weather_path)
    out = []
    for h in horizons:
        short = h <= cfg.short_horizon      # the forecaster's own settings for this horizon
        default = {"layers": len(cfg.hidden), "units": cfg.hidden[0],
                   "dropout": cfg.short_dropout if short else cfg.dropout,
                   "l2": cfg.short_l2 if short else cfg.l2,
                   "lr": cfg.lr, "batch_size": cfg.batch_size, "epochs": cfg.epochs, "patience": cfg.patience}
        s = build_samples(data, cfg, h)
        split = split_by_target_date(s["target_dates"], cfg.train_end, cfg.val_end)
        tr, va, te = split["train"], split["val"], split["test"]
        x = StandardScaler().fit(s["x"][tr]).transform(s["x"]).astype(np.float32)
        base = climatology(s["target_dates"][tr], s["y"][tr], cfg.climatology_window)(s["target_dates"])
        target = s["y"] - base
        ys = StandardScaler().fit(target[tr])
        z = ys.transform(target).astype(np.float32).reshape(-1, 1)

        def build(p, n_in=x.shape[1]):
            layers, units = [], int(p["units"])
            for i in range(int(p["layers"])):
                # ForecastConfig's 64-32: each further layer has half the units
                layers.append(tanul.Dense(max(units // (2 ** i), 4), activation="relu",
                                          kernel_regularizer=L2(p["l2"]) if p["l2"] else None))
                if p["dropout"]:
                    layers.append(tanul.Dropout(p["dropout"]))
            layers.append(tanul.Dense(1))
            net = tanul.Sequential(layers, seed=p["seed"], input_shape=(n_in,), name="forecaster")
            net.compile(optimizer=tanul.Adam(lr=p["lr"]), loss="mse")
            return net

        study, _ = search(build, FORECAST_SPACE, x[tr], z[tr], validation_data=(x[va], z[va]), trials=trials,
                          pruner="median", seed=0, enqueue=[default], verbose=0)
        best = study.best_params
        rows = []
        for label, params in (("defaults (ForecastConfig)", default), (f"tuned (best of {trials})", best)):
            p = {**default, **params}
            mae = {"val": [], "test": []}
            for seed in range(seeds):
                net = _fit(build({**p, "seed": 1000 + seed}), x[tr], z[tr], x[va], z[va], p, 300, 25)
                pred = base + ys.inverse_transform(net.predict(x).ravel().astype(np.float64))
                for part, m in (("val", va), ("test", te)):
                    mae[part].append(float(np.mean(np.abs(pred[m] - s["y"][m]))))
            v, t = _summary(mae["val"]), _summary(mae["test"])
            rows.append(f"| forecast {h} d, network | {label} | {v[0]:.3f} °C ({v[1]:.3f}-{v[2]:.3f}) | "
                        f"{t[0]:.3f} °C ({t[1]:.3f}-{t[2]:.3f}) |")
        c = {}
        for t_ in study.trials:
            c[t_.state.name] = c.get(t_.state.name, 0) + 1
        out.append("| task | settings | val MAE (range) | test MAE (range) |\n|---|---|---|---|\n"
                   + "\n".join(rows) + f"\n\nBest {h}-day trial #{study.best_trial.number}: "
                   + json.dumps({k: (round(v, 5) if isinstance(v, float) else v) for k, v in best.items()})
                   + f"; study: {c}\n")
        print(out[-1], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials-digits", type=int, default=40)
    ap.add_argument("--trials-forecast", type=int, default=30)
    ap.add_argument("--horizons", type=int, nargs="+", default=[1, 7])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--weather", default=None, help="weather_prediction_dataset.csv (default: download)")
    ap.add_argument("--skip", choices=["digits", "forecast"], default=None)
    ap.add_argument("--markdown", default=None)
    args = ap.parse_args()
    parts = []
    with tempfile.TemporaryDirectory() as d:
        if args.skip != "digits":
            parts += digits(args.trials_digits, args.seeds, Path(d))
            print(parts[-1], flush=True)
        if args.skip != "forecast":
            parts += forecast(args.trials_forecast, args.seeds, args.weather, args.horizons)
    text = "\n".join(parts)
    if args.markdown:
        Path(args.markdown).write_text(text)
    sys.stdout.write("\n" + text)


if __name__ == "__main__":
    main()
