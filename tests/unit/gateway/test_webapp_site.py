"""The web app's files as the gateway serves them at /app/: hashed assets cached for a year
and sent gzip-compressed, index.html revalidated, app routes answered with index.html, and a
clear word when the app was never built."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from gateway import webapp_site

SCRIPT = b"console.log('yilian');" * 100


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><div id="app"></div>')
    (tmp_path / "assets" / "index-AbC123.js").write_bytes(SCRIPT)
    (tmp_path / "assets" / "index-AbC123.js.gz").write_bytes(gzip.compress(SCRIPT))
    return tmp_path


def get(dist: Path, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    app = FastAPI()
    app.include_router(webapp_site.router(dist))

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://yilian") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(fetch())


def test_a_hashed_asset_is_cached_for_a_year_and_sent_compressed(dist: Path):
    answer = get(dist, "/app/assets/index-AbC123.js", {"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.content == SCRIPT  # decoded by the client
    plain = get(dist, "/app/assets/index-AbC123.js", {"Accept-Encoding": "br"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"


def test_index_is_revalidated_and_app_routes_fall_back_to_it(dist: Path):
    for path in ("/app/", "/app/lab", "/app/studies/1.2.3?x=1"):
        answer = get(dist, path)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-cache"
        assert '<div id="app">' in answer.text
    assert get(dist, "/app").headers["location"] == "/app/"


def test_a_missing_asset_is_404_and_nothing_outside_dist_is_served(dist: Path):
    assert get(dist, "/app/assets/gone-123.js").status_code == 404
    (dist.parent / "secret.txt").write_text("secret")
    outside = get(dist, "/app/%2E%2E/secret.txt")
    assert "secret" not in outside.text


def test_without_a_build_the_app_says_how_to_make_one(tmp_path: Path):
    answer = get(tmp_path / "dist", "/app/")
    assert answer.status_code == 503
    assert "make install" in answer.text
    assert "未构建" in answer.text
