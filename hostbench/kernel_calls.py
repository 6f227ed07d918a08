"""Call the C kernels of firmware/ on NumPy arrays, through one of two backends:

* :class:`HostLibrary` — a kernel flavour built as a host shared library, called via ctypes
  (portable flavours only);
* :class:`EmulatedBoard` — the kernel job runner (firmware/kernelbench/runner.c) built for an
  emulated board, each call one job in QEMU (every flavour, including the ARM ones).

:class:`KernelCalls` turns IR layers and packed tensors into the kernels' arguments (layouts of
firmware/include/trit/kernels.h) and returns the packed outputs; the backends only pass them.
"""

from __future__ import annotations

import ctypes as C
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codegen import pack
from codegen.banded import input_rows
from codegen.int8_reference import Requant
from codegen.memory import scratch_ints
from codegen.nibble_tables import byte_tables as byte_tables_of
from codegen.nibble_tables import nibble_tables, start_values
from codegen.sliced import dw_sliced_constants, dw_usable, pw_sliced_constants
from codegen.project import kernel_sources

from .firmware_build import CFLAGS

REPO = Path(__file__).resolve().parents[1]
KERNELS_H = REPO / "firmware" / "include" / "trit" / "kernels.h"


@dataclass
class Thr:
    """A trit_threshold_t: thresholds (int32, or int16/int8 as an IR version 4 file stores
    them), packed direction bits, residual flag."""
    threshold: np.ndarray
    negative: np.ndarray
    has_residual: int


@dataclass
class Scales:
    """A trit_scales_t (passed by value)."""
    wp: int
    wn: int


def threshold_arg(output) -> Thr:
    t = output.threshold
    dtype = t.dtype if t.dtype in (np.int8, np.int16) else np.int32
    return Thr(np.ascontiguousarray(t, dtype=dtype).ravel(),
               pack.pack_direction(output.direction), int(output.residual is not None))


