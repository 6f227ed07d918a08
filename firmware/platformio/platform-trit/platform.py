"""PlatformIO dev-platform for trit's emulated boards (see builder/main.py)."""

from platformio.public import PlatformBase


class TritPlatform(PlatformBase):
    pass
