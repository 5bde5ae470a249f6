"""The study browser and the OHIF viewer in a real browser against ``yilian serve --demo``:
汤溪卫生院's CT (TX_CT1) pushes a small CT with DCMTK ``storescu``; clinician 蒋华 of 汤溪 finds
it in 影像检查 (its series with a thumbnail), opens it in OHIF and the viewport shows the image.
徐刚 of 傅村卫生院 can neither find it nor open it: the viewer says the study is not to be seen,
and nothing of it is sent.  Opened without the app, the viewer asks for a login; a viewer
opened before the app refreshed its token goes on with the new one."""

from __future__ import annotations

import io
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect

from tests.dcmtk import dcmtk_path
from tests.dicom_data import Patient, Study, write_series
from tests.integration.browser.conftest import (
    ARTIFACTS,
    REPO,
    TOKEN_SECONDS,
    VIEWPORT,
    logged_in,
    screenshot,
    serious_violations,
)
from tests.integration.browser.reading_setup import fhir, his_token
from tests.integration.test_serve import Running

OHIF = REPO / "gateway" / "viewer" / "ohif" / "index.html"
PATIENT = Patient("TX20261202", "Wang^Xiaoming=王^小明", "19700315", "M")
# The viewport's image: at least this share of the canvas area lit (the noise CT is ~all lit).
LIT_SHARE = 0.2


@pytest.fixture(scope="module")
def ct(served: Running, tmp_path_factory: pytest.TempPathFactory) -> Study:
    if not OHIF.is_file():
        pytest.fail("the OHIF viewer is not installed: run make install")
    study = Study(PATIENT, accession="TXCT20261202", description="胸部CT平扫")
    files = write_series(study, tmp_path_factory.mktemp("ct"), 3, "CT", 128, 128)
    pushed = subprocess.run(
        [dcmtk_path("storescu"), "-aet", "TX_CT1", "-aec", "YILIAN", "127.0.0.1",
         str(served.dicom), *map(str, files)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    return study


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile at 1366×768, without the app's CSP so that axe-core can be injected."""
    opened = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    yield opened
    opened.close()


def search(page: Page, name: str) -> None:
    page.click("[data-test=menu-studies]")
    page.fill("input[data-test=filter-name]", name)
    with page.expect_response(lambda r: "/dicomweb/studies?" in r.url and "PatientName" in r.url):
        page.click("[data-test=search]")


def lit_share(viewer: Page) -> float:
    """The share of the viewport canvas's pixels that are not black, from a screenshot."""
    canvas = viewer.locator("canvas.cornerstone-canvas").first
    shot = Image.open(io.BytesIO(canvas.screenshot())).convert("L")
    pixels = list(shot.getdata())
    return sum(1 for p in pixels if p > 24) / len(pixels)


def shows_the_image(viewer: Page) -> None:
    viewer.wait_for_selector("canvas.cornerstone-canvas", timeout=90_000)
    deadline, share = time.monotonic() + 90, 0.0
    while share < LIT_SHARE and time.monotonic() < deadline:
        time.sleep(1)
        share = lit_share(viewer)
    assert share >= LIT_SHARE, f"the viewport shows no image ({share:.0%} lit)"


def test_clinician_finds_the_ct_and_opens_it_in_ohif(context: BrowserContext, base: str, ct: Study):
    page = context.new_page()
    logged_in(page, base, "jianghua")
    search(page, "小明")
    row = page.locator(f"[data-test=studies] tbody tr:has([data-study='{ct.study_uid}'])")
    expect(row).to_be_visible()
    expect(row).to_contain_text("王小明")
    expect(row).to_contain_text("胸部CT平扫")
    expect(row).to_contain_text("婺城区汤溪镇中心卫生院")
    masked = row.locator("[data-test=masked-id] [data-test=identity-value]")
    expect(masked).to_have_text("******1202")
    row.locator(".el-table__expand-icon").click()
    thumbnail = page.locator(f"[data-test=series][data-study='{ct.study_uid}'] img").first
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.naturalWidth") > 0
    found = serious_violations(page)
    assert found == [], json.dumps(found, indent=1, ensure_ascii=False)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "study-browser")

    with context.expect_page() as opened:
        row.locator("[data-test=open-viewer]").click()
    viewer = opened.value
    failed: list[str] = []
    tokens: list[str] = []

    def answered(r: Response) -> None:
        if "/dicomweb/" in r.url:
            tokens.append(r.request.headers.get("authorization", ""))
            if r.status >= 400:
                failed.append(f"{r.status} {r.url}")

    viewer.on("response", answered)
    viewer.wait_for_url(f"{base}/viewer/viewer?StudyInstanceUIDs={ct.study_uid}*")
    shows_the_image(viewer)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(path=str(ARTIFACTS / "ohif-viewer-ct.png"))
    expect(viewer.locator("#yilian-viewer-message")).to_have_count(0)
    assert failed == []
    assert tokens[0].startswith("Bearer ")
    assert "token" not in viewer.url.lower()

    # The app refreshes its short-lived token (TOKEN_SECONDS); the viewer, opened before, asks
    # for the current one: loaded again once the first token has expired, it still shows.
    first = tokens[0]
    time.sleep(TOKEN_SECONDS + 2)
    tokens.clear()
    viewer.reload()
    shows_the_image(viewer)
    assert failed == []
    assert tokens
    assert first not in tokens


def test_a_study_patients_id_is_shown_on_request_from_their_record(
    context: BrowserContext, base: str, ct: Study
):
    """The study's patient ID is masked; with the clinic's Patient record carrying it, 显示 asks
    the server for it (found by the member's patient id, allowed and recorded there), 隐藏 masks
    it again."""
    token = his_token(base)
    fhir(base, token, "POST", "Patient", {
        "resourceType": "Patient", "name": [{"text": "王小明"}],
        "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": PATIENT.patient_id}],
    })  # fmt: skip
    page = context.new_page()
    logged_in(page, base, "jianghua")
    search(page, "小明")
    row = page.locator(f"[data-test=studies] tbody tr:has([data-study='{ct.study_uid}'])")
    value = row.locator("[data-test=masked-id] [data-test=identity-value]")
    expect(value).to_have_text("******1202")
    with page.expect_response(lambda r: r.url.endswith("/$reveal-identifier")) as answered:
        row.locator("[data-test=identity-toggle]").click()
    assert answered.value.status == 200
    expect(value).to_have_text(PATIENT.patient_id)
    screenshot(page, "study-browser-id-shown")
    row.locator("[data-test=identity-toggle]").click()
    expect(value).to_have_text("******1202")


