"""The networks ``tanul tune --model`` searches over, built from their hyperparameters.

Each builder takes the sampled values (missing ones take the default of :data:`DEFAULTS`) and
returns a compiled :class:`tanul.Sequential` for cross-entropy on ``num_classes`` classes. The
training hyperparameters ``epochs``, ``patience`` and ``batch_size`` are read by the search,
not by the builders.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULTS", "TRAINING", "build", "MODELS"]

#: hyperparameters every model understands (read by the search loop, not the builder)
TRAINING = {"epochs": 20, "patience": 5, "batch_size": 64}
_OPT = {"lr": 1e-3, "optimizer": "adam", "momentum": 0.9, "l2": 0.0}

#: every hyperparameter each model knows, with its default (``tanul train``'s settings)
DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp": {**TRAINING, **_OPT, "layers": 2, "units": 128, "shrink": 0.5, "activation": "relu",
            "dropout": 0.0},
    "lenet5": {**TRAINING, **_OPT, "activation": "tanh", "filters1": 6, "filters2": 16, "dense1": 120,
               "dense2": 84, "dropout": 0.0},
    "simple_cnn": {**TRAINING, **_OPT, "filters": 16, "kernel": 3, "dense": 64, "activation": "relu",
                   "dropout": 0.0},
}
MODELS = tuple(DEFAULTS)


def _values(model: str, params: dict[str, Any]) -> dict[str, Any]:
    if model not in DEFAULTS:
        raise ValueError(f"unknown model {model!r}: expected one of {', '.join(MODELS)}")
    unknown = sorted(set(params) - set(DEFAULTS[model]) - {"seed"})
    if unknown:
        raise ValueError(f"unknown hyperparameter {unknown[0]!r} for model {model}; expected one of "
                         f"{', '.join(DEFAULTS[model])}")
    return {**DEFAULTS[model], **params}


def _compile(net: Any, p: dict[str, Any]) -> Any:
    from tanul import optimizers

    cls = type(optimizers.get(str(p["optimizer"])))   # validates the name
    kwargs = {"lr": float(p["lr"])}
    if p["optimizer"] == "sgd":
        kwargs["momentum"] = float(p["momentum"])
    opt = cls(**kwargs)
    net.compile(optimizer=opt, loss="cross_entropy", metrics=["accuracy"])
    return net


def build(model: str, params: dict[str, Any], input_shape: tuple[int, ...], num_classes: int,
          seed: int = 0) -> Any:
    """A compiled network ``model`` (``mlp``, ``lenet5`` or ``simple_cnn``) for NCHW images of
    ``input_shape`` (LeNet-5 reads 28x28: feed it ``tanul.jobs.adapt_images`` output)."""
    from tanul import Conv2D, Dense, Dropout, Flatten, MaxPool2D, Sequential
    from tanul.regularizers import L2

    p = _values(model, params)
    reg = L2(float(p["l2"])) if p["l2"] else None
    act = str(p["activation"])
    drop = float(p["dropout"])
    layers: list = []
    if model == "mlp":
        layers.append(Flatten())
        units = int(p["units"])
        for _ in range(int(p["layers"])):
            layers.append(Dense(units, activation=act, kernel_regularizer=reg))
            if drop:
                layers.append(Dropout(drop))
            units = max(8, int(round(units * float(p["shrink"]))))
        shape = tuple(input_shape)
    elif model == "lenet5":
        layers += [Conv2D(int(p["filters1"]), 5, padding=2, activation=act, kernel_regularizer=reg),
                   MaxPool2D(2),
                   Conv2D(int(p["filters2"]), 5, activation=act, kernel_regularizer=reg),
                   MaxPool2D(2), Flatten(),
                   Dense(int(p["dense1"]), activation=act, kernel_regularizer=reg)]
        if drop:
            layers.append(Dropout(drop))
        layers.append(Dense(int(p["dense2"]), activation=act, kernel_regularizer=reg))
        if drop:
            layers.append(Dropout(drop))
        shape = (input_shape[0], 28, 28)
    else:  # simple_cnn
        k = int(p["kernel"])
        layers += [Conv2D(int(p["filters"]), k, padding=k // 2, activation=act, kernel_regularizer=reg),
                   MaxPool2D(2), Flatten()]
        if int(p["dense"]) > 0:
            layers.append(Dense(int(p["dense"]), activation=act, kernel_regularizer=reg))
            if drop:
                layers.append(Dropout(drop))
        shape = tuple(input_shape)
    layers.append(Dense(num_classes))
    net = Sequential(layers, seed=int(p.get("seed", seed)), input_shape=shape, name=model)
    return _compile(net, p)
