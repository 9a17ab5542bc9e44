"""A dense layer's matrix products in row blocks of the weights, one block per thread.

Why: on a 2-core machine the BLAS library's own two threads both read the whole weight matrix
in the forward pass. The optimiser then writes those weights from one core, and every cache
line the other core still holds must be taken back from it first: on the machine of
docs/benchmarks.md Adam's step over the 784×256 weights of the benchmark MLP took 380 µs after
a two-thread forward pass against 230 µs after a one-thread one. Splitting the weights into
row blocks, with the same thread doing the forward, the gradient and the optimiser's update of
its block, keeps each block in one core's cache.

With ``W`` split into row blocks ``W = [W₀; W₁]`` and ``x = [x₀, x₁]`` split into the matching
column blocks (the input features):

* forward   ``z = x W = x₀ W₀ + x₁ W₁``            (each thread one product, then one sum)
* gradient  ``∂L/∂W = [x₀ᵀ dz; x₁ᵀ dz]``           (each thread its own rows of ∂L/∂W)
* input     ``∂L/∂x = [dz W₀ᵀ, dz W₁ᵀ]``           (each thread its own columns of ∂L/∂x)

The blocks are fixed by the weights' shape, never by the thread count: one thread computes
the same products in the same order, so the results do not depend on the number of threads.
Block ``j`` runs on the same thread in every call (:func:`tanul.ops.parallel.parallel_for`
gives the first chunk to the calling thread and, with two threads, the second to its one
worker), which is what the optimiser's :attr:`parallel_parts` rely on.
"""

from __future__ import annotations

import numpy as np

from tanul.ops.parallel import parallel_gemms

__all__ = ["SPLIT_MIN_ROWS", "SPLIT_MIN_WEIGHTS", "SPLIT_MIN_WORK", "row_blocks", "worth_splitting",
           "matmul_blocks", "matmul_blocks_backward", "PIECE_COLUMNS", "PIECE_MAX_WORK",
           "narrow_matmul", "weight_grad"]

#: Fewest rows (input features) of a weight matrix that is split in two.
SPLIT_MIN_ROWS = 128
#: A weight matrix is split in two row blocks from this many entries on (784×256 is 200,704; a
#: 256×128 layer, 32,768, is not worth a thread hand-off of about 25 µs).
SPLIT_MIN_WEIGHTS = 65_536
#: ... and a product is computed in blocks from this many multiply-adds on (a batch of 16
#: rows through 784×256 weights is 3.2 M: a batch of one stays a single product).
SPLIT_MIN_WORK = 4_000_000


