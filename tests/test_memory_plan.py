"""The static memory plan (codegen/memory.py): no two values (activations and the layers'
kernel scratch) alive at the same step share a byte, and the arena is as small as the live
values allow for the shipped networks."""

from __future__ import annotations

from codegen.ir import load_ir
from codegen.memory import plan_memory
from tests.conftest import REPO
from tests.test_export import trained_like_model
from trainer.export import export_model


def _live_bytes_bound(plan) -> int:
    steps = range(min(b.first for b in plan.buffers.values()),
                  max(b.last for b in plan.buffers.values()) + 1)
    return max(sum(b.size for b in plan.buffers.values() if b.first <= s <= b.last)
               for s in steps)


def _check(plan) -> None:
    """No overlap of values alive at the same step, but for an add writing over its input."""
    bufs = list(plan.buffers.values())
    for i, a in enumerate(bufs):
        assert a.offset % 4 == 0 and a.offset + a.size <= plan.arena_bytes
        for b in bufs[i + 1:]:
            if plan.in_place.get(a.value) == b.value or plan.in_place.get(b.value) == a.value:
                assert (a.offset, a.size) == (b.offset, b.size)
                assert a.last == b.first or b.last == a.first  # handed over at the add
                continue
            alive_together = not (a.last < b.first or b.last < a.first)
            apart = a.offset + a.size <= b.offset or b.offset + b.size <= a.offset
            assert apart or not alive_together, (a, b)


def test_plans_are_valid_and_tight():
    for ir in (export_model(trained_like_model(seed=1)), export_model(trained_like_model(width=8)),
               load_ir(REPO / "models" / "dws-tern-bin-32k" / "model.trit")):
        plan = plan_memory(ir)
        _check(plan)
        assert plan.arena_bytes >= _live_bytes_bound(plan)
    # the zoo model: three 32x32 maps of one word per pixel live in a residual block, with the
    # scratch of a 24-channel pointwise layer (its nibble tables: 96 * 6 words); the image
    # (3 KiB) is dead once the input layer has run; the 96-channel layers' larger scratch
    # (6 KiB) fits beside their small maps
    zoo = plan_memory(load_ir(REPO / "models" / "dws-tern-bin-32k" / "model.trit"))
    assert zoo.arena_bytes == _live_bytes_bound(zoo) == 3 * 32 * 32 * 4 + 4 * 96 * 6
    assert zoo.scratch_words == 64 * 24
    assert all(b.first == b.last for name, b in zoo.buffers.items() if name.startswith("scratch:"))


def test_stride2_stem_plan_fits_8_kib():
    """The zoo network with a stride-2 input convolution (dws-tern-bin-32k-s2): the largest
    live set is the first downsampling block's, its 16x16 input (kept for the shortcut, one
    word per pixel) beside two 8x8 maps of 48 channels (two words per pixel) and the
    48-channel pointwise scratch (6 KiB)."""
    import torch

    from tests.test_export import _randomise
    from trainer.models import build_model
    torch.manual_seed(0)
    ir = export_model(_randomise(build_model("ttq-all-bin-sym", width=24, stem_stride=2)))
    plan = plan_memory(ir)
    _check(plan)
    assert plan.arena_bytes == _live_bytes_bound(plan) == 16 * 16 * 4 + 2 * 8 * 8 * 8 + 6144
    assert plan.arena_bytes <= 8 * 1024


def test_scratch_ints_is_the_c_macro(tmp_path):
    """codegen's scratch_ints(c) is TRIT_SCRATCH_INTS(c) of firmware/include/trit/kernels.h
    (the memory plan reserves what the kernels assume), for every channel count to 300."""
    import subprocess

    from codegen.memory import scratch_ints

    src = tmp_path / "s.c"
    src.write_text('#include <stdio.h>\n#include "trit/kernels.h"\n'
                   'int main(void) { for (int c = 1; c <= 300; ++c) '
                   'printf("%d\\n", (int)TRIT_SCRATCH_INTS(c)); return 0; }\n')
    exe = tmp_path / "s"
    subprocess.run(["gcc", "-I", str(REPO / "firmware" / "include"), str(src), "-o", str(exe)],
                   check=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True,
                                          check=True).stdout.split()]
    assert got == [scratch_ints(c) for c in range(1, 301)]
    assert scratch_ints(8) == 274 + 16 + 32  # the depthwise kernel's border classes, edges


def test_adds_write_over_their_dying_branch():
    """Int8-stream network (ttq-all-bin-s8, width 8): each block's add writes over its pw2
    output, which dies there (the block input lives on beside it as the shortcut); the arena
    is the largest live set with each overwritten pair counted once."""
    from tests.test_export import trained_like_s8_stream_model
    ir = export_model(trained_like_s8_stream_model(width=8))
    plan = plan_memory(ir)
    _check(plan)
    adds = [layer for layer in ir.layers if layer.op == "add"]
    assert plan.in_place == {a.name: a.input for a in adds}
    for a in adds:
        assert plan.buffers[a.name].offset == plan.buffers[a.input].offset
    shared = {plan.in_place[v]: v for v in plan.in_place}
    live = max(sum(b.size for b in plan.buffers.values()
                   if b.first <= s <= b.last and not (b.value in shared
                                                      and plan.buffers[shared[b.value]].first == s))
               for s in range(len(ir.layers)))
    assert plan.arena_bytes == live
