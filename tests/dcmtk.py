"""DCMTK's command-line tools, by their real path.

pynetdicom installs look-alike console scripts (``echoscu``, ``storescu``, ``findscu``,
``getscu``, ``movescu``, ``storescp``) in the venv's ``bin``: with the venv first on PATH, a bare
name runs pynetdicom's tool, which answers differently.  Tests and benchmarks that mean DCMTK
name its tools through ``dcmtk_path``, which never falls back to anything else.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

BIN = Path("/usr/bin")  # where Debian's dcmtk package installs them


@functools.cache
def dcmtk_path(tool: str) -> str:
    """The path of DCMTK's ``tool``, once its version banner says it is DCMTK's
    (``$dcmtk: storescu v3.6.7 …``); ``RuntimeError`` naming the package otherwise."""
    path = BIN / tool
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (FileNotFoundError, PermissionError):
        raise RuntimeError(f"DCMTK missing ({path}): apt-get install dcmtk") from None
    if not done.stdout.startswith(f"$dcmtk: {tool} v"):
        said = (done.stdout + done.stderr).strip()[:80]
        raise RuntimeError(f"{path} is not DCMTK's {tool} ({said!r}): apt-get install dcmtk")
    return str(path)