def row_blocks(w_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The row bounds of ``W``'s blocks: ``(0, k)`` (one block) or ``(0, k // 2, k)``."""
    k = int(w_shape[0])
    if len(w_shape) != 2 or k < SPLIT_MIN_ROWS or k * int(w_shape[1]) < SPLIT_MIN_WEIGHTS:
        return (0, k)
    return (0, k // 2, k)


def worth_splitting(bounds: tuple[int, ...], n: int, w_shape: tuple[int, ...]) -> bool:
    """Whether ``n`` rows through weights of ``w_shape`` are computed in ``bounds``' blocks."""
    return len(bounds) > 2 and n * int(w_shape[0]) * int(w_shape[1]) >= SPLIT_MIN_WORK


def matmul_blocks(x: np.ndarray, w: np.ndarray, bounds: tuple[int, ...]) -> np.ndarray:
    """``x @ w`` as the sum over row blocks ``x[:, a:b] @ w[a:b]``, block ``j`` on thread ``j``.

    The partial products are added in block order, so the result is the same for any number
    of threads (it may differ from ``x @ w`` in the last bits: the sum is grouped differently).
    """
    blocks = len(bounds) - 1
    parts: list[np.ndarray | None] = [None] * blocks

    def product(first: int, stop: int) -> None:
        for j in range(first, stop):
            a, b = bounds[j], bounds[j + 1]
            parts[j] = x[:, a:b] @ w[a:b]

    parallel_gemms(product, blocks)
    z = parts[0]
    for p in parts[1:]:
        z += p
    return z


def matmul_blocks_backward(x: np.ndarray, dz: np.ndarray, w: np.ndarray, dw: np.ndarray,
                           bounds: tuple[int, ...], input_grad: bool) -> np.ndarray | None:
    """``dw[a:b] = x[:, a:b]ᵀ dz`` and (``input_grad``) ``dx[:, a:b] = dz w[a:b]ᵀ`` per block.

    Each entry is the same sum as in the whole products, so the results equal
    ``x.T @ dz`` and ``dz @ w.T``. Returns ``dx`` or None.
    """
    dx = np.empty((dz.shape[0], w.shape[0]), dz.dtype) if input_grad else None

    def gradients(first: int, stop: int) -> None:
        for j in range(first, stop):
            a, b = bounds[j], bounds[j + 1]
            np.matmul(x[:, a:b].T, dz, out=dw[a:b])
            if dx is not None:
                dx[:, a:b] = dz @ w[a:b].T

    parallel_gemms(gradients, len(bounds) - 1)
    return dx


# ---------------------------------------------------------------------------- narrow products
#: Columns of one piece of a long product with a small left matrix (see :func:`narrow_matmul`).
PIECE_COLUMNS = 4096
#: ... used when one piece is at most this many multiply-adds (``m·k·PIECE_COLUMNS``).
PIECE_MAX_WORK = 1_000_000


def _pieces(m: int, k: int, n: int) -> int:
    """Columns per piece for an ``(m, k) @ (k, n)`` product: :data:`PIECE_COLUMNS` when the
    left matrix is small enough, else ``n`` (one piece)."""
    return PIECE_COLUMNS if n > PIECE_COLUMNS and m * k * PIECE_COLUMNS <= PIECE_MAX_WORK else n


def narrow_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = a @ b`` for a small ``a`` (m, k) and a long ``b`` (k, n), such as a convolution's
    ``W_m @ cols`` with a few filters: in pieces of :data:`PIECE_COLUMNS` columns when ``a`` has
    at most ``PIECE_MAX_WORK / PIECE_COLUMNS`` (244) entries.

    Why: OpenBLAS's AVX-512 kernels (SkylakeX, chosen on AVX-512 CPUs) compute products of up to
    about a million multiply-adds on a fast path for small matrices, and long products with
    ``m`` = 6 rows slowly: LeNet-5's first convolution, ``(6, 25) @ (25, 50176)``, took 342 µs
    whole and 178 µs in pieces on the machine of docs/benchmarks.md (AVX2 kernels: 236 and
    253 µs). Every column is its own sum, so the pieces give the same numbers as one product.
    """
    n = b.shape[1]
    step = _pieces(a.shape[0], a.shape[1], n)
    for s in range(0, n, step):
        np.matmul(a, b[:, s:s + step], out=out[:, s:s + step])
    return out


def weight_grad(dz: np.ndarray, cols: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = dz @ colsᵀ`` (a convolution's ``∂L/∂W_m``, (m, k), summed over ``n`` columns).

    With few entries (``m·k·PIECE_COLUMNS`` at most :data:`PIECE_MAX_WORK`): the sum of the
    products of pieces of :data:`PIECE_COLUMNS` columns, added in order (as
    :func:`narrow_matmul`, for OpenBLAS's small-matrix path: 702 → 156 µs for LeNet-5's first
    layer). Otherwise as ``(cols @ dzᵀ)ᵀ`` into a ``(k, m)`` buffer: the same sums, but the
    orientation OpenBLAS runs fastest (LeNet-5's second layer, ``(16, 6400) @ (6400, 150)``:
    469 → 223 µs with the AVX-512 kernels, 365 → 320 µs with the AVX2 ones).
    """
    m, k = out.shape
    n = cols.shape[1]
    step = _pieces(m, k, n)
    if step < n:
        np.matmul(dz[:, :step], cols[:, :step].T, out=out)
        tmp = np.empty_like(out)
        for s in range(step, n, step):
            np.matmul(dz[:, s:s + step], cols[:, s:s + step].T, out=tmp)
            out += tmp
        return out
    t = np.matmul(cols, dz.T)
    np.copyto(out, t.T)
    return out
