"""Synthetic whole-slide images (DICOM VL Whole Slide Microscopy), written by wsidicom.

A slide is a pyramid: level 0 is ``width`` x ``height`` pixels, each further level half the
size, down to ``levels`` levels; every level is one instance of JPEG baseline tiles
(TILED_FULL: frame ``n`` is tile ``(n - 1) % columns, (n - 1) // columns``).  The tiles come
from a small pool of encoded noise images, and each carries its level and position in a JPEG
comment, so that no two tiles of a slide have the same bytes and ``tile()`` says what any frame
must be without decoding anything.  wsidicom writes the instances (metadata, frames, offset
table) as a scanner's converter would.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image as PillowImage
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID, JPEGBaseline8Bit, generate_uid
from wsidicom import WsiDicom
from wsidicom.codec import Encoder
from wsidicom.geometry import Point, Size, SizeMm
from wsidicom.graphical_annotations import AnnotationInstance
from wsidicom.instance import ImageData, WsiDataset, WsiInstance
from wsidicom.metadata import (
    Equipment,
    Image,
    Label,
    OpticalPath,
    Patient,
    Pyramid,
    Series,
    Slide,
    Study,
    WsiMetadata,
)
from wsidicom.metadata.image import ImageType
from wsidicom.metadata.sample import SlideSample
from wsidicom.metadata.schema.dicom.wsi import WsiMetadataDicomSchema
from wsidicom.source import Source

# Level 0's pixel size: 0.25 µm, a 40x scan.
BASE_SPACING_MM = 0.00025
PHOTOMETRIC = "YBR_FULL_422"


@cache
def _pool(side: int, count: int, quality: int) -> tuple[bytes, ...]:
    """``count`` distinct JPEG tiles: a stain-like colour field with noise (scanned tissue
    compresses worse than flat colour, better than pure noise)."""
    rng = np.random.default_rng(side * 1000 + count)
    tiles = []
    ys, xs = np.mgrid[0:side, 0:side]
    for i in range(count):
        hue = np.stack(
            [
                200 + 40 * np.sin((xs + 17 * i) / 23.0),
                120 + 60 * np.cos((ys + 11 * i) / 31.0),
                190 + 30 * np.sin((xs + ys) / 41.0),
            ],
            axis=-1,
        )
        pixels = np.clip(hue + rng.normal(0, 28, hue.shape), 0, 255).astype(np.uint8)
        out = io.BytesIO()
        PillowImage.fromarray(pixels).save(out, "JPEG", quality=quality)
        tiles.append(out.getvalue())
    return tuple(tiles)


def _with_comment(jpeg: bytes, text: str) -> bytes:
    """The same image with a COM segment after SOI: other bytes, same pixels.  Of even length,
    as a DICOM fragment is: the stored frame is then the tile itself, without a padding byte."""
    payload = text.encode()
    if (len(jpeg) + len(payload)) % 2:
        payload += b" "
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


@dataclass(frozen=True, slots=True)
class SlideSpec:
    width: int
    height: int
    levels: int = 3
    tile_side: int = 256
    pool: int = 32
    quality: int = 80
    patient_id: str = "WSI0001"
    patient_name: str = "Zhang^San=张^三"
    accession: str = "PA26000001"

    def level_size(self, level: int) -> tuple[int, int]:
        return max(self.width >> level, 1), max(self.height >> level, 1)

    def tiles_across(self, level: int) -> tuple[int, int]:
        width, height = self.level_size(level)
        return -(-width // self.tile_side), -(-height // self.tile_side)

    def tile(self, level: int, x: int, y: int) -> bytes:
        pool = _pool(self.tile_side, self.pool, self.quality)
        return _with_comment(pool[(x * 7 + y * 13 + level * 5) % len(pool)], f"L{level}X{x}Y{y}")

    def frame(self, level: int, number: int) -> bytes:
        """Frame ``number`` (1-based) of a level, as TILED_FULL orders tiles: row by row."""
        across, _ = self.tiles_across(level)
        return self.tile(level, (number - 1) % across, (number - 1) // across)


class _Tiles(ImageData):
    """One level of the slide as wsidicom's image data: encoded tiles, nothing decoded."""

    def __init__(self, spec: SlideSpec, level: int) -> None:
        super().__init__(Encoder.create(JPEGBaseline8Bit, 8, PHOTOMETRIC))
        self._spec = spec
        self._level = level

    @property
    def transfer_syntax(self) -> UID:
        return JPEGBaseline8Bit

    @property
    def image_size(self) -> Size:
        return Size(*self._spec.level_size(self._level))

    @property
    def tile_size(self) -> Size:
        return Size(self._spec.tile_side, self._spec.tile_side)

    @property
    def pixel_spacing(self) -> SizeMm:
        spacing = BASE_SPACING_MM * 2**self._level
        return SizeMm(spacing, spacing)

    @property
    def imaged_size(self) -> SizeMm:
        size, spacing = self.image_size, self.pixel_spacing
        return SizeMm(size.width * spacing.width, size.height * spacing.height)

    @property
    def samples_per_pixel(self) -> int:
        return 3

    @property
    def photometric_interpretation(self) -> str:
        return PHOTOMETRIC

    @property
    def bits(self) -> int:
        return 8

    @property
    def image_coordinate_system(self) -> None:
        return None

    @property
    def thread_safe(self) -> bool:
        return True

    @property
    def lossy_compression(self) -> None:
        return None

    @property
    def transcoder(self) -> None:
        return None

    def get_decoded_tile(
        self, tile_point: Point, z: float, path: str, cache: bool = True
    ) -> np.ndarray:
        encoded = self.get_encoded_tile(tile_point, z, path)
        return np.asarray(PillowImage.open(io.BytesIO(encoded)))

    def get_encoded_tile(self, tile: Point, z: float, path: str) -> bytes:
        return self._spec.tile(self._level, tile.x, tile.y)


