"""The tests run DCMTK's tools, not pynetdicom's look-alikes that the venv puts on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import dcmtk
from tests.dcmtk import dcmtk_path

VENV_BIN = Path(sys.executable).parent
TOOLS = ["echoscu", "storescu", "findscu", "getscu", "movescu", "storescp"]


@pytest.fixture
def fresh() -> Iterator[None]:
    """Each lookup done again (and nothing this test finds left for later ones)."""
    dcmtk_path.cache_clear()
    yield
    dcmtk_path.cache_clear()


@pytest.mark.parametrize("tool", TOOLS)
def test_dcmtk_wins_with_the_venv_first_on_path(
    tool: str, fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    assert shutil.which(tool) == str(VENV_BIN / tool), "the venv's look-alike comes first"
    path = dcmtk_path(tool)
    assert path == f"/usr/bin/{tool}"
    banner = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
    assert banner.stdout.startswith(f"$dcmtk: {tool} v3.")


def test_missing_dcmtk_names_the_package(
    fresh: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(dcmtk, "BIN", tmp_path)
    with pytest.raises(RuntimeError, match=r"DCMTK missing .*apt-get install dcmtk"):
        dcmtk_path("storescu")


def test_a_look_alike_in_its_place_is_refused(
    fresh: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "storescu").symlink_to(VENV_BIN / "storescu")
    monkeypatch.setattr(dcmtk, "BIN", tmp_path)
    with pytest.raises(RuntimeError, match=r"not DCMTK's storescu .*apt-get install dcmtk"):
        dcmtk_path("storescu")