def test_another_clinics_clinician_can_neither_find_nor_open_it(
    context: BrowserContext, base: str, ct: Study
):
    page = context.new_page()
    logged_in(page, base, "xugang")
    search(page, "小明")
    expect(page.locator("[data-test=studies]")).to_contain_text("没有找到您可查看的检查")
    page.fill("input[data-test=filter-name]", "")
    page.fill("input[data-test=filter-patient-id]", PATIENT.patient_id)
    with page.expect_response(lambda r: "PatientID=TX20261202" in r.url) as answered:
        page.click("[data-test=search]")
    assert answered.value.status == 204
    expect(page.locator(f"[data-study='{ct.study_uid}']")).to_have_count(0)
    screenshot(page, "study-browser-other-clinic")

    # The viewer's address typed by hand, from the app's window (with 徐刚's login).
    answers: list[Response] = []
    with context.expect_page() as opened:
        page.evaluate(
            "uid => window.open(`/viewer/viewer?StudyInstanceUIDs=${uid}`, 'yilian-viewer')",
            ct.study_uid,
        )
    viewer = opened.value
    viewer.on("response", lambda r: answers.append(r) if "/dicomweb/" in r.url else None)
    message = viewer.locator("#yilian-viewer-message[data-kind=notVisible]")
    expect(message).to_be_visible(timeout=60_000)
    expect(message).to_contain_text("无权查看")
    time.sleep(3)  # what OHIF asks meanwhile is answered with nothing
    viewer.screenshot(path=str(ARTIFACTS / "ohif-viewer-not-visible.png"))
    assert answers, "the viewer asked the server nothing"
    assert all(r.status in (204, 404) for r in answers), [(r.status, r.url) for r in answers]
    assert not any("/frames/" in r.url for r in answers)


def test_the_viewer_without_the_app_asks_for_a_login(context: BrowserContext, base: str, ct: Study):
    viewer = context.new_page()
    asked: list[Response] = []
    viewer.on("response", lambda r: asked.append(r) if "/dicomweb/" in r.url else None)
    viewer.goto(f"{base}/viewer/viewer?StudyInstanceUIDs={ct.study_uid}")
    message = viewer.locator("#yilian-viewer-message[data-kind=noSession]")
    expect(message).to_be_visible(timeout=60_000)
    expect(message).to_contain_text("请先登录医联")
    time.sleep(2)
    assert all(r.status == 401 for r in asked), [(r.status, r.url) for r in asked]
    viewer.screenshot(path=str(ARTIFACTS / "ohif-viewer-no-login.png"))


def test_viewer_assets_are_compressed_and_cached(base: str, ct: Study):
    index = httpx.get(f"{base}/viewer/viewer", headers={"Accept-Encoding": "gzip"})
    assert index.status_code == 200
    assert index.headers["cache-control"] == "no-cache"
    bundle = next(Path(OHIF).parent.glob("app.bundle.*.js")).name
    answer = httpx.get(f"{base}/viewer/{bundle}", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["cache-control"].endswith("immutable")
    assert int(answer.headers["content-length"]) < len(answer.content) / 3
