"""Whole-slide images in the web app, in a real browser against ``yilian serve --demo``:
婺城区人民医院's HIS orders a biopsy; its slide scanner (WCRM_WSI1) pushes the slide — a small
generated pyramid of JPEG noise tiles (``tests/wsi_data.py``) — with DCMTK ``storescu`` under the
order's accession number; the specimen is sent and accepted, the case is 待阅片.  Pathologist 王磊
claims it and the reading page shows the slide in OHIF's microscopy mode (dicom-microscopy-viewer):
tiles drawn, every frame fetched with his Bearer token and answered 200, no token in any URL; once
the app has refreshed its short-lived token, tiles fetched on zooming in carry the new one.  孙丽 of
the clinic opens the slide from 影像检查; 徐刚 of another member is told it is not to be seen."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import time

import httpx
import pytest
from PIL import Image, ImageStat
from playwright.sync_api import Locator, Page, Response, expect

from tests.dcmtk import dcmtk_path
from tests.integration.browser.conftest import ARTIFACTS, TOKEN_SECONDS, logged_in, screenshot
from tests.integration.browser.reading_setup import (
    accession_of,
    claim_from_worklist,
    fhir,
    his_token,
    task_when_ready,
)
from tests.integration.browser.test_study_browser import OHIF
from tests.integration.fhir.test_pathology_specimens import pathology_order, specimen
from tests.integration.test_serve import Running
from tests.wsi_data import SlideSpec, WrittenSlide, write_slide

CLINIC = "his-wcrm"
CENTRE = "his-jhzx"  # the pathology centre's organization's system signs for specimens too
SCANNER = "WCRM_WSI1"
PATIENT_ID = "WC0077"
# Three levels: 8 x 6, 4 x 3 and 2 x 2 tiles of 256 px (64 tiles, 1.7 MB, under a second).
SPEC = SlideSpec(2048, 1536, levels=3, patient_id=PATIENT_ID, patient_name="Zhao^Li=赵^丽")
# The slide is shown: this share of the viewport lit (not the black background) …
LIT_SHARE = 0.3
# … and not one flat colour: the tiles are noise (a luminance spread seen on tissue scans too).
SPREAD = 12.0


@pytest.fixture(scope="module")
def case(served: Running, base: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The biopsy order with its slide linked and its specimen accepted: 待阅片."""
    if not OHIF.is_file():
        pytest.fail("the OHIF viewer is not installed: run make install")
    token = his_token(base, CLINIC)
    patient = fhir(base, token, "POST", "Patient", {
        "resourceType": "Patient", "name": [{"text": "赵丽"}], "gender": "female",
        "birthDate": "1971-03-08",
        "identifier": [{"system": "urn:yilian:patient-id:wcrm", "value": PATIENT_ID}],
    })  # fmt: skip
    order = fhir(base, token, "POST", "ServiceRequest", pathology_order(patient["id"]))
    biopsy = fhir(base, token, "POST", "Specimen", specimen(order, "胃窦", 2))
    slide = write_slide(
        dataclasses.replace(SPEC, accession=accession_of(base, token, order)),
        tmp_path_factory.mktemp("slide"),
    )
    pushed = subprocess.run(
        [dcmtk_path("storescu"), "-aet", SCANNER, "-aec", "YILIAN", "-R", "-xy", "127.0.0.1",
         str(served.dicom), *map(str, slide.files)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr[-2000:]
    no_parameters = {"resourceType": "Parameters"}
    fhir(base, token, "POST", f"Specimen/{biopsy['id']}/$send", no_parameters)
    centre = his_token(base, CENTRE)
    for step in ("receive", "accept"):
        fhir(base, centre, "POST", f"Specimen/{biopsy['id']}/${step}", no_parameters)
    task = task_when_ready(base, token, order)
    linked_study(base, token, order, slide)
    return {"order": order, "task": task, "slide": slide}


def linked_study(base: str, token: str, order: dict, slide: WrittenSlide) -> None:
    """Wait until the slide's study is published as the order's ImagingStudy, modality SM."""
    deadline = time.monotonic() + 60
    while True:
        found = fhir(base, token, "GET", f"ImagingStudy?basedon=ServiceRequest/{order['id']}")
        studies = [e["resource"] for e in found.get("entry", [])]
        if studies:
            [study] = studies
            assert study["id"] == slide.study_uid
            assert [m["code"] for m in study["modality"]] == ["SM"]
            return
        assert time.monotonic() < deadline, "the slide was never linked to its order"
        time.sleep(0.5)


class Traffic:
    """What a page asked of DICOMweb: every answer with its request's Authorization."""

    def __init__(self, page: Page) -> None:
        self.answers: list[tuple[int, str, str]] = []
        page.on("response", self._seen)

    def _seen(self, answer: Response) -> None:
        if "/dicomweb/" in answer.url:
            auth = answer.request.headers.get("authorization", "")
            self.answers.append((answer.status, answer.url, auth))

    def frames(self, sop_uid: str = "") -> list[tuple[int, str, str]]:
        return [a for a in self.answers if f"{sop_uid}/frames/" in a[1]]


@pytest.fixture
def traffic(page: Page) -> Traffic:
    return Traffic(page)


def lit_and_spread(viewport: Locator) -> tuple[float, float]:
    """The share of the slide viewport's pixels that are lit, and their luminance spread."""
    shot = Image.open(io.BytesIO(viewport.screenshot())).convert("L")
    lit = shot.point(lambda p: 255 if p > 24 else 0)
    share = ImageStat.Stat(lit).mean[0] / 255
    return share, ImageStat.Stat(shot, mask=lit).stddev[0] if share else 0.0


def shows_tiles(viewport: Locator) -> None:
    expect(viewport).to_be_visible(timeout=90_000)
    deadline, share, spread = time.monotonic() + 90, 0.0, 0.0
    while (share < LIT_SHARE or spread < SPREAD) and time.monotonic() < deadline:
        time.sleep(1)
        share, spread = lit_and_spread(viewport)
    assert share >= LIT_SHARE, f"the viewer shows no slide ({share:.0%} lit)"
    assert spread >= SPREAD, f"the viewer shows a flat colour (spread {spread:.1f})"


def fetched_with_the_login(traffic: Traffic, page: Page) -> str:
    """Every frame answered 200 to a Bearer token that is in no URL; the token."""
    frames = traffic.frames()
    assert frames, "no tile was fetched"
    assert [(s, u) for s, u, _ in frames if s != 200] == []
    tokens = {auth for _, _, auth in frames}
    assert all(t.startswith("Bearer ") for t in tokens), tokens
    urls = [u for _, u, _ in traffic.answers] + [f.url for f in page.frames]
    for token in tokens:
        assert not any(token.removeprefix("Bearer ") in u for u in urls)
    assert not any("token" in u.lower() for u in urls)
    return frames[-1][2]


def test_the_pathologist_reads_the_case_beside_its_slide(
    page: Page, traffic: Traffic, base: str, case: dict
):
    slide: WrittenSlide = case["slide"]
    logged_in(page, base, "wanglei")
    claim_from_worklist(page, base, case["task"])
    frame = page.locator("[data-test=slides] [data-test=viewer-frame]")
    expect(frame).to_have_attribute("data-mode", "microscopy")
    expect(frame).to_have_attribute(
        "src", f"/viewer/microscopy?StudyInstanceUIDs={slide.study_uid}"
    )
    expect(frame).to_have_attribute("title", "数字切片浏览器（OHIF 显微镜模式）")
    viewport = page.frame_locator("[data-test=slides] iframe").locator(".DicomMicroscopyViewer")
    shows_tiles(viewport)
    time.sleep(2)  # the tiles of the view in flight land
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    viewport.screenshot(path=str(ARTIFACTS / "ohif-microscopy-slide.png"))
    screenshot(page, "pathology-reading-slide-zh")
    first = fetched_with_the_login(traffic, page)
    served = {u.rsplit("/instances/", 1)[1].split("/")[0] for _, u, _ in traffic.frames()}
    assert served <= set(slide.sop_uids)
    in_frame = page.frame_locator("[data-test=slides] iframe")
    expect(in_frame.locator("#yilian-viewer-message")).to_have_count(0)

    # The app refreshes its token (TOKEN_SECONDS); zooming in on the slide asks for the base
    # level's tiles, with the token current then.
    time.sleep(TOKEN_SECONDS + 2)
    traffic.answers.clear()
    box = frame.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    deadline = time.monotonic() + 60
    while not traffic.frames(slide.sop_uids[0]) and time.monotonic() < deadline:
        page.mouse.wheel(0, -400)
        time.sleep(1.5)
    assert traffic.frames(slide.sop_uids[0]), "zooming in fetched no tile of the base level"
    time.sleep(2)
    assert fetched_with_the_login(traffic, page) != first


def test_the_clinic_opens_the_slide_from_the_study_browser(page: Page, base: str, case: dict):
    slide: WrittenSlide = case["slide"]
    logged_in(page, base, "sunli")
    page.click("[data-test=menu-studies]")
    page.fill("input[data-test=filter-patient-id]", PATIENT_ID)
    with page.expect_response(lambda r: f"PatientID={PATIENT_ID}" in r.url):
        page.click("[data-test=search]")
    row = page.locator(f"[data-test=studies] tbody tr:has([data-study='{slide.study_uid}'])")
    expect(row).to_contain_text("SM")
    with page.context.expect_page() as opened:
        row.locator("[data-test=open-viewer]").click()
    viewer = opened.value
    traffic = Traffic(viewer)
    viewer.wait_for_url(f"{base}/viewer/microscopy?StudyInstanceUIDs={slide.study_uid}")
    shows_tiles(viewer.locator(".DicomMicroscopyViewer"))
    viewer.screenshot(path=str(ARTIFACTS / "ohif-microscopy-study-browser.png"))
    fetched_with_the_login(traffic, viewer)


def test_a_clinician_of_another_member_cannot_see_the_slide(page: Page, base: str, case: dict):
    slide: WrittenSlide = case["slide"]
    logged_in(page, base, "xugang")
    with page.context.expect_page() as opened:
        page.evaluate(
            "uid => window.open(`/viewer/microscopy?StudyInstanceUIDs=${uid}`, 'yilian-viewer')",
            slide.study_uid,
        )
    viewer = opened.value
    traffic = Traffic(viewer)
    message = viewer.locator("#yilian-viewer-message[data-kind=notVisible]")
    expect(message).to_be_visible(timeout=60_000)
    expect(message).to_contain_text("无权查看")
    time.sleep(3)  # what OHIF asks meanwhile is answered with nothing
    viewer.screenshot(path=str(ARTIFACTS / "ohif-microscopy-not-visible.png"))
    assert traffic.answers, "the viewer asked the server nothing"
    assert all(s in (204, 404) for s, _, _ in traffic.answers), traffic.answers
    assert traffic.frames() == []
    # Nor by hand, with 徐刚's token: the frames are refused as the study is.
    frame = (
        f"{base}/dicomweb/studies/{slide.study_uid}/series/{slide.series_uid}"
        f"/instances/{slide.sop_uids[0]}/frames/1"
    )
    token = next(a for _, _, a in traffic.answers if a)
    assert httpx.get(frame, headers={"Authorization": token}).status_code in (403, 404)