class _Levels(Source):
    def __init__(self, instances: list[WsiInstance]) -> None:
        super().__init__()
        self._instances = instances

    @property
    def base_dataset(self) -> WsiDataset:
        return self._instances[0].dataset

    @property
    def level_instances(self) -> Iterable[WsiInstance]:
        return self._instances

    @property
    def label_instances(self) -> Iterable[WsiInstance]:
        return []

    @property
    def overview_instances(self) -> Iterable[WsiInstance]:
        return []

    @property
    def thumbnail_instances(self) -> Iterable[WsiInstance]:
        return []

    @property
    def annotation_instances(self) -> Iterable[AnnotationInstance]:
        return []

    def close(self) -> None:
        pass


def _metadata(spec: SlideSpec) -> WsiMetadata:
    return WsiMetadata(
        study=Study(uid=generate_uid(), identifier="1", accession_number=spec.accession),
        series=Series(uid=generate_uid(), number=1, description="HE"),
        patient=Patient(identifier=spec.patient_id, name=spec.patient_name),
        equipment=Equipment(manufacturer="Yilian tests", model_name="synthetic"),
        slide=Slide(
            identifier=spec.accession,
            samples=[SlideSample(identifier=f"{spec.accession}-A", uid=generate_uid())],
        ),
        pyramid=Pyramid(
            image=Image(), optical_paths=[OpticalPath(identifier="0")], uid=generate_uid()
        ),
        label=Label(),
        frame_of_reference_uid=generate_uid(),
        dimension_organization_uids=[generate_uid()],
    )


@dataclass(frozen=True, slots=True)
class WrittenSlide:
    spec: SlideSpec
    study_uid: str
    series_uid: str
    files: list[Path]  # level 0 first
    sop_uids: list[str]  # of each level

    @property
    def size(self) -> int:
        return sum(f.stat().st_size for f in self.files)


def write_slide(spec: SlideSpec, directory: Path) -> WrittenSlide:
    """Write the slide's levels under ``directory`` (one file per level)."""
    base: Dataset = WsiMetadataDicomSchema().dump(_metadata(spec), ImageType.VOLUME)
    instances = [
        WsiInstance.create_instance(
            _Tiles(spec, level), copy.deepcopy(base), ImageType.VOLUME, level
        )
        for level in range(spec.levels)
    ]
    directory.mkdir(parents=True, exist_ok=True)
    with WsiDicom(_Levels(instances)) as slide:
        written = slide.save(
            directory, include_labels=False, include_overviews=False, include_thumbnails=False
        )
    by_level = sorted(
        (Path(str(p)) for p in written),
        key=lambda p: -int(dcmread(p, stop_before_pixels=True).TotalPixelMatrixColumns),
    )
    headers = [dcmread(p, stop_before_pixels=True) for p in by_level]
    return WrittenSlide(
        spec,
        str(headers[0].StudyInstanceUID),
        str(headers[0].SeriesInstanceUID),
        by_level,
        [str(h.SOPInstanceUID) for h in headers],
    )
