"""Run PlatformIO offline on a generated project.

PlatformIO's registry is unreachable here, so the project-local core dir (``.pio-core``) is
given the two packages `pio run` needs, made from what is installed:

* ``tool-scons``: the SCons package from PyPI (version ``4.41101.0`` for SCons 4.11.1, the
  form PlatformIO pins), with a ``scons.py`` entry point and a ``.piopm`` naming owner
  ``platformio``;
* ``toolchain-trit-armgcc``: ``bin/`` links to Debian's ``/usr/bin/arm-none-eabi-*``.

Real boards use the stock platforms (``ststm32`` …) from the user's own PlatformIO core
(``~/.platformio``): :func:`pio_run_stock` checks the platform is there (installing it when the
registry can be reached) and says what to do when it is not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

SCONS_ENTRY = """#!/usr/bin/env python3
# PlatformIO runs: <python> <tool-scons>/scons.py -Q ... --sconstruct <platform>/builder/main.py
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from SCons.Script.Main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
"""


class PlatformIOError(RuntimeError):
    pass


def pio_executable() -> str:
    exe = Path(sys.executable).with_name("pio")
    found = str(exe) if exe.exists() else shutil.which("pio")
    if not found:
        raise PlatformIOError("PlatformIO is not installed (make setup installs it)")
    return found


def pio_env(core_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PLATFORMIO_CORE_DIR=str(core_dir), PLATFORMIO_SETTING_ENABLE_TELEMETRY="No",
               PLATFORMIO_DISABLE_UPGRADE_CHECK="true",
               PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="36500", PLATFORMIO_NO_ANSI="1")
    return env


def _package(path: Path, name: str, version: str, owner: str, kind: str, text: str) -> None:
    (path / "package.json").write_text(json.dumps(
        {"name": name, "version": version, "description": text, "system": "*"}, indent=1))
    (path / ".piopm").write_text(json.dumps(
        {"type": kind, "name": name, "version": version,
         "spec": {"owner": owner, "id": None, "name": name, "requirements": None, "uri": None}}))


def prepare_core(core_dir: Path) -> None:
    """Create (idempotently) the offline packages in ``core_dir``."""
    import platformio
    import SCons

    packages = core_dir / "packages"
    scons_dir = packages / "tool-scons"
    a, b, c = (int(x) for x in SCons.__version__.split(".")[:3])
    version = f"4.{a}{b:02d}{c:02d}.0"
    if not (scons_dir / ".piopm").exists():
        scons_dir.mkdir(parents=True, exist_ok=True)
        link = scons_dir / "SCons"
        if not link.exists():
            link.symlink_to(Path(SCons.__file__).parent, target_is_directory=True)
        (scons_dir / "scons.py").write_text(SCONS_ENTRY)
        _package(scons_dir, "tool-scons", version, "platformio", "tool",
                 f"SCons {SCons.__version__} from PyPI")
    tc = packages / "toolchain-trit-armgcc"
    if not (tc / ".piopm").exists():
        gcc = shutil.which("arm-none-eabi-gcc")
        if gcc is None:
            raise PlatformIOError("arm-none-eabi-gcc is not installed (make setup)")
        full = subprocess.run([gcc, "-dumpfullversion"], capture_output=True, text=True,
                              check=True).stdout.strip()
        major, minor, patch = (int(x) for x in (full.split(".") + ["0", "0"])[:3])
        (tc / "bin").mkdir(parents=True, exist_ok=True)
        for tool in Path(gcc).parent.glob("arm-none-eabi-*"):
            dest = tc / "bin" / tool.name
            if not dest.exists():
                dest.symlink_to(tool)
        _package(tc, "toolchain-trit-armgcc", f"1.{major}{minor:02d}{patch:02d}.0", "trit",
                 "tool", f"Debian arm-none-eabi-gcc {full} (links to {Path(gcc).parent})")
    state = core_dir / "appstate.json"
    data = json.loads(state.read_text()) if state.exists() else {}
    data["last_version"] = platformio.__version__  # no online "upgrading" step
    state.write_text(json.dumps(data))


def pio_run(project: Path, target: str | None = None, timeout: float = 600) -> str:
    """``pio run`` (optionally ``-t target``) in ``project``; returns its output."""
    project = Path(project).resolve()  # pio changes directory: relative paths would move
    core = project / ".pio-core"
    prepare_core(core)
    cmd = [pio_executable(), "run", "-d", str(project)] + (["-t", target] if target else [])
    res = subprocess.run(cmd, env=pio_env(core), capture_output=True, text=True,
                         timeout=timeout, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise PlatformIOError(f"`{' '.join(cmd)}` failed:\n{res.stdout[-4000:]}"
                              f"{res.stderr[-2000:]}")
    return res.stdout


def platform_installed(platform: str, env: dict[str, str] | None = None) -> bool:
    """Whether PlatformIO's core (``$PLATFORMIO_CORE_DIR`` or ~/.platformio) has ``platform``."""
    res = subprocess.run([pio_executable(), "pkg", "list", "-g", "--only-platforms"],
                         env=env or _stock_env(), capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=120)
    # one line per platform: "├── ststm32 @ 17.0.0 (required: ...)"
    return res.returncode == 0 and any(f" {platform} @ " in line
                                       for line in res.stdout.splitlines())


def _stock_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PLATFORMIO_SETTING_ENABLE_TELEMETRY="No", PLATFORMIO_NO_ANSI="1")
    return env


def ensure_platform(platform: str, project: Path, timeout: float | None = None) -> None:
    """Install a stock platform if it is missing; raise a clear error when that fails.
    ``timeout`` (seconds; default $TRIT_PIO_INSTALL_TIMEOUT or 900) bounds the download."""
    if timeout is None:
        timeout = float(os.environ.get("TRIT_PIO_INSTALL_TIMEOUT", 900))
    env = _stock_env()
    if platform_installed(platform, env):
        return
    cmd = [pio_executable(), "pkg", "install", "-g", "-p", platform]
    try:
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        res = None
    if res is None or res.returncode != 0:
        detail = ((res.stdout + res.stderr).strip().splitlines()[-1:] if res
                  else [f"no answer in {timeout:.0f} s"])
        raise PlatformIOError(
            f"PlatformIO platform {platform!r} is not installed and could not be downloaded "
            f"({detail[0] if detail else 'no output'}). On a machine with network access run "
            f"`pio pkg install -g -p {platform}` (it also fetches the framework and toolchain "
            f"on the first `pio run`), then build again. The generated project is ready in "
            f"{project}.")


def pio_run_stock(project: Path, platform: str, target: str | None = None,
                  extra: list[str] | None = None, timeout: float = 1800) -> str:
    """``pio run`` on a project for a stock platform, with the user's PlatformIO core."""
    project = Path(project).resolve()
    ensure_platform(platform, project)
    cmd = [pio_executable(), "run", "-d", str(project)] + (["-t", target] if target else [])
    res = subprocess.run(cmd + (extra or []), env=_stock_env(), capture_output=True, text=True,
                         timeout=timeout, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise PlatformIOError(f"`{' '.join(cmd)}` failed:\n{res.stdout[-4000:]}"
                              f"{res.stderr[-2000:]}")
    return res.stdout
