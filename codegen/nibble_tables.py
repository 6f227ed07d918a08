"""Nibble tables of a pointwise layer, made at code generation for the ARMv7E-M kernel
(firmware/kernels/armv7em/pw_nibble_lut.h), which otherwise builds them on every call: a
layer run a few rows at a time (codegen/banded.py) would rebuild them for every band. Layers
run whole take only the counters' start values (:func:`start_values`), which the kernel would
otherwise derive per call from the weights and thresholds.

Layout (kernels.h, trit_pw_ternary_bin's ``tables``): word 0 is TRIT_NIBBLE_TABLES (1), then
output channels in tiles of 4 G (the kernel's plan, :func:`tile_plan`), each tile [Q][16][G]
uint32 words, Q = ceil(cin / 4): for nibble q (inputs 4 q .. 4 q + 3) and activation value v
(bit i set: input 4 q + i is -1), word g holds, in byte j, the number of -1 products of channel
4 (g0 + g) + j over the nibble's inputs minus that number at v = 0, as the integer sum over
bytes of count * 256^j modulo 2^32 (negative byte counts borrow from the byte above, as the
kernel's adds do); after each tile's rows its counters' start values and their change for a
residual -1 (kernels.h). The same in whole-word tiles (:func:`word_tile_plan`, eight groups
per tile; outputs a multiple of 16, built with `--nibble-tables`): word 0
TRIT_NIBBLE_WORD_TILES (3), tiles not bounded by the kernel's scratch. Start values alone:
word 0 TRIT_NIBBLE_STARTS (0), then the start values of the ceil(cout / 4) groups of four
channels, then their changes for a residual -1.
Byte tables (:func:`byte_tables`, layers of 21..24 inputs and outputs): word 0
TRIT_BYTE_TABLES (2), the [2][6] start words, the start words by residual bits [6][16] (group
g, its four channels' residual bits r), then [3][256][6] words, row r of byte value v the sum
of nibble rows 2 r and 2 r + 1 at its low and high nibble."""

from __future__ import annotations

import numpy as np

from .ir import Layer, SignThreshold
from .memory import scratch_ints
from .sliced import count_limit, usable as sliced_usable


def usable(layer: Layer) -> bool:
    """Whether the kernel counts ``layer`` through nibble tables: a pointwise layer that takes
    sliced constants (ternary, equal scales, a sign output) with at most 127 inputs."""
    return sliced_usable(layer) and layer.in_shape[0] <= 127


def bytes_usable(layer: Layer) -> bool:
    """Whether the ARMv7E-M kernel's 24-channel tile can count ``layer`` through byte tables:
    a nibble-table layer of 21..24 inputs and 21..24 outputs (one activation word in and
    out). Its residual, if any, must have the layer's map (stride 1) for the tile to run; the
    kernel otherwise falls back to the nibble tables with the start values."""
    return usable(layer) and 21 <= layer.in_shape[0] <= 24 and 21 <= layer.out_shape[0] <= 24


BYTE_TABLE_WORDS = 1 + 2 * 6 + 6 * 16 + 3 * 256 * 6  # word 0, starts, residual starts, rows


def tile_plan(cin: int, cout: int) -> list[tuple[int, int]]:
    """(first group, G) of each tile, as pw_equal_lut chooses them with the uncapped
    scratch (TRIT_SCRATCH_FULL_)."""
    q, groups, room = (cin + 3) // 4, (cout + 3) // 4, scratch_ints(cout)
    gmax = 4
    while gmax > 0 and q * 16 * gmax > room:
        gmax >>= 1
    if gmax == 0:
        raise ValueError(f"no nibble table tile fits {cin} -> {cout} channels")
    plan, g0 = [], 0
    while g0 < groups:
        g = gmax
        while g > groups - g0:
            g >>= 1
        if g0 % 8 == 0 and groups - g0 >= 8 and q * 16 * 8 <= room:
            g = 8
        elif g0 % 8 == 0 and groups - g0 in (6, 7) and q * 16 * 6 <= room:
            g = 6
        plan.append((g0, g))
        g0 += g
    return plan


def word_tiles_usable(layer: Layer) -> bool:
    """Whether the ARMv7E-M kernel counts ``layer`` through tables in whole-word tiles
    (:func:`word_tile_plan`): a nibble-table layer with a multiple of 16 outputs."""
    return usable(layer) and layer.out_shape[0] % 16 == 0


