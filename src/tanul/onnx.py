"""Export tanul networks to ONNX, to run them with ONNX Runtime (or any ONNX engine) without
Python or tanul.

>>> import tanul, tanul.onnx                                       # doctest: +SKIP
>>> model = tanul.models.lenet5(seed=0)                            # doctest: +SKIP
>>> tanul.onnx.export(model, "lenet5.onnx", class_labels=list(range(10)))  # doctest: +SKIP

or from the shell: ``tanul export runs/lenet/model.tanul --onnx lenet5.onnx``.

What is exported
----------------
* A built :class:`tanul.Sequential` becomes one graph with a single input (default name
  ``"input"``, shape ``(batch, *model.input_shape)`` with a **dynamic batch axis**) and a single
  output (default ``"output"``) equal to ``model.predict`` (logits for classifiers).
* A fitted :class:`tanul.sklearn.NetClassifier` gets three outputs: ``"logits"`` (its
  ``decision_function`` for K > 2 classes), ``"probabilities"`` (``predict_proba``: a Softmax node)
  and ``"class_index"`` (int64 arg-max; the label is ``class_labels[class_index]``). A fitted
  :class:`tanul.sklearn.NetRegressor` gets ``"predictions"`` (``predict``).
* **Preprocessing.** A fitted scikit-learn ``Pipeline`` whose last step is a Net* estimator and
  whose other steps are ``StandardScaler`` or ``MinMaxScaler`` (scikit-learn's) exports as a whole:
  the scalers become ``Sub``/``Div`` (``(x − mean_) / scale_``) and ``Mul``/``Add``
  (``x·scale_ + min_``, then ``Clip`` when ``clip=True``) nodes in front of the network. tanul's own
  scalers (:mod:`tanul.preprocessing`, which are not scikit-learn transformers) and scikit-learn's
  are also accepted through ``preprocessing=[scaler, ...]`` for any model. Any other step (a
  ``ColumnTransformer``, a ``PCA``...) is refused with a message naming it.
* **Layers**: ``Dense`` (``Gemm``), every activation (``Sigmoid, Tanh, ReLU, LeakyReLU, PReLU,
  Softplus, Softmax, Identity``; also as ``activation=`` of Dense/Conv2D), ``Dropout`` (dropped:
  inference is the identity), ``BatchNorm``/``BatchNorm2D`` in inference form
  (``BatchNormalization`` with the running statistics), ``Flatten``, ``Conv2D`` (strides, padding),
  ``MaxPool2D``, ``AvgPool2D`` (padding counted in the mean, as tanul does), ``GlobalAvgPool2D``.
  Any other layer class (a user's custom layer, or a subclass of a built-in one, whose maths
  tanul cannot know) raises :class:`OnnxExportError` naming the layer.
* **Metadata** (``model.metadata_props``): ``class_labels`` (JSON list, when known),
  ``input_shape``, ``outputs``, ``preprocessing``, ``tanul_version``; the graph's doc string is
  the model summary.

The graph is float32 (ONNX Runtime's fast path): a float64 network's weights are rounded to
float32 on export. ``onnx`` and ``onnxruntime`` come with ``pip install tanul[onnx]``; this module
imports them only when called, and ``import tanul`` never does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tanul._version import __version__
from tanul.io import atomic_write, load_model
from tanul.layers import (
    AvgPool2D,
    BatchNorm,
    BatchNorm2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
)
from tanul.layers import activations as A
from tanul.model import Sequential

__all__ = ["export", "to_onnx", "OnnxExportError", "DEFAULT_OPSET", "MIN_OPSET", "add_arguments",
           "run_command"]

#: Opset written unless ``opset=`` says otherwise (supported by ONNX Runtime >= 1.14).
DEFAULT_OPSET = 17
#: Oldest opset the converters are written for (Softmax over one axis needs 13).
MIN_OPSET = 13


class OnnxExportError(ValueError):
    """The model (or one of its layers or preprocessing steps) cannot be written as ONNX."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("tanul.onnx needs the onnx package: pip install 'tanul[onnx]'") from None
    return onnx


