"""WADO-RS bodies (PS3.18 10.4): instances, frames and bulk data as ``multipart/related``, and
the transfer-syntax negotiation that decides, per instance, between the stored bytes and a
decoded copy."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydicom.uid import UID, ExplicitVRLittleEndian

from gateway.dicomweb.media import ANY_SYNTAX, DICOM, MULTIPART, OCTET_STREAM, MediaRange, Multipart
from gateway.errors import BadRequest, NotAcceptable, NotFound
from storage.blobs import BlobStore
from storage.dicom import (
    NATIVE_LITTLE_ENDIAN,
    PIXEL_DATA,
    CannotTranscode,
    InstanceRef,
    decodable,
    find_bulk,
    native_frame,
    read_frame,
    read_full,
    to_explicit_little_endian,
)

# Media types of compressed pixel data (PS3.18 Table 8.7.3-2), by transfer syntax prefix.
COMPRESSED_MEDIA = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
}


# Instances up to this size go out as one write (head, bytes, delimiter); larger ones stream.
WHOLE_PART_LIMIT = 8 * 1024 * 1024
# Converted instances of one retrieve are kept in memory up to this size, then on disk.
SPOOL_IN_MEMORY = 64 * 1024 * 1024


def instance_syntax(accept: list[MediaRange]) -> str:
    """The transfer syntax asked for instances: a UID, or ``*`` for as stored.  Without a
    ``transfer-syntax`` parameter the default is Explicit VR Little Endian (PS3.18 8.7.3.5)."""
    for media in accept:
        if media.media_type == MULTIPART and media.part_type in (
            DICOM,
            None,
            "*/*",
            "application/*",
        ):
            return media.transfer_syntax or ExplicitVRLittleEndian
        if media.media_type in ("*/*", "multipart/*"):
            return ExplicitVRLittleEndian
    raise NotAcceptable('instances are offered as multipart/related; type="application/dicom"')


@dataclass(frozen=True, slots=True)
class InstanceParts:
    """An instance retrieve settled before its first byte: the body, and why each instance that
    cannot be offered in the syntax asked for was left out."""

    content_type: str
    body: Iterator[bytes]
    left_out: list[str]


def instance_parts(
    blobs: BlobStore, refs: list[InstanceRef], syntax: str, spool_dir: Path
) -> InstanceParts:
    """Convert every instance that must be converted now, before anything is sent, so that a
    retrieve is never cut off mid-body.  An instance that cannot be offered in ``syntax`` (no
    codec, or data that does not decode) is left out and named — the others are not held
    back by it; 406 Not Acceptable, naming the syntax, when none can be offered.  Converted
    copies wait in one spooled file (in memory up to :data:`SPOOL_IN_MEMORY`, then on disk)."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=spool_dir)  # noqa: SIM115
    sending: list[tuple[InstanceRef, tuple[int, int] | None]] = []
    left_out: list[str] = []
    try:
        for ref in refs:
            if syntax in (ANY_SYNTAX, ref.transfer_syntax_uid):
                sending.append((ref, None))
                continue
            try:
                converted = _converted(blobs, ref, syntax)
            except CannotTranscode as exc:
                left_out.append(f"instance {ref.sop_instance_uid}: {exc}")
                continue
            sending.append((ref, (spool.tell(), len(converted))))
            spool.write(converted)
    except BaseException:
        spool.close()
        raise
    if not sending:
        spool.close()
        raise NotAcceptable(
            f"no instance can be offered as {_syntax_name(syntax)} ({left_out[0]}); "
            "ask with transfer-syntax=* for the stored bytes"
        )
    body = Multipart(DICOM)
    return InstanceParts(body.content_type, _parts(blobs, body, sending, spool), left_out)


def _converted(blobs: BlobStore, ref: InstanceRef, syntax: str) -> bytes:
    stored = UID(ref.transfer_syntax_uid)
    if syntax != ExplicitVRLittleEndian or not decodable(stored):
        raise CannotTranscode(f"stored as {stored.name}, cannot be offered as {syntax}")
    return to_explicit_little_endian(b"".join(blobs.get(ref.object_key)))


def _syntax_name(syntax: str) -> str:
    name = UID(syntax).name
    return syntax if name == syntax else f"{name} ({syntax})"


def _parts(
    blobs: BlobStore,
    body: Multipart,
    sending: list[tuple[InstanceRef, tuple[int, int] | None]],
    spool: BinaryIO,
) -> Iterator[bytes]:
    """Stored files are streamed (one write for small ones), converted ones read back."""
    try:
        for ref, converted in sending:
            if converted is not None:
                spool.seek(converted[0])
                head = body.part_head(f"{DICOM}; transfer-syntax={ExplicitVRLittleEndian}")
                yield head + spool.read(converted[1]) + b"\r\n"
                continue
            head = body.part_head(f"{DICOM}; transfer-syntax={ref.transfer_syntax_uid}")
            if ref.size > WHOLE_PART_LIMIT:
                yield head
                yield from blobs.get(ref.object_key)
                yield b"\r\n"
            else:
                yield head + b"".join(blobs.get(ref.object_key)) + b"\r\n"  # one write
        yield body.tail()
    finally:
        spool.close()


@dataclass(frozen=True, slots=True)
class FrameRequest:
    part_type: str
    syntax: str | None  # None: not given
    q: float = 1.0


