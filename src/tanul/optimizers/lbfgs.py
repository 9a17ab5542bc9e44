"""L-BFGS through SciPy: full-batch, quasi-Newton training for small models."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tanul.protocol import TrainingDivergedError, TrainingProblem

__all__ = ["LBFGS"]


class LBFGS:
    """Limited-memory BFGS (Liu & Nocedal, 1989) via ``scipy.optimize.minimize(method="L-BFGS-B",
    jac=True)`` (extra ``optim``).

    The model's parameters are packed into one float64 vector (the flat buffer already is one),
    the loss and its gradient on the **whole** training set (regularisation included) are
    handed to SciPy, and the result is unpacked back. L-BFGS builds a curvature estimate from the
    last ``history_size`` steps: s_k = θ_{k+1} − θ_k, y_k = ∇L_{k+1} − ∇L_k, and the two-loop
    recursion gives the direction −H_k ∇L_k; a line search picks the step.

    ``model.compile(optimizer="lbfgs")`` selects it; ``fit`` then ignores ``batch_size`` and
    ``shuffle`` and runs at most ``max_iter`` iterations (default: ``epochs``), recording one
    History entry ("loss", and "val_loss" with validation data) per iteration. Callbacks see
    each iteration as an epoch; ``model.stop_training = True`` stops it.

    SciPy's settings: ``maxcor = history_size``, ``ftol = tol`` (relative decrease of the loss)
    and ``gtol = 1000·tol`` (largest gradient entry), ``maxiter = max_iter``.

    Use it for small models and smooth losses (regression, small classifiers); not with
    Dropout (a noisy objective breaks the line search).
    """

    def __init__(self, max_iter: int | None = None, tol: float = 1e-12, history_size: int = 10) -> None:
        bad = isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1
        if max_iter is not None and bad:
            raise ValueError(f"LBFGS: expected max_iter to be a positive int or None, got {max_iter!r}")
        if not tol >= 0:
            raise ValueError(f"LBFGS: expected tol >= 0, got {tol!r}")
        self.max_iter, self.tol, self.history_size = max_iter, float(tol), int(history_size)
        self.iterations = 0
        self.result: Any = None

    lr = 1.0  # for callbacks that read a learning rate

    @property
    def current_lr(self) -> float:
        return 1.0

    def get_config(self) -> dict[str, Any]:
        return {"max_iter": self.max_iter, "tol": self.tol, "history_size": self.history_size}

    def __repr__(self) -> str:
        return f"LBFGS(max_iter={self.max_iter}, tol={self.tol}, history_size={self.history_size})"

    def minimize(self, problem: TrainingProblem, x: np.ndarray, y: np.ndarray, *, max_iter: int,
                 callback: Callable[[float], bool] | None = None) -> None:
        """Minimise ``L(θ)`` on the whole of ``(x, y)`` starting from ``problem.params``.

        ``problem`` follows :class:`tanul.protocol.TrainingProblem` (a ``Sequential`` does):
        SciPy gets ``θ`` as float64, and ``problem.loss_and_grads(x, y)`` gives ``L(θ)`` and
        leaves ``∇L(θ)`` in ``problem.grads``. After each iteration ``problem.params`` holds the
        iterate and ``callback(loss)`` runs; it returns ``True`` to stop. The final iterate is
        left in ``problem.params``.

        Raises
        ------
        TrainingDivergedError
            When the parameters end non-finite.
        """
        try:
            from scipy.optimize import minimize
        except ImportError as exc:
            raise ImportError("LBFGS needs SciPy: pip install 'tanul[optim]'") from exc

        params, grads = problem.params, problem.grads

        def fun(w: np.ndarray) -> tuple[float, np.ndarray]:
            params[...] = w
            with np.errstate(over="ignore", invalid="ignore"):
                loss, _ = problem.loss_and_grads(x, y)
            if not math.isfinite(loss):
                return math.inf, np.zeros_like(w)
            return float(loss), grads.astype(np.float64)

        def each(intermediate_result: Any) -> None:
            params[...] = intermediate_result.x
            stop = callback(float(intermediate_result.fun)) if callback is not None else False
            self.iterations += 1
            if stop:
                raise StopIteration

        self.result = minimize(fun, params.astype(np.float64), jac=True, method="L-BFGS-B",
                               callback=each, options={"maxiter": max_iter, "maxcor": self.history_size,
                                                       "ftol": self.tol, "gtol": self.tol * 1e3})
        params[...] = self.result.x
        if not np.isfinite(params).all():
            raise TrainingDivergedError("LBFGS: the parameters became non-finite; scale the inputs")
