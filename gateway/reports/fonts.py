"""The CJK font embedded in report PDFs: Noto Sans SC (SIL Open Font License), from the npm
registry (``@expo-google-fonts/noto-sans-sc``, which carries it as TrueType).  ``make install``
runs ``python -m gateway.reports.fonts``: it fetches the package once and keeps the regular
face whole, plus a cut down to GB 2312 and the punctuation reports use
— a PDF embeds only the glyphs it needs either way, but the cut fonts load in a tenth of the
time; a report with a character outside GB 2312 (a rare name) is set in the whole font.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

FONT_DIR = Path(__file__).parent / "fonts"
PACKAGE = "@expo-google-fonts/noto-sans-sc@0.4.3"
FACES = {"regular": "400Regular/NotoSansSC_400Regular.ttf"}
EXTRA = "·—…“”‘’、。，；：？！（）《》【】〔〕％‰℃μ×÷±≤≥→←↑↓°①②③④⑤⑥⑦⑧⑨⑩ⅠⅡⅢⅣⅤ"


def whole(face: str, directory: Path = FONT_DIR) -> Path:
    return directory / f"NotoSansSC-{face}.ttf"


def cut(face: str, directory: Path = FONT_DIR) -> Path:
    return directory / f"NotoSansSC-{face}-GB2312.ttf"


def gb2312() -> str:
    """Every character of GB 2312, printable ASCII and :data:`EXTRA`."""
    chars = {chr(c) for c in range(0x20, 0x7F)} | set(EXTRA)
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(sorted(chars))


def install(directory: Path = FONT_DIR) -> None:
    from fontTools import subset

    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="yilian-font-") as tmp:
        subprocess.run(["npm", "pack", "--silent", PACKAGE, "--pack-destination", tmp],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        [archive] = Path(tmp).glob("*.tgz")
        with tarfile.open(archive) as package:
            for face, member in FACES.items():
                source = package.extractfile(f"package/{member}")
                assert source is not None
                with whole(face, directory).open("wb") as target:
                    shutil.copyfileobj(source, target)
    options = subset.Options()
    options.layout_features, options.hinting, options.name_IDs = [], False, ["*"]
    for face in FACES:
        font = subset.load_font(str(whole(face, directory)), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=gb2312())
        subsetter.subset(font)
        subset.save_font(font, str(cut(face, directory)), options)


if __name__ == "__main__":
    install(Path(sys.argv[1]) if len(sys.argv) > 1 else FONT_DIR)
