"""Per-layer profile of a model on a board: counter ticks (instructions under QEMU, cycles on
silicon) per IR layer from the firmware's `layers` command, next to each layer's MACs."""

from __future__ import annotations

from codegen.ir import ModelIR


def layer_macs(layer) -> int:
    """Multiply-accumulates of one IR layer (3x3 border taps included; pooling adds only: 0)."""
    if layer.op == "conv2d":
        cout, oh, ow = layer.out_shape
        cin = layer.in_shape[0] // layer.groups
        return cout * oh * ow * cin * layer.kernel * layer.kernel
    if layer.op == "dense":
        return layer.in_shape[0] * layer.out_shape[0]
    return 0


def format_profile(ir: ModelIR, rows: list[tuple[str, int]], unit: str) -> str:
    """A table: layer, kind, output shape, MACs, ticks, MACs per tick, share of the total."""
    by_name = {layer.name: layer for layer in ir.layers}
    total = sum(t for _, t in rows) or 1
    total_macs = sum(layer_macs(layer) for layer in ir.layers)
    short = "instr" if unit == "instructions" else unit
    head = (f"{'layer':14s} {'kind':7s} {'output':>10s} {'MACs':>9s} {unit:>13s} "
            f"{'MACs/' + short:>11s} {'share':>6s}")
    lines = [head, "-" * len(head)]
    for name, ticks in rows:
        layer = by_name[name]
        macs = layer_macs(layer)
        ratio = f"{macs / ticks:11.2f}" if macs and ticks else f"{'-':>11s}"
        lines.append(f"{name:14s} {layer.kind:7s} {'x'.join(map(str, layer.out_shape)):>10s} "
                     f"{macs:9d} {ticks:13,d} {ratio} {100 * ticks / total:5.1f}%")
    lines.append(f"{'total':14s} {'':7s} {'':>10s} {total_macs:9d} {total:13,d} "
                 f"{total_macs / total:11.2f} {100.0:5.1f}%")
    return "\n".join(lines)
