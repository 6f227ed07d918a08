"""Where a kernel call's instructions go: the call runs alone in the kernel runner under
qemu-system-arm with an execution trace (``-d exec,nochain`` and one instruction per
translation block), streamed through a FIFO and counted per program counter, then attributed
to the runner image's functions (``nm``) and source lines (``addr2line``).

The counts cover the whole emulator session (start-up, the job table's decoding, the timing
reads) as well as the kernel, so the report names every function; the kernel's own figure is
its functions' sum. Bare-metal boards only (QEMU system mode)."""

from __future__ import annotations

import bisect
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .kernel_calls import EmulatedBoard
from .kernel_jobs import Job, KernelRunner
from .qemu import EmulatorError, qemu_machine

_PC = re.compile(rb"\[[0-9a-f]+/([0-9a-f]+)/")


@dataclass
class TraceReport:
    ticks: int                       # the job's counter ticks, as an untraced run gives them
    by_function: list[tuple[str, int]]  # instructions per function, most first
    by_line: list[tuple[str, int]]      # instructions per source line (file:line), most first
    total: int                       # instructions traced in the whole session
    output: np.ndarray               # the call's output


def _one_insn_flag(qemu: str) -> str:
    """QEMU 8.1 renamed -singlestep to -one-insn-per-tb."""
    help_text = subprocess.run([qemu, "-h"], capture_output=True, text=True).stdout
    return "-one-insn-per-tb" if "-one-insn-per-tb" in help_text else "-singlestep"


def _count_pcs(fifo: Path, counts: Counter) -> None:
    with open(fifo, "rb") as f:
        for line in f:
            m = _PC.search(line)
            if m:
                counts[int(m.group(1), 16)] += 1


def _symbols(elf: Path, tool_prefix: str) -> list[tuple[int, int, str]]:
    out = subprocess.run([f"{tool_prefix}nm", "-n", "-S", str(elf)], capture_output=True,
                         text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT":
            syms.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
    return syms


def _lines(elf: Path, pcs: list[int], tool_prefix: str) -> list[str]:
    out = subprocess.run([f"{tool_prefix}addr2line", "-e", str(elf)] + [hex(p) for p in pcs],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    return [Path(o.split(" ")[0]).name if o.split(":")[0] != "??" else "??" for o in out]


def trace_job(runner: KernelRunner, job: Job, timeout: float = 600.0) -> TraceReport:
    """Run ``job`` once under the execution trace and count its instructions by function and
    source line."""
    if runner.spec.linux:
        raise EmulatorError("tracing runs the bare-metal boards' kernel runner (QEMU system mode)")
    qemu = shutil.which(qemu_machine(runner.board)[0])
    if qemu is None:
        raise EmulatorError("qemu-system-arm is not installed (make setup installs it)")
    counts: Counter = Counter()
    with tempfile.TemporaryDirectory(prefix="trit-trace-") as tmp:
        fifo = Path(tmp) / "trace.fifo"
        os.mkfifo(fifo)
        reader = threading.Thread(target=_count_pcs, args=(fifo, counts), daemon=True)
        reader.start()
        (result,) = runner.run([job], timeout=timeout,
                               qemu_args=("-d", "exec,nochain", _one_insn_flag(qemu),
                                          "-D", str(fifo)))
        reader.join(timeout)
    syms = _symbols(runner.elf, "arm-none-eabi-")
    starts = [s[0] for s in syms]
    by_function: Counter = Counter()
    for pc, n in counts.items():
        i = bisect.bisect_right(starts, pc) - 1
        name = syms[i][2] if i >= 0 and pc < syms[i][0] + max(syms[i][1], 2) else "?"
        by_function[name] += n
    pcs = sorted(counts)
    by_line: Counter = Counter()
    for pc, line in zip(pcs, _lines(runner.elf, pcs, "arm-none-eabi-")):
        by_line[line] += counts[pc]
    return TraceReport(result.ticks, by_function.most_common(), by_line.most_common(),
                       sum(counts.values()), result.output)


def format_trace(name: str, report: TraceReport, unit: str, top: int = 12) -> str:
    lines = [f"{name}: {report.ticks:,} {unit} timed; {report.total:,} instructions traced in "
             "the whole session (start-up and job decoding included)",
             "  by function:"]
    lines += [f"    {n:>12,}  {f}" for f, n in report.by_function[:top]]
    lines.append("  by source line:")
    lines += [f"    {n:>12,}  {f}" for f, n in report.by_line[:top]]
    return "\n".join(lines)


class TracingBoard(EmulatedBoard):
    """An EmulatedBoard whose calls run under the execution trace: ``last_report`` holds the
    last call's TraceReport."""

    last_report: TraceReport | None = None

    def _call(self, name: str, args: list, out: np.ndarray) -> np.ndarray:
        self.last_report = trace_job(self.runner, Job(name, args, out, reference=self.reference))
        self.last_ticks = self.last_report.ticks
        out[...] = self.last_report.output.reshape(out.shape)
        return out
