"""Real-board serial paths without real boards: port discovery with pyserial's own port
objects, the errors of opening a port, and the emulated board on a pseudo-terminal (QEMU
`-serial pty`) standing in for a USB serial port, including unplug (emulator killed) mid-run and
`--resume`."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys

import numpy as np
import pytest
from serial.tools.list_ports_common import ListPortInfo

from codegen import reference
from hostbench.bench import BoardStoppedAnswering, ProgressLog, bench_serial
from hostbench.boards import get_board
from hostbench.dut import DUT
from hostbench.firmware_build import build_firmware
from hostbench.ports import PortError, describe, find_board_port, open_port
from hostbench.qemu import start_on_pty
from tests.conftest import needs_emulator
from tests.test_export import trained_like_model
from trainer.export import export_model


def usb_port(device: str, vid: int | None, pid: int | None, product: str | None = None):
    port = ListPortInfo(device, skip_link_detection=True)
    port.vid, port.pid, port.product = vid, pid, product
    return port


SEEN = [usb_port("/dev/ttyS0", None, None), usb_port("/dev/ttyUSB0", 0x1A86, 0x7523, "CH340"),
        usb_port("/dev/ttyACM0", 0x0483, 0x374B, "STM32 STLink")]


def test_discovery_picks_the_port_with_the_boards_usb_id():
    assert find_board_port(get_board("nucleo_f746zg"), SEEN) == "/dev/ttyACM0"
    teensy = SEEN + [usb_port("/dev/ttyACM1", 0x16C0, 0x0483, "USB Serial")]
    assert find_board_port(get_board("teensy41"), teensy) == "/dev/ttyACM1"


def test_no_board_found_lists_what_was_seen():
    with pytest.raises(PortError) as err:
        find_board_port(get_board("pico"), SEEN)
    text = str(err.value)
    assert "no pico found" in text and "2E8A:00C0" in text
    assert "/dev/ttyS0 (not USB)" in text and "/dev/ttyUSB0 (1A86:7523, CH340)" in text
    assert "--port" in text
    with pytest.raises(PortError, match="no serial ports at all"):
        find_board_port(get_board("pico"), [])


def test_two_matching_boards_ask_for_a_port():
    two = SEEN + [usb_port("/dev/ttyACM1", 0x0483, 0x3752)]
    with pytest.raises(PortError, match=r"2 serial ports look like nucleo_f401re.*--port"):
        find_board_port(get_board("nucleo_f401re"), two)
    assert describe(two[-1]) == "/dev/ttyACM1 (0483:3752)"


def test_missing_port_is_reported():
    with pytest.raises(PortError, match="no serial port /dev/ttyACM99"):
        open_port("/dev/ttyACM99")


PERMISSION_CHECK = """
import sys
from hostbench.ports import PortError, open_port
try:
    open_port(sys.argv[1])
except PortError as exc:
    print(exc)
