"""The web app at ``/app/``: the files ``npm run build`` leaves in ``gateway/webapp/dist``.

Hashed assets (``/app/assets/…``) are cached for a year and sent gzip-compressed when the
browser accepts it (the build writes a ``.gz`` beside each); ``index.html`` is revalidated on
every load, so a new build is picked up at once.  Any other path under ``/app/`` that is not a
file is one of the app's routes and gets ``index.html`` (history fallback).  Without a build,
``/app/`` says so and how to make one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.static_files import IMMUTABLE, REVALIDATE, find_file, send_file

DIST = Path(__file__).resolve().parent / "webapp" / "dist"
PREFIX = "/app"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Element Plus positions popups with inline styles; scripts come only from the app itself.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
}
NOT_BUILT = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>医联 Web 应用未构建 · web app not built</title></head><body><main>
<h1>医联 Web 应用尚未构建 / The Yilian web app is not built</h1>
<p>请在仓库根目录运行 <code>make install</code>（需要 Node.js ≥ 20.19 与 npm）。</p>
<p>Run <code>make install</code> in the repository (it needs Node.js ≥ 20.19 and npm): it runs
<code>npm ci</code> and <code>npm run build</code> in <code>gateway/webapp</code>.</p>
</main></body></html>"""


def router(dist: Path = DIST) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    root = dist.resolve()

    @api.api_route(PREFIX, methods=["GET", "HEAD"])
    async def app_root() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    @api.api_route(PREFIX + "/{path:path}", methods=["GET", "HEAD"])
    async def app_file(path: str, request: Request) -> Response:
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
        found = find_file(root, path)
        if found is None:
            if path.startswith("assets/"):
                return Response("not found", status_code=404, media_type="text/plain")
            found = index
        return _send(found, request)

    return api


def _send(path: Path, request: Request) -> Response:
    hashed = path.parent.name == "assets"
    cache = IMMUTABLE if hashed else REVALIDATE
    return send_file(path, request, {**HEADERS, "Cache-Control": cache})
