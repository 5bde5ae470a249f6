"""Static sites the gateway serves (the web app, the OHIF viewer): a file under a root, never
outside it, sent gzip-compressed when a ``.gz`` lies beside it and the browser accepts gzip."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_TYPES = {".wasm": "application/wasm", ".jsonc": "application/json", ".mjs": "text/javascript"}


def find_file(root: Path, path: str) -> Path | None:
    """The file under ``root`` that ``path`` names (never outside it)."""
    if not path:
        return None
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def send_file(path: Path, request: Request, headers: dict[str, str]) -> FileResponse:
    media_type = (
        _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    compressed = path.with_name(path.name + ".gz")
    if compressed.is_file():
        headers = {**headers, "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return FileResponse(compressed, headers=headers, media_type=media_type)
    return FileResponse(path, headers=headers, media_type=media_type)