def frame_requests(accept: list[MediaRange]) -> list[FrameRequest]:
    """Every range of ``Accept`` a frame could be sent as, best first (a client lists several:
    dicom-microscopy-viewer names JPEG-LS, JPEG 2000, ``application/octet-stream`` with
    ``transfer-syntax=*`` and JPEG in one header); 406 when none could be."""
    wanted: list[FrameRequest] = []
    for media in accept:
        if media.q <= 0:
            continue
        if media.media_type == MULTIPART:
            wanted.append(
                FrameRequest(media.part_type or OCTET_STREAM, media.transfer_syntax, media.q)
            )
        elif media.media_type in ("*/*", "multipart/*"):
            wanted.append(FrameRequest(OCTET_STREAM, None, media.q))
        elif media.media_type == OCTET_STREAM or media.media_type.startswith("image/"):
            wanted.append(FrameRequest(media.media_type, media.transfer_syntax, media.q))
    if not wanted:
        raise NotAcceptable("frames are offered as multipart/related")
    return wanted


def parse_frame_numbers(text: str) -> list[int]:
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BadRequest("frame numbers must be a comma-separated list of integers") from None
    if not numbers or min(numbers) < 1:
        raise BadRequest("frame numbers start at 1")
    return numbers


def frame_mode(ref: InstanceRef, wanted: list[FrameRequest]) -> tuple[str, str]:
    """``(stored|decode, part media type)``: the bytes as stored, or decoded to native pixels.
    Of the ranges accepted at the highest quality that can be given, the one naming the stored
    bytes' own media type (``image/jpeg`` for JPEG tiles) wins, else the first in the client's
    order; 406 when none can be given."""
    stored = ref.transfer_syntax_uid
    own = COMPRESSED_MEDIA.get(stored)
    offered = [(want, mode) for want in wanted if (mode := _frame_mode(ref, want)) is not None]
    if not offered:
        raise NotAcceptable(
            f"frames are stored as {UID(stored).name}; ask for "
            f"{own or OCTET_STREAM} or transfer-syntax=*"
        )
    best = max(want.q for want, _ in offered)
    top = [(want, mode) for want, mode in offered if want.q == best]
    exact = [mode for want, mode in top if want.part_type == own and mode == ("stored", own)]
    return exact[0] if exact else top[0][1]


def _frame_mode(ref: InstanceRef, want: FrameRequest) -> tuple[str, str] | None:
    stored = ref.transfer_syntax_uid
    compressed_type = COMPRESSED_MEDIA.get(stored)
    accepts = MediaRange(want.part_type)
    syntax_ok = want.syntax in (None, ANY_SYNTAX, stored)
    if ref.frames is not None and syntax_ok:
        if compressed_type is not None and accepts.matches(compressed_type):
            return "stored", compressed_type
        if stored in NATIVE_LITTLE_ENDIAN and accepts.matches(OCTET_STREAM):
            return "stored", OCTET_STREAM
        if want.syntax == ANY_SYNTAX and accepts.matches(OCTET_STREAM):
            return "stored", OCTET_STREAM  # as stored, labelled by its transfer-syntax
    if (
        want.syntax in (None, ExplicitVRLittleEndian)
        and accepts.matches(OCTET_STREAM)
        and decodable(stored)
    ):
        return "decode", OCTET_STREAM
    return None


def frame_body(
    blobs: BlobStore, ref: InstanceRef, numbers: list[int], wanted: list[FrameRequest]
) -> tuple[str, bytes]:
    """Content type and body: one part per requested frame, in the order asked.  ``ref`` was
    found with these frame numbers: its ``frames`` are their ranges, in this order."""
    count = ref.number_of_frames or 1
    missing = [n for n in numbers if n > count]
    if missing:
        raise NotFound(f"frame {missing[0]} does not exist (the instance has {count})")
    mode, part_type = frame_mode(ref, wanted)
    if mode == "stored":
        assert ref.frames is not None
        frames = [
            b"".join(blobs.read_range(ref.object_key, off, length) for off, length in ranges)
            for ranges in ref.frames
        ]
        syntax = ref.transfer_syntax_uid
    else:
        try:
            frames = _decoded(blobs, ref, numbers)
        except CannotTranscode as exc:
            raise NotAcceptable(str(exc)) from None
        syntax = ExplicitVRLittleEndian
    body = Multipart(part_type)
    out = io.BytesIO()
    for frame in frames:
        out.write(body.part_head(f"{part_type}; transfer-syntax={syntax}"))
        out.write(frame)
        out.write(b"\r\n")
    out.write(body.tail())
    return body.content_type, out.getvalue()


def _decoded(blobs: BlobStore, ref: InstanceRef, numbers: list[int]) -> list[bytes]:
    """The frames as native pixels: each decoded from its own bytes when the index has their
    ranges (``ref.frames``), else from the whole instance."""
    if ref.frames is not None:
        return [native_frame(read_frame(blobs, ref, ranges), 0) for ranges in ref.frames]
    ds = read_full(blobs, ref)
    if "PixelData" not in ds:
        raise NotFound("the instance has no pixel data")
    return [native_frame(ds, n - 1) for n in numbers]


def bulk_body(blobs: BlobStore, ref: InstanceRef, path: str) -> tuple[str, bytes]:
    """A bulk data element as one part; Pixel Data as one part per frame, as stored."""
    if path.lower() == f"{PIXEL_DATA:08x}" and ref.frames is not None:
        numbers = list(range(1, len(ref.frames) + 1))
        return frame_body(blobs, ref, numbers, [FrameRequest(OCTET_STREAM, ANY_SYNTAX)])
    element = find_bulk(read_full(blobs, ref), path)
    if element is None or element.value is None:
        raise NotFound("no such bulk data in this instance")
    value = element.value if isinstance(element.value, bytes) else bytes(element.value)
    body = Multipart(OCTET_STREAM)
    return body.content_type, b"".join(body.body([(OCTET_STREAM, [value])]))
