"""Bit-sliced constants of ternary x binary layers, made at code generation.

A kernel that counts 32 channels per word (the ARMv7E-M flavour; the NEON flavour's depthwise
3x3) needs the weights in sliced form (pointwise: a word per input holding its weights for 32
output channels; depthwise 3x3: a sign and a non-zero plane per tap) and each channel's
batch-norm threshold turned into a limit on its count of -1 products (depthwise: one per border
class, the taps of the window inside the image). Derived per call they cost a fixed setup
(about 30,000 instructions for a 96-channel pointwise layer on a Cortex-M4), which dominates
layers of a few pixels; the generator computes them once and the kernels read them from flash
(the ``sliced`` argument of trit_pw_ternary_bin and trit_dw_ternary_bin, layouts in
firmware/include/trit/kernels.h).
"""

from __future__ import annotations

import numpy as np

from . import pack
from .ir import Layer, SignThreshold

LIMIT_PLANES = 8      # SLICED_BITS_MAX of the kernel: counts up to 255
MAX_INPUTS = 254      # inputs whose count fits LIMIT_PLANES bits with the limit's + 1
COUNT_BOUND = 1 << 20  # clamp of the threshold quotient (bitcount.h: clamp_count)
FEW_PIXELS = 32       # below this the ARMv7E-M kernel counts sliced instead of nibble tables


def sliced_words(cin: int, cout: int) -> int:
    """TRIT_PW_SLICED_WORDS(cin, cout): uint32 words of the constants."""
    return pack.words(cout) * (2 * cin + 2 * LIMIT_PLANES)


def _clamp(v: int) -> int:
    return max(-COUNT_BOUND, min(COUNT_BOUND, v))


