"""Fetch the ready-built OHIF viewer (``@ohif/app``, pinned) from the npm registry at install
time: ``make install`` runs ``python -m gateway.viewer.fetch``.  Only the package's ``dist/``
is kept, in ``gateway/viewer/ohif/`` (gitignored), with a stamp naming the version, so running
it again does nothing; nothing is fetched at run time.

The build expects to be served from ``/``; it is relocated to ``/viewer/`` here — the chunk
loader's public path (``__webpack_require__.p``), the page's links and ``window.PUBLIC_URL``,
the stylesheet's font URL, the path the microscopy mode imports dicom-microscopy-viewer from —
each rewrite checked, so a new OHIF version that moved them fails loudly instead of serving a
viewer that cannot load its chunks.  Text assets get a ``.gz``
beside them, sent to browsers that accept gzip.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@ohif/app"
VERSION = "3.13.2"
PREFIX = "/viewer/"
DIST = Path(__file__).parent / "ohif"
STAMP = ".yilian-ohif-version"
# Stamped beside the version: a changed relocation installs the same version again.
RELOCATION = 2
COMPRESSED = {".js", ".css", ".wasm", ".json", ".html", ".svg", ".jsonc", ".mjs"}
PUBLIC_PATH = '__webpack_require__.p = "/";'
# The app bundle's loader of dicom-microscopy-viewer (a script of its own, not a chunk).
MICROSCOPY_IMPORT = "window.browserImportFunction('/dicom-microscopy-viewer/"
# Our index.html names our app-config.js; OHIF's service-worker helper only unregisters
# workers and then imports from a CDN: it is left out.
INDEX_DROPPED = (
    '<script rel="preload" as="script" type="module" src="/init-service-worker.js"></script>'
)


def stamp(directory: Path = DIST) -> Path:
    return directory / STAMP


def installed(directory: Path = DIST) -> bool:
    marker = stamp(directory)
    return marker.is_file() and marker.read_text().strip() == _stamped()


def _stamped() -> str:
    return f"{VERSION} relocation {RELOCATION}"


def relocate(dist: Path, prefix: str = PREFIX) -> None:
    """Point the build's absolute ``/`` paths at ``prefix``."""
    index = dist / "index.html"
    html = index.read_text()
    if INDEX_DROPPED not in html or 'window.PUBLIC_URL="/"' not in html:
        raise RuntimeError("OHIF's index.html is not shaped as expected: check the version")
    html = html.replace(INDEX_DROPPED, "").replace(
        'window.PUBLIC_URL="/"', f'window.PUBLIC_URL="{prefix}"'
    )
    html = re.sub(r'(href|src)="/(?!/)', rf'\1="{prefix}', html)
    index.write_text(html)
    bundles = [p for p in dist.glob("*.js") if PUBLIC_PATH in p.read_text(errors="replace")]
    if not any(p.name.startswith("app.bundle.") for p in bundles):
        raise RuntimeError("OHIF's chunk loader has no public path to relocate: check the version")
    microscopy = MICROSCOPY_IMPORT.replace("('/", f"('{prefix}")
    for path in bundles:
        text = path.read_text().replace(PUBLIC_PATH, f'__webpack_require__.p = "{prefix}";')
        if path.name.startswith("app.bundle."):
            if MICROSCOPY_IMPORT not in text:
                raise RuntimeError("OHIF's microscopy import is not as expected: check the version")
            text = text.replace(MICROSCOPY_IMPORT, microscopy)
        path.write_text(text)
    for path in dist.glob("*.css"):
        text = path.read_text()
        path.write_text(re.sub(r"url\(/(?!/)", f"url({prefix}", text))


def precompress(dist: Path) -> None:
    for path in dist.rglob("*"):
        if path.is_file() and path.suffix in COMPRESSED and path.stat().st_size > 1024:
            with path.open("rb") as source, gzip.open(f"{path}.gz", "wb", compresslevel=6) as out:
                shutil.copyfileobj(source, out)


def install(directory: Path = DIST) -> None:
    if installed(directory):
        return
    with tempfile.TemporaryDirectory(prefix="yilian-ohif-") as tmp:
        subprocess.run(
            ["npm", "pack", "--silent", f"{PACKAGE}@{VERSION}", "--pack-destination", tmp],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        [archive] = Path(tmp).glob("*.tgz")
        with tarfile.open(archive) as package:
            members = [m for m in package.getmembers() if m.name.startswith("package/dist/")]
            package.extractall(tmp, members=members, filter="data")
        dist = Path(tmp) / "package" / "dist"
        (dist / "app-config.js").unlink()  # ours is served in its place
        relocate(dist)
        precompress(dist)
        (dist / STAMP).write_text(_stamped() + "\n")
        if directory.exists():
            shutil.rmtree(directory)
        shutil.move(str(dist), directory)


if __name__ == "__main__":
    install(Path(sys.argv[1]) if len(sys.argv) > 1 else DIST)
