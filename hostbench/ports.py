"""Serial ports of real boards: discovery by USB VID:PID (boards.yaml `serial.usb`) and opening
with errors a user can act on (no board found, several found, permission denied, unplugged)."""

from __future__ import annotations

import errno
import grp
import os
from typing import Iterable

import serial
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from .boards import Board

UDEV_RULES = "https://docs.platformio.org/en/latest/core/installation/udev-rules.html"


class PortError(RuntimeError):
    """No usable serial port for the board (the message says what was seen and what to do)."""


def describe(port: ListPortInfo) -> str:
    """``/dev/ttyACM0 (0483:374B, STM32 STLink)``; ports without USB ids say so."""
    if port.vid is None:
        return f"{port.device} (not USB)"
    what = port.product or port.description
    what = "" if not what or what == "n/a" else f", {what}"
    return f"{port.device} ({port.vid:04X}:{port.pid:04X}{what})"


def find_board_port(board: Board, ports: Iterable[ListPortInfo] | None = None) -> str:
    """The one serial port whose USB VID:PID is one of the board's; ``ports`` defaults to
    pyserial's list of this machine's ports."""
    seen = list(list_ports.comports() if ports is None else ports)
    matches = [p for p in seen if p.vid is not None and (p.vid, p.pid) in board.usb_ids]
    if len(matches) == 1:
        return matches[0].device
    if len(matches) > 1:
        raise PortError(f"{len(matches)} serial ports look like {board.name} (USB "
                        f"{board.usb_text}): {', '.join(describe(p) for p in matches)}; "
                        f"pick one with --port")
    listing = "; ".join(describe(p) for p in seen) or "no serial ports at all"
    raise PortError(f"no {board.name} found: no serial port has USB id {board.usb_text}. "
                    f"Seen: {listing}. Connect the board with a data USB cable (for Nucleo "
                    f"boards the ST-LINK connector), or name the port with --port.")


def _group_hint(device: str) -> str:
    try:
        group = grp.getgrgid(os.stat(device).st_gid).gr_name
    except (OSError, KeyError):
        group = "dialout"
    return (f"on Linux add yourself to the '{group}' group that owns it (`sudo usermod -aG "
            f"{group} $USER`, then log out and back in), or install PlatformIO's udev rules "
            f"({UDEV_RULES})")


def open_port(device: str, baud: int = 115200, timeout: float = 5.0) -> serial.Serial:
    """Open a serial port; translate the failures users meet into :class:`PortError`."""
    try:
        return serial.Serial(device, baud, timeout=timeout)
    except serial.SerialException as exc:
        code = getattr(exc, "errno", None)
        if code == errno.EACCES or "Permission denied" in str(exc):
            raise PortError(f"permission denied on {device}: {_group_hint(device)}") from None
        if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or not os.path.exists(device):
            raise PortError(f"no serial port {device} (unplugged? `trit ports` lists what is "
                            f"connected)") from None
        raise PortError(f"cannot open {device}: {exc}") from None