class KernelCalls:
    """The kernel operations on IR layers; subclasses implement :meth:`_call`."""

    def _call(self, name: str, args: list, out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def conv_input_s8(self, layer, image_hwc: np.ndarray) -> np.ndarray:
        cin, h, w = layer.in_shape
        cout, oh, ow = layer.out_shape
        out = np.zeros((oh, ow, pack.words(cout)), np.uint32)
        args = [image_hwc, h, w, cin, pack.conv_weights_hwc(layer.weights.values), cout,
                layer.kernel, layer.stride, layer.padding, threshold_arg(layer.output), out,
                np.zeros(scratch_ints(cout), np.int32)]
        return self._call("trit_conv_input_s8", args, out)

    def pw_ternary_bin(self, layer, x: np.ndarray, residual: np.ndarray | None = None,
                       res_c: int = 0, sliced: bool = False, tables: bool = False,
                       starts: bool | np.ndarray = False,
                       byte_tables: bool = False, word_tiles: bool = False) -> np.ndarray:
        """``sliced``: pass the layer's code-generation constants (codegen/sliced.py; equal
        scales only), as generated models do for layers of few pixels; ``tables``: its
        nibble tables (codegen/nibble_tables.py), as banded models do; ``starts``: the nibble
        kernel's start values alone, as models pass them for the other pointwise layers (an
        array: those words as given, word 0 included); ``byte_tables``: its byte tables (21..24
        inputs and outputs), as models built with byte tables pass them; ``word_tiles``: its
        nibble tables in whole-word tiles (outputs a multiple of 16), as models built with
        `--nibble-tables` pass them."""
        cin, h, w = layer.in_shape
        cout = layer.out_shape[0]
        sign, nz = pack.pack_ternary(layer.weights.values)
        out = np.zeros((h, w, pack.words(cout)), np.uint32)
        res_w = 0 if residual is None else residual.shape[1]
        constants, nibble = None, None
        used_res_c = res_c if residual is not None else 0
        if sliced:
            constants = pw_sliced_constants(layer.weights.values, int(layer.weights.scales[0]),
                                            layer.output, used_res_c)
        if isinstance(starts, np.ndarray):
            nibble = starts
        elif word_tiles:
            nibble = nibble_tables(layer.weights.values, int(layer.weights.scales[0]),
                                   layer.output, used_res_c, word_tiles=True)
        elif tables or starts or byte_tables:
            make = (byte_tables_of if byte_tables else nibble_tables if tables
                    else start_values)
            nibble = make(layer.weights.values, int(layer.weights.scales[0]), layer.output,
                          used_res_c)
        args = [x, h, w, cin, sign, nz, Scales(*map(int, layer.weights.scales)), cout,
                threshold_arg(layer.output), residual, res_w, res_c,
                layer.output.residual_stride, out, np.zeros(scratch_ints(cout), np.int32),
                constants, nibble]
        return self._call("trit_pw_ternary_bin", args, out)

    def dw_ternary_bin(self, layer, x: np.ndarray, sliced: bool = False,
                       rows: tuple[int, int] | None = None) -> np.ndarray:
        """``x``: the whole packed input map. ``sliced``: pass the layer's code-generation
        constants (codegen/sliced.py; 3x3, equal scales), as generated models for the
        ARMv7E-M flavour do. ``rows``: compute only output rows [y0, y1) from the input rows
        that band reads (passed alone, as a banded model does); returns those rows."""
        c, h, w = layer.in_shape
        _, oh, ow = layer.out_shape
        y0, y1 = rows if rows is not None else (0, oh)
        lo, hi = input_rows(layer, y0, y1)
        out = np.zeros((y1 - y0, ow, pack.words(c)), np.uint32)
        constants = dw_sliced_constants(layer) if sliced and dw_usable(layer) else None
        args = [np.ascontiguousarray(x[lo:hi]), h, w, c, pack.dw_codes(layer.weights.values),
                Scales(*map(int, layer.weights.scales)), layer.kernel, layer.stride,
                layer.padding, threshold_arg(layer.output), out,
                np.zeros(scratch_ints(c), np.int32), constants, lo, y0, y1]
        return self._call("trit_dw_ternary_bin", args, out)

    def global_sum_pool_bin(self, x: np.ndarray, c: int) -> np.ndarray:
        out = np.zeros(c, np.int32)
        return self._call("trit_global_sum_pool_bin", [x, x.shape[0] * x.shape[1], c, out],
                          out)

    def dense_ternary(self, layer, x: np.ndarray) -> np.ndarray:
        sign, nz = pack.pack_ternary(layer.weights.values)
        out = np.zeros(layer.out_shape[0], np.int32)
        args = [np.ascontiguousarray(x, np.int32), layer.in_shape[0], sign, nz,
                Scales(*map(int, layer.weights.scales)),
                np.ascontiguousarray(layer.bias, np.int32), layer.out_shape[0], out]
        return self._call("trit_dense_ternary", args, out)


    # int8 comparison kernels: tensors int8 [H][W][C] (codegen.int8_reference)
    def conv_s8(self, x: np.ndarray, weights: np.ndarray, stride: int, pad: int,
                rq: Requant) -> np.ndarray:
        h, w, cin = x.shape
        cout, k = weights.shape[0], weights.shape[1]
        oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        out = np.zeros((oh, ow, cout), np.int8)
        args = [np.ascontiguousarray(x, np.int8), h, w, cin,
                np.ascontiguousarray(weights, np.int8), cout, k, stride, pad, rq, out,
                np.zeros(scratch_ints(cout), np.int32)]
        return self._call("trit_conv_s8", args, out)

    def dw_s8(self, x: np.ndarray, weights: np.ndarray, stride: int, pad: int,
              rq: Requant) -> np.ndarray:
        h, w, c = x.shape
        k = weights.shape[1]
        oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        out = np.zeros((oh, ow, c), np.int8)
        args = [np.ascontiguousarray(x, np.int8), h, w, c,
                np.ascontiguousarray(weights, np.int8), k, stride, pad, rq, out,
                np.zeros(scratch_ints(c), np.int32)]
        return self._call("trit_dw_s8", args, out)

    def add_s8(self, a: np.ndarray, b: np.ndarray, ma: int, mb: int, shift: int,
               act_min: int = -128) -> np.ndarray:
        out = np.zeros(a.shape, np.int8)
        args = [np.ascontiguousarray(a, np.int8), np.ascontiguousarray(b, np.int8), a.size,
                ma, mb, shift, act_min, out]
        return self._call("trit_add_s8", args, out)


    # int8-activation layers with ternary weights (IR v2): tensors int8 [H][W][C]
    @staticmethod
    def _requant(output) -> Requant:
        """The kernel argument of an IR requant output."""
        return Requant(bias=output.bias, mult=output.mult, shift=output.shift.astype(np.int32),
                       act_min=output.act_min)

    def pw_ternary_s8(self, layer, x: np.ndarray) -> np.ndarray:
        h, w, cin = x.shape
        cout = layer.out_shape[0]
        sign, nz = pack.pack_ternary(layer.weights.values)
        out = np.zeros((h, w, cout), np.int8)
        args = [np.ascontiguousarray(x, np.int8), h * w, cin, sign, nz,
                Scales(*map(int, layer.weights.scales)), cout, self._requant(layer.output), out,
                np.zeros(scratch_ints(cout), np.int32)]
        return self._call("trit_pw_ternary_s8", args, out)

    def dw_ternary_s8(self, layer, x: np.ndarray) -> np.ndarray:
        h, w, c = x.shape
        _, oh, ow = layer.out_shape
        out = np.zeros((oh, ow, c), np.int8)
        args = [np.ascontiguousarray(x, np.int8), h, w, c, pack.dw_codes(layer.weights.values),
                Scales(*map(int, layer.weights.scales)), layer.kernel, layer.stride,
                layer.padding, self._requant(layer.output), out,
                np.zeros(scratch_ints(c), np.int32)]
        return self._call("trit_dw_ternary_s8", args, out)

    def add_residual_s8(self, a: np.ndarray, b: np.ndarray, stride: int, ma: int, mb: int,
                        shift: int, act_min: int) -> np.ndarray:
        h, w, c = a.shape
        out = np.zeros(a.shape, np.int8)
        args = [np.ascontiguousarray(a, np.int8), h, w, c, np.ascontiguousarray(b, np.int8),
                b.shape[1], b.shape[2], stride, ma, mb, shift, act_min, out]
        return self._call("trit_add_residual_s8", args, out)

    def global_sum_pool_s8(self, x: np.ndarray) -> np.ndarray:
        h, w, c = x.shape
        out = np.zeros(c, np.int32)
        return self._call("trit_global_sum_pool_s8",
                          [np.ascontiguousarray(x, np.int8), h * w, c, out], out)

    # binary convolutions on an int8 stream (IR v3)
    def sign_pack_s8(self, x: np.ndarray) -> np.ndarray:
        """int8 [H][W][C] -> packed binary [H][W][words(C)]."""
        h, w, c = x.shape
        out = np.zeros((h, w, pack.words(c)), np.uint32)
        return self._call("trit_sign_pack_s8", [np.ascontiguousarray(x, np.int8), h * w, c, out],
                          out)

    def pw_ternary_bin_s8(self, layer, x: np.ndarray) -> np.ndarray:
        """Packed binary input [H][W][words(cin)] -> int8 [H][W][cout]."""
        h, w, _ = x.shape
        cin, cout = layer.in_shape[0], layer.out_shape[0]
        sign, nz = pack.pack_ternary(layer.weights.values)
        out = np.zeros((h, w, cout), np.int8)
        args = [np.ascontiguousarray(x, np.uint32), h * w, cin, sign, nz,
                Scales(*map(int, layer.weights.scales)), cout, self._requant(layer.output), out,
                np.zeros(scratch_ints(cout), np.int32)]
        return self._call("trit_pw_ternary_bin_s8", args, out)


class _ThresholdT(C.Structure):
    _fields_ = [("threshold", C.POINTER(C.c_int32)), ("negative", C.POINTER(C.c_uint32)),
                ("has_residual", C.c_int), ("threshold8", C.POINTER(C.c_int8)),
                ("threshold16", C.POINTER(C.c_int16))]


class _ScalesT(C.Structure):
    _fields_ = [("wp", C.c_int32), ("wn", C.c_int32)]


class _RequantT(C.Structure):
    _fields_ = [("bias", C.POINTER(C.c_int32)), ("mult", C.POINTER(C.c_int32)),
                ("shift", C.POINTER(C.c_int32)), ("act_min", C.c_int32)]


class HostLibrary(KernelCalls):
    """A portable kernel flavour compiled for the host with the firmware's flags."""

    def __init__(self, flavour: str, out_dir: Path) -> None:
        lib = Path(out_dir) / f"libtrit_{flavour}.so"
        subprocess.run(["gcc", *CFLAGS, "-shared", "-fPIC",
                        f"-I{REPO / 'firmware' / 'include'}",
                        *map(str, kernel_sources(flavour)), "-o", str(lib)], check=True)
        self.lib = C.CDLL(str(lib))

    def _call(self, name: str, args: list, out: np.ndarray) -> np.ndarray:
        keep, cargs = [], []
        for a in args:
            if isinstance(a, np.ndarray):
                a = np.ascontiguousarray(a)
                keep.append(a)
                cargs.append(C.c_void_p(a.ctypes.data))
            elif isinstance(a, Thr):
                keep.append(a)
                t = _ThresholdT(None, a.negative.ctypes.data_as(C.POINTER(C.c_uint32)),
                                a.has_residual)
                field, ctype = {1: ("threshold8", C.c_int8), 2: ("threshold16", C.c_int16),
                                4: ("threshold", C.c_int32)}[a.threshold.itemsize]
                setattr(t, field, a.threshold.ctypes.data_as(C.POINTER(ctype)))
                keep.append(t)
                cargs.append(C.byref(t))
            elif isinstance(a, Scales):
                cargs.append(_ScalesT(a.wp, a.wn))
            elif isinstance(a, Requant):
                arrays = [np.ascontiguousarray(v, np.int32) for v in (a.bias, a.mult, a.shift)]
                keep += arrays
                t = _RequantT(*(v.ctypes.data_as(C.POINTER(C.c_int32)) for v in arrays),
                              a.act_min)
                keep.append(t)
                cargs.append(C.byref(t))
            else:
                cargs.append(a)
        getattr(self.lib, name)(*cargs)
        return out


class EmulatedBoard(KernelCalls):
    """Each call runs as one job of the kernel runner in the board's emulator. ``reference``
    runs the portable twin linked into the same image instead of the board's flavour;
    ``repeat`` times the call that many times (``last_ticks`` holds the counter total)."""

    def __init__(self, runner, reference: bool = False, repeat: int = 1) -> None:
        self.runner = runner
        self.reference = reference
        self.repeat = repeat
        self.last_ticks = 0

    def _call(self, name: str, args: list, out: np.ndarray) -> np.ndarray:
        from .kernel_jobs import Job
        job = Job(name, args, out, reference=self.reference, repeat=self.repeat)
        (result,) = self.runner.run([job])
        self.last_ticks = result.ticks
        out[...] = result.output.reshape(out.shape)
        return out
