"""Naive Python-loop references for the convolution ops (small sizes, float64): separate
heights and widths of stride and padding, so that a swapped axis shows."""

import numpy as np


def pad(x, ph, pw, value=0.0):
    N, C, H, W = x.shape
    xp = np.full((N, C, H + 2 * ph, W + 2 * pw), value, dtype=x.dtype)
    xp[:, :, ph:ph + H, pw:pw + W] = x
    return xp


def out_size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def naive_conv(x, Wt, b, sh, sw, ph, pw):
    N, C, H, W = x.shape
    F, _, kh, kw = Wt.shape
    xp = pad(x, ph, pw)
    OH, OW = out_size(H, kh, sh, ph), out_size(W, kw, sw, pw)
    y = np.zeros((N, F, OH, OW))
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    y[n, f, i, j] = np.sum(xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw] * Wt[f])
                    if b is not None:
                        y[n, f, i, j] += b[f]
    return y


def naive_conv_backward(x, Wt, dy, sh, sw, ph, pw):
    N, C, H, W = x.shape
    F, _, kh, kw = Wt.shape
    xp = pad(x, ph, pw)
    dxp, dW = np.zeros_like(xp), np.zeros_like(Wt)
    OH, OW = dy.shape[2:]
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    win = (n, slice(None), slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw))
                    dW[f] += dy[n, f, i, j] * xp[win]
                    dxp[win] += dy[n, f, i, j] * Wt[f]
    return dxp[:, :, ph:ph + H, pw:pw + W], dW, dy.sum(axis=(0, 2, 3))
