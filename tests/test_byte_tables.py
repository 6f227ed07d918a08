"""Byte tables for the 24-channel pointwise layers (`--byte-tables`; codegen/nibble_tables.py,
the ARMv7E-M kernel's lut_run24_bytes): which layers take them, what they cost in flash, and
the zoo model built with them bit-exact on the emulated cores. The kernel itself is
golden-tested on every flavour in tests/test_kernels.py (test_pw_ternary_bin_byte_tables)."""

from __future__ import annotations

import pytest

from codegen.ir import load_ir
from codegen.memory import fit_arena, plan_memory
from codegen.nibble_tables import BYTE_TABLE_WORDS, BYTES
from codegen.render import (FlashTables, byte_table_bytes, c_ident, nibble_start_bytes,
                            render_model, wants_byte_tables, wants_nibble_starts,
                            wants_nibble_tables)
from tests.conftest import REPO, assert_runs_like_the_reference, needs_emulator

ZOO = REPO / "models" / "dws-tern-bin-32k" / "model.trit"
ASKED = FlashTables(byte=True)


@pytest.fixture(scope="module")
def zoo():
    return load_ir(ZOO)


def _pointwise(ir):
    return [layer for layer in ir.layers if layer.op == "conv2d" and layer.kernel == 1
            and layer.groups == 1]


def test_first_stage_pointwise_layers_take_byte_tables_when_asked(zoo):
    """With byte tables asked for, the six 24 -> 24 layers of the first stage take them
    (and neither nibble tables nor start values alone); the other pointwise layers keep what
    they had; without the option, or for other flavours, no layer takes them."""
    pw = _pointwise(zoo)
    first = {layer.name for layer in pw if layer.in_shape[0] == layer.out_shape[0] == 24}
    assert len(first) == 6
    assert {layer.name for layer in pw if wants_byte_tables(layer, "armv7em", ASKED)} == first
    assert not any(wants_byte_tables(layer, "armv7em", FlashTables()) for layer in pw)
    assert not any(wants_byte_tables(layer, flavour, ASKED) for layer in pw
                   for flavour in ("ref", "neon"))
    for plan in (plan_memory(zoo), plan_memory(zoo, fit_arena(zoo, 8192))):
        for layer in pw:
            taken = layer.name in first
            assert not (taken and wants_nibble_tables(zoo, layer, "armv7em", plan, ASKED))
            assert not (taken and wants_nibble_starts(zoo, layer, "armv7em", plan, ASKED))
    whole = plan_memory(zoo)
    assert byte_table_bytes(zoo, "armv7em", ASKED) == 6 * 4 * BYTE_TABLE_WORDS == 113208
    assert nibble_start_bytes(zoo, "armv7em", whole, ASKED) == \
        nibble_start_bytes(zoo, "armv7em", whole) - 6 * 4 * (1 + 2 * 6)


def test_generated_model_passes_the_byte_tables(zoo):
    """The generated C holds each first-stage layer's byte tables (word 0 TRIT_BYTE_TABLES)
    and passes them to its kernel call."""
    src = render_model(zoo, "armv7em", tables=ASKED)["model.c"]
    for layer in _pointwise(zoo):
        c = c_ident(layer.name)
        decl = f"{c}_tables[{BYTE_TABLE_WORDS}]"
        first = layer.in_shape[0] == layer.out_shape[0] == 24
        assert (decl in src) == first
        if first:
            body = src[src.index(decl):]
            assert body[body.index("{") + 1:].lstrip().startswith(f"0x{BYTES:08x}")
            assert f"{c}_tables);" in src
    assert "_tables[" not in render_model(zoo, "ref", tables=ASKED)["model.c"]


@needs_emulator
@pytest.mark.parametrize("board,budget", [("mps2-an386", None), ("mps2-an386", 8192),
                                          ("mps3-an547", None)])
def test_zoo_model_with_byte_tables_is_bit_exact_on_device(zoo, board, budget, cifar, tmp_path):
    """The zoo model built with byte tables, layer by layer and in 8 KiB (its first-stage
    layers then run in bands of two rows through them), on the Cortex-M4 and M55: logits
    identical to the reference interpreter."""
    from hostbench.firmware_build import build_firmware
    fw = build_firmware(zoo, tmp_path / board, board=board, use_platformio=False,
                        arena=fit_arena(zoo, budget) if budget else None, tables=ASKED)
    assert_runs_like_the_reference(fw.elf, zoo, cifar.test_images[:3], board)


@needs_emulator
def test_cli_build_with_byte_tables_says_what_they_cost(tmp_path, capsys):
    """`trit build --byte-tables` names the byte tables' flash in the memory plan and builds
    into its own project folder; with a flavour that has no use for them it says so."""
    from hostbench.cli import main
    assert main(["build", "--board", "mps2-an386", "--model", str(ZOO), "--direct",
                 "--byte-tables", "--out", str(tmp_path / "bytes")]) == 0
    out = capsys.readouterr().out
    assert "113208 B byte tables of the 24-channel pointwise layers" in out
    assert main(["build", "--board", "mps2-an386", "--model", str(ZOO), "--direct",
                 "--byte-tables", "--kernels", "ref", "--out", str(tmp_path / "ref")]) == 0
    out = capsys.readouterr().out
    assert "no layer of" in out and "byte tables" in out.split("memory plan")[0]
