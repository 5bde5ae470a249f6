"""Rendered images (PS3.18 8.3.5, 9.4): one frame as JPEG or PNG for display — modality LUT,
then the window from the request, else the data set's VOI (window or LUT), else the frame's
range; MONOCHROME1 inverted; colour shown as RGB; scaled to fit the requested viewport."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_voi_lut, pixel_array

from gateway.errors import BadRequest, NotFound

JPEG = "image/jpeg"
PNG = "image/png"
THUMBNAIL_SIZE = (128, 128)


@dataclass(frozen=True, slots=True)
class RenderParams:
    media_type: str = JPEG
    window: tuple[float, float] | None = None
    viewport: tuple[int, int] | None = None
    quality: int = 90


def parse_params(params: dict[str, str], media_type: str, thumbnail: bool) -> RenderParams:
    window = None
    if params.get("window"):
        parts = params["window"].split(",")
        try:
            center, width = float(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            raise BadRequest("window must be center,width[,function]") from None
        if len(parts) > 2 and parts[2].strip().lower() not in ("linear", ""):
            raise BadRequest("only the linear window function is supported")
        if width <= 0:
            raise BadRequest("window width must be positive")
        window = (center, width)
    viewport = THUMBNAIL_SIZE if thumbnail else None
    if params.get("viewport"):
        try:
            vw, vh = (int(v) for v in params["viewport"].split(",")[:2])
        except ValueError:
            raise BadRequest("viewport must be width,height") from None
        if not (0 < vw <= 4096 and 0 < vh <= 4096):
            raise BadRequest("viewport must be between 1 and 4096 pixels")
        viewport = (vw, vh)
    try:
        quality = int(params.get("quality", "90"))
    except ValueError:
        raise BadRequest("quality must be 1-100") from None
    if not 1 <= quality <= 100:
        raise BadRequest("quality must be 1-100")
    return RenderParams(media_type, window, viewport, quality)


def render(ds: Dataset, frame_index: int, params: RenderParams) -> bytes:
    if "PixelData" not in ds:
        raise NotFound("instance has no image")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if not 0 <= frame_index < frames:
        raise NotFound(f"frame {frame_index + 1} does not exist (1-{frames})")
    pixels = pixel_array(ds, index=frame_index)
    if int(ds.get("SamplesPerPixel", 1)) == 1:
        image = Image.fromarray(_grey(ds, pixels, params.window), mode="L")
    else:
        image = Image.fromarray(_eight_bit(pixels, ds), mode="RGB")
    if params.viewport:
        image.thumbnail(params.viewport, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if params.media_type == PNG:
        image.save(out, format="PNG")
    else:
        image.save(out, format="JPEG", quality=params.quality)
    return out.getvalue()


def _grey(ds: Dataset, pixels: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    values = apply_modality_lut(pixels, ds).astype(np.float64)
    if window is None and "WindowCenter" in ds and "WindowWidth" in ds:
        window = (_first(ds.WindowCenter), max(_first(ds.WindowWidth), 1.0))
    if window is not None:
        center, width = window
        low, high = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
    else:
        if "VOILUTSequence" in ds:
            values = apply_voi_lut(values, ds).astype(np.float64)
        low, high = float(values.min()), float(values.max())
    scaled = np.clip((values - low) / max(high - low, 1e-9), 0.0, 1.0) * 255.0
    if ds.get("PhotometricInterpretation", "") == "MONOCHROME1":
        scaled = 255.0 - scaled
    return scaled.round().astype(np.uint8)


def _first(value: object) -> float:
    return float(value[0] if isinstance(value, list | tuple | MultiValue) else value)  # type: ignore[index,arg-type]


def _eight_bit(pixels: np.ndarray, ds: Dataset) -> np.ndarray:
    bits = int(ds.get("BitsStored", 8))
    if bits <= 8:
        return pixels.astype(np.uint8)
    return (pixels.astype(np.float64) / ((1 << bits) - 1) * 255.0).round().astype(np.uint8)
