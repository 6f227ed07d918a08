"""Nibble tables kept in flash for every pointwise layer (`--nibble-tables`; codegen/render.py
FlashTables, codegen/nibble_tables.py): which layers take them, what they cost in flash, the
generated C, and the zoo models built with them bit-exact on the emulated cores. The kernel
reading such tables is golden-tested on every flavour in tests/test_kernels.py."""

from __future__ import annotations

import pytest

from codegen.ir import load_ir
from codegen.memory import plan_memory
from codegen.nibble_tables import TABLES, WORD_TILES, table_words, usable, word_tile_plan
from codegen.render import (FlashTables, byte_table_bytes, c_ident, nibble_start_bytes,
                            nibble_table_bytes, render_model, sliced_constant_bytes,
                            uses_word_tiles, wants_byte_tables, wants_nibble_starts,
                            wants_nibble_tables, wants_sliced_constants, wants_word_tiles)
from tests.conftest import REPO, assert_runs_like_the_reference, needs_emulator

ZOO = REPO / "models" / "dws-tern-bin-32k" / "model.trit"
ZOO_S2 = REPO / "models" / "dws-tern-bin-32k-s2" / "model.trit"
NIBBLES = FlashTables(nibble=True)
BOTH = FlashTables(byte=True, nibble=True)


@pytest.fixture(scope="module")
def zoo():
    return load_ir(ZOO)


@pytest.fixture(scope="module")
def zoo_s2():
    return load_ir(ZOO_S2)


def _pointwise(ir):
    return [layer for layer in ir.layers if layer.op == "conv2d" and layer.kernel == 1
            and layer.groups == 1]


def test_flash_tables_label_names_what_a_build_keeps_in_flash():
    assert FlashTables().label() == ""
    assert FlashTables(byte=True).label() == "bytes"
    assert NIBBLES.label() == "nibbles"
    assert BOTH.label() == "bytes-nibbles"


@pytest.mark.parametrize("model", ["zoo", "zoo_s2"])
def test_every_nibble_table_layer_takes_its_tables_when_asked(model, request):
    """With nibble tables asked for, every pointwise layer the kernel counts through nibble
    tables takes them from flash: none takes start values alone or (on few pixels) bit-sliced
    constants any more; with byte tables as well the 24-channel layers take those instead.
    Depthwise layers keep their sliced constants; other flavours take no tables."""
    ir = request.getfixturevalue(model)
    plan = plan_memory(ir)
    pw = [layer for layer in _pointwise(ir) if usable(layer)]
    assert len(pw) == 18
    for layer in pw:
        assert wants_nibble_tables(ir, layer, "armv7em", plan, NIBBLES)
        assert not wants_nibble_starts(ir, layer, "armv7em", plan, NIBBLES)
        assert not wants_sliced_constants(layer, "armv7em", NIBBLES)
        first = wants_byte_tables(layer, "armv7em", BOTH)
        assert first == (layer.in_shape[0] == layer.out_shape[0] == 24)
        assert wants_nibble_tables(ir, layer, "armv7em", plan, BOTH) != first
        for flavour in ("ref", "neon"):
            assert not wants_nibble_tables(ir, layer, flavour, plan, NIBBLES)
    assert nibble_start_bytes(ir, "armv7em", plan, NIBBLES) == 0
    total = sum(4 * table_words(layer.in_shape[0], layer.out_shape[0]) for layer in pw)
    assert nibble_table_bytes(ir, "armv7em", plan, NIBBLES) == total
    assert nibble_table_bytes(ir, "armv7em", plan, BOTH) == total - 6 * 4 * table_words(24, 24)
    depthwise = [layer for layer in ir.layers if layer.groups > 1]
    assert all(wants_sliced_constants(layer, "armv7em", NIBBLES) for layer in depthwise)
    assert sliced_constant_bytes(ir, "armv7em", NIBBLES) <= sliced_constant_bytes(ir, "armv7em")


def test_zoo_flash_figures(zoo):
    """The figures the README names: 269,352 B of nibble tables for the zoo model, 255,216 B
    beside its 113,208 B of byte tables."""
    plan = plan_memory(zoo)
    assert nibble_table_bytes(zoo, "armv7em", plan, NIBBLES) == 269352
    assert nibble_table_bytes(zoo, "armv7em", plan, BOTH) == 255216
    assert byte_table_bytes(zoo, "armv7em", BOTH) == 113208


