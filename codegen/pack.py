"""Bit packing between IR tensors (NumPy) and the C runtime's layouts (firmware/include/trit/kernels.h).

* binary tensor ``[C, H, W]`` of ±1 → uint32 ``[H, W, ⌈C/32⌉]``; bit ``c % 32`` of word
  ``c / 32`` is 1 for −1; unused high bits are 0;
* ternary codes ``[Cout, Cin]`` → two uint32 planes ``[Cout, ⌈Cin/32⌉]``: sign (1 = −1) and
  non-zero (1 = ±1);
* threshold directions ``[C]`` of ±1 → uint32 ``[⌈C/32⌉]`` (1 = direction −1);
* int8 convolution weights ``[Cout, Cin, K, K]`` → ``[Cout, K, K, Cin]``;
* depthwise codes ``[C, 1, K, K]`` → int8 ``[C, K·K]``;
* uint8 image ``[3, H, W]`` → int8 ``[H, W, 3]`` holding ``p − offset``.
"""

from __future__ import annotations

import numpy as np


def words(c: int) -> int:
    return (c + 31) // 32


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a bool array along its last axis into little-endian uint32 words."""
    bits = np.asarray(bits, dtype=bool)
    n = bits.shape[-1]
    padded = np.zeros(bits.shape[:-1] + (words(n) * 32,), dtype=bool)
    padded[..., :n] = bits
    weights = (np.uint64(1) << np.arange(32, dtype=np.uint64))
    grouped = padded.reshape(bits.shape[:-1] + (words(n), 32)).astype(np.uint64)
    return (grouped * weights).sum(-1).astype(np.uint32)


def unpack_bits(packed: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: bool array with last axis ``n``."""
    p = np.asarray(packed, dtype=np.uint32)[..., None]
    bits = (p >> np.arange(32, dtype=np.uint32)) & 1
    return bits.reshape(p.shape[:-2] + (-1,))[..., :n].astype(bool)


def pack_binary(values: np.ndarray) -> np.ndarray:
    """±1 ``[C, H, W]`` → uint32 ``[H, W, ⌈C/32⌉]`` (bit 1 = −1)."""
    return pack_bits(np.moveaxis(np.asarray(values) < 0, 0, -1))


def unpack_binary(packed: np.ndarray, c: int) -> np.ndarray:
    """uint32 ``[H, W, ⌈C/32⌉]`` → int8 ±1 ``[C, H, W]``."""
    return np.moveaxis(np.where(unpack_bits(packed, c), -1, 1).astype(np.int8), -1, 0)


def pack_ternary(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``[Cout, Cin(,1,1)]`` → (sign, nz) uint32 ``[Cout, ⌈Cin/32⌉]``."""
    c = np.asarray(codes).reshape(codes.shape[0], -1)
    return pack_bits(c < 0), pack_bits(c != 0)


def pack_direction(direction: np.ndarray) -> np.ndarray:
    return pack_bits(np.asarray(direction) < 0)


def conv_weights_hwc(weights: np.ndarray) -> np.ndarray:
    """int8 ``[Cout, Cin, K, K]`` → ``[Cout, K, K, Cin]``, contiguous."""
    return np.ascontiguousarray(np.asarray(weights, np.int8).transpose(0, 2, 3, 1))


def dw_codes(codes: np.ndarray) -> np.ndarray:
    """Depthwise codes ``[C, 1, K, K]`` → int8 ``[C, K·K]``."""
    return np.ascontiguousarray(np.asarray(codes, np.int8).reshape(codes.shape[0], -1))


def image_hwc(image: np.ndarray, offset: int = 128) -> np.ndarray:
    """uint8 ``[3, H, W]`` → int8 ``[H, W, 3]`` of ``p − offset``."""
    return np.ascontiguousarray((np.asarray(image, np.int16) - offset).astype(np.int8)
                                .transpose(1, 2, 0))
