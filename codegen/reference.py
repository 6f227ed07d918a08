"""Bit-exact integer reference interpreter of the deployment IR (NumPy).

This is the oracle that the C kernels, the generated model and the on-device results are
checked against. It implements docs/ir.md literally: binary values are int8 ±1 arrays,
int8 activations (IR v2) are int8 arrays; accumulators are integers (computed in int64 and
checked to fit int32).
"""

from __future__ import annotations

import numpy as np

from .ir import INT32_MAX, INT32_MIN, Layer, ModelIR, Requant


class AccumulatorOverflow(ArithmeticError):
    """An accumulator left the int32 range, which the IR forbids."""


def _check_int32(name: str, acc: np.ndarray) -> np.ndarray:
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise AccumulatorOverflow(f"layer {name!r}: accumulator outside int32")
    return acc


def _signed_sum(layer: Layer, dot, max_abs_input: float) -> np.ndarray:
    """``Σ w·x`` for int8 weights, ``wp_q·P − wn_q·N`` for ternary ones (the same as ``Σ w'·x``
    with ``w' = wp_q`` on +1 codes and ``−wn_q`` on −1 codes). ``dot(w)`` sums the input under
    a float weight tensor of the layer's shape (BLAS speed). Exact: float32 is used only when
    ``max|x| · max_o Σ|w'_o|`` bounds every partial sum below 2**24, float64 otherwise
    (integers below 2**53); |acc| < 2**31 is checked afterwards."""
    w = layer.weights
    if w.format == "int8":
        wf = w.values.astype(np.float64)
    else:
        wp, wn = (float(v) for v in w.scales)
        wf = np.where(w.values == 1, wp, np.where(w.values == -1, -wn, 0.0))
    bound = max_abs_input * np.abs(wf).reshape(len(wf), -1).sum(axis=1).max()
    dtype = np.float32 if bound < 2 ** 24 else np.float64
    return np.rint(dot(wf.astype(dtype), dtype)).astype(np.int64)


def conv2d_acc(layer: Layer, x: np.ndarray) -> np.ndarray:
    """Integer accumulators ``[N, C_out, OH, OW]`` of a conv2d; out-of-image taps add 0."""
    k, s, p, g = layer.kernel, layer.stride, layer.padding, layer.groups
    _, oh, ow = layer.out_shape

    def dot(w: np.ndarray, dtype) -> np.ndarray:
        xp = np.pad(x.astype(dtype), ((0, 0), (0, 0), (p, p), (p, p)))

        def tap(ky: int, kx: int) -> np.ndarray:
            return xp[:, :, ky:ky + s * (oh - 1) + 1:s, kx:kx + s * (ow - 1) + 1:s]

        acc = 0
        for ky in range(k):
            for kx in range(k):
                if g == 1:  # [N, OH, OW, Cout]
                    acc = acc + np.tensordot(tap(ky, kx), w[:, :, ky, kx], axes=([1], [1]))
                else:
                    acc = acc + tap(ky, kx) * w[None, :, 0, ky, kx, None, None]
        return acc if g > 1 else acc.transpose(0, 3, 1, 2)

    return _check_int32(layer.name, _signed_sum(layer, dot, float(np.abs(x).max(initial=0))))


def dense_logits(layer: Layer, x: np.ndarray) -> np.ndarray:
    """int logits ``[N, K]`` of a dense layer on int inputs ``[N, C]``."""
    acc = _signed_sum(layer, lambda w, dt: x.astype(dt) @ w.T, float(np.abs(x).max(initial=0)))
    return _check_int32(layer.name, acc + layer.bias.astype(np.int64))


def sign_threshold(layer: Layer, acc: np.ndarray, values: dict[str, np.ndarray]) -> np.ndarray:
    """±1 outputs (int8) from accumulators per the layer's folded thresholds."""
    o = layer.output
    c = acc.shape[1]
    if o.residual is None:
        thr = o.threshold.astype(np.int64)[None, :, None, None]
    else:
        src = values[o.residual][:, :, ::o.residual_stride, ::o.residual_stride]
        r = np.zeros_like(acc)
        r[:, :src.shape[1]] = src
        t = o.threshold.astype(np.int64)[None, :, None, None, :]
        thr = np.where(r < 0, t[..., 0], np.where(r == 0, t[..., 1], t[..., 2]))
    d = o.direction.astype(np.int64).reshape(1, c, 1, 1)
    positive = np.where(d > 0, acc >= thr, acc <= thr)
    return np.where(positive, 1, -1).astype(np.int8)


def residual_add(layer: Layer, x: np.ndarray, values: dict[str, np.ndarray]) -> np.ndarray:
    """int8 output of an ``add`` layer (option-A shortcut: strided source, zero channels)."""
    a = layer.add
    src = values[a.other][:, :, ::a.stride, ::a.stride].astype(np.int64)
    b = np.zeros(x.shape, np.int64)
    b[:, :src.shape[1]] = src
    y = (x.astype(np.int64) * a.ma + b * a.mb + (1 << (a.shift - 1))) >> a.shift
    return np.clip(y, a.act_min, 127).astype(np.int8)


def run(ir: ModelIR, images: np.ndarray, keep: bool = False) -> dict[str, np.ndarray]:
    """Run uint8 images ``[N, 3, H, W]`` (or one ``[3, H, W]``) through the IR.

    Returns ``{"logits": int64 [N, K], "pred": int64 [N]}`` and, with ``keep``, every
    intermediate value by layer name (conv accumulators under ``<name>.acc``).
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.dtype != np.uint8 or images.shape[1:] != tuple(ir.input_shape):
        raise ValueError(f"images must be uint8 [N, {', '.join(map(str, ir.input_shape))}], "
                         f"got {images.dtype} {list(images.shape)}")
    values: dict[str, np.ndarray] = {"input": images.astype(np.int64) - ir.input_offset}
    for layer in ir.layers:
        x = values[layer.input]
        if layer.op == "conv2d":
            acc = conv2d_acc(layer, x)
            if keep:
                values[f"{layer.name}.acc"] = acc
            if isinstance(layer.output, Requant):
                values[layer.name] = layer.output.apply(acc)
            else:
                values[layer.name] = sign_threshold(layer, acc, values)
        elif layer.op == "add":
            values[layer.name] = residual_add(layer, x, values)
        elif layer.op == "sign":
            values[layer.name] = np.where(x >= 0, 1, -1).astype(np.int8)
        elif layer.op == "global_sum_pool":
            values[layer.name] = x.astype(np.int64).sum(axis=(2, 3))
        else:  # dense
            values[layer.name] = dense_logits(layer, x)
    logits = values[ir.layers[-1].name]
    out = {"logits": logits, "pred": logits.argmax(axis=1)}
    if keep:
        out.update(values)
    return out


def run_batched(ir: ModelIR, images: np.ndarray, batch_size: int = 500) -> dict[str, np.ndarray]:
    """:func:`run` over ``images`` in batches: ``{"logits", "pred"}``."""
    outs = [run(ir, images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
    return {k: np.concatenate([o[k] for o in outs]) for k in ("logits", "pred")}


def predict(ir: ModelIR, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Predicted class per image (int64 ``[N]``), in batches."""
    return run_batched(ir, images, batch_size)["pred"]
