"""Whole-slide images (VL Whole Slide Microscopy, a pyramid of tiled levels) pushed by a
scanner's DICOM sender or over STOW-RS, their tiles served by WADO-RS as stored, and the
metadata a slide viewer lays the pyramid out by."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.dicomweb.conftest import Gateway, multipart, parts, uid
from tests.wsi_data import SlideSpec, WrittenSlide, write_slide

WSI_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
# As dicom-microscopy-viewer asks for a tile.
TILE = f'multipart/related; type="image/jpeg"; transfer-syntax={JPEG_BASELINE}'
# Four levels, 16 x 12 tiles of 256 px at the base: 256 tiles in all.
SPEC = SlideSpec(4096, 3072, levels=4)


@pytest.fixture(scope="module")
def slide(tmp_path_factory: pytest.TempPathFactory) -> WrittenSlide:
    return write_slide(SPEC, tmp_path_factory.mktemp("slide"))


def instance_path(slide: WrittenSlide, level: int) -> str:
    return f"/studies/{slide.study_uid}/series/{slide.series_uid}/instances/{slide.sop_uids[level]}"


def test_a_slide_pushed_by_storescu_is_served_tile_for_tile(
    gateway: Gateway, slide: WrittenSlide
) -> None:
    # DCMTK proposes this SOP class only when asked for the files' own (-R), in JPEG (-xy).
    pushed = gateway.node.storescu(*slide.files, extra=("-R", "-xy"))
    assert pushed.returncode == 0, pushed.stderr[-2000:]
    for level in range(SPEC.levels):
        across, down = SPEC.tiles_across(level)
        for number in range(1, across * down + 1):
            answer = gateway.get(
                f"{instance_path(slide, level)}/frames/{number}", headers={"Accept": TILE}
            )
            assert answer.status_code == 200, answer.text
            assert parts(answer) == [SPEC.frame(level, number)], (level, number)
        past = gateway.get(
            f"{instance_path(slide, level)}/frames/{across * down + 1}", headers={"Accept": TILE}
        )
        assert past.status_code == 404
    several = gateway.get(f"{instance_path(slide, 0)}/frames/7,1,192", headers={"Accept": TILE})
    assert parts(several) == [SPEC.frame(0, 7), SPEC.frame(0, 1), SPEC.frame(0, 192)]


def test_the_metadata_lays_out_the_pyramid(gateway: Gateway, slide: WrittenSlide) -> None:
    pushed = gateway.node.storescu(*slide.files, extra=("-R", "-xy"))
    assert pushed.returncode == 0, pushed.stderr[-2000:]
    answer = gateway.get(
        f"/studies/{slide.study_uid}/series/{slide.series_uid}/metadata",
        headers={"Accept": "application/dicom+json"},
    )
    assert answer.status_code == 200
    by_sop = {uid(document, "00080018"): document for document in answer.json()}
    for level, sop in enumerate(slide.sop_uids):
        document = by_sop[sop]
        width, height = SPEC.level_size(level)
        across, down = SPEC.tiles_across(level)
        spacing = 0.00025 * 2**level
        assert uid(document, "00080016") == WSI_CLASS
        assert uid(document, "00209311") == "TILED_FULL"  # DimensionOrganizationType
        assert uid(document, "00480006") == width  # TotalPixelMatrixColumns
        assert uid(document, "00480007") == height  # TotalPixelMatrixRows
        assert (uid(document, "00280011"), uid(document, "00280010")) == (256, 256)
        assert int(uid(document, "00280008")) == across * down  # NumberOfFrames
        assert uid(document, "00480001") == pytest.approx(width * spacing, rel=1e-5)
        assert uid(document, "00480002") == pytest.approx(height * spacing, rel=1e-5)
        shared = uid(document, "52009229")  # SharedFunctionalGroupsSequence
        measures = uid(shared, "00289110")  # PixelMeasuresSequence
        assert [float(v) for v in measures["00280030"]["Value"]] == pytest.approx(
            [spacing, spacing]
        )
        assert document["7FE00010"]["BulkDataURI"].endswith(f"/instances/{sop}/bulk/7fe00010")


def test_a_slide_stored_over_stow_rs_is_served_tile_for_tile(
    gateway: Gateway, tmp_path: Path
) -> None:
    slide = write_slide(SlideSpec(2048, 1024, levels=2, accession="PA26000002"), tmp_path / "slide")
    content_type, body = multipart([("application/dicom", f.read_bytes()) for f in slide.files])
    stored = httpx.post(
        f"{gateway.dicomweb}/studies",
        content=body,
        headers={
            "Content-Type": content_type,
            "Accept": "application/dicom+json",
            "Authorization": f"Bearer {gateway.token('his-jhzx')}",
        },
        timeout=120,
    )
    assert stored.status_code == 200, stored.text
    assert len(stored.json()["00081199"]["Value"]) == 2
    for level in range(2):
        across, down = slide.spec.tiles_across(level)
        for number in (1, across, across * down):
            answer = gateway.get(
                f"{instance_path(slide, level)}/frames/{number}", headers={"Accept": TILE}
            )
            assert parts(answer) == [slide.spec.frame(level, number)], (level, number)


def _part_type(answer: httpx.Response) -> str:
    """The Content-Type of the answer's first part."""
    head = answer.content.split(b"\r\n\r\n", 1)[0].decode()
    return next(line for line in head.split("\r\n") if line.startswith("Content-Type:"))[14:]