"""


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv (util-linux)")
def test_permission_denied_explains_the_linux_fix(tmp_path):
    master, slave = pty.openpty()
    try:
        device = os.ttyname(slave)
        os.chmod(device, 0o600)  # as a board's port is before udev rules / group membership
        cmd = [sys.executable, "-c", PERMISSION_CHECK, device]
        if os.geteuid() == 0:  # root opens anything: ask as an ordinary user
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=os.getcwd(),
                             env={**os.environ, "PYTHONPATH": os.getcwd()}).stdout
    finally:
        os.close(master)
        os.close(slave)
    assert f"permission denied on {device}" in out
    assert "sudo usermod -aG" in out and "udev" in out




@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    ir = export_model(trained_like_model(seed=3), name="pty-test")
    return ir, build_firmware(ir, tmp_path_factory.mktemp("fw"), use_platformio=False)


class UnplugAfter(DUT):
    """A DUT whose emulator is killed (the board unplugged) after ``n`` answered images."""

    def __init__(self, port, emu, n: int) -> None:
        super().__init__(port)
        self.emu, self.left = emu, n

    def infer(self, image, runs=1, warmup=0):
        if self.left == 0:
            self.emu.stop()
        self.left -= 1
        return super().infer(image, runs, warmup)


@needs_emulator
def test_emulator_on_a_pty_is_a_board_on_a_serial_port(firmware, cifar):
    ir, fw = firmware
    emu = start_on_pty(fw.elf, "mps2-an386")
    try:
        assert emu.device.startswith("/dev/pts/")
        port = open_port(emu.device, timeout=5)
        dut = DUT(port)
        assert dut.handshake() == "pty-test"
        info = dut.identify()
        assert info == {"model": "pty-test", "board": "mps2-an386", "counter": "instructions"}
        got = dut.infer(cifar.test_images[0])
        want = reference.run(ir, cifar.test_images[:1])
        assert got.logits == want["logits"][0].tolist()
        port.close()
    finally:
        emu.stop()


@needs_emulator
def test_unplug_mid_run_keeps_results_and_resume_finishes(firmware, cifar, tmp_path):
    ir, fw = firmware
    images, labels = cifar.test_images[:6], cifar.test_labels[:6]
    log = ProgressLog(tmp_path / "progress.jsonl",
                      {"model": "m", "ir": ir.name, "board": "mps2-an386", "images": 6})
    emu = start_on_pty(fw.elf, "mps2-an386")
    port = open_port(emu.device, timeout=3)
    dut = UnplugAfter(port, emu, 4)
    dut.handshake()
    with pytest.raises(BoardStoppedAnswering,
                       match=r"stopped answering at test image 4 .*4 results kept in .*--resume"):
        bench_serial(dut, ir, images, labels, "mps2-an386", "m", 1, 1, progress=False, log=log)
    port.close()
    emu.stop()
    assert len(log.path.read_text().splitlines()) == 1 + 4

    emu = start_on_pty(fw.elf, "mps2-an386")  # plugged in again: a new port name
    try:
        port = open_port(emu.device, timeout=5)
        dut = DUT(port)
        dut.handshake()
        report = bench_serial(dut, ir, images, labels, "mps2-an386", "m", 1, 1,
                              progress=False, log=log, resume=True)
        port.close()
    finally:
        emu.stop()
    rows = [json.loads(line) for line in log.path.read_text().splitlines()[1:]]
    assert [r["i"] for r in rows] == list(range(6))
    assert report.images == 6 and report.agreement == 1.0
    want = reference.run(ir, images)
    assert report.accuracy == float(np.mean(want["pred"] == labels))
    assert report.instructions_per_inference["min"] > 0


def test_resume_refuses_another_runs_log(tmp_path):
    path = tmp_path / "p.jsonl"
    ProgressLog(path, {"model": "a", "images": 5}).start(resume=False)
    with pytest.raises(ValueError, match="belongs to another run"):
        ProgressLog(path, {"model": "b", "images": 5}).start(resume=True)


def test_cycles_become_milliseconds_at_the_boards_clock():
    from hostbench.bench import counter_stats
    stats = counter_stats(np.array([216_000, 432_000, 216_000]), "cycles", 216_000_000)
    assert stats["cycles_per_inference"] == {"median": 216000, "min": 216000, "max": 432000}
    assert stats["milliseconds_per_inference"] == {"median": 1.0, "min": 1.0, "max": 2.0}
    assert stats["instructions_per_inference"] is None
    us = counter_stats(np.array([1500, 1500]), "microseconds", 133_000_000)
    assert us["milliseconds_per_inference"]["median"] == 1.5
    assert us["cycles_per_inference"]["median"] == 199500
    with pytest.raises(ValueError, match="unknown counter unit 'ticks'"):
        counter_stats(np.array([1]), "ticks", None)


def test_guest_socket_port_keeps_what_arrives_while_it_opens(monkeypatch):
    """QEMU starts the guest when the host connects, so the boot banner can arrive before
    pyserial's open() returns; the emulator's port must not throw it away."""
    import socket
    import threading
    import time

    from hostbench.qemu import GuestSocketPort

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def guest() -> None:
        conn, _ = server.accept()
        conn.sendall(b"m-init-done\r\nm-ready\r\n")  # at once, like a booting firmware
        time.sleep(1.0)
        conn.close()

    t = threading.Thread(target=guest)
    t.start()
    # the banner is sent the moment the connection is accepted; slow the open down so that it
    # has certainly arrived before the input would be emptied
    real = socket.create_connection

    def slow_connect(*args, **kwargs):
        s = real(*args, **kwargs)
        time.sleep(0.2)
        return s

    monkeypatch.setattr(socket, "create_connection", slow_connect)
    port = GuestSocketPort(f"socket://127.0.0.1:{server.getsockname()[1]}", timeout=2.0)
    monkeypatch.undo()
    try:
        assert port.read_until(b"m-ready\r\n").endswith(b"m-ready\r\n")
        port.reset_input_buffer()  # after opening it still empties the input as usual
    finally:
        port.close()
        t.join()
        server.close()
