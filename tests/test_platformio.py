"""The generated PlatformIO project builds offline and `pio run -t upload` starts QEMU."""

from __future__ import annotations

from pathlib import Path

from codegen.project import write_project
from hostbench.boards import get_board
from hostbench.firmware_build import project_target
from hostbench.pio import pio_run
from tests.conftest import needs_emulator
from tests.test_export import trained_like_model
from trainer.export import export_model

pytestmark = needs_emulator


def test_project_builds_and_uploads_to_emulator(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative project path, as `trit build` uses by default
    ir = export_model(trained_like_model(width=8), name="pio-test")
    project = write_project(ir, project_target(get_board("mps2-an386")), Path("build") / "proj",
                            qemu_timeout=5)
    assert (project / "platformio.ini").read_text().count("symlink://") == 1
    out = pio_run(project)
    assert (tmp_path / project / ".pio" / "build" / "mps2-an386" / "firmware.elf").exists()
    assert "SUCCESS" in out
    uploaded = pio_run(project, "upload")
    assert "m-init-done" in uploaded and "m-ready" in uploaded
