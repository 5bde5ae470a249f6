"""Rendered images (PS3.18 8.3.5, 9.4): one frame as JPEG or PNG for display — modality LUT,
then the window from the request, else the data set's VOI (window or LUT), else the frame's
range; MONOCHROME1 inverted; colour shown as RGB; scaled to fit the requested viewport.

An image that cannot be rendered — pixel data that does not decode, or a modality or VOI LUT
whose values do not — is answered 406 Not Acceptable with the reason: the instance exists but
has no rendered representation, and its stored bytes can still be retrieved
(``transfer-syntax=*``).  Not a 5xx: the server works and a retry cannot help; not 422: the
request is fine, the stored data is not.  A window in the data set that cannot be read is
ignored (the frame's range is shown) rather than refusing a displayable image."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from gateway.errors import BadRequest, NotAcceptable, NotFound
from storage.blobs import BlobStore
from storage.dicom import (
    DECODE_ERRORS,
    CannotTranscode,
    InstanceRef,
    frame_pixels,
    int_of,
    read_frame,
    read_full,
    value_of,
)

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
        if not (math.isfinite(center) and math.isfinite(width)) or width <= 0:
            raise BadRequest("window center and width are numbers, the width positive")
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


def render_stored(
    blobs: BlobStore, ref: InstanceRef, frame_index: int, params: RenderParams
) -> bytes:
    """A stored instance's frame ``frame_index`` (0-based); when the index has the frames'
    ranges (``ref.frames``: every frame's), only the header and that frame are read."""
    frames = ref.frames
    if frames is None:
        return render(read_full(blobs, ref), frame_index, params)
    if not 0 <= frame_index < len(frames):
        raise NotFound(f"frame {frame_index + 1} does not exist (1-{len(frames)})")
    return render(read_frame(blobs, ref, frames[frame_index]), 0, params)


def render(ds: Dataset, frame_index: int, params: RenderParams) -> bytes:
    if "PixelData" not in ds:
        raise NotFound("instance has no image")
    frames = int_of(ds, "NumberOfFrames", 1) or 1
    if not 0 <= frame_index < frames:
        raise NotFound(f"frame {frame_index + 1} does not exist (1-{frames})")
    try:
        image = _image(ds, frame_pixels(ds, frame_index), params.window)
    except (CannotTranscode, *DECODE_ERRORS) as exc:
        reason = str(exc) if isinstance(exc, CannotTranscode) else type(exc).__name__
        raise NotAcceptable(
            f"the image cannot be rendered ({reason}); "
            "its stored bytes can be retrieved with transfer-syntax=*"
        ) from exc
    if params.viewport:
        image.thumbnail(params.viewport, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if params.media_type == PNG:
        image.save(out, format="PNG")
    else:
        image.save(out, format="JPEG", quality=params.quality)
    return out.getvalue()


def _image(ds: Dataset, pixels: np.ndarray, window: tuple[float, float] | None) -> Image.Image:
    if int_of(ds, "SamplesPerPixel", 1) == 1:
        return Image.fromarray(_grey(ds, pixels, window), mode="L")
    return Image.fromarray(_eight_bit(pixels, ds), mode="RGB")


def _grey(ds: Dataset, pixels: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    values = apply_modality_lut(pixels, ds).astype(np.float64)
    window = window or _stored_window(ds)
    if window is not None:
        center, width = window
        low, high = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
    else:
        if "VOILUTSequence" in ds:
            values = apply_voi_lut(values, ds).astype(np.float64)
        low, high = float(values.min()), float(values.max())
    scaled = np.clip((values - low) / max(high - low, 1e-9), 0.0, 1.0) * 255.0
    if value_of(ds, "PhotometricInterpretation") == "MONOCHROME1":
        scaled = 255.0 - scaled
    return scaled.round().astype(np.uint8)


def _stored_window(ds: Dataset) -> tuple[float, float] | None:
    """The data set's first window, or None when it has none that can be read."""
    center, width = value_of(ds, "WindowCenter"), value_of(ds, "WindowWidth")
    if center is None or width is None:
        return None
    try:
        window = (_first(center), max(_first(width), 1.0))
    except DECODE_ERRORS:
        return None
    return window if all(math.isfinite(v) for v in window) else None


def _first(value: object) -> float:
    return float(value[0] if isinstance(value, list | tuple | MultiValue) else value)  # type: ignore[index,arg-type]


def _eight_bit(pixels: np.ndarray, ds: Dataset) -> np.ndarray:
    bits = int_of(ds, "BitsStored", 8) or 8
    if bits <= 8:
        return pixels.astype(np.uint8)
    return (pixels.astype(np.float64) / ((1 << bits) - 1) * 255.0).round().astype(np.uint8)