class _Graph:
    """Nodes and initializers under construction, with unique names."""

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._n = 0

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, base: str, value: Any, dtype: Any = np.float32) -> str:
        arr = np.asarray(value, dtype=dtype)
        name = self.name(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op: str, inputs: list[str], base: str, n_out: int = 1, **attrs: Any) -> str:
        outputs = [self.name(base) for _ in range(n_out)]
        self.nodes.append(self.onnx.helper.make_node(op, inputs, outputs, name=self.name(f"{base}_{op}"),
                                                     **attrs))
        return outputs[0]


# ---------------------------------------------------------------------- layers
def _f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def _activation(g: _Graph, layer: Any, x: str, base: str, in_shape: tuple[int, ...]) -> str:
    t = type(layer)
    if t is A.Sigmoid:
        return g.node("Sigmoid", [x], base)
    if t is A.Tanh:
        return g.node("Tanh", [x], base)
    if t is A.ReLU:
        return g.node("Relu", [x], base)
    if t is A.LeakyReLU:
        return g.node("LeakyRelu", [x], base, alpha=float(layer.alpha))
    if t is A.Softplus:
        return g.node("Softplus", [x], base)
    if t is A.Softmax:
        return g.node("Softmax", [x], base, axis=-1)
    if t is A.Identity:
        return g.node("Identity", [x], base)
    if t is A.PReLU:
        # one slope per feature / channel, broadcast over (N, F) or (N, C, H, W)
        slope = _f32(layer.params["alpha"]).reshape((-1,) + (1,) * (len(in_shape) - 1))
        return g.node("PRelu", [x, g.const(f"{base}.alpha", slope)], base)
    return None  # type: ignore[return-value]


def _convert_layer(g: _Graph, layer: Any, x: str, in_shape: tuple[int, ...]) -> str:
    """Append the nodes of one layer reading tensor ``x``; return the output tensor's name."""
    base = layer.name or type(layer).__name__.lower()
    t = type(layer)
    out = _activation(g, layer, x, base, in_shape)
    if out is not None:
        return out
    if t is Dense:
        W = g.const(f"{base}.W", _f32(layer.params["W"]))
        if layer.use_bias:
            y = g.node("Gemm", [x, W, g.const(f"{base}.b", _f32(layer.params["b"]))], base)
        else:
            y = g.node("MatMul", [x, W], base)
        return _maybe_act(g, layer, y, base, layer.output_shape(in_shape))
    if t is Conv2D:
        inputs = [x, g.const(f"{base}.W", _f32(layer.params["W"]))]
        if layer.use_bias:
            inputs.append(g.const(f"{base}.b", _f32(layer.params["b"])))
        ph, pw = layer.pad
        y = g.node("Conv", inputs, base, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                   pads=[ph, pw, ph, pw], dilations=[1, 1], group=1)
        return _maybe_act(g, layer, y, base, layer.output_shape(in_shape))
    if t is MaxPool2D or t is AvgPool2D:
        ph, pw = layer.pad
        attrs: dict[str, Any] = {"kernel_shape": list(layer.pool_size), "strides": list(layer.strides),
                                 "pads": [ph, pw, ph, pw]}
        if t is AvgPool2D:  # tanul counts zero padding in the mean (PyTorch's default)
            return g.node("AveragePool", [x], base, count_include_pad=1, **attrs)
        return g.node("MaxPool", [x], base, **attrs)
    if t is GlobalAvgPool2D:
        return g.node("Flatten", [g.node("GlobalAveragePool", [x], base)], base, axis=1)
    if t is Flatten:
        return g.node("Flatten", [x], base, axis=1)
    if t is Dropout:
        return x  # inference form: the identity
    if t is BatchNorm or t is BatchNorm2D:
        ins = [x] + [g.const(f"{base}.{k}", _f32(arr)) for k, arr in (
            ("gamma", layer.params["gamma"]), ("beta", layer.params["beta"]),
            ("running_mean", layer.state["running_mean"]), ("running_var", layer.state["running_var"]))]
        return g.node("BatchNormalization", ins, base, epsilon=float(layer.eps))
    raise OnnxExportError(
        f"tanul.onnx: cannot export layer {layer.name!r} of class {type(layer).__module__}."
        f"{type(layer).__qualname__}: ONNX export knows only tanul's built-in layers ({_KNOWN}); "
        "write the model with built-in layers, or export the part before this layer")


