"""The `trit` command: one entry point for training, export, code generation and benchmarks."""

from __future__ import annotations

import argparse
import json
import sys

from pathlib import Path

from trainer import cli as trainer_cli

DEFAULT_BOARD = "mps2-an386"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trit",
        description="Train CNNs with ternary weights and binary activations, export them to "
        "a deployment IR, generate C and measure them on microcontrollers.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    trainer_cli.add_commands(sub)
    add_commands(sub)
    return parser


def add_firmware_args(p: argparse.ArgumentParser, board_help: str) -> None:
    """--model, --board, --kernels, --direct: what build, bench and flash share."""
    p.add_argument("--model", type=Path, required=True,
                   help="IR file (.trit), zoo folder (models/NAME) or zoo name")
    p.add_argument("--board", default=DEFAULT_BOARD, help=board_help)
    p.add_argument("--kernels", help="kernel flavour instead of the board's (ref, armv7em, neon)")
    p.add_argument("--direct", action="store_true",
                   help="bare-metal boards: compile with arm-none-eabi-gcc instead of `pio run` "
                   "(Linux boards always build with their generated Makefile)")
    p.add_argument("--byte-tables", action="store_true",
                   help="ARMv7E-M kernels: count the pointwise layers of 21..24 input and "
                   "output channels through byte tables made at code generation (18 KiB of "
                   "flash per layer) instead of nibble tables: about a third fewer "
                   "instructions in those layers (default: off)")
    p.add_argument("--nibble-tables", action="store_true",
                   help="ARMv7E-M kernels: read the nibble tables of every other pointwise "
                   "layer from flash, made at code generation, instead of building them on "
                   "each call (64 B per four inputs and four outputs: 9 KiB for 48 -> 48, "
                   "36 KiB for 96 -> 96; layers with a multiple of 16 outputs in tiles of 32 "
                   "channels): saves the build, most on layers of few pixels (default: off)")
    fit = p.add_mutually_exclusive_group()
    fit.add_argument("--arena-budget", type=int, metavar="BYTES",
                     help="fit the activation arena into BYTES: the input layer writes over "
                     "the image, chains of binary layers (a residual block's depthwise and "
                     "pointwise layers) run a few output rows at a time where needed, and the "
                     "kernels' scratch is capped if that is not enough; costs instructions "
                     "(default: layer by layer, no budget)")
    fit.add_argument("--band-rows", type=int, metavar="N",
                     help="run every chain of binary layers N output rows at a time (only the "
                     "block's input and output whole maps), scratch not capped")


