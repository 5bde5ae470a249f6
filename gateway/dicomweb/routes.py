"""The DICOMweb endpoints (mounted at ``/dicomweb``).  Each handler checks the token's scope,
runs its lookups in a read-only session, prepares its answer while the audit log commits the
access record, and sends it once the record is committed."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.auth.routes import Auth, public_base
from gateway.auth.tokens import Requester
from gateway.dicomweb import openapi, qido, render, stow, wado
from gateway.dicomweb.access import answered, audited, require
from gateway.dicomweb.batches import in_batches
from gateway.dicomweb.media import DICOM_JSON, parse_accept, warning
from gateway.errors import NotAcceptable, NotFound
from gateway.routing import PrefixRouter
from storage.dicom import (
    InstanceRef,
    Level,
    Sender,
    find_instances,
    find_series,
    instance_document,
    series_metadata,
    serve,
)
from storage.platform import Platform
from storage.policy import StudyAccess

log = logging.getLogger("yilian.dicomweb")
PREFIX = "/dicomweb"
JSON_TYPES = (DICOM_JSON, "application/json")
IMAGE_TYPES = (render.JPEG, render.PNG)
R = TypeVar("R")


class Lookup(Protocol):
    """Finds the instances of a request; see ``lookup`` in :func:`router`."""

    def __call__(self, answer: Callable[[list[InstanceRef]], R]) -> R: ...


def _json_type(request: Request) -> str:
    for media in parse_accept(request.headers.get("accept")):
        for candidate in JSON_TYPES:
            if media.matches(candidate):
                return DICOM_JSON if media.media_type in ("*/*", "application/*") else candidate
    raise NotAcceptable(f"this resource is offered as {DICOM_JSON}")


def _image_type(request: Request) -> str:
    for media in parse_accept(request.headers.get("accept")):
        for candidate in IMAGE_TYPES:
            if media.matches(candidate):
                return candidate
    raise NotAcceptable("rendered images are offered as image/jpeg or image/png")


def router(platform: Platform) -> APIRouter:
    api = PrefixRouter(prefix=PREFIX, tags=["DICOMweb"])
    blobs = platform.blobs

    def base(request: Request) -> str:
        return public_base(request, platform) + PREFIX

    def lookup(
        requester: Requester,
        action: str,
        study: str,
        series: str | None = None,
        instance: str | None = None,
        frames: list[int] | None = None,
    ) -> Lookup:
        """``run(answer)``: the instances found, ``answer(instances)`` prepared while their
        access record is committed, returned once it is (404 when nothing visible is found).
        ``frames``: only the ranges of these frames are read (``find_instances``)."""

        def work(
            session: Session, access: StudyAccess
        ) -> tuple[list[InstanceRef], str, dict[str, Any]]:
            refs = find_instances(session, access, study, series, instance, frames)
            outcome = "success" if refs else "not_found"
            return refs, outcome, {"study_uid": study, "instances": len(refs)}

        def run(answer: Callable[[list[InstanceRef]], R]) -> R:
            refs, pending = audited(platform, requester, action, work, study)
            try:
                if not refs:
                    raise NotFound("no such study, series or instance")
                return answer(refs)
            finally:
                pending.wait()

        return run

    # --- QIDO-RS ---------------------------------------------------------------------------

    async def search(
        request: Request, requester: Requester, level: Level, path_keys: dict[str, str]
    ) -> Response:
        require(requester, "s")
        media_type = _json_type(request)
        query = qido.Query(level, request.query_params, path_keys)
        root = base(request)

        def work(
            session: Session, access: StudyAccess
        ) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
            found = qido.search(session, query, access, root, requester.org_id)
            return found, "success", {"level": level.value, "matches": len(found), **path_keys}

        found = await run_in_threadpool(answered, platform, requester, "QIDO-RS", work)
        headers = {"Warning": warning(query.warnings[:1])} if query.warnings else {}
        if not found:
            return Response(status_code=204, headers=headers)
        body = json.dumps(found, ensure_ascii=False, separators=(",", ":"))
        return Response(body, media_type=media_type, headers=headers)

    @api.get("/studies", openapi_extra=openapi.QIDO)
    async def search_studies(request: Request, requester: Auth) -> Response:
        return await search(request, requester, Level.STUDY, {})

    @api.get("/series", openapi_extra=openapi.QIDO)
    async def search_all_series(request: Request, requester: Auth) -> Response:
        return await search(request, requester, Level.SERIES, {})

    @api.get("/instances", openapi_extra=openapi.QIDO)
    async def search_all_instances(request: Request, requester: Auth) -> Response:
        return await search(request, requester, Level.IMAGE, {})

    @api.get("/studies/{study}/series", openapi_extra=openapi.QIDO)
    async def search_series(request: Request, requester: Auth, study: str) -> Response:
        return await search(request, requester, Level.SERIES, {"StudyInstanceUID": study})

    @api.get("/studies/{study}/instances", openapi_extra=openapi.QIDO)
    async def search_study_instances(request: Request, requester: Auth, study: str) -> Response:
        return await search(request, requester, Level.IMAGE, {"StudyInstanceUID": study})

    @api.get("/studies/{study}/series/{series}/instances", openapi_extra=openapi.QIDO)
    async def search_instances(
        request: Request, requester: Auth, study: str, series: str
    ) -> Response:
        keys = {"StudyInstanceUID": study, "SeriesInstanceUID": series}
        return await search(request, requester, Level.IMAGE, keys)

    # --- WADO-RS: instances ------------------------------------------------------------------

    async def retrieve(
        request: Request, requester: Requester, study: str, series: str | None, instance: str | None
    ) -> Response:
        require(requester, "r")
        syntax = wado.instance_syntax(parse_accept(request.headers.get("accept")))
        spool = platform.settings.data_dir / "wado-converted"
        run = lookup(requester, "WADO-RS", study, series, instance)
        parts = await run_in_threadpool(
            run, lambda refs: wado.instance_parts(blobs, refs, syntax, spool)
        )
        if not parts.left_out:
            return StreamingResponse(in_batches(parts.body), media_type=parts.content_type)
        # PS3.18: 206 when only some of the target instances are returned, and why in Warning.
        return StreamingResponse(
            in_batches(parts.body),
            status_code=206,
            media_type=parts.content_type,
            headers={"Warning": warning(parts.left_out)},
        )

    @api.get("/studies/{study}")
    async def retrieve_study(request: Request, requester: Auth, study: str) -> Response:
        return await retrieve(request, requester, study, None, None)

    @api.get("/studies/{study}/series/{series}")
    async def retrieve_series(
        request: Request, requester: Auth, study: str, series: str
    ) -> Response:
        return await retrieve(request, requester, study, series, None)

    @api.get("/studies/{study}/series/{series}/instances/{instance}")
    async def retrieve_instance(
        request: Request, requester: Auth, study: str, series: str, instance: str
    ) -> Response:
        return await retrieve(request, requester, study, series, instance)

    # --- WADO-RS: metadata -------------------------------------------------------------------

    async def metadata(
        request: Request, requester: Requester, study: str, series: str | None
    ) -> Response:
        require(requester, "r")
        media_type = _json_type(request)

        def work(session: Session, access: StudyAccess) -> tuple[list[bytes], str, dict[str, Any]]:
            documents = [
                series_metadata(
                    blobs,
                    ref,
                    lambda ref=ref: find_instances(session, access, study, ref.series_uid),
                )
                for ref in find_series(session, access, study, series)
            ]
            outcome = "success" if documents else "not_found"
            return documents, outcome, {"study_uid": study, "series": len(documents)}

        documents = await run_in_threadpool(
            answered, platform, requester, "WADO-RS metadata", work, study
        )
        if not documents:
            raise NotFound("no such study or series")
        inner = b",".join(d[1:-1] for d in documents if len(d) > 2)
        return Response(serve(b"[" + inner + b"]", base(request)), media_type=media_type)

    @api.get("/studies/{study}/metadata")
    async def study_metadata(request: Request, requester: Auth, study: str) -> Response:
        return await metadata(request, requester, study, None)

    @api.get("/studies/{study}/series/{series}/metadata")
    async def series_metadata_route(
        request: Request, requester: Auth, study: str, series: str
    ) -> Response:
        return await metadata(request, requester, study, series)

    @api.get("/studies/{study}/series/{series}/instances/{instance}/metadata")
    async def instance_metadata_route(
        request: Request, requester: Auth, study: str, series: str, instance: str
    ) -> Response:
        require(requester, "r")
        media_type = _json_type(request)
        run = lookup(requester, "WADO-RS metadata", study, series, instance)

        def document(refs: list[InstanceRef]) -> bytes:
            body = json.dumps(
                [instance_document(blobs, refs[0])], ensure_ascii=False, allow_nan=False
            )
            return body.encode()

        body = await run_in_threadpool(run, document)
        return Response(serve(body, base(request)), media_type=media_type)

    # --- WADO-RS: frames and bulk data ---------------------------------------------------------

    @api.get("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}")
    async def retrieve_frames(
        request: Request, requester: Auth, study: str, series: str, instance: str, frames: str
    ) -> Response:
        require(requester, "r")
        numbers = wado.parse_frame_numbers(frames)
        wanted = wado.frame_requests(parse_accept(request.headers.get("accept")))
        run = lookup(requester, "WADO-RS frames", study, series, instance, numbers)
        content_type, body = await run_in_threadpool(
            run, lambda refs: wado.frame_body(blobs, refs[0], numbers, wanted)
        )
        return Response(body, media_type=content_type)

    @api.get("/studies/{study}/series/{series}/instances/{instance}/bulk/{path}")
    async def retrieve_bulk(
        request: Request, requester: Auth, study: str, series: str, instance: str, path: str
    ) -> Response:
        require(requester, "r")
        run = lookup(requester, "WADO-RS bulkdata", study, series, instance)
        content_type, body = await run_in_threadpool(
            run, lambda refs: wado.bulk_body(blobs, refs[0], path)
        )
        return Response(body, media_type=content_type)

    # --- WADO-RS: rendered and thumbnails --------------------------------------------------------

    async def rendered(
        request: Request,
        requester: Requester,
        run: Lookup,
        frame: int | None,
        thumbnail: bool,
    ) -> Response:
        require(requester, "r")
        params = render.parse_params(dict(request.query_params), _image_type(request), thumbnail)

        def image(found: list[InstanceRef]) -> bytes:
            # The images, when the index can tell (no frame ranges: deflated or broken pixel
            # data, which render() then reads and refuses or renders itself).
            refs = [r for r in found if r.frames is not None or r.number_of_frames] or found
            ref = refs[len(refs) // 2]  # the middle image represents a series
            index = (frame or 1) - 1 if frame is not None else (ref.number_of_frames or 1) // 2
            return render.render_stored(blobs, ref, index, params)

        body = await run_in_threadpool(run, image)
        return Response(body, media_type=params.media_type)

    @api.get("/studies/{study}/thumbnail", openapi_extra=openapi.RENDERED)
    async def study_thumbnail(request: Request, requester: Auth, study: str) -> Response:
        run = lookup(requester, "WADO-RS thumbnail", study)
        return await rendered(request, requester, run, None, True)

    @api.get("/studies/{study}/series/{series}/thumbnail", openapi_extra=openapi.RENDERED)
    async def series_thumbnail(
        request: Request, requester: Auth, study: str, series: str
    ) -> Response:
        run = lookup(requester, "WADO-RS thumbnail", study, series)
        return await rendered(request, requester, run, None, True)

    @api.get(
        "/studies/{study}/series/{series}/instances/{instance}/{kind}",
        openapi_extra=openapi.RENDERED,
    )
    async def instance_rendered(
        request: Request, requester: Auth, study: str, series: str, instance: str, kind: str
    ) -> Response:
        if kind not in ("rendered", "thumbnail"):
            raise NotFound("no such resource")
        run = lookup(requester, f"WADO-RS {kind}", study, series, instance)
        return await rendered(request, requester, run, None, kind == "thumbnail")

    @api.get(
        "/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/{kind}",
        openapi_extra=openapi.RENDERED,
    )
    async def frame_rendered(
        request: Request,
        requester: Auth,
        study: str,
        series: str,
        instance: str,
        frames: str,
        kind: str,
    ) -> Response:
        if kind not in ("rendered", "thumbnail"):
            raise NotFound("no such resource")
        number = wado.parse_frame_numbers(frames)[0]
        run = lookup(requester, f"WADO-RS {kind}", study, series, instance)
        return await rendered(request, requester, run, number, kind == "thumbnail")

    # --- STOW-RS -------------------------------------------------------------------------------

    async def store(request: Request, requester: Requester, study: str | None) -> Response:
        require(requester, "c")
        sender = Sender(
            requester.org_id, requester.subject[:16], "dicomweb", "STOW-RS", requester.subject
        )
        with stow.temporary_directory(platform) as directory:
            upload = await stow.receive(request, Path(directory))
            outcomes = [
                await run_in_threadpool(stow.ingest_part, platform, part, sender, study)
                for part in upload.parts
            ]
        for outcome in outcomes:
            if outcome.failure is not None:
                log.warning("STOW-RS part refused", extra={"reason": outcome.reason})
        status, document, headers = stow.response(outcomes, base(request), study)
        return Response(
            json.dumps(document, ensure_ascii=False),
            status_code=status,
            media_type=DICOM_JSON,
            headers=headers,
        )

    @api.post("/studies", openapi_extra=openapi.STOW)
    async def store_instances(request: Request, requester: Auth) -> Response:
        return await store(request, requester, None)

    @api.post("/studies/{study}", openapi_extra=openapi.STOW)
    async def store_study_instances(request: Request, requester: Auth, study: str) -> Response:
        return await store(request, requester, study)

    return api