_KNOWN = ("Dense, Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten, Dropout, BatchNorm, BatchNorm2D, "
          "Sigmoid, Tanh, ReLU, LeakyReLU, PReLU, Softplus, Softmax, Identity")


def _maybe_act(g: _Graph, layer: Any, y: str, base: str, shape: tuple[int, ...]) -> str:
    if layer.activation is None:
        return y
    out = _activation(g, layer.activation, y, f"{base}.{type(layer.activation).__name__.lower()}", shape)
    if out is None:
        raise OnnxExportError(f"tanul.onnx: layer {layer.name!r} has activation {layer.activation!r}, "
                              "which ONNX export does not know")
    return out


# ---------------------------------------------------------------------- preprocessing
def _scaler(g: _Graph, step: Any, x: str, n_features: int, where: str) -> tuple[str, str]:
    """Nodes of a fitted StandardScaler / MinMaxScaler (scikit-learn's or tanul's)."""
    cls = type(step).__name__
    module = type(step).__module__
    if module.startswith(("sklearn.", "tanul.preprocessing")) and cls == "StandardScaler":
        mean, scale = getattr(step, "mean_", None), getattr(step, "scale_", None)
        if scale is None and mean is None and not (step.with_mean or step.with_std):
            return x, "StandardScaler(identity)"
        if getattr(step, "n_features_in_", None) is None:
            raise OnnxExportError(f"tanul.onnx: {where} StandardScaler is not fitted")
        _check_width(step, n_features, where)
        if step.with_mean and mean is not None:
            x = g.node("Sub", [x, g.const("scaler.mean", _f32(mean))], "scaler")
        if step.with_std and scale is not None:
            x = g.node("Div", [x, g.const("scaler.scale", _f32(scale))], "scaler")
        return x, "StandardScaler: (x - mean_) / scale_"
    if module.startswith(("sklearn.", "tanul.preprocessing")) and cls == "MinMaxScaler":
        if getattr(step, "scale_", None) is None:
            raise OnnxExportError(f"tanul.onnx: {where} MinMaxScaler is not fitted")
        _check_width(step, n_features, where)
        x = g.node("Mul", [x, g.const("scaler.scale", _f32(step.scale_))], "scaler")
        x = g.node("Add", [x, g.const("scaler.min", _f32(step.min_))], "scaler")
        if getattr(step, "clip", False):
            lo, hi = step.feature_range
            x = g.node("Clip", [x, g.const("scaler.lo", np.float32(lo)), g.const("scaler.hi", np.float32(hi))],
                       "scaler")
        return x, "MinMaxScaler: x * scale_ + min_" + (" then clip" if getattr(step, "clip", False) else "")
    raise OnnxExportError(
        f"tanul.onnx: cannot export the preprocessing step {where}{type(step).__name__} "
        f"({module}): only StandardScaler and MinMaxScaler (scikit-learn's or tanul.preprocessing's) "
        "are exported; apply other transformations before calling the ONNX model")


def _check_width(step: Any, n_features: int, where: str) -> None:
    n = getattr(step, "n_features_in_", None)
    if n is not None and int(n) != n_features:
        raise OnnxExportError(f"tanul.onnx: {where}{type(step).__name__} was fitted on {n} features, "
                              f"but the network reads {n_features}")


