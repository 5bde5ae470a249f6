"""The web app at ``/app/``: the files ``npm run build`` leaves in ``gateway/webapp/dist``.

Hashed assets (``/app/assets/…``) are cached for a year and sent gzip-compressed when the
browser accepts it (the build writes a ``.gz`` beside each); ``index.html`` is revalidated on
every load, so a new build is picked up at once.  Any other path under ``/app/`` that is not a
file is one of the app's routes and gets ``index.html`` (history fallback).  Without a build,
``/app/`` says so and how to make one.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

DIST = Path(__file__).resolve().parent / "webapp" / "dist"
PREFIX = "/app"
IMMUTABLE = "public, max-age=31536000, immutable"
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
        found = _file(root, path)
        if found is None:
            if path.startswith("assets/"):
                return Response("not found", status_code=404, media_type="text/plain")
            found = index
        return _send(found, request)

    return api


def _file(root: Path, path: str) -> Path | None:
    """The file under ``root`` that ``path`` names (never outside it)."""
    if not path:
        return None
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _send(path: Path, request: Request) -> Response:
    hashed = path.parent.name == "assets"
    headers = {**HEADERS, "Cache-Control": IMMUTABLE if hashed else "no-cache"}
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    compressed = path.with_name(path.name + ".gz")
    if compressed.is_file():
        headers["Vary"] = "Accept-Encoding"
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return FileResponse(compressed, headers=headers, media_type=media_type)
    return FileResponse(path, headers=headers, media_type=media_type)
