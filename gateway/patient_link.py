"""The patient's page (云胶片): ``/p/{token}`` — the signed report on a phone-sized page with its
key images, the PDF at ``/p/{token}/report.pdf`` and each image at ``/p/{token}/images/{n}``,
opened without an account.  The token alone decides (``storage.clinical.patient_links``): an
expired or revoked link answers 410 with a page that says so; every opening is audited; no
page is cached, indexed or sent on as a referrer.  Links are given by ``$share``.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.dicomweb.render import RenderParams, render
from gateway.errors import Conflict, Forbidden, NotFound
from gateway.fhir import interactions
from gateway.transactions import run_in_transaction
from gateway.workflow import reading, report_sheet
from gateway.workflow.reading_report import task_answered
from storage.audit import audit
from storage.clinical import patient_links
from storage.clinical.recognition_marks import RELEASED
from storage.dicom import find_instances, find_series, read_full
from storage.fhir import store as fhir_store
from storage.models import PatientLink
from storage.platform import Platform
from storage.policy import StudyAccess

T = TypeVar("T")
PATH = "/p"
KEY_IMAGES = 6
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex, nofollow", "X-Content-Type-Options": "nosniff"}  # fmt: skip
GONE = {"expired": "此链接已过期", "revoked": "此链接已被撤销", "unknown": "链接无效"}


def shareable(session: Session, requester: Requester, report_id: str) -> dict[str, Any]:
    """A signed report the requester may give the patient: one it sees, of its own
    organization or answering an order it placed."""
    stored = fhir_store.read(session, "DiagnosticReport", report_id)
    if stored is None or stored.deleted or not interactions.sees(session, requester, stored):
        raise NotFound(f"DiagnosticReport/{report_id} is not known")
    content = stored.content or {}
    if content.get("status") not in RELEASED:
        raise Conflict("only a signed report (final, amended, corrected) is given to a patient")
    orders = [str(b.get("reference", "")) for b in content.get("basedOn", [])]
    placed = any(
        (o := fhir_store.read(session, "ServiceRequest", ref.split("/", 1)[1])) is not None
        and o.owner_org_id == requester.org_id
        for ref in orders if ref.startswith("ServiceRequest/")
    )  # fmt: skip
    if stored.owner_org_id != requester.org_id and not placed:
        raise Forbidden("the ordering organization or the reading centre gives the link")
    return content


def router(platform: Platform) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    def opening(token: str, what: str, answer: Callable[[Session, PatientLink, dict], T]) -> T:
        """``answer`` for an open link; the opening is audited whatever comes of it (an
        expired or revoked link too, committed before the 410)."""

        def work(session: Session) -> T | _Gone:
            link, state = patient_links.opened(session, token)
            if link is not None:
                audit(session, channel="patient-link", actor=f"link:{link.id}",
                      actor_org_id=link.org_id, action=what,
                      outcome="success" if state == "open" else state,
                      resource_type="DiagnosticReport", id=link.report_id)  # fmt: skip
            report = fhir_store.read(session, "DiagnosticReport", link.report_id) if link else None
            if link is None or state != "open" or report is None or report.deleted:
                return _Gone(GONE.get(state, GONE["unknown"]), 404 if link is None else 410)
            return answer(session, link, report.content or {})

        result = run_in_transaction(platform, work)
        if isinstance(result, _Gone):
            raise result
        return result

    @api.get(PATH + "/{token}", response_class=HTMLResponse)
    def page(token: str) -> Response:
        try:
            body = opening(token, "open", lambda s, link, r: _page(s, token, link, r))
        except _Gone as gone:
            return HTMLResponse(_shell("链接失效", f"<p>{gone}</p>"), gone.status, headers=HEADERS)
        return HTMLResponse(body, headers=HEADERS)

    @api.get(PATH + "/{token}/report.pdf")
    def pdf(token: str) -> Response:
        try:
            report = opening(token, "pdf", lambda s, link, r: r)
        except _Gone as gone:
            return Response(str(gone), gone.status, headers=HEADERS, media_type="text/plain")
        forms = [f for f in report.get("presentedForm", []) if f.get("data")]
        if not forms:
            raise NotFound("this report has no PDF")
        return Response(base64.b64decode(forms[0]["data"]), media_type="application/pdf",
                        headers=HEADERS)  # fmt: skip

    @api.get(PATH + "/{token}/images/{number}")
    def image(token: str, number: int) -> Response:
        def rendered(session: Session, link: PatientLink, report: dict[str, Any]) -> bytes:
            refs = _key_images(session, report, link.org_id)
            if not 0 <= number < len(refs):
                raise NotFound("no such image")
            return render(read_full(platform.blobs, refs[number]), 0,
                          RenderParams(viewport=(1024, 1024), quality=85))  # fmt: skip

        try:
            body = opening(token, "image", rendered)
        except _Gone as gone:
            return Response(str(gone), gone.status, headers=HEADERS, media_type="text/plain")
        return Response(body, media_type="image/jpeg", headers=HEADERS)

    return api


class _Gone(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _key_images(session: Session, report: dict[str, Any], org_id: str) -> list[Any]:
    """The middle image of each series of the report's studies (at most :data:`KEY_IMAGES`)."""
    chosen = []
    for reference in report.get("imagingStudy", []):
        study_uid = str(reference.get("reference", "")).removeprefix("ImagingStudy/")
        study = fhir_store.read(session, "ImagingStudy", study_uid)
        own = StudyAccess(frozenset({study.owner_org_id or org_id} if study else {org_id}))
        for series in find_series(session, own, study_uid):
            refs = find_instances(session, own, study_uid, series.series_uid)
            if refs:
                chosen.append(refs[len(refs) // 2])
    return chosen[:KEY_IMAGES]


def _page(session: Session, token: str, link: PatientLink, report: dict[str, Any]) -> str:
    task_id = task_answered(session, report)
    if task_id is None:
        raise NotFound("this report is not a report of a reading")
    sheet = report_sheet.sheet_of(session, reading.load(session, task_id), report)
    e = html.escape
    facts = [("姓名", sheet.patient), ("性别", sheet.sex), ("年龄", sheet.age),
             ("检查项目", sheet.exam), ("检查时间", sheet.examined), ("申请机构", sheet.ordering),
             ("报告医师", f"{sheet.author} {sheet.authored}"),
             ("审核医师", f"{sheet.verifier} {sheet.verified}")]  # fmt: skip
    rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts if v.strip())
    base = f"{PATH}/{token}"
    count = len(_key_images(session, report, link.org_id))
    images = "".join(f'<img src="{base}/images/{n}" alt="关键图像 {n + 1}">' for n in range(count))
    said = "".join(f"<h3>{e(heading)}</h3><p>{e(text)}</p>" for heading, text in sheet.sections)
    body = (
        f"<h1>{e(sheet.hospital)}</h1><h2>{e(sheet.centre)} {e(sheet.title)}</h2><dl>{rows}</dl>"
        f"{said}"
        f'<section>{images}</section><p><a href="{base}/report.pdf">下载PDF报告</a></p>'
    )
    return _shell(f"{sheet.hospital}{sheet.title}", body)


def _shell(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main><footer>医联 · 检查结果互认</footer></body></html>"
    )


CSS = (
    "body{margin:0;font:16px/1.6 system-ui,'PingFang SC','Noto Sans SC',sans-serif;color:#222}"
    "main{max-width:640px;margin:auto;padding:16px}h1{font-size:20px;margin:0}"
    "h2{font-size:17px;margin:4px 0 12px;color:#444}h3{font-size:16px;margin:16px 0 4px}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;margin:0}dt{color:#666}"
    "dd{margin:0}img{width:100%;margin:8px 0;background:#000}.gone{font-size:18px}"
    "footer{text-align:center;color:#888;font-size:12px;padding:16px}"
)
