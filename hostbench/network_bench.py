"""`trit kernelbench --network MODEL`: a model's layers, one kernel call each, in the emulated
board, four ways in one run: trit's binary kernels in the board's optimised flavour and in the
portable reference, and the same layers as an ordinary int8 network (8-bit weights and
activations, CMSIS-NN style: codegen.int8_reference) in the optimised and portable int8
kernels. Every call runs with the shapes, strides and residual adds of the model; inputs and
the int8 network's weights are random (instruction counts barely depend on values). The
binary outputs of the two flavours, and the int8 outputs of the two, are checked equal.

The int8 twin of a layer: the input convolution with int8 output (ReLU), depthwise and
pointwise convolutions with requantisation (ReLU), and for a block's last pointwise layer an
int8 residual add of the shortcut (the block input; a strided shortcut is subsampled on the
host, as its option-A identity would be). Global pooling and the classifier are left out of
both totals (under 1 % of the binary network's instructions)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from codegen import int8_reference as i8
from codegen import pack
from codegen.ir import ModelIR, Requant
from codegen.memory import plan_memory
from codegen.render import wants_nibble_starts, wants_sliced_constants

from .boards import get_board
from .kernel_calls import KernelCalls
from .kernel_jobs import Job, KernelRunner


class _Collector(KernelCalls):
    """KernelCalls that records each call as a job instead of running it."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def _call(self, name: str, args: list, out: np.ndarray) -> np.ndarray:
        self.jobs.append(Job(name, args, out))
        return out


@dataclass
class LayerRow:
    name: str
    kind: str
    macs: int
    binary_jobs: list[int] = field(default_factory=list)   # indices into the job list
    int8_jobs: list[int] = field(default_factory=list)
    ticks: dict[str, int] = field(default_factory=dict)    # binary / binary-ref / int8 / int8-ref


def _kind(layer) -> str:
    if layer.op != "conv2d":
        return layer.op
    if layer.weights.format == "int8":
        return "input"
    return "dw" if layer.groups > 1 else "pw"


def _macs(layer) -> int:
    c, _, _ = layer.in_shape
    cout, oh, ow = layer.out_shape
    k = layer.kernel
    return (k * k * oh * ow * cout) * (1 if layer.groups > 1 else c)


def collect(ir: ModelIR, seed: int = 0,
            kernels: str = "ref") -> tuple[list[LayerRow], _Collector, _Collector]:
    """The binary and int8 jobs of every convolution of ``ir``; the binary ones pass the
    code-generation constants a firmware for flavour ``kernels`` would (codegen/sliced.py,
    codegen/nibble_tables.py)."""
    int8_values = [layer.name for layer in ir.layers
                   if layer.op in ("add", "sign") or isinstance(layer.output, Requant)]
    if int8_values:
        raise ValueError(f"the network comparison takes binary-activation models (every "
                         f"convolution thresholded to ±1); {ir.name!r} has int8 values (from "
                         f"{int8_values[0]!r} on: int8 activations or an int8 stream): `trit "
                         "bench --profile` times its layers")
    rng = np.random.default_rng(seed)
    plan = plan_memory(ir)  # layer by layer, as `trit build` plans it without a budget
    shapes = {layer.name: layer.out_shape for layer in ir.layers}
    binary, int8 = _Collector(), _Collector()
    rows = []
    for layer in ir.layers:
        kind = _kind(layer)
        if kind not in ("input", "dw", "pw"):
            continue
        row = LayerRow(layer.name, kind, _macs(layer))
        c, h, w = layer.in_shape
        cout = layer.out_shape[0]
        x8 = rng.integers(-128, 128, (h, w, c)).astype(np.int8)
        start_b, start_i = len(binary.jobs), len(int8.jobs)
        if kind == "input":
            image = pack.image_hwc(rng.integers(0, 256, (c, h, w), np.uint8))
            binary.conv_input_s8(layer, image)
            wts = rng.integers(-127, 128, (cout, layer.kernel, layer.kernel, c)).astype(np.int8)
            int8.conv_s8(x8, wts, layer.stride, layer.padding,
                         i8.random_requant(rng, cout, wts[0].size, act_min=0))
        else:
            xb = pack.pack_binary(rng.choice(np.array([-1, 1], np.int8), (c, h, w)))
            if kind == "dw":
                binary.dw_ternary_bin(layer, xb, wants_sliced_constants(layer, kernels))
                wts = rng.integers(-127, 128, (c, layer.kernel, layer.kernel)).astype(np.int8)
                int8.dw_s8(x8, wts, layer.stride, layer.padding,
                           i8.random_requant(rng, c, wts[0].size, act_min=0))
            else:
                res_name = layer.output.residual
                res_c, res_packed = 0, None
                if res_name is not None:
                    res_c, rh, rw = shapes[res_name]
                    res_packed = pack.pack_binary(
                        rng.choice(np.array([-1, 1], np.int8), (res_c, rh, rw)))
                binary.pw_ternary_bin(layer, xb, res_packed, res_c,
                                      wants_sliced_constants(layer, kernels),
                                      starts=wants_nibble_starts(ir, layer, kernels, plan))
                wts = rng.integers(-127, 128, (cout, 1, 1, c)).astype(np.int8)
                y = np.zeros((h, w, cout), np.int8)
                int8.conv_s8(x8, wts, 1, 0, i8.random_requant(rng, cout, c))
                if res_name is not None:   # shortcut channels padded with zeros (option A)
                    int8.add_s8(y, rng.integers(-128, 128, y.shape).astype(np.int8),
                                16384, 16384, 15, act_min=0)
        row.binary_jobs = list(range(start_b, len(binary.jobs)))
        row.int8_jobs = list(range(start_i, len(int8.jobs)))
        rows.append(row)
    return rows, binary, int8