# ---------------------------------------------------------------------- entry points
def _unpack(model: Any, preprocessing: Any) -> tuple[Any, Any, list[tuple[str, Any]], str]:
    """(network, estimator or None, [(where, scaler)], kind) from what the user passed."""
    steps: list[tuple[str, Any]] = []
    if type(model).__name__ == "Pipeline" and type(model).__module__.startswith("sklearn."):
        *pre, (last_name, last) = model.steps
        for name, step in pre:
            if step is None or step == "passthrough":
                continue
            steps.append((f"pipeline step {name!r}: ", step))
        model = last
    for i, step in enumerate(preprocessing or []):
        steps.append((f"preprocessing[{i}]: ", step))
    if isinstance(model, Sequential):
        return model, None, steps, "network"
    kind = type(model).__name__
    if type(model).__module__ == "tanul.sklearn":
        if not hasattr(model, "model_"):
            raise OnnxExportError(f"tanul.onnx: the {kind} is not fitted; call fit first")
        return model.model_, model, steps, "classifier" if hasattr(model, "classes_") else "regressor"
    raise TypeError(f"tanul.onnx.export: expected a tanul.Sequential, a fitted tanul.sklearn estimator or "
                    f"a scikit-learn Pipeline ending in one, got {type(model).__name__}")


def to_onnx(model: Any, opset: int = DEFAULT_OPSET, *, input_name: str = "input",
            output_name: str | None = None, class_labels: Any = None,
            preprocessing: list | None = None) -> Any:
    """Build the ``onnx.ModelProto`` that :func:`export` writes (arguments as there)."""
    onnx = _onnx()
    from onnx import TensorProto, helper

    max_opset = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) \
            or not MIN_OPSET <= opset <= max_opset:
        raise ValueError(f"tanul.onnx: expected opset to be an int in [{MIN_OPSET}, {max_opset}] "
                         f"(this onnx {onnx.__version__}), got opset={opset!r}")
    for what, name in (("input_name", input_name), ("output_name", output_name)):
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"tanul.onnx: expected {what} to be a non-empty str, got {name!r}")
    net, est, steps, kind = _unpack(model, preprocessing)
    if not net.built:
        raise OnnxExportError(f"tanul.onnx: model {net.name!r} is not built yet (give input_shape=, or "
                              "call fit/predict once)")
    if class_labels is None and est is not None and kind == "classifier":
        class_labels = est.classes_.tolist()
    if class_labels is not None:
        class_labels = [c.item() if isinstance(c, np.generic) else c for c in list(class_labels)]
        if kind != "regressor" and net.output_shape != (len(class_labels),):
            raise ValueError(f"tanul.onnx: {len(class_labels)} class labels for a network with output "
                             f"shape {net.output_shape}")

    g = _Graph(onnx)
    in_shape = tuple(net.input_shape)
    x = input_name
    described = []
    for where, step in steps:
        if len(in_shape) != 1:
            raise OnnxExportError(f"tanul.onnx: {where}scalers need (N, features) input, but the network "
                                  f"reads samples of shape {in_shape}")
        x, text = _scaler(g, step, x, in_shape[0], where)
        described.append(text)
    shape = in_shape
    for layer in net.layers:
        x = _convert_layer(g, layer, x, shape)
        shape = tuple(layer.output_shape(shape))

    batch = "batch"
    outputs: list[Any] = []
    if kind == "classifier":
        n_classes = shape[0]
        logits = x
        g.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="logits_out"))
        g.nodes.append(helper.make_node("Softmax", [logits], ["probabilities"], name="probabilities_out",
                                        axis=-1))
        g.nodes.append(helper.make_node("ArgMax", [logits], ["class_index"], name="class_index_out",
                                        axis=1, keepdims=0, select_last_index=0))
        outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, n_classes]),
                   helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [batch, n_classes]),
                   helper.make_tensor_value_info("class_index", TensorProto.INT64, [batch])]
    elif kind == "regressor" and getattr(est, "_y_ndim", 2) == 1 and shape == (1,):
        name = output_name or "predictions"
        flat = g.const("shape_n", np.array([-1], np.int64), np.int64)
        g.nodes.append(helper.make_node("Reshape", [x, flat], [name], name="predictions_out"))
        outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch])]
    else:
        name = output_name or ("predictions" if kind == "regressor" else "output")
        g.nodes.append(helper.make_node("Identity", [x], [name], name=f"{name}_out"))
        outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, *shape])]

    inputs = [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [batch, *in_shape])]
    doc = net.summary(print_fn=None)
    graph = helper.make_graph(g.nodes, net.name, inputs, outputs, initializer=g.initializers, doc_string=doc)
    opsets = [helper.make_opsetid("", int(opset))]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="tanul", producer_version=__version__,
                              doc_string=f"tanul {kind} {net.name!r} exported to ONNX")
    proto.ir_version = min(helper.find_min_ir_version_for(opsets), onnx.IR_VERSION)
    meta = {"input_shape": json.dumps(list(in_shape)), "outputs": json.dumps([o.name for o in outputs]),
            "preprocessing": json.dumps(described), "tanul_version": __version__, "kind": kind}
    if class_labels is not None:
        meta["class_labels"] = json.dumps(class_labels)
    helper.set_model_props(proto, meta)
    return proto


