"""Thresholds in units of one product: how an export stores the batch-norm thresholds of
equal-scale ternary layers on binary inputs in one or two bytes (IR version 4)."""

from __future__ import annotations

import numpy as np

from .model import SignThreshold, Weights


def threshold_dtype(fan_in: int) -> type[np.signedinteger]:
    """Storage type of thresholds in units of one product for a layer of ``fan_in`` binary
    inputs: the narrowest that holds ``±(fan_in + 1)``."""
    return next(d for d in (np.int8, np.int16, np.int32) if fan_in + 1 <= np.iinfo(d).max)


def count_unit_thresholds(weights: Weights, out: SignThreshold,
                          fan_in: int) -> tuple[Weights, SignThreshold]:
    """The same layer with thresholds in units of one product (IR version 4), for ternary
    weights with equal scales ``[k, k]`` on binary inputs: the accumulator ``k·c`` (``c`` the
    sum of ±1 products, ``|c| ≤ fan_in``) meets ``T`` exactly when ``c`` meets ``⌈T/k⌉``
    (direction +1) or ``⌊T/k⌋`` (direction −1). With scales ``[1, 1]`` and the thresholds
    clamped to ``±(fan_in + 1)`` (which decides nothing new) they fit int8 up to 126 inputs and
    int16 beyond (:func:`threshold_dtype`, from the fan-in alone, so the trainer's size report
    knows it before export). Other layers are returned as they are."""
    if weights.format != "ternary" or weights.scales[0] != weights.scales[1]:
        return weights, out
    k = int(weights.scales[0])
    t = out.threshold.astype(np.int64)
    negative = (out.direction < 0).reshape((-1,) + (1,) * (t.ndim - 1))
    c = np.where(negative, np.floor_divide(t, k), -np.floor_divide(-t, k))
    c = np.clip(c, -(fan_in + 1), fan_in + 1)
    return (Weights("ternary", weights.values, np.array([1, 1], np.int32)),
            SignThreshold(threshold=c.astype(threshold_dtype(fan_in)), direction=out.direction,
                          residual=out.residual, residual_stride=out.residual_stride))
