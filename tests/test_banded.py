"""Banded execution of layer chains and arena fitting (codegen/banded.py, codegen/memory.py):
the schedules compute every row once, windows hold what their consumers read, an output
written over its source never reaches a source row still to be read, plans keep live values
apart, and the generated firmware stays bit-exact on every emulated core."""

from __future__ import annotations

import pytest

from codegen.banded import (Call, Slide, find_chains, in_order_delta, input_rows, row_bytes,
                            schedule)
from codegen.ir import load_ir
from codegen.memory import ArenaOptions, fit_arena, plan_memory
from tests.conftest import REPO, assert_runs_like_the_reference, needs_emulator

ZOO = REPO / "models" / "dws-tern-bin-32k" / "model.trit"


@pytest.fixture(scope="module")
def zoo():
    return load_ir(ZOO)


def test_chains_are_the_residual_blocks(zoo):
    chains = find_chains(zoo)
    assert len(chains) == 9
    for idx in chains:
        names = [zoo.layers[i].name for i in idx]
        assert [n.split(".")[1] for n in names] == ["dw1", "pw1", "dw2", "pw2"]


def _simulate(ir, idx: list[int], band_rows: int) -> None:
    """Run a chain's schedule on row labels: every window row a consumer reads holds the
    producer's row of that number, each row is computed once, and (output over its source)
    no source row is read after output bytes covered it."""
    ch = schedule(ir, idx, band_rows)
    layers = [ir.layers[i] for i in idx]
    pos = {i: j for j, i in enumerate(idx)}
    windows: dict[str, list[int | None]] = {
        layers[j].name: [None] * ch.window_rows[layers[j].name] for j in range(len(idx) - 1)}
    computed = [set() for _ in idx]
    src = ir.layer(ch.source)
    xb, yb = row_bytes(src), row_bytes(layers[-1])
    written = 0  # bytes of the output written so far, from delta before the source
    for step in ch.steps:
        for item in step:
            if isinstance(item, Slide):
                win = windows[item.value]
                win[:item.keep] = win[item.drop:item.drop + item.keep]
                continue
            assert isinstance(item, Call)
            j = pos[item.layer]
            layer = layers[j]
            lo, hi = input_rows(layer, item.y0, item.y1)
            if j > 0:  # reads its window
                win = windows[layers[j - 1].name]
                for y in range(lo, hi):
                    assert win[y - item.in_base] == y, (layer.name, y)
            else:  # reads the source: not yet overwritten
                assert written - ch.delta <= lo * xb, (layer.name, lo)
            if layer.output.residual == ch.source:
                rlo = item.y0 * layer.output.residual_stride
                assert written - ch.delta <= rlo * xb
            rows = range(item.y0, item.y1)
            assert not computed[j] & set(rows)
            computed[j] |= set(rows)
            if j < len(idx) - 1:
                win = windows[layer.name]
                for y in rows:
                    win[y - item.out_base] = y
            else:
                written = item.y1 * yb
    for j, layer in enumerate(layers):
        assert computed[j] == set(range(layer.out_shape[1])), layer.name


@pytest.mark.parametrize("band_rows", [1, 2, 3, 4, 5, 8, 16, 32])
def test_schedules_compute_each_row_once_from_valid_windows(zoo, band_rows):
    for idx in find_chains(zoo):
        _simulate(zoo, idx, band_rows)


def test_input_layer_over_the_image_starts_early_enough(zoo):
    """The stem (3x3, stride 1, pad 1) writes 128 B rows over 96 B image rows: its last row
    must end before image row 30 starts."""
    stem = zoo.layers[0]
    delta = in_order_delta(stem, 96, 128)
    assert delta == 32 * 128 - 30 * 96
    for y in range(32):  # each output row ends before the first image row it still reads
        assert (y + 1) * 128 - delta <= max(0, y - 1) * 96


def _check_plan(plan) -> None:
    """Values alive at the same step share no byte, but a value and the one written over it
    (an alias: the schedule or the kernel's row order keeps them apart in time)."""
    related = set()
    for v, (src, _) in plan.aliases.items():
        related |= {(v, src), (src, v)}
    bufs = list(plan.buffers.values())
    for i, a in enumerate(bufs):
        assert a.offset % 4 == 0 and a.offset + a.size <= plan.arena_bytes
        for b in bufs[i + 1:]:
            if (a.value, b.value) in related or (a.offset, a.size, a.first, a.last) == \
                    (b.offset, b.size, b.first, b.last):  # an alias, or one shared buffer
                continue
            together = not (a.last < b.first or b.last < a.first)
            apart = a.offset + a.size <= b.offset or b.offset + b.size <= a.offset
            assert apart or not together, (a, b)


@pytest.mark.parametrize("budget", [12288, 10240, 8192])
def test_fitted_plans_fit_and_keep_values_apart(zoo, budget):
    options = fit_arena(zoo, budget)
    plan = plan_memory(zoo, options)
    assert plan.arena_bytes <= budget
    _check_plan(plan)
    if budget == 8192:  # the stride-1 zoo model: the image and the scratch cap are needed
        assert options.input_in_place and options.scratch_cap


def test_banded_plans_are_valid_for_every_band_height(zoo):
    names = [zoo.layers[idx[0]].name for idx in find_chains(zoo)]
    for rows in (1, 2, 3, 7):
        for cap in (None, 512):
            _check_plan(plan_memory(zoo, ArenaOptions(tuple((n, rows) for n in names), cap,
                                                      True)))