def export(model: Any, path: str | Path, opset: int = DEFAULT_OPSET, *, input_name: str = "input",
           output_name: str | None = None, class_labels: Any = None, preprocessing: list | None = None,
           check: bool = True) -> Any:
    """Write ``model`` as an ONNX file at ``path`` (atomically) and return the ``onnx.ModelProto``.

    Parameters
    ----------
    model : tanul.Sequential, fitted tanul.sklearn.NetClassifier / NetRegressor, or a fitted
        scikit-learn Pipeline of StandardScaler/MinMaxScaler steps ending in one of those.
    path : str or Path
    opset : int, default 17
        ONNX operator set, from 13 to the installed onnx's newest.
    input_name, output_name : str
        Tensor names (the output name of a plain network or a regressor; a classifier's outputs
        are always ``logits``, ``probabilities``, ``class_index``).
    class_labels : list, optional
        Stored as JSON in the metadata (``class_labels``); a classifier's ``classes_`` by default.
    preprocessing : list of fitted scalers, optional
        StandardScaler / MinMaxScaler objects (tanul's or scikit-learn's) applied, in order, to
        the input before the network.
    check : bool, default True
        Run ``onnx.checker.check_model(full_check=True)`` (checker and strict shape inference)
        before writing.

    Raises
    ------
    OnnxExportError
        A layer or preprocessing step that cannot be exported (the message names it).
    """
    onnx = _onnx()

    proto = to_onnx(model, opset, input_name=input_name, output_name=output_name,
                    class_labels=class_labels, preprocessing=preprocessing)
    if check:
        onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    with atomic_write(path, "wb") as f:
        f.write(data)
    return proto


# ---------------------------------------------------------------------- command line
def add_arguments(p: Any) -> None:
    """Arguments of ``tanul export``."""
    p.add_argument("model_file", metavar="MODEL.tanul", help="a .tanul model file (tanul.io.save_model)")
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help="the ONNX file to write")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument("--class-labels", nargs="+", default=None, metavar="LABEL",
                   help="class names stored in the metadata (one per output unit)")
    p.add_argument("--input-name", default="input")
    p.add_argument("--output-name", default="output")


def run_command(args: Any) -> int:
    """``tanul export MODEL.tanul --onnx OUT.onnx``: load, convert, check, write, report."""
    model = load_model(args.model_file, compile=False)
    proto = export(model, args.onnx, args.opset, input_name=args.input_name, output_name=args.output_name,
                   class_labels=args.class_labels)
    print(f"wrote {args.onnx}: opset {args.opset}, {len(proto.graph.node)} nodes, input "
          f"{args.input_name!r} (batch, {', '.join(map(str, model.input_shape))}), output "
          f"{args.output_name!r} (batch, {', '.join(map(str, model.output_shape))})")
    return 0
