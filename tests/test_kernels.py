"""Golden tests: every C kernel flavour against the integer reference interpreter, on random
shapes, odd channel counts that do not fill a 32-bit word, strides and image borders.

The portable flavour runs as a host library; the ARM flavours run in QEMU through the kernel
job runner (firmware/kernelbench/runner.c), one emulator start per call. Scales are drawn both
unequal and equal (wp == wn), since the optimised kernels have a faster path for the latter."""

from __future__ import annotations

import numpy as np
import pytest

from codegen import pack, reference
from codegen.ir import Layer, SignThreshold, Weights
from codegen.ir.count_units import count_unit_thresholds
from codegen.ir.model import conv_out_size
from hostbench.kernel_calls import EmulatedBoard, HostLibrary, KernelCalls

# (flavour, where it runs): the host, or an emulated board (Cortex-M3 AN385, M4 AN386, M7 AN500,
# M55 AN547; Linux user space on AArch64 and 32-bit ARMv7-A under QEMU user mode); "+asm": the
# DSP intrinsics as inline assembly (the path of GCC < 10 toolchains); "+ring1k": see below
FLAVOURS = [("ref", "host"), ("ref", "mps2-an385"), ("armv7em", "mps2-an386"),
            ("armv7em", "mps2-an500"), ("armv7em", "mps3-an547"), ("armv7em+asm", "mps2-an386"),
            ("ref", "qemu-aarch64"), ("neon", "qemu-aarch64"), ("neon", "qemu-armv7"),
            ("neon+ring1k", "qemu-aarch64")]
# variants: the same flavour built with other compile-time settings
VARIANT_DEFINES = {"asm": ("-DTRIT_ACLE_ASM",),
                   # a 1 KiB depthwise row ring: channel slabs and the scalar fallback
                   "ring1k": ("-DTRIT_DW_RING_BYTES=1024",)}
# what a generated model's trit/model_config.h may define beyond the scratch cap: every runner
# is built with it so that the code it compiles in is golden-tested too (kernels.h)
MODEL_DEFINES = ("-DTRIT_WORD_TILES=1",)
# what each place needs installed (make setup installs all of it)
NEEDS = {"mps": ("arm-none-eabi-gcc", "qemu-system-arm"),
         "qemu-aarch64": ("aarch64-linux-gnu-gcc", "qemu-aarch64"),
         "qemu-armv7": ("arm-linux-gnueabihf-gcc", "qemu-arm")}


@pytest.fixture(scope="module", params=FLAVOURS, ids=[f"{f}@{b}" for f, b in FLAVOURS])
def kernels(request, tmp_path_factory) -> KernelCalls:
    flavour, where = request.param
    tmp = tmp_path_factory.mktemp(f"{flavour}-{where}")
    if where == "host":
        return HostLibrary(flavour, tmp)
    import shutil
    tools = NEEDS.get(where, NEEDS["mps"])
    if not all(shutil.which(t) for t in tools):
        pytest.skip(f"needs {' and '.join(tools)} (make setup)")
    from hostbench.kernel_jobs import KernelRunner
    flavour, _, variant = flavour.partition("+")
    defines = (VARIANT_DEFINES[variant] if variant else ()) + MODEL_DEFINES
    return EmulatedBoard(KernelRunner(flavour, where, build_dir=tmp, extra_defines=defines))


def rand_threshold(rng, c: int, residual: bool, spread: int) -> SignThreshold:
    shape = (c, 3) if residual else (c,)
    return SignThreshold(threshold=rng.integers(-spread, spread + 1, shape).astype(np.int32),
                         direction=rng.choice(np.array([-1, 1], np.int8), c),
                         residual="res" if residual else None)


def rand_ternary(rng, shape, equal_scales: bool = False) -> Weights:
    """Random codes; scales up to 12 bits, or equal and small (1..3) so that accumulators often
    land exactly on a threshold."""
    scales = rng.integers(1, 4097, 2).astype(np.int32)
    if equal_scales:
        scales[:] = rng.integers(1, 4)
    return Weights("ternary", rng.integers(-1, 2, shape).astype(np.int8), scales)


def binary(rng, c, h, w) -> np.ndarray:
    return rng.choice(np.array([-1, 1], np.int8), (1, c, h, w))


def conv_layer(rng, cin, cout, h, w, k, stride, pad, groups, weights, residual=False,
               spread=20) -> Layer:
    oh, ow = conv_out_size(h, k, stride, pad), conv_out_size(w, k, stride, pad)
    return Layer(name="L", op="conv2d", input="x", in_shape=(cin, h, w),
                 out_shape=(cout, oh, ow), kernel=k, stride=stride, padding=pad,
                 groups=groups, weights=weights,
                 output=rand_threshold(rng, cout, residual, spread))


# 3x3 RGB (the input layer; at stride 2 as in a stride-2-stem model), odd widths, more than 32
# outputs, patches that are not 27 bytes (k = 3, cin = 4: 36) and patches too long for the
# optimised path's scratch (k = 5, cin = 8)
@pytest.mark.parametrize("cin,cout,h,w,stride,k", [(3, 16, 32, 32, 1, 3), (3, 24, 32, 32, 2, 3),
                                                    (3, 5, 7, 9, 2, 3), (3, 32, 5, 4, 1, 3),
                                                    (3, 1, 4, 3, 1, 3),
                                                    (3, 33, 6, 5, 1, 3), (4, 7, 5, 6, 1, 3),
                                                    (8, 6, 6, 5, 2, 5),
                                                    # maps two and one pixel wide: border
                                                    # columns on both sides of a window
                                                    (3, 8, 3, 2, 1, 3), (3, 6, 4, 1, 1, 3),
                                                    (3, 9, 5, 2, 2, 3),
                                                    # NEON's eight pixels per pass: a width
                                                    # not a multiple of 8, exactly 8
                                                    (3, 24, 4, 13, 1, 3), (3, 7, 3, 8, 1, 3)])
