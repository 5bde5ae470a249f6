"""The OHIF viewer at ``/viewer/``: the ``dist/`` of ``@ohif/app`` that ``make install``
fetched (:mod:`gateway.viewer.fetch`) with our ``app-config.js`` in place of OHIF's own.

OHIF's routes (``/viewer/viewer?StudyInstanceUIDs=…``, the study list at ``/viewer/``) get its
``index.html``; a missing script, style or image is a 404, never the page.  Hashed bundles are
cached for a year; ``index.html``, ``app-config.js`` and the unhashed styles are revalidated.
The viewer may be framed by the web app (same origin) and by nothing else.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.static_files import IMMUTABLE, REVALIDATE, find_file, send_file
from gateway.viewer.fetch import DIST

PREFIX = "/viewer"
CONFIG = Path(__file__).parent / "app-config.js"
HASHED = re.compile(r"(\.[0-9a-f]{16}\.(js|wasm)|^[0-9a-f]{16}\.(wasm|woff2))$")
ASSET = re.compile(r"\.(js|mjs|css|wasm|map|png|svg|ico|woff2?|json|jsonc|xml|txt)$")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "frame-ancestors 'self'; base-uri 'self'; object-src 'none'",
}
NOT_INSTALLED = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>影像浏览器未安装 · viewer not installed</title></head><body><main>
<h1>OHIF 影像浏览器尚未安装 / The OHIF viewer is not installed</h1>
<p>请在仓库根目录运行 <code>make install</code>（它从 npm 获取 @ohif/app）。</p>
<p>Run <code>make install</code> in the repository: it fetches <code>@ohif/app</code> from
the npm registry into <code>gateway/viewer/ohif</code>.</p>
</main></body></html>"""


def router(dist: Path = DIST) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    root = dist.resolve()

    @api.api_route(PREFIX, methods=["GET", "HEAD"])
    async def viewer_root() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    @api.api_route(PREFIX + "/app-config.js", methods=["GET", "HEAD"])
    async def app_config(request: Request) -> Response:
        return send_file(CONFIG, request, {**HEADERS, "Cache-Control": REVALIDATE})

    @api.api_route(PREFIX + "/{path:path}", methods=["GET", "HEAD"])
    async def viewer_file(path: str, request: Request) -> Response:
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(
                NOT_INSTALLED, status_code=503, headers={"Cache-Control": "no-store"}
            )
        found = find_file(root, path)
        if found is None:
            if ASSET.search(path):
                return Response("not found", status_code=404, media_type="text/plain")
            found = index
        cache = IMMUTABLE if HASHED.search(found.name) else REVALIDATE
        return send_file(found, request, {**HEADERS, "Cache-Control": cache})

    return api
