"""The board-port layer: the portable parts (runtime, protocol, generated model, kernels, the
Cortex-M counters) compile for every core in boards.yaml with arm-none-eabi-gcc, and kernels
and the generated model never include a board header. (The STM32Cube and Arduino ports need
their frameworks' headers; they compile where PlatformIO has the stock platforms.)"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from codegen.project import COMMON_PORT, FIRMWARE, kernel_sources, runtime_sources
from codegen.render import render_model
from hostbench.boards import load_boards
from hostbench.firmware_build import CFLAGS, CPU_FLAGS
from tests.test_export import trained_like_model
from trainer.export import export_model

pytestmark = pytest.mark.skipif(not shutil.which("arm-none-eabi-gcc"),
                                reason="needs gcc-arm-none-eabi (make setup)")

# microcontroller cores (Linux boards' programs are built and run in test_linux_runtime.py)
CORES = sorted({(b.core, b.kernels) for b in load_boards().values() if not b.linux})


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    for name, text in render_model(export_model(trained_like_model(width=8), name="m")).items():
        (out / name).write_text(text)
    return out


@pytest.mark.parametrize("core, kernels", CORES)
def test_portable_parts_compile_for_every_core(core, kernels, model_dir, tmp_path):
    sources = [*runtime_sources("trit-baremetal"), *kernel_sources(kernels),
               *COMMON_PORT.glob("*.c"), model_dir / "model.c"]
    for src in sources:
        res = subprocess.run(
            ["arm-none-eabi-gcc", *CFLAGS, *CPU_FLAGS[core], f"-I{FIRMWARE / 'include'}",
             f"-I{model_dir}", f"-I{COMMON_PORT}", f"-I{FIRMWARE / 'kernels' / kernels}", "-c",
             str(src), "-o", str(tmp_path / f"{src.stem}.o")], capture_output=True, text=True)
        assert res.returncode == 0, f"{src.name} for {core}:\n{res.stderr}"


def test_kernels_and_generated_model_include_no_board_header(model_dir):
    files = [*FIRMWARE.glob("kernels/*/*.[ch]"), model_dir / "model.c", model_dir / "model.h",
             FIRMWARE / "include" / "trit" / "kernels.h"]
    for f in files:
        includes = re.findall(r'#include\s+[<"]([^>"]+)', f.read_text())
        assert not any("board" in inc or "port_config" in inc or "hal" in inc
                       for inc in includes), (f, includes)


def test_dwt_counter_is_compiled_out_on_cores_without_one(tmp_path):
    """ARMv6-M has no DWT cycle counter: the port falls back to SysTick / micros()."""
    src = COMMON_PORT / "cortex_m_counters.c"
    for core, has_dwt in (("cortex-m0plus", False), ("cortex-m4", True)):
        asm = tmp_path / f"{core}.s"
        subprocess.run(["arm-none-eabi-gcc", *CFLAGS, *CPU_FLAGS[core], f"-I{COMMON_PORT}", "-S",
                        str(src), "-o", str(asm)], check=True)
        text = asm.read_text()
        # the DWT block at 0xE0001000 (-536866816 as the assembler's signed literal word)
        assert ("-536866816" in text) == has_dwt, core


def test_public_headers_work_from_cpp(tmp_path):
    """Arduino ports are C++: the interfaces they implement must keep C linkage."""
    if not shutil.which("arm-none-eabi-g++"):
        pytest.skip("needs arm-none-eabi-g++")
    src = tmp_path / "port.cpp"
    src.write_text('#include "trit/board.h"\n#include "trit/runtime.h"\n'
                   '#include "cortex_m_counters.h"\n'
                   'extern "C" const char *trit_board_name(void) { return "x"; }\n')
    obj = tmp_path / "port.o"
    subprocess.run(["arm-none-eabi-g++", *CPU_FLAGS["cortex-m4"], f"-I{FIRMWARE / 'include'}",
                    f"-I{COMMON_PORT}", "-Wall", "-Werror", "-c", str(src), "-o", str(obj)],
                   check=True)
    syms = subprocess.run(["arm-none-eabi-nm", str(obj)], capture_output=True, text=True,
                          check=True).stdout
    assert " T trit_board_name" in syms  # unmangled: C linkage
