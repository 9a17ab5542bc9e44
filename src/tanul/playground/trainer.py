"""The playground's trainer: settings, data, network, one epoch, heat maps, export.

Pure tanul + NumPy (no web framework here), so that the server, the benchmark and the tests all
drive the same object. One :class:`Trainer` is one run: any change of settings builds a new one
(as in the TensorFlow Playground), so a run is fully described by its settings and its epoch
count, which is what the exported script replays.

An epoch is ``rng.permutation(n_train)`` (``rng = default_rng(seed)``) cut into batches, each one
``model.train_on_batch``; the model is ``Sequential(..., seed=seed)``. The losses shown are the
data losses (binary cross-entropy for classification, mean squared error for regression) without
the L1/L2 penalty.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["Settings", "SettingsError", "Trainer", "validate_settings", "FEATURES", "LIMITS",
           "encode_frame", "decode_frame"]


class SettingsError(ValueError):
    """A settings message from the page that is out of range; ``field`` names the setting."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


#: derived input name -> (label shown, formula on x1, x2)
FEATURES: dict[str, tuple[str, str]] = {
    "x1": ("x₁", "x1"),
    "x2": ("x₂", "x2"),
    "x1sq": ("x₁²", "x1 ** 2"),
    "x2sq": ("x₂²", "x2 ** 2"),
    "x1x2": ("x₁x₂", "x1 * x2"),
    "sinx1": ("sin x₁", "np.sin(x1)"),
    "sinx2": ("sin x₂", "np.sin(x2)"),
}
ACTIVATIONS = {"tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid", "linear": "linear",
               "leakyrelu": "leaky_relu"}
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
DATASETS = ("circle", "xor", "gauss", "spiral", "csv")
REGULARIZATION = ("none", "l1", "l2")
LIMITS = {"max_layers": 6, "max_neurons": 8, "max_lr": 10.0, "max_batch": 1000, "max_points": 2000,
          "min_points": 20, "max_noise": 1.0, "max_reg_rate": 1.0, "max_dropout": 0.9,
          "max_seed": 2**31 - 1}
GRID = 64          # output heat map: GRID x GRID bytes
NEURON_GRID = 24   # one small heat map per input feature and hidden neuron


@dataclass
class Settings:
    """Everything that defines a run (validated by :func:`validate_settings`)."""

    dataset: str = "spiral"
    noise: float = 0.0
    train_ratio: float = 0.5
    n_points: int = 500
    csv: dict | None = None  # {"id", "x1", "x2", "y", "task"} for dataset "csv"
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    layers: list[int] = field(default_factory=lambda: [8, 8])
    activation: str = "tanh"
    optimizer: str = "adam"
    lr: float = 0.01
    batch_size: int = 10
    regularization: str = "none"
    reg_rate: float = 0.0
    dropout: float = 0.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(raw: dict, key: str, lo: float, hi: float, *, integer: bool = False, lo_open: bool = False,
            hi_open: bool = False) -> Any:
    v = raw[key]
    kind = "an integer" if integer else "a number"
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not float(v).is_integer()):
        raise SettingsError(key, f"expected {kind}, got {v!r}")
    if not math.isfinite(v):
        raise SettingsError(key, f"expected a finite number, got {v!r}")
    too_low = v <= lo if lo_open else v < lo
    too_high = v >= hi if hi_open else v > hi
    if too_low or too_high:
        rng = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise SettingsError(key, f"expected {kind} in {rng}, got {v!r}")
    return int(v) if integer else float(v)


def _choice(raw: dict, key: str, options: Any) -> str:
    v = raw[key]
    if not isinstance(v, str) or v not in options:
        raise SettingsError(key, f"expected one of {', '.join(options)}, got {v!r}")
    return v