def add_commands(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser(
        "build", help="generate a PlatformIO project for an IR and build its firmware",
        description="Generate a PlatformIO project (model C from codegen/templates, runtime, "
        "kernels, board support), print the memory plan, check it against boards.yaml and "
        "build the firmware offline with `pio run`. In the project, `pio run -t upload` "
        "starts the emulator.")
    add_firmware_args(b, "board of boards.yaml (`trit boards`); real boards build with "
                      "PlatformIO's stock platform, which needs a network on first use")
    b.add_argument("--out", type=Path, help="project folder (default build/<board>-<model>)")
    b.set_defaults(func=cmd_build)

    e = sub.add_parser(
        "bench", help="run CIFAR-10 test images on a board and check them bit-exactly",
        description="Build the firmware, start the emulator, stream test images over the "
        "serial protocol, compare every result with the integer reference interpreter and "
        "print accuracy, agreement, instructions (QEMU), cycles (microcontrollers) or "
        "milliseconds (Linux boards) per inference, "
        "weight bytes and the firmware's flash and RAM.")
    add_firmware_args(e, "board of boards.yaml; emulated boards are started here, real "
                      "boards must run the model's firmware already (`trit flash`)")
    e.add_argument("--port", help="serial port of the board (default for real boards: found "
                   "by the board's USB VID:PID; for an emulated board, the pseudo-terminal "
                   "`trit flash` printed)")
    e.add_argument("--command", dest="run_command", metavar="COMMAND", help="Linux boards: the command that starts the runtime "
                   "with the protocol on its stdin/stdout, e.g. \"ssh pi@raspberrypi.local "
                   "./trit-runtime\" (copy it there first: `trit flash ... --ssh`)")
    e.add_argument("--resume", action="store_true",
                   help="serial runs: continue after the last image answered before the "
                   "board stopped answering (results kept in the progress log)")
    e.add_argument("--progress-log", type=Path,
                   help="serial runs: per-image results as they arrive (default "
                   "<project>/bench-progress.jsonl)")
    e.add_argument("--images", type=int, default=100, help="first N test images")
    e.add_argument("--data", help="CIFAR-10 location (default: $TRIT_CIFAR10, data/, "
                   "../shared/datasets/)")
    e.add_argument("--json", type=Path, help="also write the report as JSON")
    e.add_argument("--serial", action="store_true",
                   help="stream every image over the serial protocol even on an emulated "
                   "board (slow: ~12 KiB/s); default on emulators is bulk mode")
    e.add_argument("--instances", type=int, default=2,
                   help="parallel emulator instances in bulk mode")
    e.add_argument("--profile", action="store_true",
                   help="also print instructions (QEMU) or cycles (silicon) per layer, with "
                   "MACs per layer and MACs per instruction, from one profiled inference of "
                   "the first test image")
    e.set_defaults(func=cmd_bench)

    f = sub.add_parser(
        "flash", help="build the firmware and put it on the board",
        description="Build the model's firmware for a board and flash it: real boards with "
        "`pio run -t upload` (the upload protocol of boards.yaml; PlatformIO's stock platform "
        "must be installed or downloadable); emulated boards are started in QEMU with their "
        "UART on a pseudo-terminal, which stands in for the USB serial port until Ctrl-C. "
        "Then `trit bench --board ... [--port ...]` measures on it.")
    add_firmware_args(f, "board of boards.yaml (`trit boards`)")
    f.add_argument("--port", help="upload port (default: PlatformIO's own detection)")
    f.add_argument("--ssh", metavar="USER@HOST",
                   help="Linux boards: copy the runtime to USER@HOST:trit-runtime with scp")
    f.set_defaults(func=cmd_flash, out=None)

    m = sub.add_parser(
        "models", help="list the model zoo (models/), or publish a training run into it",
        description="Without arguments: list the zoo's models with weight bytes, validation "
        "accuracy, on-device test accuracy, instructions per inference and the target each "
        "card states. `trit models publish RUN --name NAME` exports RUN/best.pt into "
        "models/NAME/, runs the test images on the board and writes the model card; `trit "
        "models remeasure NAME` measures an entry again after kernel or firmware changes.")
    msub = m.add_subparsers(dest="models_command")
    mp = msub.add_parser("publish", help="export a run, measure it on the board, write its card")
    mp.add_argument("run", type=Path, help="training run folder (best.pt, metrics.jsonl)")
    mp.add_argument("--name", required=True, help="zoo name (folder under models/)")
    mp.add_argument("--summary", help="one paragraph for the card (default: kept)")
    mp.add_argument("--notes-file", type=Path, help="Markdown appended to the card (default: "
                    "kept)")
    mp.add_argument("--target", type=float, help="on-device accuracy target (default: kept)")
    mp.add_argument("--hardware", help="what trained it (default: from the run's log)")
    mp.add_argument("--board", default=DEFAULT_BOARD)
    mp.add_argument("--images", type=int, default=10_000, help="test images on the board")
    mp.add_argument("--data", help="CIFAR-10 location")
    mp.set_defaults(func=cmd_models_publish)
    mr = msub.add_parser(
        "remeasure", help="run an entry's IR on the board again and update its device figures",
        description="Build models/NAME/model.trit with the current kernels and firmware, run "
        "the test images on the board again and rewrite bench.json and the card's device "
        "figures (accuracy, agreement, instructions or cycles per inference). The model, its "
        "training figures and the card's texts stay; the accuracy cannot move unless the "
        "image count does, so a change is reported as an error. With --reexport the entry's "
        "checkpoint.pt is exported again first, as this version of trit writes the IR (after "
        "a format change), and the card's IR count refreshed; then the accuracy may move.")
    mr.add_argument("name", help="zoo name (folder under models/)")
    mr.add_argument("--board", help="default: the card's")
    mr.add_argument("--images", type=int, help="test images on the board (default: the card's)")
    mr.add_argument("--data", help="CIFAR-10 location")
    mr.add_argument("--reexport", action="store_true",
                    help="export checkpoint.pt to model.trit again before measuring")
    mr.set_defaults(func=cmd_models_remeasure)
    m.set_defaults(func=cmd_models)

    pt = sub.add_parser(
        "ports", help="list serial ports and the boards of boards.yaml they look like",
        description="List this machine's serial ports (pyserial) with their USB VID:PID and "
        "the catalogue boards whose `serial.usb` ids match.")
    pt.set_defaults(func=cmd_ports)

    bl = sub.add_parser(
        "boards", help="list the board catalogue (boards.yaml)",
        description="List every board of boards.yaml with its core, kernel flavour, clock, "
        "flash, RAM, what its counter measures and how it is run (emulator or real board). "
        "The catalogue is validated on load; an invalid entry is reported with the board and "
        "field.")
    bl.set_defaults(func=cmd_boards)

    d = sub.add_parser(
        "demo", help="the whole pipeline on a zoo model: export, check, build, run on emulators",
        description="Run the pipeline on one model and check every step: export the "
        "model's training checkpoint to the IR again (for a zoo entry: the same bytes as the "
        "shipped model.trit), compare PyTorch with the integer reference interpreter on the "
        "first test images, then generate C, build the firmware and run the test images on "
        "each emulated board, every result checked against the reference interpreter; a "
        "binary-activation model's int8 twin (`trit int8-twin`) runs on the first "
        "microcontroller board too, for the instructions an int8 network of the same shape "
        "takes. Ends with a summary table (also OUT/demo.json); exits non-zero when a check "
        "fails. `make demo` runs it with the defaults.")
    d.add_argument("--model", default=None,
                   help="zoo name or folder, training run folder (best.pt) or checkpoint "
                   "(default: the zoo's dws-tern-bin-32k)")
    d.add_argument("--train", metavar="RECIPE", nargs="?", const="demo-bin",
                   help="train RECIPE first (default demo-bin: 2 epochs, about 9 minutes on two "
                   "CPU cores; an interrupted run in OUT/run resumes) and use its best.pt")
    d.add_argument("--board", action="append", dest="boards", metavar="BOARD",
                   help="emulated board of boards.yaml, repeatable (default: mps2-an386 and "
                   "qemu-aarch64)")
    d.add_argument("--images", type=int, default=1000, help="test images on each board")
    d.add_argument("--int8-twin-images", type=int, default=20, metavar="N",
                   help="test images for the int8 twin (default 20; 0: no twin)")
    d.add_argument("--check", type=int, default=1000,
                   help="test images for the PyTorch vs integer reference check (0: skip)")
    d.add_argument("--data", help="CIFAR-10 location (default: $TRIT_CIFAR10, data/, "
                   "../shared/datasets/)")
    d.add_argument("--out", type=Path, default=Path("build/demo"),
                   help="output folder: model.trit, firmware projects, reports")
    d.set_defaults(func=cmd_demo)

    k = sub.add_parser(
        "kernelbench", help="time each kernel flavour on fixed shapes in the emulator",
        description="Run every kernel on fixed layer shapes in the emulated board, in the "
        "board's optimised flavour and in the portable reference flavour (same firmware "
        "image, outputs checked equal), and print instructions and binary MACs per "
        "instruction. Emulated boards count instructions, not cycles.")
    k.add_argument("--board", default=DEFAULT_BOARD)
    k.add_argument("--kernels", help="flavour to compare with ref (default: the board's)")
    k.add_argument("--json", type=Path, help="also write the rows as JSON")
    k.add_argument("--only", choices=["pw", "dw", "pw8", "dw8", "input"],
                   help="just the fixed-shape cases of one kernel: pw/dw binary activations, "
                   "pw8/dw8 int8 activations, input the int8 input conv")
    k.add_argument("--network", type=Path, metavar="MODEL",
                   help="instead of the fixed shapes: every convolution of MODEL (IR file, zoo "
                   "folder or name), binary kernels (optimised and portable) beside the same "
                   "layers as an int8 network (8-bit weights and activations, optimised and "
                   "portable int8 kernels), all in one run")
    k.add_argument("--trace", metavar="CASE",
                   help="instead of the table: run the fixed-shape cases whose name contains "
                   "CASE (e.g. 'dw 24') once more under QEMU's execution trace and print where "
                   "their instructions go, by function and by source line (bare-metal boards; "
                   "slower than the table: every instruction is logged)")
    k.set_defaults(func=cmd_kernelbench)

    t = sub.add_parser(
        "int8-twin", help="write the int8 twin of a binary model, to bench against it",
        description="Write the int8 twin of a binary-activation model: the same convolutions "
        "with 8-bit weights (the ternary codes times 64) and int8 activations (requantised "
        "with a ReLU, calibrated on training images), residuals as int8 adds, as an ordinary "
        "int8 deployment would run the network. `trit bench --model OUT` then builds it with "
        "the board's int8 kernels and measures it end to end, checked bit-exactly against the "
        "reference interpreter. Nobody trained it: its accuracy means nothing, its "
        "instructions, flash and RAM are those of an int8 network of the same shape.")
    t.add_argument("model", type=Path, help="binary-activation model: IR file, zoo folder or "
                   "zoo name")
    t.add_argument("-o", "--out", type=Path,
                   help="IR file to write (default runs/<model>-int8.trit)")
    t.add_argument("--data", help="CIFAR-10 location (default: $TRIT_CIFAR10, data/, "
                   "../shared/datasets/cifar-10-binary.tar.gz)")
    t.add_argument("--calibration-images", type=int, default=64, metavar="N",
                   help="first N training images set the requantisation ranges (default 64, "
                   "as `trit demo` uses)")
    t.set_defaults(func=cmd_int8_twin)


def arena_options(args: argparse.Namespace, ir):
    """The ArenaOptions of --arena-budget / --band-rows (None: neither)."""
    from codegen.banded import find_chains
    from codegen.memory import ArenaOptions, fit_arena
    if getattr(args, "arena_budget", None):
        return fit_arena(ir, args.arena_budget)
    if getattr(args, "band_rows", None):
        chains = [ir.layers[idx[0]].name for idx in find_chains(ir)]
        return ArenaOptions(tuple((name, args.band_rows) for name in chains))
    return None


def describe_arena(ir, plan) -> str:
    """One line on how a plan fits its arena."""
    a = plan.arena
    parts = []
    if a.input_in_place and ir.layers[0].name in plan.aliases:
        parts.append(f"{ir.layers[0].name} written over the image "
                     f"({plan.aliases[ir.layers[0].name][1]} B before it)")
    if plan.chains:
        parts.append("banded chains (output rows per step): " + ", ".join(
            f"{ir.layers[ch.layers[0]].name}..{ir.layers[ch.layers[-1]].name} {ch.band_rows}"
            for ch in plan.chains))
    if a.scratch_cap:
        parts.append(f"kernel scratch capped at {4 * a.scratch_cap} B per layer")
    return "; ".join(parts) or "layer by layer"


def _build(args: argparse.Namespace):
    """Generate and build the firmware of --model for --board; returns the IR, the firmware
    and the project folder."""
    from codegen.ir import load_ir
    from codegen.memory import plan_memory
    from codegen.render import (FlashTables, byte_table_bytes, nibble_start_bytes,
                                nibble_table_bytes, sliced_constant_bytes)

    from .boards import get_board
    from .firmware_build import build_firmware, project_dir
    from .zoo import resolve_model
    args.model = resolve_model(args.model)
    ir = load_ir(args.model)
    arena = arena_options(args, ir)
    plan = plan_memory(ir, arena)
    flash = FlashTables(byte=getattr(args, "byte_tables", False),
                        nibble=getattr(args, "nibble_tables", False))
    label = "-".join(([arena.label()] if arena else []) + ([flash.label()] if flash.label()
                                                           else []))
    out = args.out or project_dir(args.board, args.model, args.kernels, label or None)
    fw = build_firmware(ir, out, board=args.board, use_platformio=not args.direct,
                        kernels=args.kernels, arena=arena, tables=flash)
    flavour = args.kernels or get_board(args.board).kernels
    extra = sliced_constant_bytes(ir, flavour, flash)
    tables = nibble_table_bytes(ir, flavour, plan, flash)
    starts = nibble_start_bytes(ir, flavour, plan, flash)
    rows = byte_table_bytes(ir, flavour, flash)
    if flash.byte and not rows:
        print(f"--byte-tables: no layer of {ir.name} takes byte tables with the {flavour} "
              "kernels (ARMv7E-M pointwise layers of 21..24 input and output channels)")
    if flash.nibble and not tables:
        print(f"--nibble-tables: no layer of {ir.name} takes nibble tables with the {flavour} "
              "kernels (ARMv7E-M pointwise layers of up to 127 inputs with equal scales)")
    weights = (f"weights {plan.weight_bytes + extra + tables + starts + rows} B (flash, C "
               f"layout; {extra} B of them bit-sliced constants of the pointwise and "
               "depthwise kernels"
               + (f", {tables} B nibble tables of the "
                  f"{'' if flash.nibble else 'banded '}pointwise layers" if tables else "")
               + (f", {starts} B the nibble kernel's start values" if starts else "")
               + (f", {rows} B byte tables of the 24-channel pointwise layers" if rows else "")
               + ")" if extra or tables or starts or rows
               else f"weights {plan.weight_bytes} B (flash, C layout)")
    print(f"memory plan: {weights}, activations "
          f"{plan.activation_bytes} B (one arena, each layer's kernel scratch in it; the largest "
          f"{4 * plan.scratch_words} B)")
    if arena:
        print(f"arena fitting: {describe_arena(ir, plan)}")
    what = "runtime" if fw.elf.name == "trit-runtime" else "firmware"
    print(f"{what} {fw.elf}: flash {fw.flash_bytes} B, RAM {fw.ram_bytes} B")
    return ir, fw, Path(out)


def cmd_build(args: argparse.Namespace) -> int:
    _build(args)
    return 0


def _bench_on_port(args: argparse.Namespace, ir, fw, images, labels, progress: bool):
    """Serial run on a board's port (real, or an emulator on a pseudo-terminal), or on a
    command's stdin/stdout (``--command``: a Linux board's runtime, e.g. over ssh)."""
    import shlex

    from .bench import ProgressLog, bench_serial
    from .boards import get_board
    from .command_port import CommandPort
    from .dut import DUT
    from .firmware_build import project_dir
    from .ports import find_board_port, open_port
    board = get_board(args.board)
    if args.run_command:
        device = args.run_command
        port = CommandPort(shlex.split(args.run_command), timeout=30.0)
    else:
        device = args.port or find_board_port(board)
        port = open_port(device, board.baud, timeout=10.0)
    try:
        dut = DUT(port)
        running = dut.handshake()
        info = dut.identify()
        if running != ir.name:
            raise ValueError(f"{device} runs model {running!r}, not {ir.name!r}: "
                             f"`trit flash --board {args.board} --model {args.model}` first")
        if info.get("board") != args.board:
            raise ValueError(f"{device} is a {info.get('board')!r} board, not {args.board!r}")
        log_path = args.progress_log or project_dir(
            args.board, args.model, args.kernels) / "bench-progress.jsonl"
        log = ProgressLog(log_path, {"model": str(args.model), "ir": ir.name,
                                     "board": args.board, "images": len(images)})
        print(f"{args.board} on {device}: model {running}, counter {info.get('counter')}",
              file=sys.stderr)
        return bench_serial(dut, ir, images, labels, args.board, str(args.model),
                            fw.flash_bytes, fw.ram_bytes, progress=progress, log=log,
                            resume=args.resume, clock_hz=board.clock_hz)
    finally:
        port.close()


def cmd_bench(args: argparse.Namespace) -> int:
    from trainer.data import load_cifar10

    from .bench import bench_bulk, bench_serial
    from .boards import get_board
    from .dut import DUT
    from .qemu import emulator
    args.out = None
    if args.run_command and not get_board(args.board).linux:
        raise ValueError(f"--command runs a Linux board's runtime; {args.board} is a "
                         f"microcontroller (use --port)")
    ir, fw, _ = _build(args)
    data = load_cifar10(args.data)
    images, labels = data.test_images[:args.images], data.test_labels[:args.images]
    progress = sys.stderr.isatty()
    on_port = (args.port is not None or args.run_command is not None
               or not get_board(args.board).emulated)
    if args.profile and on_port:
        raise ValueError("--profile runs on emulated boards started by trit bench (no --port)")
    if on_port:
        report = _bench_on_port(args, ir, fw, images, labels, progress)
    elif args.serial:
        with emulator(fw.elf, args.board) as port:
            dut = DUT(port)
            dut.wait_ready()
            report = bench_serial(dut, ir, images, labels, args.board, str(args.model),
                                  fw.flash_bytes, fw.ram_bytes, progress=progress)
    else:
        report = bench_bulk(fw.elf, ir, images, labels, args.board, str(args.model),
                            fw.flash_bytes, fw.ram_bytes, args.instances, progress=progress)
    print(report.text())
    if ir.meta.get("int8_twin_of"):
        print(f"(an int8 twin of {ir.meta['int8_twin_of']}: untrained, its accuracy means "
              "nothing; its instructions, flash and RAM are the measurement)")
    if args.profile:
        from .profile import format_profile
        with emulator(fw.elf, args.board) as port:
            dut = DUT(port)
            dut.wait_ready()
            rows, unit = dut.layers(images[0])
        print(f"\nper-layer profile (test image 0, {unit}):")
        print(format_profile(ir, rows, unit))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_json(), indent=1))
    return 0 if report.agreement == 1.0 else 1


