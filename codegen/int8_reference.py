"""NumPy oracle of the int8 comparison kernels (firmware/include/trit/kernels.h,
``trit_conv_s8``, ``trit_dw_s8``, ``trit_add_s8``): the same layers with 8-bit weights and
activations that an ordinary int8 deployment runs, measured beside trit's binary kernels by
``trit kernelbench --network``. Tensors are int8 [H][W][C]; weights int8 [cout][k][k][cin]
(depthwise [c][k][k]); all arithmetic in int64, bit-exact with the C."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Requant:
    """Per output channel: hi = (int64(acc + bias) * mult) >> 32, then
    y = clamp((hi + 2^(r-1)) >> r, act_min, 127) with r = shift - 32 in [1, 30] and mult in
    [2^30, 2^31): one SMULL and a rounding shift on a Cortex-M."""
    bias: np.ndarray    # int32 [C]
    mult: np.ndarray    # int32 [C]
    shift: np.ndarray   # int32 [C]
    act_min: int = -128

    def apply(self, acc: np.ndarray) -> np.ndarray:
        """acc: int [..., C] -> int8 [..., C]."""
        hi = ((acc.astype(np.int64) + self.bias) * self.mult.astype(np.int64)) >> 32
        r = self.shift.astype(np.int64) - 32
        y = (hi + (np.int64(1) << (r - 1))) >> r
        return np.clip(y, self.act_min, 127).astype(np.int8)


def random_requant(rng: np.random.Generator, c: int, fan_in: int, act_min: int = -128) -> Requant:
    """Parameters that map sums of ``fan_in`` int8 products back onto the int8 range."""
    shift = np.full(c, 31, np.int64) + max(2, int(np.ceil(np.log2(max(fan_in, 1) * 128))))
    return Requant(bias=rng.integers(-2000, 2001, c).astype(np.int32),
                   mult=rng.integers(1 << 30, (1 << 31) - 1, c).astype(np.int32),
                   shift=shift.astype(np.int32), act_min=act_min)


def _patches(x: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    """[OH, OW, k, k, C] windows of a zero-padded [H, W, C] tensor."""
    h, w, c = x.shape
    xp = np.zeros((h + 2 * pad, w + 2 * pad, c), np.int64)
    xp[pad:pad + h, pad:pad + w] = x
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    out = np.empty((oh, ow, k, k, c), np.int64)
    for ky in range(k):
        for kx in range(k):
            out[:, :, ky, kx] = xp[ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
    return out


def conv_s8(x: np.ndarray, weights: np.ndarray, stride: int, pad: int, rq: Requant) -> np.ndarray:
    """x int8 [H, W, cin], weights int8 [cout, k, k, cin] -> int8 [OH, OW, cout]."""
    k = weights.shape[1]
    acc = np.einsum("yxabi,oabi->yxo", _patches(x, k, stride, pad), weights.astype(np.int64))
    return rq.apply(acc)


def dw_s8(x: np.ndarray, weights: np.ndarray, stride: int, pad: int, rq: Requant) -> np.ndarray:
    """x int8 [H, W, C], weights int8 [C, k, k] -> int8 [OH, OW, C]."""
    k = weights.shape[1]
    acc = np.einsum("yxabc,cab->yxc", _patches(x, k, stride, pad), weights.astype(np.int64))
    return rq.apply(acc)


def add_s8(a: np.ndarray, b: np.ndarray, ma: int, mb: int, shift: int,
           act_min: int = -128) -> np.ndarray:
    """y = clamp((a * ma + b * mb + 2^(shift-1)) >> shift, act_min, 127), ma, mb < 2^15."""
    y = (a.astype(np.int64) * ma + b.astype(np.int64) * mb + (1 << (shift - 1))) >> shift
    return np.clip(y, act_min, 127).astype(np.int8)