def validate_settings(raw: Any, base: Settings | None = None) -> Settings:
    """Check a settings message from the page; missing keys keep ``base``'s values.

    Raises :class:`SettingsError` naming the first wrong setting, what was expected and what was
    received (e.g. ``lr: expected a number in (0, 10], got -1``).
    """
    if not isinstance(raw, dict):
        raise SettingsError("settings", f"expected an object, got {type(raw).__name__}")
    known = set(Settings.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SettingsError(unknown[0], f"unknown setting; known: {', '.join(sorted(known))}")
    merged = (base or Settings()).to_dict() | raw
    s = Settings()
    s.dataset = _choice(merged, "dataset", DATASETS)
    s.noise = _number(merged, "noise", 0.0, LIMITS["max_noise"])
    s.train_ratio = _number(merged, "train_ratio", 0.1, 0.9)
    s.n_points = _number(merged, "n_points", LIMITS["min_points"], LIMITS["max_points"], integer=True)
    if s.n_points % 2:
        raise SettingsError("n_points", f"expected an even number of points, got {s.n_points}")
    s.features = merged["features"]
    if not isinstance(s.features, list) or not s.features or len(set(map(str, s.features))) != len(s.features) \
            or not all(isinstance(f, str) and f in FEATURES for f in s.features):
        raise SettingsError("features", f"expected a non-empty list of distinct inputs among "
                                        f"{', '.join(FEATURES)}, got {merged['features']!r}")
    s.features = [f for f in FEATURES if f in s.features]  # canonical order
    layers = merged["layers"]
    if not isinstance(layers, list):
        raise SettingsError("layers", f"expected a list of neuron counts, got {layers!r}")
    if len(layers) > LIMITS["max_layers"]:
        raise SettingsError("layers", f"expected at most {LIMITS['max_layers']} hidden layers, "
                                      f"got {len(layers)}")
    for i, u in enumerate(layers):
        if isinstance(u, bool) or not isinstance(u, int) or not 1 <= u <= LIMITS["max_neurons"]:
            raise SettingsError("layers", f"expected 1 to {LIMITS['max_neurons']} neurons in hidden "
                                          f"layer {i + 1}, got {u!r}")
    s.layers = list(layers)
    s.activation = _choice(merged, "activation", ACTIVATIONS)
    s.optimizer = _choice(merged, "optimizer", OPTIMIZERS)
    s.lr = _number(merged, "lr", 0.0, LIMITS["max_lr"], lo_open=True)
    s.batch_size = _number(merged, "batch_size", 1, LIMITS["max_batch"], integer=True)
    s.regularization = _choice(merged, "regularization", REGULARIZATION)
    s.reg_rate = _number(merged, "reg_rate", 0.0, LIMITS["max_reg_rate"])
    s.dropout = _number(merged, "dropout", 0.0, LIMITS["max_dropout"])
    s.seed = _number(merged, "seed", 0, LIMITS["max_seed"], integer=True)
    csv = merged["csv"]
    if s.dataset == "csv":
        if not isinstance(csv, dict) or set(csv) != {"id", "x1", "x2", "y", "task"}:
            raise SettingsError("csv", "expected {id, x1, x2, y, task} after uploading a CSV file, "
                                       f"got {csv!r}")
        if not isinstance(csv["id"], str) or not csv["id"].isalnum() or len(csv["id"]) > 64:
            raise SettingsError("csv", f"expected the upload id the server returned, got {csv['id']!r}")
        for k in ("x1", "x2", "y"):
            if isinstance(csv[k], bool) or not isinstance(csv[k], int) or csv[k] < 0:
                raise SettingsError("csv", f"expected column {k} to be a column number >= 0, got {csv[k]!r}")
        if len({csv["x1"], csv["x2"], csv["y"]}) != 3:
            raise SettingsError("csv", "expected three different columns for x1, x2 and the label")
        if csv["task"] not in ("classification", "regression"):
            raise SettingsError("csv", f"expected task classification or regression, got {csv['task']!r}")
        s.csv = dict(csv)
    else:
        s.csv = None
    return s


# --------------------------------------------------------------------------- data
@dataclass
class Data:
    """Points of one run: raw inputs (x1, x2), targets, the train/test cut, the heat-map domain."""

    x: np.ndarray          # (n, 2) float32, the inputs the network sees before the derived features
    y: np.ndarray          # (n,) float32: 0/1 labels, or regression targets scaled to [-1, 1]
    n_train: int
    task: str              # "classification" or "regression"
    domain: tuple[float, float, float, float]  # x1 min, x1 max, x2 min, x2 max
    source: dict = field(default_factory=dict)  # what the exported script needs to rebuild it


def _tiny(lo: Any, hi: Any) -> Any:
    """A range below this counts as a constant column (no division by a subnormal range)."""
    return 1e-9 * np.maximum(1.0, np.maximum(np.abs(lo), np.abs(hi)))


def make_data(s: Settings, table: Any = None) -> Data:
    """The run's points: ``toy2d`` (already shuffled by its seed) or CSV columns (shuffled by
    ``default_rng(seed)``); the first ``round(n * train_ratio)`` points train."""
    from tanul.datasets import toy2d

    if s.dataset != "csv":
        x, y = toy2d(s.dataset, n=s.n_points, noise=s.noise, seed=s.seed)
        y = y.astype(np.float32)
        task = "classification"
        source: dict = {"kind": "toy2d"}
    else:
        if table is None:
            raise SettingsError("csv", "the uploaded CSV is no longer on the server; upload it again")
        x_raw, y_raw, task = table.columns(s.csv["x1"], s.csv["x2"], s.csv["y"], s.csv["task"])
        order = np.random.default_rng(s.seed).permutation(len(x_raw))
        x_raw, y_raw = x_raw[order], y_raw[order]
        lo, hi = x_raw.min(axis=0), x_raw.max(axis=0)
        span = np.where(hi - lo > _tiny(lo, hi), hi - lo, 1.0)
        x = (2 * (x_raw - lo) / span - 1).astype(np.float32)
        if task == "regression":
            ylo, yhi = float(y_raw.min()), float(y_raw.max())
            y = (2 * (y_raw - ylo) / (yhi - ylo if yhi - ylo > _tiny(ylo, yhi) else 1.0) - 1).astype(np.float32)
        else:
            y = y_raw.astype(np.float32)
        source = {"kind": "csv", "x_raw": x_raw, "y_raw": y_raw, "names": table.names(s.csv)}
    n = len(x)
    n_train = int(round(n * s.train_ratio))
    n_train = min(max(n_train, 1), n - 1)
    pad_lo, pad_hi = x.min(axis=0), x.max(axis=0)
    pad = 0.1 * np.maximum(pad_hi - pad_lo, 1e-3)
    domain = (float(pad_lo[0] - pad[0]), float(pad_hi[0] + pad[0]),
              float(pad_lo[1] - pad[1]), float(pad_hi[1] + pad[1]))
    return Data(x=x.astype(np.float32), y=y, n_train=n_train, task=task, domain=domain, source=source)


def features(x: np.ndarray, names: list[str]) -> np.ndarray:
    """The network's inputs: the chosen columns among x1, x2, x1², x2², x1·x2, sin x1, sin x2."""
    x1, x2 = x[:, 0], x[:, 1]
    cols = {"x1": x1, "x2": x2, "x1sq": x1 ** 2, "x2sq": x2 ** 2, "x1x2": x1 * x2,
            "sinx1": np.sin(x1), "sinx2": np.sin(x2)}
    return np.stack([cols[n] for n in names], axis=1).astype(np.float32)


def _grid(domain: tuple[float, float, float, float], size: int) -> np.ndarray:
    """Cell centres of a ``size`` x ``size`` grid, row 0 at the top (largest x2)."""
    x1 = np.linspace(domain[0], domain[1], size, dtype=np.float32)
    x2 = np.linspace(domain[3], domain[2], size, dtype=np.float32)
    g1, g2 = np.meshgrid(x1, x2)
    return np.stack([g1.ravel(), g2.ravel()], axis=1)


def to_bytes(v: np.ndarray) -> bytes:
    """Values in [-1, 1] -> bytes 0..255 (clipped), 127.5 meaning 0."""
    return np.rint((np.clip(v, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8).tobytes()


def encode_frame(meta: dict[str, Any], payload: bytes) -> bytes:
    """One WebSocket message: ``uint32 little-endian length of the JSON`` + JSON + heat-map bytes."""
    head = json.dumps(meta, separators=(",", ":")).encode()
    return struct.pack("<I", len(head)) + head + payload


def decode_frame(msg: bytes) -> tuple[dict[str, Any], bytes]:
    """Inverse of :func:`encode_frame` (used by tests and the benchmark)."""
    (n,) = struct.unpack_from("<I", msg)
    return json.loads(msg[4:4 + n]), msg[4 + n:]


# --------------------------------------------------------------------------- trainer
class Trainer:
    """One run of the playground.

    >>> t = Trainer(Settings(dataset="xor", layers=[4], n_points=100))
    >>> t.epoch, len(t.model.layers)
    (0, 2)
    >>> t.run_epochs(2)["epoch"]
    2
    """

    def __init__(self, settings: Settings, table: Any = None) -> None:
        import tanul
        from tanul import losses, regularizers

        self.settings = s = settings
        self.data = make_data(s, table)
        d = self.data
        self.x_train = features(d.x[:d.n_train], s.features)
        self.x_test = features(d.x[d.n_train:], s.features)
        self.y_train = d.y[:d.n_train].reshape(-1, 1)
        self.y_test = d.y[d.n_train:].reshape(-1, 1)
        if s.batch_size > d.n_train:
            raise SettingsError("batch_size", f"expected at most the {d.n_train} training points, "
                                              f"got {s.batch_size}")
        reg = None
        if s.regularization != "none" and s.reg_rate > 0:
            reg = regularizers.L1(s.reg_rate) if s.regularization == "l1" else regularizers.L2(s.reg_rate)
        act = ACTIVATIONS[s.activation]
        layers: list[Any] = []
        for units in s.layers:
            layers.append(tanul.Dense(units, activation=act, kernel_regularizer=reg))
            if s.dropout > 0:
                layers.append(tanul.Dropout(s.dropout))
        layers.append(tanul.Dense(1, kernel_regularizer=reg))
        self.model = tanul.Sequential(layers, seed=s.seed, input_shape=(len(s.features),))
        opt = {"sgd": lambda: tanul.SGD(lr=s.lr), "momentum": lambda: tanul.SGD(lr=s.lr, momentum=0.9),
               "adam": lambda: tanul.Adam(lr=s.lr), "rmsprop": lambda: tanul.RMSProp(lr=s.lr)}[s.optimizer]()
        classify = d.task == "classification"
        self.loss_fn = losses.BinaryCrossEntropy() if classify else losses.MeanSquaredError()
        self.model.compile(optimizer=opt, loss="binary_cross_entropy" if classify else "mse")
        self.rng = np.random.default_rng(s.seed)
        self.epoch = 0
        self.status = "ready"
        self.history: list[tuple[int, float, float]] = []
        self.grid = _grid(d.domain, GRID)
        self.grid_features = features(self.grid, s.features)
        small = _grid(d.domain, NEURON_GRID)
        self.small_features = features(small, s.features)
        self.train_loss, self.test_loss = self._losses()
        self.history.append((0, self.train_loss, self.test_loss))

    def __repr__(self) -> str:
        s = self.settings
        return (f"Trainer({s.dataset}, {'-'.join(map(str, [len(s.features), *s.layers, 1]))}, "
                f"{s.activation}, {s.optimizer} lr={s.lr:g}, epoch={self.epoch}, status={self.status!r})")

    # ------------------------------------------------------------------ training
    def dense_layers(self) -> list[Any]:
        return [layer for layer in self.model.layers if type(layer).__name__ == "Dense"]

    def _losses(self) -> tuple[float, float]:
        def one(x: np.ndarray, y: np.ndarray) -> float:
            with np.errstate(all="ignore"):
                return float(self.loss_fn(self.model.predict(x), y))
        return one(self.x_train, self.y_train), one(self.x_test, self.y_test)

    def _finite(self) -> bool:
        return all(np.isfinite(w).all() for w in self.model.get_weights()) and \
            math.isfinite(self.train_loss) and math.isfinite(self.test_loss)

    def train_epoch(self) -> None:
        """One pass over the training points in batches (see the module docstring)."""
        bs = self.settings.batch_size
        order = self.rng.permutation(len(self.x_train))
        with np.errstate(all="ignore"):
            for s in range(0, len(order), bs):
                idx = order[s:s + bs]
                self.model.train_on_batch(self.x_train[idx], self.y_train[idx])
        self.epoch += 1

    def run_epochs(self, n: int = 1, budget_s: float | None = None) -> dict[str, Any]:
        """Train ``n`` epochs (or, with ``budget_s``, as many as fit in that time, at least one);
        stop at the first non-finite loss or weight and set ``status = "diverged"``."""
        import time

        if self.status == "diverged":
            return {"epoch": self.epoch, "status": self.status}
        t0 = time.perf_counter()
        done = 0
        while True:
            try:
                self.train_epoch()
                self.train_loss, self.test_loss = self._losses()
            except (FloatingPointError, ValueError, OverflowError):
                self.train_loss = self.test_loss = float("nan")
            done += 1
            if not self._finite():
                self.status = "diverged"
                break
            self.history.append((self.epoch, self.train_loss, self.test_loss))
            if budget_s is None and done >= n:
                break
            if budget_s is not None and time.perf_counter() - t0 >= budget_s:
                break
        return {"epoch": self.epoch, "status": self.status}

    # ------------------------------------------------------------------ pictures
    def _activations(self, x: np.ndarray) -> list[np.ndarray]:
        """Output of every Dense layer (inference mode) for inputs ``x``."""
        outs = []
        with np.errstate(all="ignore"):
            for layer in self.model.layers:
                x = layer.forward(x, training=False)
                if type(layer).__name__ == "Dense":
                    outs.append(x)
        return outs

    def output_values(self, x_features: np.ndarray) -> np.ndarray:
        """The network's answer in [-1, 1]: 2p - 1 for classification (p = σ(logit)), the scaled
        regression output otherwise."""
        out = self._activations(x_features)[-1][:, 0].astype(np.float64)
        if self.data.task == "classification":
            with np.errstate(over="ignore"):
                return 2.0 / (1.0 + np.exp(-out)) - 1.0
        return out

    def heatmaps(self) -> tuple[bytes, bytes]:
        """``GRID²`` bytes of the output, then ``NEURON_GRID²`` bytes for every input feature and
        every hidden neuron, in order (each hidden map scaled to its range: tanh as it is,
        sigmoid as 2a - 1, the others divided by their largest |a| on the grid)."""
        out = to_bytes(self.output_values(self.grid_features).reshape(GRID, GRID))
        maps = []
        f = self.small_features
        for j in range(f.shape[1]):
            col = f[:, j]
            m = float(np.abs(col).max()) or 1.0
            maps.append(to_bytes(col / m))
        act = self.settings.activation
        for a in self._activations(f)[:-1]:
            a = a.astype(np.float64)
            if act == "tanh":
                v = a
            elif act == "sigmoid":
                v = 2 * a - 1
            else:
                m = np.abs(a).max(axis=0, keepdims=True)
                v = a / np.where(m > 0, m, 1.0)
            v = np.nan_to_num(v)
            maps.extend(to_bytes(v[:, j]) for j in range(v.shape[1]))
        return out, b"".join(maps)

    def weights(self) -> list[dict[str, Any]]:
        """W (fan_in x fan_out) and b of every Dense layer, rounded for the page."""
        def r(a: np.ndarray) -> Any:
            return np.round(np.nan_to_num(a.astype(np.float64)), 4).tolist()
        return [{"W": r(layer.params["W"]), "b": r(layer.params["b"])} for layer in self.dense_layers()]

    def frame(self, message: str | None = None) -> bytes:
        """The message the page draws: state JSON + heat-map bytes (see :func:`encode_frame`)."""
        s = self.settings
        out, maps = self.heatmaps() if self.status != "diverged" else (b"", b"")

        def num(v: float) -> float | None:
            return v if math.isfinite(v) else None
        meta = {"type": "frame", "epoch": self.epoch, "status": self.status,
                "train_loss": num(self.train_loss), "test_loss": num(self.test_loss),
                "sizes": [len(s.features), *s.layers, 1], "features": s.features,
                "activation": s.activation, "task": self.data.task,
                "grid": GRID if out else 0, "neuron_grid": NEURON_GRID if maps else 0,
                "weights": self.weights() if self.status != "diverged" else None}
        if message:
            meta["message"] = message
        return encode_frame(meta, out + maps)

    def points(self) -> dict[str, Any]:
        """Training and test points for the page (raw inputs, labels / scaled targets)."""
        d = self.data

        def pts(x: np.ndarray, y: np.ndarray) -> list[list[float]]:
            return np.round(np.column_stack([x, y]).astype(np.float64), 4).tolist()
        return {"type": "points", "task": d.task, "domain": d.domain,
                "train": pts(d.x[:d.n_train], d.y[:d.n_train]),
                "test": pts(d.x[d.n_train:], d.y[d.n_train:]),
                "settings": self.settings.to_dict()}