def count_limit(t: int, negative: bool, alpha: int, n: int) -> int:
    """K such that the output of a channel with ``n`` non-zero weights, equal scales ``alpha``
    and threshold ``t`` is -1 exactly when (count of -1 products > K) XOR ``negative``
    (acc = alpha (n - 2 count); bitcount.h: count_limit)."""
    if not negative:   # +1 iff acc >= t  iff  count <= floor((n - ceil(t / alpha)) / 2)
        k = (n - _clamp(-(-t // alpha))) // 2
    else:              # +1 iff acc <= t  iff  count >= ceil((n - floor(t / alpha)) / 2)
        k = -(-(n - _clamp(t // alpha)) // 2) - 1
    return max(-1, min(n, k))


def _equal_scale_sign_conv(layer: Layer) -> bool:
    """A ternary convolution with equal scales (wp == wn > 0) and a sign output."""
    w = layer.weights
    if (layer.op != "conv2d" or w is None or w.format != "ternary"
            or not isinstance(layer.output, SignThreshold)):
        return False
    wp, wn = (int(v) for v in w.scales)
    return wp == wn and wp > 0


def usable(layer: Layer) -> bool:
    """Whether a pointwise layer can use sliced constants: ternary with equal scales, a sign
    output and at most 254 inputs."""
    return (_equal_scale_sign_conv(layer) and layer.groups == 1 and layer.kernel == 1
            and layer.in_shape[0] <= MAX_INPUTS)


def pw_sliced_constants(codes: np.ndarray, alpha: int, output: SignThreshold,
                        res_c: int) -> np.ndarray:
    """The constants of a layer with ternary ``codes`` [Cout, Cin(,1,1)], scale ``alpha``
    (wp = wn) and ``output``; ``res_c`` is the residual's channel count (0 without one:
    then the kernel is called with no residual). uint32 [TRIT_PW_SLICED_WORDS]."""
    c = np.asarray(codes).reshape(codes.shape[0], -1).astype(np.int64)
    cout, cin = c.shape
    if cin > MAX_INPUTS:
        raise ValueError(f"sliced constants take at most {MAX_INPUTS} inputs, not {cin}")
    groups = pack.words(cout)
    padded = np.zeros((groups * 32, cin), np.int64)
    padded[:cout] = c
    # lane vectors: [g][i][0] bit l = weight (g*32 + l, i) is -1, [g][i][1]: it is +1
    by_lane = padded.reshape(groups, 32, cin).transpose(0, 2, 1)      # [g][cin][lane]
    lanes = np.stack([pack.pack_bits(by_lane == -1)[..., 0],
                      pack.pack_bits(by_lane == 1)[..., 0]], axis=-1)  # [g][cin][2]
    thr = np.asarray(output.threshold, np.int64)
    negative = np.asarray(output.direction) < 0
    has_res = thr.ndim == 2
    limits = np.zeros((groups * 32, 2), np.int64)          # limit + 1, [o][r]
    for o in range(cout):
        n = int((c[o] != 0).sum())
        if not has_res:
            lp = lm = count_limit(int(thr[o]), bool(negative[o]), alpha, n)
        elif o < res_c:
            lm = count_limit(int(thr[o, 0]), bool(negative[o]), alpha, n)
            lp = count_limit(int(thr[o, 2]), bool(negative[o]), alpha, n)
        else:
            lp = lm = count_limit(int(thr[o, 1]), bool(negative[o]), alpha, n)
        limits[o] = lp + 1, lm + 1
    bits = (limits[:, :, None] >> np.arange(LIMIT_PLANES)) & 1       # [o][r][b]
    planes = pack.pack_bits(bits.reshape(groups, 32, 2, LIMIT_PLANES).transpose(0, 2, 3, 1)
                            .astype(bool))[..., 0]                   # [g][r][b]
    return np.concatenate([lanes.reshape(-1), planes.reshape(-1)]).astype(np.uint32)


# ---- depthwise 3x3 -------------------------------------------------------------------------
MAX_CLASSES = 9       # border classes the kernel keeps (MAX_CLASSES of dw_ternary_bin.c)
NO_CLASS = 0xFFFFFFFF


def dw_sliced_words(c: int) -> int:
    """TRIT_DW_SLICED_WORDS(c): uint32 words of a depthwise layer's constants."""
    return 54 * pack.words(c) + 10


def dw_usable(layer: Layer) -> bool:
    """Whether a depthwise layer can use sliced constants: 3x3 ternary with equal scales, a
    sign output and at most nine border classes."""
    if not (_equal_scale_sign_conv(layer) and layer.groups > 1 and layer.kernel == 3):
        return False
    _, h, w = layer.in_shape
    return len(border_classes(h, w, layer.stride, layer.padding)) <= MAX_CLASSES


def border_classes(h: int, w: int, stride: int, pad: int) -> list[int]:
    """The tap masks (bit ky * 3 + kx: tap inside the image) of a 3x3 window over the output
    pixels, in order of first appearance."""
    def inside(n: int, o: int) -> int:
        return sum(1 << k for k in range(3) if 0 <= o * stride + k - pad < n)

    oh, ow = (h + 2 * pad - 3) // stride + 1, (w + 2 * pad - 3) // stride + 1
    rows = list(dict.fromkeys(inside(h, oy) for oy in range(oh)))
    cols = list(dict.fromkeys(inside(w, ox) for ox in range(ow)))
    keys: list[int] = []
    for r in rows:
        for cmask in cols:
            v = sum(cmask << (3 * ky) for ky in range(3) if (r >> ky) & 1)
            if v not in keys:
                keys.append(v)
    return keys


def dw_sliced_constants(layer: Layer) -> np.ndarray:
    """The constants of a depthwise 3x3 layer that :func:`dw_usable` accepts (layout in
    trit_dw_ternary_bin's comment)."""
    if not dw_usable(layer):
        raise ValueError(f"layer {layer.name!r} cannot use depthwise sliced constants")
    c, h, w = layer.in_shape
    keys = border_classes(h, w, layer.stride, layer.padding)
    codes = np.asarray(layer.weights.values).reshape(c, 9).astype(np.int64)
    alpha = int(layer.weights.scales[0])
    groups = pack.words(c)
    padded = np.zeros((groups * 32, 9), np.int64)
    padded[:c] = codes
    by_lane = padded.reshape(groups, 32, 9).transpose(2, 0, 1)          # [t][g][lane]
    taps = np.stack([pack.pack_bits(by_lane == -1)[..., 0],
                     pack.pack_bits(by_lane != 0)[..., 0]], axis=-1)     # [t][g][2]
    thr = np.asarray(layer.output.threshold, np.int64)
    if thr.ndim == 2:
        thr = thr[:, 1]
    negative = np.asarray(layer.output.direction) < 0
    limits = np.zeros((MAX_CLASSES, groups * 32), np.int64)             # limit + 1
    for j, v in enumerate(keys):
        inside = np.array([(v >> t) & 1 for t in range(9)], bool)
        for ch in range(c):
            n = int((codes[ch][inside] != 0).sum())
            limits[j, ch] = count_limit(int(thr[ch]), bool(negative[ch]), alpha, n) + 1
    bits = (limits[:, :, None] >> np.arange(4)) & 1                     # [j][o][b]
    planes = pack.pack_bits(bits.reshape(MAX_CLASSES, groups, 32, 4).transpose(0, 1, 3, 2)
                            .astype(bool))[..., 0]                       # [j][g][b]
    key_words = np.full(MAX_CLASSES, NO_CLASS, np.uint64)
    key_words[:len(keys)] = keys
    return np.concatenate([taps.reshape(-1).astype(np.uint64), [len(keys)], key_words,
                           planes.reshape(-1).astype(np.uint64)]).astype(np.uint32)