def cmd_flash(args: argparse.Namespace) -> int:
    from .boards import get_board
    from .pio import pio_run_stock
    from .qemu import start_on_pty
    board = get_board(args.board)
    ir, fw, project = _build(args)
    if board.linux:
        return _install_linux(args, board, ir, fw)
    if board.emulated:
        import signal
        # Ctrl-C (SIGINT) stops the emulator even where the shell started us with SIGINT
        # ignored (a background job of a non-interactive shell)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        emu = start_on_pty(fw.elf, args.board)
        print(f"{args.board} (emulated) runs {ir.name} with its UART on {emu.device}\n"
              f"measure it from another terminal: trit bench --board {args.board} "
              f"--model {args.model} --port {emu.device}\nCtrl-C stops the emulator",
              flush=True)
        try:
            emu.process.wait()
        except KeyboardInterrupt:
            print("emulator stopped")
        finally:
            emu.stop()
        return 0
    extra = ["--upload-port", args.port] if args.port else []
    pio_run_stock(project, board.pio_platform, target="upload", extra=extra)
    print(f"flashed {ir.name} to {args.board}; measure it: trit bench --board {args.board} "
          f"--model {args.model}" + (f" --port {args.port}" if args.port else ""))
    return 0


def _install_linux(args: argparse.Namespace, board, ir, fw) -> int:
    """`trit flash` on a Linux board: copy the runtime with scp (``--ssh``), or say how."""
    import subprocess
    program = fw.elf
    if board.emulated:
        print(f"{args.board} runs {program} under {board.qemu_user} here; `trit bench --board "
              f"{args.board} --model {args.model}` starts it. By hand: {board.qemu_user} "
              f"{program}, then type protocol commands such as `name%` (Ctrl-D quits)")
        return 0
    if not args.ssh:
        print(f"built {program} ({ir.name}, static). Copy it to the board and measure it:\n"
              f"  scp {program} pi@HOST:trit-runtime\n"
              f"  trit bench --board {args.board} --model {args.model} --command "
              f"\"ssh pi@HOST ./trit-runtime\"\n"
              f"or over a serial link: on the board `TRIT_SERIAL=/dev/ttyGS0 ./trit-runtime`, "
              f"here `trit bench --board {args.board} --model {args.model} [--port ...]`")
        return 0
    res = subprocess.run(["scp", "-q", str(program), f"{args.ssh}:trit-runtime"])
    if res.returncode != 0:
        raise OSError(f"scp to {args.ssh} failed (exit {res.returncode})")
    print(f"copied {ir.name}'s runtime to {args.ssh}:trit-runtime; measure it: trit bench "
          f"--board {args.board} --model {args.model} --command \"ssh {args.ssh} "
          f"./trit-runtime\"")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .zoo import list_models
    cards = list_models()
    if not cards:
        print("the zoo (models/) is empty")
        return 0
    print(f"{'model':20s} {'weights B':>9s} {'val acc':>7s} {'device acc':>10s} "
          f"{'board':11s} {'per inference':>22s}  target")
    for c in cards:
        per = (f"{c.instructions_per_inference:,} instr" if c.instructions_per_inference
               else f"{c.cycles_per_inference:,} cycles" if c.cycles_per_inference else "-")
        target = ("-" if c.target_accuracy is None else
                  f">= {c.target_accuracy:.2f} {'met' if c.meets_target else 'not met'}")
        print(f"{c.name:20s} {c.weights_bytes:9d} {c.val_accuracy:7.4f} "
              f"{c.device_accuracy:10.4f} {c.board:11s} {per:>22s}  {target}")
    return 0