def test_generated_model_passes_the_nibble_tables(zoo):
    """The generated C holds each pointwise layer's nibble tables (the size table_words gives;
    word 0 TRIT_NIBBLE_WORD_TILES for the layers of 48 and 96 outputs, TRIT_NIBBLE_TABLES for
    those of 24) and passes them to its kernel call; the portable flavour's C has none."""
    src = render_model(zoo, "armv7em", tables=NIBBLES)["model.c"]
    plan = plan_memory(zoo)
    for layer in _pointwise(zoo):
        c = c_ident(layer.name)
        decl = f"{c}_tables[{table_words(layer.in_shape[0], layer.out_shape[0])}]"
        assert decl in src
        whole_words = layer.out_shape[0] % 16 == 0
        assert wants_word_tiles(zoo, layer, "armv7em", plan, NIBBLES) == whole_words
        assert not wants_word_tiles(zoo, layer, "armv7em", plan, FlashTables(byte=True))
        body = src[src.index(decl):]
        kind = WORD_TILES if whole_words else TABLES
        assert body[body.index("{") + 1:].lstrip().startswith(f"0x{kind:08x}")
        assert f"{c}_tables);" in src
    assert "read from flash instead of built per call" in src
    assert "_tables[" not in render_model(zoo, "ref", tables=NIBBLES)["model.c"]


def test_word_tile_plan_takes_whole_words():
    """Tiles of eight groups (32 channels), a last one of four where 16 channels remain; the
    same words as the scratch-bounded plan, so the flash figures do not depend on it."""
    assert word_tile_plan(96) == [(0, 8), (8, 8), (16, 8)]
    assert word_tile_plan(48) == [(0, 8), (8, 4)]
    assert word_tile_plan(16) == [(0, 4)]
    with pytest.raises(ValueError, match="multiple of 16"):
        word_tile_plan(24)


def test_project_compiles_the_word_tiles_only_where_the_model_passes_them(zoo, tmp_path):
    """A project whose model passes whole-word tiles defines TRIT_WORD_TILES in its
    trit/model_config.h (the kernel's code for them is compiled in); one built without
    --nibble-tables has no such line, so its firmware is what it was before."""
    from codegen.project import write_project
    from hostbench.boards import get_board
    from hostbench.firmware_build import project_target
    target = project_target(get_board("mps2-an386"))
    plan = plan_memory(zoo)
    assert uses_word_tiles(zoo, "armv7em", plan, NIBBLES)
    assert not uses_word_tiles(zoo, "armv7em", plan, FlashTables(byte=True))
    assert not uses_word_tiles(zoo, "ref", plan, NIBBLES)
    with_tiles = write_project(zoo, target, tmp_path / "n", kernels="armv7em", tables=NIBBLES)
    assert "#define TRIT_WORD_TILES 1" in \
        (with_tiles / "include" / "trit" / "model_config.h").read_text()
    plain = write_project(zoo, target, tmp_path / "p", kernels="armv7em")
    assert not (plain / "include" / "trit" / "model_config.h").exists()


@needs_emulator
def test_cli_build_with_all_tables_is_bit_exact_on_the_m4(zoo, cifar, tmp_path, capsys):
    """`trit build --byte-tables --nibble-tables` names both kinds of tables in the memory
    plan, and the firmware's logits equal the reference interpreter's."""
    from hostbench.cli import main
    out = tmp_path / "both"
    assert main(["build", "--board", "mps2-an386", "--model", str(ZOO), "--direct",
                 "--byte-tables", "--nibble-tables", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "255216 B nibble tables of the pointwise layers" in said
    assert "113208 B byte tables of the 24-channel pointwise layers" in said
    assert_runs_like_the_reference(next(out.rglob("firmware.elf")), zoo, cifar.test_images[:3])


@needs_emulator
@pytest.mark.parametrize("board", ["mps2-an386", "mps3-an547"])
def test_stride2_zoo_model_with_nibble_tables_is_bit_exact(zoo_s2, board, cifar, tmp_path):
    """The stride-2 zoo model (its last stage on 4x4 pixels, where the tables replace the
    sliced constants) built with nibble tables on the Cortex-M4 and the M55: logits identical
    to the reference interpreter."""
    from hostbench.firmware_build import build_firmware
    fw = build_firmware(zoo_s2, tmp_path / board, board=board, use_platformio=False,
                        tables=NIBBLES)
    assert_runs_like_the_reference(fw.elf, zoo_s2, cifar.test_images[:3], board)


@needs_emulator
def test_build_past_the_boards_flash_says_which_tables_to_drop(zoo, tmp_path):
    """Both kinds of tables overflow the M55 board's 512 KiB of flash by a few KiB: the build
    fails with DoesNotFit naming the overflow and the options that put tables in flash, not
    with the linker's output alone."""
    from hostbench.firmware_build import DoesNotFit, build_firmware
    with pytest.raises(DoesNotFit, match=r"FLASH region .* overflowed by \d+ B: --byte-tables "
                       r"and --nibble-tables"):
        build_firmware(zoo, tmp_path / "m55", board="mps3-an547", use_platformio=False,
                       tables=BOTH)
