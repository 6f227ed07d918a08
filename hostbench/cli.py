"""The `trit` command: one entry point for training, export, code generation and benchmarks."""

from __future__ import annotations

import argparse
import sys

from trainer import cli as trainer_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trit",
        description="Train CNNs with ternary weights and binary activations, export them to "
        "a deployment IR, generate C and measure them on microcontrollers.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    trainer_cli.add_commands(sub)
    return parser


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