def cmd_models_publish(args: argparse.Namespace) -> int:
    from .zoo import publish, render_card
    notes = args.notes_file.read_text() if args.notes_file else None
    card = publish(args.run, args.name, summary=args.summary, board=args.board,
                   images=args.images, data=args.data, target=args.target, notes=notes,
                   hardware=args.hardware, progress=sys.stderr.isatty(),
                   warn=lambda message: print(f"warning: {message}", file=sys.stderr))
    print(render_card(card))
    return 0


def cmd_models_remeasure(args: argparse.Namespace) -> int:
    from .zoo import remeasure
    before, after = remeasure(args.name, board=args.board, images=args.images, data=args.data,
                              progress=sys.stderr.isatty(), reexport=args.reexport)

    def per(c) -> str:
        return (f"{c.instructions_per_inference:,} instructions" if c.instructions_per_inference
                else f"{c.cycles_per_inference:,} cycles" if c.cycles_per_inference else "-")

    print(f"{after.name} on {after.board}, {after.test_images:,} test images: accuracy "
          f"{before.device_accuracy:.4f} -> {after.device_accuracy:.4f}, agreement "
          f"{after.agreement:.4f}; {per(before)} -> {per(after)} per inference"
          + (f"; IR count {before.weights_bytes:,} -> {after.weights_bytes:,} B"
             if args.reexport else "")
          + f" (models/{after.name}/"
          + ("model.trit, " if args.reexport else "") + "bench.json, card.json, README.md)")
    same_run = (after.board, after.test_images) == (before.board, before.test_images) \
        and not args.reexport
    if after.agreement != 1.0 or (same_run and after.device_accuracy != before.device_accuracy):
        print("error: the same IR on the same images must give the same predictions as the "
              "integer reference", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import DEFAULT_BOARDS, DEFAULT_MODEL, run_demo
    if args.train and args.model:
        raise ValueError("--train trains its own model: leave out --model")
    summary = run_demo(args.model or DEFAULT_MODEL, tuple(args.boards or DEFAULT_BOARDS),
                       images=args.images, check=args.check, data=args.data, out=args.out,
                       train_recipe=args.train, progress=sys.stderr.isatty(),
                       twin_images=args.int8_twin_images)
    print(f"\n{summary.model}: {summary.weights_bytes} B of weights (IR count)"
          + ("" if summary.float_agreement is None else
             f"; PyTorch and the integer reference agree on {summary.float_agreement:.4f} of "
             f"{summary.check_images} test images"))
    print(summary.table())
    print(f"reports in {args.out}/ (demo.json)")
    if not summary.ok:
        print("error: a board's results differ from the integer reference", file=sys.stderr)
    return 0 if summary.ok else 1


def cmd_ports(args: argparse.Namespace) -> int:
    from serial.tools import list_ports

    from .boards import load_boards
    from .ports import describe
    boards = load_boards()
    ports = list(list_ports.comports())
    if not ports:
        print("no serial ports")
    for p in ports:
        like = [b.name for b in boards.values() if (p.vid, p.pid) in b.usb_ids]
        print(f"{describe(p)}" + (f"  looks like: {', '.join(like)}" if like else ""))
    return 0


def cmd_boards(args: argparse.Namespace) -> int:
    from .boards import load_boards
    boards = load_boards()
    print(f"{'board':14s} {'core':13s} {'isa':14s} {'kernels':8s} {'MHz':>4s} "
          f"{'flash':>8s} {'RAM':>8s} {'counter':12s} {'framework':14s} runs on")
    for b in boards.values():
        runs = (f"QEMU {b.qemu_machine}" if b.qemu_machine
                else f"{b.qemu_user} (Linux user mode)" if b.emulated
                else f"Linux ({b.linux_cc}), ssh or USB {b.usb_text}" if b.linux
                else f"{b.pio_platform}, USB {b.usb_text}")
        print(f"{b.name:14s} {b.core:13s} {b.isa:14s} {b.kernels:8s} {b.clock_hz / 1e6:4.0f} "
              f"{b.flash:8d} {b.ram:8d} {b.counter:12s} {b.framework:14s} {runs}")
    return 0


def cmd_int8_twin(args: argparse.Namespace) -> int:
    from codegen.int8_twin import int8_twin
    from codegen.ir import load_ir, save_ir
    from trainer.data import load_cifar10

    from .zoo import resolve_model
    if args.calibration_images < 1:
        raise ValueError("--calibration-images must be at least 1")
    model = resolve_model(args.model)
    data = load_cifar10(args.data)
    ir = load_ir(model)
    twin = int8_twin(ir, data.train_images[:args.calibration_images])
    args.out = args.out or Path("runs") / f"{ir.name}-int8.trit"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_ir(twin, args.out)
    convs = sum(layer.op == "conv2d" for layer in twin.layers)
    adds = sum(layer.op == "add" for layer in twin.layers)
    print(f"{args.out}: int8 twin of {args.model}: {convs} convolutions with int8 weights and "
          f"activations, {adds} residual adds, IR version {twin.version}, "
          f"{twin.storage().total} B of weights; requantisation calibrated on the first "
          f"{min(args.calibration_images, len(data.train_images))} training images")
    print(f"measure it: trit bench --board mps2-an386 --model {args.out} --images 100")
    return 0


def cmd_kernelbench(args: argparse.Namespace) -> int:
    from .boards import get_board
    from .kernelbench import format_rows, run_kernelbench
    board = get_board(args.board)
    if not board.emulated:
        raise ValueError(f"kernelbench runs on emulated boards (QEMU system or user mode); "
                         f"{args.board} is not one")
    unit = "instructions" if board.counter == "instructions" else "cycles"
    if args.network:
        from codegen.ir import load_ir

        from .network_bench import format_network, run_network_bench
        from .zoo import resolve_model
        model = resolve_model(args.network)
        net = run_network_bench(args.board, load_ir(model), args.kernels)
        flavour = args.kernels or board.kernels
        print(f"{args.board} ({board.core}), {model}, counter: {board.counter}")
        print(format_network(net, flavour, unit))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps([{"layer": r.name, "kind": r.kind, "macs": r.macs,
                                              **r.ticks} for r in net], indent=1))
        return 0
    if args.trace:
        from .kernelbench import trace_kernelbench
        from .kernel_trace import format_trace
        print(f"{args.board} ({board.core}), flavour {args.kernels or board.kernels}")
        for name, report in trace_kernelbench(args.board, args.trace, args.kernels):
            print(format_trace(name, report, unit))
        return 0
    rows = run_kernelbench(args.board, args.kernels, only=args.only)
    print(f"{args.board} ({board.core}), counter: {board.counter}")
    print(format_rows(rows, "instr" if board.counter == "instructions" else "cycles"))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"trit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
