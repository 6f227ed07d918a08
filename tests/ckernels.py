"""Build a kernel flavour of firmware/ as a host shared library and call it through ctypes."""

from __future__ import annotations

import ctypes as C
import subprocess
from pathlib import Path

import numpy as np

from codegen import pack
from hostbench.firmware_build import CFLAGS as FIRMWARE_CFLAGS

REPO = Path(__file__).resolve().parents[1]
CFLAGS = [*FIRMWARE_CFLAGS, "-shared", "-fPIC"]  # the firmware's flags, as a host library

P = np.ctypeslib.ndpointer


class ThresholdT(C.Structure):
    _fields_ = [("threshold", C.POINTER(C.c_int32)), ("negative", C.POINTER(C.c_uint32)),
                ("has_residual", C.c_int)]


class ScalesT(C.Structure):
    _fields_ = [("wp", C.c_int32), ("wn", C.c_int32)]


def build(flavour: str, out_dir: Path) -> C.CDLL:
    sources = sorted((REPO / "firmware" / "kernels" / flavour).glob("*.c"))
    lib = out_dir / f"libtrit_{flavour}.so"
    subprocess.run(["gcc", *CFLAGS, f"-I{REPO / 'firmware' / 'include'}", *map(str, sources),
                    "-o", str(lib)], check=True)
    return C.CDLL(str(lib))


class Kernels:
    """Thin NumPy wrappers that keep the argument arrays alive during a call."""

    def __init__(self, lib: C.CDLL) -> None:
        self.lib = lib

    @staticmethod
    def _thr(output) -> tuple[ThresholdT, list]:
        t = np.ascontiguousarray(output.threshold, dtype=np.int32).ravel()
        d = pack.pack_direction(output.direction)
        keep = [t, d]
        return ThresholdT(t.ctypes.data_as(C.POINTER(C.c_int32)),
                          d.ctypes.data_as(C.POINTER(C.c_uint32)),
                          int(output.residual is not None)), keep

    @staticmethod
    def _ptr(a: np.ndarray | None):
        return None if a is None else C.c_void_p(a.ctypes.data)

    def conv_input_s8(self, layer, image_hwc: np.ndarray) -> np.ndarray:
        cin, h, w = layer.in_shape
        cout, oh, ow = layer.out_shape
        thr, keep = self._thr(layer.output)
        wts = pack.conv_weights_hwc(layer.weights.values)
        out = np.zeros((oh, ow, pack.words(cout)), np.uint32)
        scratch = np.zeros(cout, np.int32)
        self.lib.trit_conv_input_s8(self._ptr(image_hwc), h, w, cin, self._ptr(wts), cout,
                                    layer.kernel, layer.stride, layer.padding, C.byref(thr),
                                    self._ptr(out), self._ptr(scratch))
        return out

    def pw_ternary_bin(self, layer, x: np.ndarray, residual: np.ndarray | None = None,
                       res_c: int = 0) -> np.ndarray:
        cin, h, w = layer.in_shape
        cout = layer.out_shape[0]
        thr, keep = self._thr(layer.output)
        sign, nz = pack.pack_ternary(layer.weights.values)
        s = ScalesT(*map(int, layer.weights.scales))
        out = np.zeros((h, w, pack.words(cout)), np.uint32)
        scratch = np.zeros(cout, np.int32)
        res_w = 0 if residual is None else residual.shape[1]
        self.lib.trit_pw_ternary_bin(
            self._ptr(x), h, w, cin, self._ptr(sign), self._ptr(nz), s, cout, C.byref(thr),
            self._ptr(residual), res_w, res_c, layer.output.residual_stride, self._ptr(out),
            self._ptr(scratch))
        return out

    def dw_ternary_bin(self, layer, x: np.ndarray) -> np.ndarray:
        c, h, w = layer.in_shape
        _, oh, ow = layer.out_shape
        thr, keep = self._thr(layer.output)
        codes = pack.dw_codes(layer.weights.values)
        s = ScalesT(*map(int, layer.weights.scales))
        out = np.zeros((oh, ow, pack.words(c)), np.uint32)
        scratch = np.zeros(c, np.int32)
        self.lib.trit_dw_ternary_bin(self._ptr(x), h, w, c, self._ptr(codes), s, layer.kernel,
                                     layer.stride, layer.padding, C.byref(thr), self._ptr(out),
                                     self._ptr(scratch))
        return out

    def global_sum_pool_bin(self, x: np.ndarray, c: int) -> np.ndarray:
        out = np.zeros(c, np.int32)
        self.lib.trit_global_sum_pool_bin(self._ptr(x), x.shape[0] * x.shape[1], c,
                                          self._ptr(out))
        return out

    def dense_ternary(self, layer, x: np.ndarray) -> np.ndarray:
        sign, nz = pack.pack_ternary(layer.weights.values)
        xin = np.ascontiguousarray(x, np.int32)
        bias = np.ascontiguousarray(layer.bias, np.int32)
        out = np.zeros(layer.out_shape[0], np.int32)
        self.lib.trit_dense_ternary(self._ptr(xin), layer.in_shape[0], self._ptr(sign),
                                    self._ptr(nz), ScalesT(*map(int, layer.weights.scales)),
                                    self._ptr(bias), layer.out_shape[0], self._ptr(out))
        return out