def test_a_viewers_list_of_media_types_gets_the_tile_as_stored(
    gateway: Gateway, slide: WrittenSlide
) -> None:
    """dicom-microscopy-viewer names every encoding it decodes in one Accept header (JPEG-LS and
    JPEG 2000 first, JPEG last): of those equally acceptable, the tile's own, as stored."""
    pushed = gateway.node.storescu(*slide.files, extra=("-R", "-xy"))
    assert pushed.returncode == 0, pushed.stderr[-2000:]
    viewer = ", ".join(
        [f'multipart/related; type="{kind}"; transfer-syntax=1.2.840.10008.1.2.4.{ts}'
         for kind, ts in (("image/jls", 80), ("image/jls", 81), ("image/jp2", 90),
                          ("image/jp2", 91), ("image/jpx", 92), ("image/jpx", 93))]
        + ['multipart/related; type="application/octet-stream"; transfer-syntax=*', TILE]
    )  # fmt: skip
    frame = f"{instance_path(slide, 1)}/frames/3"
    answer = gateway.get(frame, headers={"Accept": viewer})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith('multipart/related; type="image/jpeg"')
    assert _part_type(answer) == f"image/jpeg; transfer-syntax={JPEG_BASELINE}"
    assert parts(answer) == [SPEC.frame(1, 3)]

    # A preference by quality is kept: the stored bytes as octet-stream, asked for first.
    preferred = f'{TILE}; q=0.5, multipart/related; type="application/octet-stream"; ' + (
        "transfer-syntax=*; q=0.9"
    )
    answer = gateway.get(frame, headers={"Accept": preferred})
    assert _part_type(answer) == f"application/octet-stream; transfer-syntax={JPEG_BASELINE}"
    assert parts(answer) == [SPEC.frame(1, 3)]


def test_only_encodings_the_server_cannot_give_are_not_acceptable(
    gateway: Gateway, slide: WrittenSlide
) -> None:
    pushed = gateway.node.storescu(*slide.files, extra=("-R", "-xy"))
    assert pushed.returncode == 0, pushed.stderr[-2000:]
    frame = f"{instance_path(slide, 0)}/frames/1"
    for accept in (
        'multipart/related; type="image/jls"; transfer-syntax=1.2.840.10008.1.2.4.80, '
        'multipart/related; type="image/jp2"; transfer-syntax=1.2.840.10008.1.2.4.90',
        f"{TILE}; q=0",  # refused by the client itself
        "application/dicom+json",
    ):
        answer = gateway.get(frame, headers={"Accept": accept})
        assert answer.status_code == 406, (accept, answer.status_code)
