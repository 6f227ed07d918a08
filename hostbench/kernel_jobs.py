"""The kernel job runner (firmware/kernelbench/runner.c) on an emulated board: build it for a
kernel flavour (with the portable reference twins linked in under a ``ref_`` prefix), lay out
jobs and their arrays in the board's bulk memory, run QEMU, read outputs and counter ticks
back: through semihosting on bare-metal boards (qemu-system-arm), from a file on Linux boards
(QEMU user mode, instructions counted by the trit_icount plugin)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codegen.project import (COMMON_PORT, FIRMWARE, kernel_headers, kernel_sources, linker_script,
                             port_sources)

from .firmware_build import CFLAGS, CPU_FLAGS, LINUX_CFLAGS, BuildError
from .kernel_calls import KERNELS_H, Requant, Scales, Thr
from .boards import c_defines, get_board
from .qemu import EmulatorError, qemu_machine
from .qemu_user import run_program

RUNNER_C = FIRMWARE / "kernelbench" / "runner.c"
MAGIC = 0x424A4B54
JOB_WORDS = 32
HEAD_WORDS = 4
OPS = {"trit_conv_input_s8": 1, "trit_pw_ternary_bin": 2, "trit_dw_ternary_bin": 3,
       "trit_global_sum_pool_bin": 4, "trit_dense_ternary": 5, "trit_threshold_pack": 6,
       "trit_conv_s8": 7, "trit_dw_s8": 8, "trit_add_s8": 9, "trit_pw_ternary_s8": 10,
       "trit_dw_ternary_s8": 11, "trit_add_residual_s8": 12, "trit_global_sum_pool_s8": 13,
       "trit_sign_pack_s8": 14, "trit_pw_ternary_bin_s8": 15}


@dataclass
class Job:
    """One kernel call: the function name, its arguments (arrays, ints, None, Thr, Scales) in
    signature order, and the array the output is read back into."""
    name: str
    args: list
    out: np.ndarray
    reference: bool = False
    repeat: int = 1


@dataclass
class JobResult:
    output: np.ndarray   # the output array's bytes, viewed with its dtype
    ticks: int           # counter total over all repeats (board counter unit)


@dataclass
class _Image:
    base: int
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0

    def place(self, data: bytes) -> int:
        self.size = (self.size + 7) & ~7
        addr = self.base + self.size
        self.chunks.append((self.size, data))
        self.size += len(data)
        return addr

    def tobytes(self) -> bytes:
        buf = bytearray(self.size)
        for off, data in self.chunks:
            buf[off:off + len(data)] = data
        return bytes(buf)


def _ref_renames() -> list[str]:
    """-D flags giving every kernel in kernels.h a ``ref_`` prefix."""
    names = sorted(set(re.findall(r"^\w[\w\s\*]*?\b(trit_\w+)\(", KERNELS_H.read_text(), re.M)))
    return [f"-D{n}=ref_{n}" for n in names if n != "trit_popcount32"]


class KernelRunner:
    """The runner built for ``board`` with kernel ``flavour`` (cached in ``build_dir``)."""

    def __init__(self, flavour: str, board: str = "mps2-an386",
                 build_dir: Path | None = None, extra_defines: tuple[str, ...] = ()) -> None:
        spec = get_board(board)
        if spec.bulk is None or not spec.emulated:
            raise ValueError(f"the kernel job runner needs an emulated board with a bulk region; "
                             f"{board} is not one")
        self.flavour, self.board, self.cpu = flavour, board, spec.core
        self.spec = spec
        self.bulk_address, self.bulk_bytes = spec.bulk
        self.port = spec.firmware
        self.defines = c_defines(spec) + list(extra_defines)
        self.build_dir = Path(build_dir or Path("build") / "kernel-runner" / f"{board}-{flavour}")
        self.elf = self.build_dir / "runner.elf"
        self._build()

    def _build(self) -> None:
        linux = self.spec.linux
        cc_name = self.spec.linux_cc if linux else "arm-none-eabi-gcc"
        gcc = shutil.which(cc_name)
        if gcc is None:
            raise BuildError(f"{cc_name} is not installed (make setup installs it)")
        own = kernel_sources(self.flavour)
        ref = kernel_sources("ref")
        port = port_sources(self.port)
        deps = [RUNNER_C, KERNELS_H, *own, *ref, *kernel_headers(self.flavour), *port]
        if self.elf.exists() and self.elf.stat().st_mtime > max(p.stat().st_mtime for p in deps):
            return
        self.build_dir.mkdir(parents=True, exist_ok=True)
        if linux:
            flags = [*LINUX_CFLAGS, *self.spec.linux_cflags, *self.defines,
                     f"-I{FIRMWARE / 'include'}"]
            link = ["-static"]
        else:
            flags = [*CFLAGS, *CPU_FLAGS[self.cpu], *self.defines,
                     f"-I{FIRMWARE / 'include'}", f"-I{COMMON_PORT}"]
            ld = linker_script(port, self.board)
            link = ["-nostartfiles", "--specs=nosys.specs", "-Wl,--gc-sections",
                    f"-L{ld.parent}", f"-T{ld}"]
        # the portable twins, renamed ref_*, beside the flavour's own kernels
        objs = []
        for src in ref:
            obj = self.build_dir / f"ref_{src.stem}.o"
            self._cc([gcc, *flags, *_ref_renames(), "-c", str(src), "-o", str(obj)])
            objs.append(str(obj))
        board_c = [str(p) for p in port if p.suffix == ".c"]
        self._cc([gcc, *flags, str(RUNNER_C), *map(str, own), *board_c, *objs, *link,
                  "-o", str(self.elf)])

    @staticmethod
    def _cc(cmd: list[str]) -> None:
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise BuildError(f"kernel runner build failed:\n{' '.join(cmd)}\n{res.stderr}")

    def run(self, jobs: list[Job], timeout: float = 300.0,
            qemu_args: tuple[str, ...] = ()) -> list[JobResult]:
        """Run ``jobs`` in one emulator session; results in job order. ``qemu_args``: more
        options for qemu-system-arm (bare-metal boards), e.g. an execution trace
        (hostbench/kernel_trace.py)."""
        image = _Image(self.bulk_address)
        image.place(b"\0" * (4 * HEAD_WORDS + 4 * JOB_WORDS * len(jobs)))  # the table, below
        table = np.zeros(HEAD_WORDS + JOB_WORDS * len(jobs), np.uint32)
        table[:3] = MAGIC, len(jobs), self.bulk_address
        for j, job in enumerate(jobs):
            words = [OPS[job.name], int(job.reference), job.repeat, 0, job.out.nbytes]
            for a in job.args:
                if a is job.out:
                    words[3] = image.place(np.ascontiguousarray(a).tobytes())
                    words.append(words[3])
                elif isinstance(a, np.ndarray):
                    words.append(image.place(np.ascontiguousarray(a).tobytes()))
                elif isinstance(a, Thr):
                    words += [image.place(a.threshold.tobytes()),
                              image.place(a.negative.tobytes()),
                              a.has_residual | a.threshold.itemsize << 8]
                elif isinstance(a, Scales):
                    words += [a.wp, a.wn]
                elif isinstance(a, Requant):
                    words += [image.place(np.ascontiguousarray(x, np.int32).tobytes())
                              for x in (a.bias, a.mult, a.shift)] + [a.act_min]
                elif a is None:
                    words.append(0)
                else:
                    words.append(int(a))
            if len(words) > JOB_WORDS:
                raise ValueError(f"{job.name}: too many arguments for a job")
            at = HEAD_WORDS + j * JOB_WORDS
            table[at:at + len(words)] = \
                np.array(words, np.int64).astype(np.uint32)
        blob = bytearray(image.tobytes())
        blob[:table.nbytes] = table.tobytes()
        if len(blob) > self.bulk_bytes:
            raise ValueError(f"jobs need {len(blob)} B, the bulk region has {self.bulk_bytes} B")
        with tempfile.TemporaryDirectory(prefix="trit-jobs-") as tmp:
            (Path(tmp) / "jobs.bin").write_bytes(blob)
            self._qemu(Path(tmp), timeout, qemu_args)
            raw = (Path(tmp) / "kernel-results.bin").read_bytes()
        return self._parse(raw, jobs)

    def _qemu(self, cwd: Path, timeout: float, qemu_args: tuple[str, ...] = ()) -> None:
        if self.spec.linux:
            if qemu_args:
                raise EmulatorError("QEMU options are for the bare-metal boards' runner")
            res = run_program(self.spec, self.elf, cwd, bulk_file=cwd / "jobs.bin",
                              timeout=timeout)
            if res.returncode != 0:
                raise EmulatorError(f"kernel runner failed (exit {res.returncode}): "
                                    f"{res.stderr[-2000:]}")
            return
        binary, machine = qemu_machine(self.board)
        exe = shutil.which(binary)
        if exe is None:
            raise EmulatorError(f"{binary} is not installed (make setup installs it)")
        cmd = [exe, "-machine", machine, "-nographic", "-monitor", "none", "-serial", "null",
               "-icount", "shift=0", "-semihosting-config", "enable=on,target=native",
               "-kernel", str(self.elf.resolve()), "-device",
               f"loader,file=jobs.bin,addr={self.bulk_address:#x},force-raw=on",
               *qemu_args]
        try:
            res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise EmulatorError(f"kernel runner did not finish within {timeout:.0f} s")
        if res.returncode != 0:
            raise EmulatorError(f"kernel runner failed (exit {res.returncode}): {res.stderr}")

    @staticmethod
    def _parse(raw: bytes, jobs: list[Job]) -> list[JobResult]:
        results, off = [], 0
        for j, job in enumerate(jobs):
            index, nbytes, lo, hi = np.frombuffer(raw, np.uint32, 4, off)
            if index != j or nbytes != job.out.nbytes:
                raise EmulatorError(f"kernel runner results out of step at job {j}")
            off += 16
            out = np.frombuffer(raw, job.out.dtype, job.out.size, off).copy()
            off += nbytes
            results.append(JobResult(out, int(lo) | (int(hi) << 32)))
        return results
