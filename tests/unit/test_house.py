"""Rules of the house that code review would otherwise have to catch."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "dicom_node", "lab_bridge", "storage", "fhir_profiles", "tests", "bench")
MAX_LINES = 400


def test_no_module_is_over_400_lines():
    """Small modules named for what they do; generated migrations are history, not modules."""
    long = {
        str(path.relative_to(REPO)): lines
        for package in PACKAGES
        for path in (REPO / package).rglob("*.py")
        if not {"migrations", ".venv", "node_modules"} & set(path.parts)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