def word_tile_plan(cout: int) -> list[tuple[int, int]]:
    """(first group, G) of each tile of TRIT_NIBBLE_WORD_TILES tables (cout a multiple of
    16): eight groups (one output word) per tile, four for a last half word, as the kernel's
    lut_word_tiles runs them."""
    if cout % 16:
        raise ValueError(f"whole-word tiles take a multiple of 16 outputs, not {cout}")
    groups = cout // 4
    return [(g0, 8 if groups - g0 >= 8 else 4) for g0 in range(0, groups, 8)]


def table_words(cin: int, cout: int) -> int:
    """uint32 words of the tables of a cin -> cout layer (word 0, rows and start values)."""
    return 1 + sum(((cin + 3) // 4 * 16 + 2) * g for _, g in tile_plan(cin, cout))


def start_words(cout: int) -> int:
    """uint32 words of the start values alone (word 0 and two words per four channels)."""
    return 1 + 2 * ((cout + 3) // 4)


def _limits(output: SignThreshold, o: int, res_c: int, alpha: int, n: int) -> tuple[int, int]:
    """(K for a residual +1 or none, K for a residual -1) of channel o (pw_ternary_bin.c:
    channel_limits)."""
    t = np.asarray(output.threshold)
    neg = bool(output.direction[o] < 0)
    if output.residual is None:
        k = count_limit(int(t[o]), neg, alpha, n)
        return k, k
    if o < res_c:
        return (count_limit(int(t[o, 2]), neg, alpha, n),
                count_limit(int(t[o, 0]), neg, alpha, n))
    k = count_limit(int(t[o, 1]), neg, alpha, n)
    return k, k


# word 0: TRIT_NIBBLE_TABLES, _STARTS, TRIT_BYTE_TABLES, TRIT_NIBBLE_WORD_TILES
TABLES, STARTS, BYTES, WORD_TILES = 1, 0, 2, 3


def _start_bytes(c: np.ndarray, output: SignThreshold, alpha: int, res_c: int,
                 chans: np.ndarray) -> np.ndarray:
    """[residual +1 (or none) / -1][g][j]: the counter start value of channel chans[4 g + j],
    0x80 - L + (number of -1 weights), L = count limit + 1; 0x80 past cout."""
    cout = c.shape[0]
    start = np.zeros((2, len(chans) // 4, 4), np.int64)
    for k, o in enumerate(chans):
        if o >= cout:
            start[:, k // 4, k % 4] = 0x80
            continue
        n, nneg = int((c[o] != 0).sum()), int((c[o] < 0).sum())
        for r, lim in enumerate(_limits(output, int(o), res_c, alpha, n)):
            start[r, k // 4, k % 4] = 0x80 - (lim + 1) + nneg
    return start


def _starts(c: np.ndarray, output: SignThreshold, alpha: int, res_c: int,
            chans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The counters' start words of channels ``chans`` (groups of four, byte j = channel
    4 g + j): for a residual +1 (or none), and what to add for a residual -1 (mod 2^32)."""
    start = _start_bytes(c, output, alpha, res_c, chans)
    cp, cm = ((start[r] * (256 ** np.arange(4))).sum(axis=-1) for r in (0, 1))
    return np.mod(cp, 2 ** 32).astype(np.uint32), np.mod(cm - cp, 2 ** 32).astype(np.uint32)


def _residual_starts(c: np.ndarray, output: SignThreshold, alpha: int, res_c: int,
                     chans: np.ndarray) -> np.ndarray:
    """[g][16] words: the start word of group g when the residual bits of its four channels
    are r (bit j set: channel chans[4 g + j] sees a residual -1), mod 2^32."""
    start = _start_bytes(c, output, alpha, res_c, chans)               # [2][g][j]
    bits = (np.arange(16)[:, None] >> np.arange(4)) & 1               # [r][j]
    picked = np.where(bits[None, :, :] == 1, start[1][:, None, :], start[0][:, None, :])
    return np.mod((picked * (256 ** np.arange(4))).sum(axis=-1), 2 ** 32).astype(np.uint32)


def _deltas(codes: np.ndarray) -> np.ndarray:
    """[cout + 32][cin padded to a multiple of 8]: how the -1 count of channel o moves when
    input i goes from +1 to -1 (+1 for a +1 weight, -1 for a -1 weight; 0 past cout / cin)."""
    c = np.asarray(codes).reshape(codes.shape[0], -1).astype(np.int64)
    cout, cin = c.shape
    pad = np.zeros((cout + 32, 8 * ((cin + 7) // 8)), np.int64)
    pad[:cout, :cin] = c
    return pad


def _rows(delta: np.ndarray, bits: int, chans: np.ndarray) -> np.ndarray:
    """Table rows of ``bits``-bit slices of the input: [slice][value][len(chans) // 4] words,
    byte j of word g the -1 count change of channel chans[4 g + j] (mod 2^32)."""
    n = delta.shape[1] // bits
    d = delta[:, :n * bits].reshape(delta.shape[0], n, bits)          # [o][q][i]
    values = (np.arange(1 << bits)[:, None] >> np.arange(bits)) & 1   # [v][i]
    counts = np.einsum("oqi,vi->qvo", d, values)[:, :, chans]        # [q][v][o]
    byte = counts.reshape(n, 1 << bits, len(chans) // 4, 4)
    return np.mod((byte * (256 ** np.arange(4))).sum(axis=-1), 2 ** 32).astype(np.uint32)


def byte_tables(codes: np.ndarray, alpha: int, output: SignThreshold, res_c: int) -> np.ndarray:
    """The byte tables of ternary codes [cout, cin(, 1, 1)] (21..24 each, :func:`bytes_usable`)
    with equal scales ``alpha`` and sign ``output``, called with a residual of ``res_c``
    channels (0: none), as uint32: word 0 ``BYTES``, start values, start values by residual
    bits, rows (``BYTE_TABLE_WORDS`` words)."""
    c = np.asarray(codes).reshape(codes.shape[0], -1).astype(np.int64)
    if not (21 <= c.shape[0] <= 24 and 21 <= c.shape[1] <= 24):
        raise ValueError(f"byte tables take 21..24 inputs and outputs, not {c.shape[1]} -> "
                         f"{c.shape[0]}")
    chans = np.arange(24)
    rows = _rows(_deltas(c), 8, chans)[:3]
    out = np.concatenate([np.array([BYTES], np.uint32), *_starts(c, output, alpha, res_c, chans),
                          _residual_starts(c, output, alpha, res_c, chans).ravel(),
                          rows.ravel()])
    assert out.size == BYTE_TABLE_WORDS
    return out


def nibble_tables(codes: np.ndarray, alpha: int, output: SignThreshold,
                  res_c: int, word_tiles: bool = False) -> np.ndarray:
    """The tables of ternary codes [cout, cin(, 1, 1)] with equal scales ``alpha`` and sign
    ``output``, called with a residual of ``res_c`` channels (0: none), as uint32: word 0
    ``TABLES``, then the tiles in order; with ``word_tiles`` (cout a multiple of 16) word 0
    ``WORD_TILES`` and the tiles of :func:`word_tile_plan` (the same number of words)."""
    c = np.asarray(codes).reshape(codes.shape[0], -1).astype(np.int64)
    cout, cin = c.shape
    q_n = (cin + 3) // 4
    delta = _deltas(c)
    out = [np.array([WORD_TILES if word_tiles else TABLES], np.uint32)]
    for g0, g in word_tile_plan(cout) if word_tiles else tile_plan(cin, cout):
        chans = 4 * g0 + np.arange(4 * g)
        out.append(_rows(delta, 4, chans)[:q_n].ravel())
        out.extend(_starts(c, output, alpha, res_c, chans))
    return np.concatenate(out)


def start_values(codes: np.ndarray, alpha: int, output: SignThreshold,
                 res_c: int) -> np.ndarray:
    """The counters' start values alone, for a layer whose tables the kernel builds per call:
    word 0 ``STARTS``, then [2][ceil(cout / 4)] words."""
    c = np.asarray(codes).reshape(codes.shape[0], -1).astype(np.int64)
    groups = (c.shape[0] + 3) // 4
    cp, cd = _starts(c, output, alpha, res_c, np.arange(4 * groups))
    return np.concatenate([np.array([STARTS], np.uint32), cp, cd])