def run_network_bench(board: str, ir: ModelIR, flavour: str | None = None,
                      seed: int = 0) -> list[LayerRow]:
    """Run the four variants of every convolution of ``ir`` on ``board``."""
    spec = get_board(board)
    runner = KernelRunner(flavour or spec.kernels, board)
    rows, binary, int8 = collect(ir, seed, flavour or spec.kernels)
    outputs = {}
    for label, collector, reference in (("binary", binary, False), ("binary-ref", binary, True),
                                        ("int8", int8, False), ("int8-ref", int8, True)):
        for job in collector.jobs:
            job.reference = reference
        results = runner.run(collector.jobs, timeout=900.0)
        outputs[label] = [r.output.tobytes() for r in results]
        for row in rows:
            jobs = row.binary_jobs if label.startswith("binary") else row.int8_jobs
            row.ticks[label] = sum(results[j].ticks for j in jobs)
    for kind in ("binary", "int8"):
        if outputs[kind] != outputs[f"{kind}-ref"]:
            raise RuntimeError(f"{runner.flavour} and ref {kind} outputs differ")
    return rows


# the flavour file that holds the int8 comparison's convolutions (kernels.h: trit_conv_s8,
# trit_dw_s8); a flavour without its own runs the portable ones
INT8_COMPARISON_SOURCE = "int8_conv.c"


def has_own_int8_kernels(flavour: str) -> bool:
    """Whether ``flavour`` optimises the int8 comparison's convolutions (else they are the
    portable reference's, and an "int8 <flavour>" column would be the portable code)."""
    from codegen.project import FIRMWARE
    return (FIRMWARE / "kernels" / flavour.split("+")[0] / INT8_COMPARISON_SOURCE).is_file()


def format_network(rows: list[LayerRow], flavour: str, unit: str) -> str:
    own_int8 = has_own_int8_kernels(flavour)
    int8_label = f"int8 {flavour}" if own_int8 else "int8 (ref)"
    head = (f"{'layer':10s} {'kind':5s} {'MACs':>9s} {'binary ' + flavour:>15s} "
            f"{'binary ref':>13s} {int8_label:>13s} {'int8 ref':>13s}")
    lines = [head, "-" * len(head)]
    total = {k: 0 for k in ("binary", "binary-ref", "int8", "int8-ref")}
    macs = 0
    for r in rows:
        lines.append(f"{r.name:10s} {r.kind:5s} {r.macs:9d} {r.ticks['binary']:15,d} "
                     f"{r.ticks['binary-ref']:13,d} {r.ticks['int8']:13,d} "
                     f"{r.ticks['int8-ref']:13,d}")
        macs += r.macs
        for k in total:
            total[k] += r.ticks[k]
    lines.append("-" * len(head))
    lines.append(f"{'total':10s} {'':5s} {macs:9d} {total['binary']:15,d} "
                 f"{total['binary-ref']:13,d} {total['int8']:13,d} {total['int8-ref']:13,d}")
    summary = (f"\n{unit} per inference over the convolutions (pooling and classifier left "
               f"out): binary {flavour} {total['binary']:,}; "
               f"{total['binary-ref'] / total['binary']:.1f}x fewer than the portable binary "
               f"kernels, ")
    if own_int8:
        summary += (f"{total['int8'] / total['binary']:.1f}x fewer than the int8 network with "
                    f"{flavour} kernels ({total['int8-ref'] / total['binary']:.1f}x fewer than "
                    f"portable int8)")
    else:
        summary += (f"{total['int8-ref'] / total['binary']:.1f}x fewer than the int8 network "
                    f"with portable kernels: the {flavour} flavour has no int8 kernels of its "
                    f"own, so this is no comparison with an optimised int8 deployment")
    lines.append(summary)
    return "\n".join(lines)