def test_conv_input_s8(kernels, cin, cout, h, w, stride, k):
    rng = np.random.default_rng(cin * cout + h)
    wts = Weights("int8", rng.integers(-127, 128, (cout, cin, k, k)).astype(np.int8))
    layer = conv_layer(rng, cin, cout, h, w, k, stride, k // 2, 1, wts, spread=20000)
    image = rng.integers(0, 256, (cin, h, w), dtype=np.uint8)
    x = image[None].astype(np.int64) - 128
    want = reference.sign_threshold(layer, reference.conv2d_acc(layer, x), {})
    got = kernels.conv_input_s8(layer, pack.image_hwc(image))
    assert np.array_equal(pack.unpack_binary(got, cout), want[0])


@pytest.mark.parametrize("cout", [24, 32])
def test_conv_input_s8_on_a_capped_scratch(tmp_path, cout):
    """ARMv7E-M with the scratch capped at 512 ints (a model built for a small arena): 24
    channels still take the three-channel assembly, 32 (whose weight stream does not fit) the
    two-channel path; both bit-exact."""
    import shutil
    if not all(shutil.which(t) for t in NEEDS["mps"]):
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (make setup)")
    from hostbench.kernel_jobs import KernelRunner
    board = EmulatedBoard(KernelRunner("armv7em", "mps2-an386", build_dir=tmp_path,
                                       extra_defines=("-DTRIT_SCRATCH_CAP=512",)))
    rng = np.random.default_rng(cout)
    wts = Weights("int8", rng.integers(-127, 128, (cout, 3, 3, 3)).astype(np.int8))
    layer = conv_layer(rng, 3, cout, 6, 7, 3, 1, 1, 1, wts, spread=20000)
    image = rng.integers(0, 256, (3, 6, 7), dtype=np.uint8)
    want = reference.sign_threshold(layer, reference.conv2d_acc(
        layer, image[None].astype(np.int64) - 128), {})
    got = board.conv_input_s8(layer, pack.image_hwc(image))
    assert np.array_equal(pack.unpack_binary(got, cout), want[0])


# sums that often land exactly on a threshold (weights -1..1, pixels near 128), both
# directions: the optimised flavours fold the comparison into the sums' starts
@pytest.mark.parametrize("cout,h,w,stride", [(16, 8, 9, 1), (24, 7, 8, 2)])
def test_conv_input_s8_ties(kernels, cout, h, w, stride):
    rng = np.random.default_rng(cout + w)
    wts = Weights("int8", rng.integers(-1, 2, (cout, 3, 3, 3)).astype(np.int8))
    layer = conv_layer(rng, 3, cout, h, w, 3, stride, 1, 1, wts, spread=6)
    image = rng.integers(126, 131, (3, h, w), dtype=np.uint8)
    x = image[None].astype(np.int64) - 128
    acc = reference.conv2d_acc(layer, x)
    want = reference.sign_threshold(layer, acc, {})
    assert np.any(acc[0] == layer.output.threshold[:, None, None])  # the case is exercised
    got = kernels.conv_input_s8(layer, pack.image_hwc(image))
    assert np.array_equal(pack.unpack_binary(got, cout), want[0])


@pytest.mark.parametrize("equal", [False, True], ids=["wp!=wn", "wp==wn"])
@pytest.mark.parametrize("c,h,w,stride", [(16, 8, 8, 1), (17, 5, 6, 1), (45, 7, 7, 2),
                                          (64, 4, 4, 1), (1, 3, 3, 2), (32, 9, 4, 2),
                                          (3, 1, 2, 1), (24, 4, 11, 1), (48, 3, 8, 1),
                                          (96, 3, 7, 1), (40, 5, 13, 2),
                                          # up to 11 channels: border rows on masked weights
                                          (8, 6, 9, 1), (6, 7, 10, 2), (11, 5, 12, 1),
                                          # interior runs of one pixel (one and two per word)
                                          (20, 3, 3, 1), (12, 4, 3, 1),
                                          # NEON's bit-sliced vectors: four words, one row,
                                          # stride 2 on even and odd widths
                                          (128, 3, 5, 1), (100, 1, 6, 1), (20, 6, 16, 2),
                                          (64, 3, 9, 2)])
def test_dw_ternary_bin(kernels, c, h, w, stride, equal):
    rng = np.random.default_rng(c * h + w)
    layer = conv_layer(rng, c, c, h, w, 3, stride, 1, c,
                       rand_ternary(rng, (c, 1, 3, 3), equal),
                       spread=12 if equal else 15000)
    x = binary(rng, c, h, w)
    want = reference.sign_threshold(layer, reference.conv2d_acc(layer, x), {})
    got = kernels.dw_ternary_bin(layer, pack.pack_binary(x[0]))
    assert np.array_equal(pack.unpack_binary(got, c), want[0])


@pytest.mark.parametrize("c,h,w,stride,pad", [(16, 8, 8, 1, 1), (17, 5, 6, 1, 1),
                                              (45, 7, 7, 2, 1), (64, 4, 4, 1, 1),
                                              (1, 3, 3, 2, 1), (3, 1, 2, 1, 1), (24, 4, 11, 1, 1),
                                              (96, 4, 4, 1, 1), (48, 8, 8, 2, 1),
                                              (40, 5, 13, 2, 1), (33, 6, 5, 1, 0),
                                              (8, 6, 9, 1, 1), (6, 7, 10, 2, 1),
                                              (4, 9, 14, 1, 1), (33, 6, 8, 1, 0),
                                              (24, 5, 12, 2, 0), (120, 4, 7, 1, 1),
                                              # Helium's whole-row quads (one or two
                                              # words, stride 1): pad 0, one row, widths 4
                                              # and 5
                                              (20, 5, 9, 1, 0), (12, 1, 7, 1, 1),
                                              (16, 3, 4, 1, 1), (32, 4, 5, 1, 1),
                                              (40, 5, 9, 1, 1), (64, 1, 6, 1, 1)])
def test_dw_ternary_bin_sliced_constants(kernels, c, h, w, stride, pad):
    """Equal scales with the code-generation constants of codegen/sliced.py passed, as
    generated models pass them to the ARMv7E-M flavour (the others ignore them)."""
    rng = np.random.default_rng(3 * c + h * w)
    layer = conv_layer(rng, c, c, h, w, 3, stride, pad, c,
                       rand_ternary(rng, (c, 1, 3, 3), True), spread=12)
    x = binary(rng, c, h, w)
    want = reference.sign_threshold(layer, reference.conv2d_acc(layer, x), {})
    got = kernels.dw_ternary_bin(layer, pack.pack_binary(x[0]), sliced=True)
    assert np.array_equal(pack.unpack_binary(got, c), want[0])


@pytest.mark.parametrize("sliced", [False, True], ids=["derived", "sliced"])
@pytest.mark.parametrize("c,h,w,k,stride,pad,bands", [
    (24, 9, 7, 3, 1, 1, (0, 2, 3, 7, 9)), (48, 8, 6, 3, 2, 1, (0, 1, 3, 4)),
    (12, 7, 9, 3, 1, 1, (0, 1, 2, 6, 7)), (33, 6, 5, 3, 1, 0, (0, 1, 4)),
    (17, 9, 6, 5, 1, 2, (0, 3, 4, 9)), (24, 9, 10, 3, 2, 1, (0, 2, 3, 5))])
def test_dw_ternary_bin_rows(kernels, c, h, w, k, stride, pad, bands, sliced):
    """Bands of output rows, each from just the input rows it reads (as a banded model
    runs a layer): together they are the whole map's output."""
    rng = np.random.default_rng(7 * c + h)
    layer = conv_layer(rng, c, c, h, w, k, stride, pad, c,
                       rand_ternary(rng, (c, 1, k, k), sliced), spread=12 if sliced else 15000)
    x = binary(rng, c, h, w)
    want = reference.sign_threshold(layer, reference.conv2d_acc(layer, x), {})
    assert bands[-1] == layer.out_shape[1]
    packed = pack.pack_binary(x[0])
    for y0, y1 in zip(bands, bands[1:]):
        got = kernels.dw_ternary_bin(layer, packed, sliced=sliced, rows=(y0, y1))
        assert np.array_equal(pack.unpack_binary(got, c), want[0][:, y0:y1]), (y0, y1)


@pytest.mark.parametrize("equal", [False, True], ids=["wp!=wn", "wp==wn"])
# k = 13: more taps (169) than the NEON flavour's int8 sums hold, its per-channel path
@pytest.mark.parametrize("c,h,w,k,pad", [(20, 5, 6, 1, 0), (33, 6, 5, 2, 1), (17, 7, 6, 5, 2),
                                         (5, 4, 14, 13, 6)])
def test_dw_ternary_bin_other_kernel_sizes(kernels, c, h, w, k, pad, equal):
    rng = np.random.default_rng(c * k)
    layer = conv_layer(rng, c, c, h, w, k, 1, pad, c, rand_ternary(rng, (c, 1, k, k), equal),
                       spread=12 if equal else 15000)
    x = binary(rng, c, h, w)
    want = reference.sign_threshold(layer, reference.conv2d_acc(layer, x), {})
    got = kernels.dw_ternary_bin(layer, pack.pack_binary(x[0]))
    assert np.array_equal(pack.unpack_binary(got, c), want[0])


@pytest.mark.parametrize("cin,cout,h,w,res_c,res_stride", [
    (16, 16, 4, 4, 0, 1), (17, 33, 3, 5, 0, 1), (64, 64, 2, 3, 64, 1),
    (32, 64, 4, 4, 32, 2), (45, 70, 3, 3, 45, 2), (5, 7, 2, 2, 7, 1), (100, 9, 2, 1, 0, 1),
    (16, 16, 3, 3, 16, 1), (9, 12, 1, 3, 0, 1), (16, 16, 5, 3, 16, 2), (64, 16, 3, 3, 16, 1),
    (200, 20, 2, 2, 0, 1), (300, 11, 1, 2, 7, 1), (96, 24, 2, 3, 24, 1),
    (96, 96, 3, 2, 96, 1), (24, 24, 3, 4, 24, 1), (24, 48, 2, 3, 24, 2), (127, 40, 2, 2, 0, 1),
    (128, 40, 2, 2, 40, 1), (140, 140, 2, 2, 140, 1), (31, 6, 3, 3, 6, 1),
    # 32 pixels and more: the ARMv7E-M nibble tables (fewer pixels go bit-sliced), every
    # tile width, residuals at stride 1 and 2, the largest cin they take
    (24, 24, 8, 4, 24, 1), (17, 33, 6, 6, 0, 1), (96, 96, 4, 8, 96, 1), (45, 70, 6, 6, 45, 2),
    (31, 6, 8, 4, 6, 1), (127, 40, 4, 8, 0, 1),
    # more than 64 pixels: on Helium the tables rather than the sliced kernel, which takes
    # them where the tables do not fit (cin > 127)
    (64, 64, 9, 9, 64, 1), (140, 40, 8, 9, 0, 1),
    # 21..24 channels over 21..24 inputs (the ARMv7E-M assembly tile): residuals narrower than
    # the output, at stride 2 (not taken by the assembly), none
    (22, 21, 6, 6, 21, 1), (21, 23, 8, 5, 0, 1), (24, 24, 4, 8, 16, 1), (24, 24, 4, 8, 24, 2),
    # NEON's sixteen-pixel lookups: the widest input and output (128: four words each), an odd
    # output count (a channel pair half empty), a residual of three words at stride 2
    (128, 128, 4, 5, 128, 1), (40, 9, 4, 4, 0, 1), (96, 80, 4, 4, 70, 2)])
@pytest.mark.parametrize("equal", [False, True], ids=["wp!=wn", "wp==wn"])
def test_pw_ternary_bin(kernels, cin, cout, h, w, res_c, res_stride, equal):
    rng = np.random.default_rng(cin + cout * h)
    residual = res_c > 0
    layer = conv_layer(rng, cin, cout, h, w, 1, 1, 0, 1,
                       rand_ternary(rng, (cout, cin, 1, 1), equal), residual=residual,
                       spread=3 * cin if equal else 4096 * 8)
    layer.output.residual_stride = res_stride
    x = binary(rng, cin, h, w)
    values = {}
    res_packed = None
    if residual:
        res = binary(rng, res_c, h * res_stride, w * res_stride)
        values["res"] = res
        res_packed = pack.pack_binary(res[0])
    want = reference.sign_threshold(layer, reference.conv2d_acc(layer, x), values)
    got = kernels.pw_ternary_bin(layer, pack.pack_binary(x[0]), res_packed, res_c)
    assert np.array_equal(pack.unpack_binary(got, cout), want[0])


@pytest.mark.parametrize("cin,cout,h,w,res_c,res_stride", [
    (16, 16, 4, 4, 0, 1), (17, 33, 3, 5, 0, 1), (64, 64, 2, 3, 64, 1), (45, 70, 3, 3, 45, 2),
    (5, 7, 2, 2, 7, 1), (96, 96, 3, 2, 96, 1), (24, 48, 2, 3, 24, 2), (200, 20, 2, 2, 0, 1),
    (16, 16, 5, 3, 16, 2), (140, 140, 2, 2, 140, 1), (9, 12, 1, 3, 0, 1), (254, 8, 1, 2, 0, 1),
    (96, 96, 4, 8, 96, 1)])
def test_pw_ternary_bin_sliced_constants(kernels, cin, cout, h, w, res_c, res_stride):
    """Equal scales with the code-generation constants of codegen/sliced.py passed, as
    generated models pass them: the ARMv7E-M flavour then counts bit-sliced from them (any
    pixel count), the others ignore them."""
    _check_equal_scale_pw(kernels, np.random.default_rng(7 * cin + cout + h), cin, cout, h, w,
                          res_c, res_stride, sliced=True)


def _check_equal_scale_pw(kernels, rng, cin, cout, h, w, res_c, res_stride, **constants):
    """A random equal-scale pointwise layer run with the code-generation ``constants``
    (sliced=True / tables=True) against the reference."""
    residual = res_c > 0
    layer = conv_layer(rng, cin, cout, h, w, 1, 1, 0, 1,
                       rand_ternary(rng, (cout, cin, 1, 1), True), residual=residual,
                       spread=3 * cin)
    layer.output.residual_stride = res_stride
    x = binary(rng, cin, h, w)
    values, res_packed = {}, None
    if residual:
        res = binary(rng, res_c, h * res_stride, w * res_stride)
        values["res"] = res
        res_packed = pack.pack_binary(res[0])
    want = reference.sign_threshold(layer, reference.conv2d_acc(layer, x), values)
    got = kernels.pw_ternary_bin(layer, pack.pack_binary(x[0]), res_packed, res_c, **constants)
    assert np.array_equal(pack.unpack_binary(got, cout), want[0])


@pytest.mark.parametrize("cin,cout,h,w,res_c,res_stride", [
    # every tile width (8, 6, 4, 2, 1 groups), the assembly tile of 24 channels, residuals at
    # stride 1 and 2, a band of one row (fewer pixels than the kernel builds tables for)
    (24, 24, 1, 32, 24, 1), (24, 24, 2, 16, 0, 1), (24, 48, 1, 16, 24, 2), (48, 48, 2, 16, 48, 1),
    (17, 33, 3, 5, 0, 1), (96, 96, 1, 8, 96, 1), (45, 70, 2, 6, 45, 2), (31, 6, 4, 4, 6, 1),
    (127, 40, 2, 8, 0, 1), (22, 21, 1, 6, 21, 1), (12, 28, 2, 3, 0, 1), (8, 4, 1, 1, 0, 1)])
def test_pw_ternary_bin_nibble_tables(kernels, cin, cout, h, w, res_c, res_stride):
    """Equal scales with the nibble tables of codegen/nibble_tables.py passed, as banded
    models pass them: the ARMv7E-M flavour then counts through them at any pixel count
    instead of building its own, the others ignore them."""
    _check_equal_scale_pw(kernels, np.random.default_rng(5 * cin + cout + h), cin, cout, h, w,
                          res_c, res_stride, tables=True)


@pytest.mark.parametrize("constants", [{}, {"tables": True}], ids=["built", "generated"])
@pytest.mark.parametrize("cin,cout,h,w,res_c,res_stride", [
    # the ARMv7E-M assembly tiles of 8 and 4 groups (lut_run8, lut_run4 and its high half):
    # 0..7 nibbles past the whole input words, no whole word, residuals at stride 1 and 2 (one
    # call per row), narrower than the output (the second word without), none
    (4, 32, 8, 4, 0, 1), (20, 48, 4, 8, 48, 1), (28, 96, 4, 8, 96, 1), (36, 16, 8, 4, 16, 2),
    (60, 48, 4, 8, 24, 1), (64, 96, 4, 8, 96, 2), (50, 96, 6, 6, 0, 1), (44, 64, 5, 7, 64, 1),
    (72, 40, 4, 8, 40, 2), (88, 32, 6, 6, 32, 1), (112, 48, 4, 8, 0, 1)])
def test_pw_ternary_bin_nibble_assembly_tiles(kernels, cin, cout, h, w, res_c, res_stride,
                                              constants):
    """Equal scales on 32 pixels and more, shaped for the ARMv7E-M nibble kernel's assembly
    tiles (every flavour runs them against the same reference)."""
    _check_equal_scale_pw(kernels, np.random.default_rng(3 * cin + cout + w), cin, cout, h, w,
                          res_c, res_stride, **constants)


@pytest.mark.parametrize("cin,cout,h,w,res_c,res_stride", [
    # every tile width (8, 6, 4, 2, 1 groups), the assembly tile of 24 channels, residuals at
    # stride 1 and 2, channels past a whole group
    (24, 24, 4, 8, 24, 1), (24, 48, 4, 8, 24, 2), (48, 48, 4, 8, 48, 1), (96, 96, 4, 8, 96, 1),
    (17, 33, 5, 7, 0, 1), (45, 70, 4, 8, 45, 2), (127, 40, 4, 8, 0, 1), (22, 21, 6, 6, 21, 1),
    (12, 28, 4, 8, 0, 1), (8, 6, 4, 8, 0, 1)])
def test_pw_ternary_bin_nibble_start_values(kernels, cin, cout, h, w, res_c, res_stride):
    """Equal scales with the nibble kernel's start values alone passed (codegen/nibble_tables.py
    start_values), as generated models pass them to pointwise layers run whole: the ARMv7E-M
    flavour builds its tables but takes the counters' start values from them, the others
    ignore them."""
    _check_equal_scale_pw(kernels, np.random.default_rng(11 * cin + cout + h), cin, cout, h, w,
                          res_c, res_stride, starts=True)


@pytest.mark.parametrize("cin,cout,h,w,res_c,res_stride", [
    # tables in whole-word tiles (--nibble-tables, outputs a multiple of 16): three words, a
    # word and a half, a half word alone, residuals at stride 1 and 2 (one call per row) and
    # narrower than the output, one pixel, 0..7 nibbles past the whole input words
    (96, 96, 2, 8, 96, 1), (24, 48, 4, 8, 24, 2), (17, 16, 3, 5, 0, 1), (127, 64, 2, 8, 32, 1),
    (40, 80, 1, 1, 0, 1), (12, 96, 2, 3, 0, 1)])
def test_pw_ternary_bin_nibble_word_tiles(kernels, cin, cout, h, w, res_c, res_stride):
    """Equal scales with nibble tables in whole-word tiles passed (codegen/nibble_tables.py,
    word_tiles), as models built with --nibble-tables pass them: the ARMv7E-M flavour counts
    through them with its assembly tiles of 8 and 4 groups, the others ignore them."""
    _check_equal_scale_pw(kernels, np.random.default_rng(13 * cin + cout + h), cin, cout, h, w,
                          res_c, res_stride, word_tiles=True)


def _m4_pointwise(tmp_path, seed: int, c: int):
    """The ARMv7E-M flavour on the emulated M4 (a skip where its tools are missing), an
    equal-scale c -> c pointwise layer on 4 x 8 pixels and its packed input."""
    import shutil
    if not all(shutil.which(t) for t in NEEDS["mps"]):
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (make setup)")
    from hostbench.kernel_jobs import KernelRunner
    board = EmulatedBoard(KernelRunner("armv7em", "mps2-an386", build_dir=tmp_path,
                                       extra_defines=MODEL_DEFINES))
    rng = np.random.default_rng(seed)
    layer = conv_layer(rng, c, c, 4, 8, 1, 1, 0, 1, rand_ternary(rng, (c, c, 1, 1), True),
                       spread=3 * c)
    return board, layer, pack.pack_binary(binary(rng, c, 4, 8)[0])


def test_pw_ternary_bin_reads_the_start_values_it_is_given(tmp_path):
    """The ARMv7E-M flavour uses the start values it is passed: changed starts move their
    channels' output bits and no other channel's."""
    from codegen.nibble_tables import start_values
    board, layer, x = _m4_pointwise(tmp_path, 3, 48)
    good = board.pw_ternary_bin(layer, x, starts=True).copy()
    assert np.array_equal(good, board.pw_ternary_bin(layer, x))  # as derived per call
    starts = start_values(layer.weights.values, int(layer.weights.scales[0]), layer.output, 0)
    bad = starts.copy()
    bad[1:13] ^= 0x40  # byte 0 of every group: channels 0, 4, 8, ... start 64 off
    moved = board.pw_ternary_bin(layer, x, starts=bad)
    diff = pack.unpack_binary(moved, 48) != pack.unpack_binary(good, 48)
    assert diff[0::4].any() and not diff[1::4].any() and not diff[2::4].any() \
        and not diff[3::4].any()


def test_pw_ternary_bin_reads_the_word_tiles_it_is_given(tmp_path):
    """The ARMv7E-M flavour counts through the whole-word tiles it is passed rather than
    building its own: channel 0's counter started at 0xC0 or at 0x40 (its 48 inputs move it by
    at most 48 either way, so bit 7, the output bit, stays set or clear) makes its output the
    same at every pixel, two different values, and leaves every other channel as it was."""
    from codegen.nibble_tables import nibble_tables
    board, layer, x = _m4_pointwise(tmp_path, 5, 48)
    good = board.pw_ternary_bin(layer, x, word_tiles=True).copy()
    assert np.array_equal(good, board.pw_ternary_bin(layer, x))  # as built per call
    tables = nibble_tables(layer.weights.values, int(layer.weights.scales[0]), layer.output, 0,
                           word_tiles=True)
    first = 1 + 12 * 16 * 8  # tile 0's start values (after its [12][16][8] rows); byte 0 of
    seen = set()  # group 0: channel 0
    for start in (0xC0, 0x40):
        bad = tables.copy()
        bad[first] = (bad[first] & np.uint32(0xFFFFFF00)) | np.uint32(start)
        moved = pack.unpack_binary(board.pw_ternary_bin(layer, x, starts=bad), 48)
        assert np.array_equal(moved[1:], pack.unpack_binary(good, 48)[1:])
        assert len(np.unique(moved[0])) == 1
        seen.add(int(moved[0].flat[0]))
    assert len(seen) == 2


@pytest.mark.parametrize("cin,cout,h,w,res_c,res_stride", [
    # the ARMv7E-M 24-channel tile through byte tables: residual or none, 21..24 channels,
    # one pixel; a residual at stride 2 (the tile does not apply: nibble tables built from the
    # same start values)
    (24, 24, 8, 4, 24, 1), (24, 24, 5, 7, 0, 1), (21, 22, 4, 8, 0, 1), (22, 21, 3, 5, 21, 1),
    (23, 24, 2, 16, 24, 1), (24, 21, 1, 1, 0, 1), (24, 24, 4, 8, 24, 2)])
def test_pw_ternary_bin_byte_tables(kernels, cin, cout, h, w, res_c, res_stride):
    """Equal scales with the byte tables of codegen/nibble_tables.py passed, as models built
    with byte tables pass them: the ARMv7E-M flavour counts through them, the others ignore
    them."""
    _check_equal_scale_pw(kernels, np.random.default_rng(7 * cin + cout + h), cin, cout, h, w,
                          res_c, res_stride, byte_tables=True)


def test_pw_ternary_bin_reads_the_byte_tables_it_is_given(tmp_path):
    """The ARMv7E-M flavour counts through the byte tables it is passed: a row entry changed
    in one channel flips that channel's bit exactly at the pixels whose byte takes that
    value."""
    from codegen.nibble_tables import byte_tables
    board, layer, x = _m4_pointwise(tmp_path, 4, 24)
    good = board.pw_ternary_bin(layer, x, byte_tables=True).copy()
    assert np.array_equal(good, board.pw_ternary_bin(layer, x))  # as the nibble kernel counts
    bad = byte_tables(layer.weights.values, int(layer.weights.scales[0]), layer.output, 0)
    value = int(x[0, 0, 0]) & 0xFF  # byte 0 of pixel 0
    bad[109 + value * 6] += np.uint32(0x80 << 24)  # its row entry, channel 3 (byte 3): the
    moved = board.pw_ternary_bin(layer, x, starts=bad)  # counter's compare bit flips
    diff = pack.unpack_binary(moved, 24) != pack.unpack_binary(good, 24)
    hit = (x[..., 0] & 0xFF) == value
    assert np.array_equal(diff[3], hit) and not np.delete(diff, 3, axis=0).any()


def test_byte_table_rows_are_sums_of_nibble_rows():
    """Row r of the byte tables at value v is nibble row 2 r at v's low nibble plus nibble row
    2 r + 1 at its high nibble (mod 2^32), both carry the same start values, and the start
    values by residual bits add a group's residual differences byte by byte."""
    from codegen.nibble_tables import byte_tables, nibble_tables
    rng = np.random.default_rng(9)
    layer = conv_layer(rng, 23, 22, 2, 2, 1, 1, 0, 1, rand_ternary(rng, (22, 23, 1, 1), True),
                       residual=True, spread=3 * 23)
    args = (layer.weights.values, int(layer.weights.scales[0]), layer.output, 22)
    b = byte_tables(*args)
    n = nibble_tables(*args)  # one tile of 6 groups: [6][16][6] rows, then [2][6] starts
    nib = n[1:1 + 6 * 16 * 6].reshape(6, 16, 6).astype(np.uint64)
    assert np.array_equal(b[1:13], n[1 + 6 * 16 * 6:])
    cp, cd = b[1:7].astype(np.int64), b[7:13].astype(np.int64)
    by_res = b[13:109].reshape(6, 16)
    assert np.array_equal(by_res[:, 0], cp) and np.array_equal(by_res[:, 15], (cp + cd) % 2 ** 32)
    # the start bytes for a residual +1 and -1 ([g][j]; each in 0..255, so the words are
    # their bytes side by side)
    starts = [(w[:, None] >> 8 * np.arange(4)) & 0xFF for w in (cp, (cp + cd) % 2 ** 32)]
    for g in range(6):
        for r in range(16):
            want = sum(int(starts[(r >> j) & 1][g][j]) << 8 * j for j in range(4))
            assert by_res[g, r] == want
    rows = b[109:].reshape(3, 256, 6)
    v = np.arange(256)
    for r in range(3):
        assert np.array_equal(rows[r], (nib[2 * r][v & 15] + nib[2 * r + 1][v >> 4]) % 2 ** 32)
    with pytest.raises(ValueError, match="21..24"):
        byte_tables(rand_ternary(rng, (32, 24, 1, 1), True).values, *args[1:])


# thresholds stored as an IR version 4 file stores them (codegen/ir/count_units.py): int8 up
# to 126 products, int16 beyond (cin 140), with and without the code-generation constants
@pytest.mark.parametrize("op,cin,cout,h,w,res_c,sliced", [
    ("pw", 24, 24, 8, 4, 24, False), ("pw", 17, 33, 3, 5, 0, False), ("pw", 96, 96, 3, 2, 96, True),
    ("pw", 140, 140, 2, 2, 140, False), ("pw", 45, 70, 3, 3, 45, True),
    ("dw", 24, 24, 6, 9, 0, False), ("dw", 96, 96, 3, 7, 0, True), ("dw", 11, 11, 5, 12, 0, True)])
def test_thresholds_in_units_of_one_product(kernels, op, cin, cout, h, w, res_c, sliced):
    """The layer with int32 thresholds on scales [3, 3] and the same layer converted to
    one-product units and narrow storage give the same bits on every flavour."""
    rng = np.random.default_rng(cin * cout + h + sliced)
    k, groups = (1, 1) if op == "pw" else (3, cin)
    fan_in = cin // groups * k * k
    weights = Weights("ternary", rng.integers(-1, 2, (cout, cin // groups, k, k)).astype(np.int8),
                      np.array([3, 3], np.int32))
    layer = conv_layer(rng, cin, cout, h, w, k, 1, k // 2, groups, weights,
                       residual=res_c > 0, spread=3 * (fan_in + 4))
    narrow = Layer(**{**layer.__dict__})
    narrow.weights, narrow.output = count_unit_thresholds(layer.weights, layer.output, fan_in)
    assert narrow.output.threshold.dtype == (np.int8 if fan_in < 127 else np.int16)
    x = binary(rng, cin, h, w)
    values, res_packed = {}, None
    if res_c:
        res = binary(rng, res_c, h, w)
        values["res"] = res
        res_packed = pack.pack_binary(res[0])
    want = reference.sign_threshold(layer, reference.conv2d_acc(layer, x), values)
    if op == "pw":
        got = kernels.pw_ternary_bin(narrow, pack.pack_binary(x[0]), res_packed, res_c,
                                     sliced=sliced)
    else:
        got = kernels.dw_ternary_bin(narrow, pack.pack_binary(x[0]), sliced=sliced)
    assert np.array_equal(pack.unpack_binary(got, cout), want[0])


@pytest.mark.parametrize("c,h,w", [(64, 8, 8), (33, 3, 5), (1, 1, 1), (40, 17, 17)])
def test_pool_and_dense(kernels, c, h, w):
    rng = np.random.default_rng(c)
    x = binary(rng, c, h, w)
    pooled = kernels.global_sum_pool_bin(pack.pack_binary(x[0]), c)
    assert np.array_equal(pooled, x[0].astype(np.int64).sum(axis=(1, 2)))
    dense = Layer(name="fc", op="dense", input="pool", in_shape=(c,), out_shape=(10,),
                  weights=rand_ternary(rng, (10, c)),
                  bias=rng.integers(-10000, 10000, 10).astype(np.int32))
    want = reference.dense_logits(dense, pooled[None].astype(np.int64))[0]
    assert np.array_equal(kernels.dense_ternary(dense, pooled), want)


def test_packing_roundtrip():
    rng = np.random.default_rng(0)
    x = binary(rng, 45, 3, 2)[0]
    p = pack.pack_binary(x)
    assert p.shape == (3, 2, 2) and p.dtype == np.uint32
    assert np.array_equal(pack.unpack_binary(p, 45), x)
    assert (p[..., 1] >> 13 == 0).all()  # unused bits stay 0
    sign, nz = pack.pack_ternary(np.array([[1, -1, 0, -1]], np.int8))
    assert sign.tolist() == [[0b1010]] and nz.tolist() == [[0b1011]]


def test_kernelbench_flavours_agree_on_every_case(capsys):
    """`trit kernelbench` runs every case in both flavours in one firmware image and checks
    their outputs equal; the table has a positive count for each (no timing is asserted)."""
    import shutil

    from hostbench.cli import main
    if not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")):
        pytest.skip("needs gcc-arm-none-eabi and qemu-system-arm (make setup)")
    assert main(["kernelbench", "--board", "mps2-an386"]) == 0
    out = capsys.readouterr().out
    from hostbench.kernelbench import CASES
    rows = [line for line in out.splitlines() if line.startswith(("pw", "dw", "input "))]
    assert len(rows) == len(CASES)
    assert all(int(r.split()[-4].replace(",", "")) > 0 for r in rows)
    assert main(["kernelbench", "--board", "mps2-an386", "--only", "dw8"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("dw")]
    assert len(rows) == sum(c.op == "dw8" for c in CASES) > 0
    assert all(r.startswith("dw8 ") for r in rows)


# ---- int8 comparison kernels (the CMSIS-NN-style baseline of `trit kernelbench --network`) ----

def rand_s8(rng, shape) -> np.ndarray:
    return rng.integers(-128, 128, shape).astype(np.int8)


# pointwise (k = 1), the 3x3 RGB input layer (even and odd channel and pixel counts), odd
# channel counts, strides, borders, and a patch too large for the optimised path's scratch
# (k = 3, cin = 40 -> 360 bytes for cout 2); the ARMv7E-M 1x1 assembly on an odd pixel count,
# a stride-2 odd map, and an input too wide for its requantisation table (cin 308, cout 3);
# the Helium 1x1 layer's groups of 16, of 8 and predicated tails (cin 24, 13, 17, 5, 308);
# NEON's patches too large for the scratch (k = 3, cin = 72, cout 1)
@pytest.mark.parametrize("cin,cout,h,w,k,stride,act_min", [
    (64, 64, 4, 4, 1, 1, -128), (3, 24, 7, 6, 3, 1, 0), (17, 9, 3, 5, 1, 1, 0),
    (5, 7, 6, 5, 3, 2, -128), (40, 2, 4, 4, 3, 1, -128), (96, 33, 2, 3, 1, 2, 0),
    (3, 7, 5, 5, 3, 2, -128), (24, 24, 5, 5, 1, 1, 0), (48, 7, 5, 3, 1, 2, -128),
    (308, 3, 2, 3, 1, 1, 0), (13, 6, 3, 3, 1, 1, -128), (5, 5, 2, 3, 1, 1, 0),
    (72, 1, 3, 3, 3, 1, 0),
    # NEON's RGB layer with eight pixels per pass: widths 9 (an overlapping pass) and 16
    (3, 20, 5, 9, 3, 1, -128), (3, 5, 3, 16, 3, 1, 0)])
def test_conv_s8(kernels, cin, cout, h, w, k, stride, act_min):
    from codegen import int8_reference as i8
    rng = np.random.default_rng(cin * 7 + cout)
    x, wts = rand_s8(rng, (h, w, cin)), rand_s8(rng, (cout, k, k, cin))
    rq = i8.random_requant(rng, cout, k * k * cin, act_min)
    pad = k // 2
    want = i8.conv_s8(x, wts, stride, pad, rq)
    assert np.array_equal(kernels.conv_s8(x, wts, stride, pad, rq), want)


@pytest.mark.parametrize("c,h,w,stride,act_min", [(24, 8, 7, 1, 0), (19, 5, 6, 2, -128),
                                                  (96, 4, 4, 1, 0), (3, 3, 2, 1, -128),
                                                  # the ARMv7E-M 3x3 assembly: interior and
                                                  # border windows, maps one pixel wide
                                                  # (Helium: c a multiple of 8, or not)
                                                  (40, 7, 9, 2, -128), (28, 6, 6, 1, -128),
                                                  (20, 1, 5, 1, 0), (8, 4, 1, 1, 0),
                                                  (16, 3, 3, 2, 0)])
def test_dw_s8(kernels, c, h, w, stride, act_min):
    from codegen import int8_reference as i8
    rng = np.random.default_rng(c * 11 + h)
    x, wts = rand_s8(rng, (h, w, c)), rand_s8(rng, (c, 3, 3))
    rq = i8.random_requant(rng, c, 9, act_min)
    want = i8.dw_s8(x, wts, stride, 1, rq)
    assert np.array_equal(kernels.dw_s8(x, wts, stride, 1, rq), want)


def test_add_s8(kernels):
    from codegen import int8_reference as i8
    rng = np.random.default_rng(5)
    a, b = rand_s8(rng, (5, 7, 9)), rand_s8(rng, (5, 7, 9))
    for ma, mb, shift, act_min in [(16384, 12000, 14, -128), (32767, 1, 15, 0), (3, 5, 1, 0),
                                   (32767, 32767, 1, -128), (100, 200, 9, -20)]:
        want = i8.add_s8(a, b, ma, mb, shift, act_min)
        assert np.array_equal(kernels.add_s8(a, b, ma, mb, shift, act_min), want)


# ---- int8-activation layers with ternary weights (IR v2) -------------------------------------

def rand_requant(rng, c: int, acc_std: float, act_min: int):
    """IR requant parameters that map accumulators of standard deviation ``acc_std`` to int8
    outputs of standard deviation about 40 around a random offset (few clamped)."""
    from codegen.ir import Requant
    m = np.minimum(40.0 / acc_std * rng.uniform(0.5, 1.5, c), 0.24)  # shift >= 33
    shift = 30 - np.floor(np.log2(m)).astype(np.int64)
    mult = np.minimum(np.rint(m * 2.0 ** shift), 2 ** 31 - 1)
    bias = np.rint(rng.integers(-30, 31, c) / m)
    return Requant(bias=bias.astype(np.int32), mult=mult.astype(np.int32),
                   shift=shift.astype(np.int8), act_min=act_min)


def s8_conv_layer(rng, cin, cout, h, w, k, stride, pad, groups, equal, act_min) -> Layer:
    weights = rand_ternary(rng, (cout, cin // groups, k, k), equal)
    oh, ow = conv_out_size(h, k, stride, pad), conv_out_size(w, k, stride, pad)
    return Layer(name="L", op="conv2d", input="x", in_shape=(cin, h, w),
                 out_shape=(cout, oh, ow), kernel=k, stride=stride, padding=pad, groups=groups,
                 weights=weights,
                 output=rand_requant(rng, cout, float(weights.scales.mean()) * 74.0
                                     * np.sqrt(k * k * cin // groups * 2 / 3), act_min))


def hwc(x_nchw: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x_nchw[0].transpose(1, 2, 0))


@pytest.mark.parametrize("equal", [False, True], ids=["wp!=wn", "wp==wn"])
@pytest.mark.parametrize("cin,cout,h,w,act_min", [(20, 40, 4, 5, 0), (33, 17, 3, 3, -128),
                                                  (80, 80, 2, 2, 0), (1, 3, 1, 2, 0),
                                                  # NEON's chunks of 16 and 8 inputs: one of
                                                  # 8, 8 + an overlapping 8, whole 16s, 16 +
                                                  # 8, 16 + an overlapping 16; odd pixels
                                                  (8, 5, 1, 3, 0), (12, 6, 2, 2, -128),
                                                  (16, 16, 2, 3, 0), (24, 9, 3, 1, 0),
                                                  (30, 20, 2, 2, -128), (160, 33, 1, 3, 0)])
def test_pw_ternary_s8(kernels, cin, cout, h, w, act_min, equal):
    rng = np.random.default_rng(cin * 5 + cout)
    layer = s8_conv_layer(rng, cin, cout, h, w, 1, 1, 0, 1, equal, act_min)
    x = rand_s8(rng, (1, cin, h, w))
    want = layer.output.apply(reference.conv2d_acc(layer, x))
    assert np.array_equal(kernels.pw_ternary_s8(layer, hwc(x)), hwc(want))


@pytest.mark.parametrize("equal", [False, True], ids=["wp!=wn", "wp==wn"])
@pytest.mark.parametrize("c,h,w,stride,act_min", [(20, 8, 7, 1, 0), (40, 5, 6, 2, -128),
                                                  (3, 3, 2, 1, 0), (80, 4, 4, 1, 0),
                                                  (24, 6, 8, 1, -128), (20, 9, 9, 2, 0),
                                                  # NEON: groups of 8, an overlapping group
                                                  (12, 5, 5, 1, 0), (17, 4, 6, 2, -128),
                                                  # ARMv7E-M: a last group of 4 overlapping
                                                  # the one before by 2, 1 and 3 channels
                                                  (14, 6, 7, 1, 0), (7, 5, 6, 2, -128),
                                                  (5, 4, 4, 1, -128)])
def test_dw_ternary_s8(kernels, c, h, w, stride, act_min, equal):
    rng = np.random.default_rng(c * 3 + h)
    layer = s8_conv_layer(rng, c, c, h, w, 3, stride, 1, c, equal, act_min)
    x = rand_s8(rng, (1, c, h, w))
    want = layer.output.apply(reference.conv2d_acc(layer, x))
    assert np.array_equal(kernels.dw_ternary_s8(layer, hwc(x)), hwc(want))


@pytest.mark.parametrize("act_min", [0, -128])
def test_pw_ternary_s8_extreme_sums(kernels, act_min):
    """Every code non-zero and every input at -128 or 127 over 250 inputs: sums of +-250 * 128,
    which NEON's int16 lanes hold as partial sums of at most 34 products each."""
    rng = np.random.default_rng(11)
    cin, cout, h, w = 250, 6, 1, 3
    layer = s8_conv_layer(rng, cin, cout, h, w, 1, 1, 0, 1, True, act_min)
    codes = np.ones(layer.weights.values.shape, np.int8)
    codes[3:] = -1
    layer.weights = Weights("ternary", codes, layer.weights.scales)
    layer.output = rand_requant(rng, cout, float(layer.weights.scales.mean()) * 16000.0, act_min)
    for x in (np.full((1, cin, h, w), -128, np.int8), np.full((1, cin, h, w), 127, np.int8)):
        want = layer.output.apply(reference.conv2d_acc(layer, x))
        assert np.array_equal(kernels.pw_ternary_s8(layer, hwc(x)), hwc(want))


@pytest.mark.parametrize("act_min", [0, -128])
def test_dw_ternary_s8_extreme_sums(kernels, act_min):
    """Every code non-zero and every input at -128 or 127: the largest and smallest window
    sums (+-9 * 128), which the ARMv7E-M kernel's bytewise sums reach at 9 * 255."""
    rng = np.random.default_rng(7)
    c, h, w = 8, 6, 6
    layer = s8_conv_layer(rng, c, c, h, w, 3, 1, 1, c, True, act_min)
    codes = np.ones(layer.weights.values.shape, np.int8)
    codes[4:] = -1
    layer.weights = Weights("ternary", codes, layer.weights.scales)
    layer.output = rand_requant(rng, c, float(layer.weights.scales.mean()) * 600.0, act_min)
    for x in (np.full((1, c, h, w), -128, np.int8), np.full((1, c, h, w), 127, np.int8),
              rng.choice(np.array([-128, 127], np.int8), (1, c, h, w))):
        want = layer.output.apply(reference.conv2d_acc(layer, x))
        assert np.array_equal(kernels.dw_ternary_s8(layer, hwc(x)), hwc(want))


@pytest.mark.parametrize("c,h,w,b_c,stride", [(20, 8, 8, 20, 1), (40, 4, 4, 20, 2),
                                              (17, 3, 5, 9, 2)])
def test_add_residual_s8(kernels, c, h, w, b_c, stride):
    from codegen.ir import AddParams
    rng = np.random.default_rng(c + b_c)
    a = rand_s8(rng, (1, c, h, w))
    b = rand_s8(rng, (1, b_c, h * stride, w * stride))
    for ma, mb, shift, act_min in [(16384, 12000, 14, -128), (2 ** 22 - 1, 2 ** 22 - 1, 30, 0),
                                   (3_000_000, 900_000, 22, -128), (3, 5, 1, 0)]:
        layer = Layer(name="L", op="add", input="a", in_shape=(c, h, w), out_shape=(c, h, w),
                      add=AddParams("b", ma, mb, shift, act_min, stride))
        want = reference.residual_add(layer, a, {"b": b})
        got = kernels.add_residual_s8(hwc(a), hwc(b), stride, ma, mb, shift, act_min)
        assert np.array_equal(got, hwc(want))


def test_global_sum_pool_s8(kernels):
    rng = np.random.default_rng(9)
    x = rand_s8(rng, (8, 8, 80))
    assert np.array_equal(kernels.global_sum_pool_s8(x), x.astype(np.int64).sum(axis=(0, 1)))


# ---- binary convolutions on an int8 stream (IR v3) -------------------------------------------

@pytest.mark.parametrize("c,h,w", [(24, 4, 5), (1, 2, 3), (33, 3, 2), (96, 2, 2)])
def test_sign_pack_s8(kernels, c, h, w):
    rng = np.random.default_rng(c + h)
    x = rand_s8(rng, (1, c, h, w))
    x[0, :, 0, 0] = 0  # zero is +1
    layer = Layer(name="L", op="sign", input="x", in_shape=(c, h, w), out_shape=(c, h, w))
    want = np.where(x >= 0, 1, -1).astype(np.int8)
    assert layer.kind == "sign"
    got = kernels.sign_pack_s8(hwc(x))
    assert np.array_equal(pack.unpack_binary(got, c), want[0])
    assert np.array_equal(got, pack.pack_binary(want[0]))  # unused bits 0


@pytest.mark.parametrize("equal", [False, True], ids=["wp!=wn", "wp==wn"])
@pytest.mark.parametrize("cin,cout,h,w,act_min", [(24, 24, 4, 5, -128), (33, 17, 3, 3, -128),
                                                  (96, 96, 2, 2, -128), (1, 3, 1, 2, 0)])
def test_pw_ternary_bin_s8(kernels, cin, cout, h, w, act_min, equal):
    rng = np.random.default_rng(cin * 7 + cout)
    weights = rand_ternary(rng, (cout, cin, 1, 1), equal)
    layer = Layer(name="L", op="conv2d", input="x", in_shape=(cin, h, w),
                  out_shape=(cout, h, w), weights=weights,
                  output=rand_requant(rng, cout, float(weights.scales.mean())
                                      * np.sqrt(cin * 2 / 3), act_min))
    x = binary(rng, cin, h, w)
    want = layer.output.apply(reference.conv2d_acc(layer, x))
    assert np.array_equal(kernels.pw_ternary_bin_s8(layer, pack.pack_binary(x[0])), hwc(want))


def test_kernelbench_trace_attributes_the_kernels_instructions(capsys):
    """`trit kernelbench --trace`: the traced case times as the table does, and its kernel's
    functions and source lines account for nearly all the instructions traced."""
    import shutil
    if not all(shutil.which(t) for t in NEEDS["mps"]):
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (make setup)")
    from hostbench.kernelbench import run_kernelbench, trace_kernelbench
    ((name, report),) = trace_kernelbench("mps2-an386", "dw 24")
    (row,) = [r for r in run_kernelbench("mps2-an386", only="dw") if r["kernel"] == name]
    assert report.ticks == row["armv7em"]
    kernel = sum(n for f, n in report.by_function if "dw" in f or f == "class_slot"
                 or f == "limit_bias_planes")
    assert report.total >= report.ticks - 40 and kernel > 0.99 * report.ticks
    assert report.by_line[0][0].startswith("dw_ternary_bin.c:")
    from hostbench.cli import main
    assert main(["kernelbench", "--board", "qemu-aarch64", "--trace", "dw 24"]) == 2
    assert "bare-metal" in capsys.readouterr().err
