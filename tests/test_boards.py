"""boards.yaml loading and the memory-plan fit check."""

from __future__ import annotations

import pytest

from codegen.memory import plan_memory
from hostbench.boards import BoardError, get_board, load_boards
from hostbench.firmware_build import DoesNotFit, check_fit
from tests.test_export import trained_like_model
from trainer.export import export_model


def test_catalogue_has_the_emulated_m4():
    b = get_board("mps2-an386")
    assert b.core == "cortex-m4" and b.qemu_machine == "mps2-an386" and b.ram == 4 << 20


def test_every_catalogue_entry_is_complete_and_consistent():
    import json

    from codegen.project import FIRMWARE, KERNEL_FLAVOURS
    from hostbench.firmware_build import CPU_FLAGS
    boards = load_boards()
    assert {"mps2-an385", "mps2-an386", "mps2-an500"} <= set(boards)
    for b in boards.values():
        assert b.kernels in KERNEL_FLAVOURS, b.name
        assert (FIRMWARE / "boards" / b.firmware).is_dir(), b.name
        assert b.core in CPU_FLAGS, b.name
        # cores without the DSP extension get the portable flavour
        assert b.isa == "armv7e-m" or b.kernels == "ref", b.name
        if b.qemu_machine:
            spec = json.loads((FIRMWARE / "platformio" / "platform-trit" / "boards" /
                               f"{b.name}.json").read_text())
            assert spec["build"]["cpu"] == b.core
            assert spec["build"]["qemu_machine"] == b.qemu_machine
            assert b.counter == "instructions" and b.bulk is not None
    assert boards["mps2-an385"].kernels == "ref"
    assert boards["mps2-an500"].bulk == (0x60000000, 16 << 20)


def test_invalid_entries_name_board_and_field(tmp_path):
    p = tmp_path / "boards.yaml"
    p.write_text("tiny:\n  core: cortex-m0plus\n  isa: armv6-m\n  kernels: ref\n"
                 "  clock_hz: fast\n  flash: 1\n  ram: 1\n  counter: cycles\n  firmware: x\n")
    with pytest.raises(BoardError, match="board 'tiny': field 'clock_hz'"):
        load_boards(p)
    with pytest.raises(BoardError, match="unknown board 'nope'"):
        get_board("nope")


def test_model_that_does_not_fit_is_refused_with_figures():
    from dataclasses import replace
    plan = plan_memory(export_model(trained_like_model(width=8)))
    small = replace(get_board("mps2-an386"), ram=1024, flash=2048)
    with pytest.raises(DoesNotFit, match=rf"activations need {plan.activation_bytes} B of RAM"):
        check_fit(plan, small)
    check_fit(plan, get_board("mps2-an386"))