def test_unfittable_budget_says_the_least_found(zoo):
    with pytest.raises(ValueError, match="does not fit 4096 B: the least found is"):
        fit_arena(zoo, 4096)


def test_default_plan_is_unchanged_by_the_options_code(zoo):
    assert plan_memory(zoo).arena_bytes == plan_memory(zoo, ArenaOptions()).arena_bytes == 14592


@needs_emulator
@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an385", "mps3-an547"])
def test_zoo_model_in_8_kib_is_bit_exact_on_device(zoo, board, cifar, tmp_path):
    """The zoo model fitted to 8 KiB (image overwritten, banded blocks, capped scratch) on
    the Cortex-M4 (ARMv7E-M kernels), M3 (portable) and M55 (Helium): logits identical to
    the reference interpreter."""
    from hostbench.firmware_build import build_firmware
    fw = build_firmware(zoo, tmp_path / board, board=board, use_platformio=False,
                        arena=fit_arena(zoo, 8192))
    assert_runs_like_the_reference(fw.elf, zoo, cifar.test_images[:3], board)


def test_generated_chain_code_loops_over_the_steady_state(zoo):
    from codegen.render import render_model
    options = ArenaOptions((("s1b1.dw1", 2),))
    src = render_model(zoo, "armv7em", options)["model.c"]
    assert "for (int r = 4; r <= 28; r += 2) { /* steps 3 to 15 of 16 */" in src
    assert src.count("TIMED(") == 4 * 4 + 1  # 3 single steps, one loop body; the macro


@needs_emulator
def test_cli_build_with_an_arena_budget_prints_the_fit(tmp_path, capsys):
    """`trit build --arena-budget`: the plan within the budget, what was fitted, the
    project's scratch cap header; --band-rows bands every chain without a cap."""
    from hostbench.cli import main
    assert main(["build", "--board", "mps2-an386", "--model", str(ZOO), "--direct",
                 "--arena-budget", "8192", "--out", str(tmp_path / "fit")]) == 0
    out = capsys.readouterr().out
    assert "activations 8192 B" in out
    assert "stem written over the image" in out and "capped at 3072 B" in out
    assert "TRIT_SCRATCH_CAP 768" in (tmp_path / "fit" / "include" / "trit" /
                                      "model_config.h").read_text()
    assert main(["build", "--board", "mps2-an386", "--model", str(ZOO), "--direct",
                 "--band-rows", "4", "--out", str(tmp_path / "band")]) == 0
    out = capsys.readouterr().out
    assert "s1b1.dw1..s1b1.pw2 4" in out and "capped" not in out
    assert not (tmp_path / "band" / "include" / "trit" / "model_config.h").exists()


@needs_emulator
def test_profile_of_a_banded_build_covers_every_layer(zoo, cifar, tmp_path):
    """`trit bench --profile` on a banded build: every layer of a chain gets its own calls'
    instructions, and the rows add up to one inference plus the timing of each call."""
    from hostbench.dut import DUT
    from hostbench.firmware_build import build_firmware
    from hostbench.qemu import emulator
    names = [zoo.layers[idx[0]].name for idx in find_chains(zoo)][:3]
    options = ArenaOptions(tuple((n, 8) for n in names))
    fw = build_firmware(zoo, tmp_path / "fw", use_platformio=False, arena=options)
    with emulator(fw.elf) as port:
        dut = DUT(port)
        dut.wait_ready()
        rows, unit = dut.layers(cifar.test_images[0])
        plain = dut.infer(cifar.test_images[0]).counter
    assert [name for name, _ in rows] == [layer.name for layer in zoo.layers]
    assert all(ticks > 0 for _, ticks in rows)
    calls = 3 * 4 * 4  # three chains of four layers, four steps each
    assert 0 <= sum(t for _, t in rows) - plain < 100 * (len(rows) + calls)


def test_pointwise_layers_get_tables_in_bands_and_start_values_otherwise(zoo):
    """The ARMv7E-M pointwise layers of the zoo model in the 8 KiB build: those run in bands
    get their nibble tables, the 8x8 stage's (run whole on the capped scratch) the start values
    alone, as every pointwise layer of the layer-by-layer build does; no other flavour gets
    either."""
    from codegen.render import wants_nibble_starts, wants_nibble_tables
    pw = [layer for layer in zoo.layers if layer.op == "conv2d" and layer.kernel == 1
          and layer.groups == 1]
    banded = plan_memory(zoo, fit_arena(zoo, 8192))
    tables = {layer.name for layer in pw if wants_nibble_tables(zoo, layer, "armv7em", banded)}
    starts = {layer.name for layer in pw if wants_nibble_starts(zoo, layer, "armv7em", banded)}
    assert tables == {layer.name for layer in pw if layer.in_shape[1] > 8}
    assert starts == {layer.name for layer in pw if layer.in_shape[1] == 8}
    whole = plan_memory(zoo)
    assert all(wants_nibble_starts(zoo, layer, "armv7em", whole) for layer in pw)
    assert not any(wants_nibble_tables(zoo, layer, "armv7em", whole) for layer in pw)
    assert not any(wants_nibble_starts(zoo, layer, "ref", whole) for layer in pw)
