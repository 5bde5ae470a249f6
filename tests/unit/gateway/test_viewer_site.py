"""The OHIF viewer as the gateway serves it at /viewer/: our app-config.js in place of OHIF's,
its routes answered with its index.html, hashed bundles cached for a year and sent compressed,
framed only by the same origin; and the relocation of a build made for ``/`` to ``/viewer/``."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from gateway.viewer import fetch, site

BUNDLE = b'(()=>{__webpack_require__.p = "/";})();' * 50
APP_BUNDLE = BUNDLE + (
    b"async function loadModule(m){if(m==='dicom-microscopy-viewer'){"
    b"await window.browserImportFunction('/dicom-microscopy-viewer/dicomMicroscopyViewer.min.js')}}"
)
INDEX = (
    '<!doctype html><html><head><link rel="manifest" href="/manifest.json">'
    f"{fetch.INDEX_DROPPED}"
    '<script>window.PUBLIC_URL="/"</script><script src="/app-config.js"></script>'
    '<script defer src="/app.bundle.0f6159c501addfe9.js"></script>'
    '<a href="//elsewhere.example/">x</a></head><body><div id="root"></div></body></html>'
)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "app.bundle.0f6159c501addfe9.js").write_bytes(APP_BUNDLE)
    (tmp_path / "100.bundle.cb02411ce321d4e4.js").write_bytes(BUNDLE)
    (tmp_path / "app.bundle.css").write_text("@font-face{src:url(/a34f9d1faa5f3315.woff2)}")
    (tmp_path / "0ddf166f7a343eda.wasm").write_bytes(b"\0asm" + bytes(2000))
    return tmp_path


def get(dist: Path, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    app = FastAPI()
    app.include_router(site.router(dist))

    async def fetch_() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://yilian") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(fetch_())


def test_the_build_is_relocated_to_viewer(dist: Path):
    fetch.relocate(dist)
    html = (dist / "index.html").read_text()
    assert 'window.PUBLIC_URL="/viewer/"' in html
    assert 'src="/viewer/app-config.js"' in html
    assert 'src="/viewer/app.bundle.0f6159c501addfe9.js"' in html
    assert 'href="/viewer/manifest.json"' in html
    assert 'href="//elsewhere.example/"' in html  # another host's URL is left alone
    assert "init-service-worker" not in html
    for bundle in ("app.bundle.0f6159c501addfe9.js", "100.bundle.cb02411ce321d4e4.js"):
        assert '__webpack_require__.p = "/viewer/";' in (dist / bundle).read_text()
    assert "url(/viewer/a34f9d1faa5f3315.woff2)" in (dist / "app.bundle.css").read_text()
    # The microscopy mode's viewer library, a script of its own beside the chunks.
    microscopy = "browserImportFunction('/viewer/dicom-microscopy-viewer/dicomMicroscopyViewer"
    assert microscopy in (dist / "app.bundle.0f6159c501addfe9.js").read_text()


def test_a_build_whose_microscopy_import_moved_is_refused(dist: Path):
    (dist / "app.bundle.0f6159c501addfe9.js").write_bytes(BUNDLE)
    with pytest.raises(RuntimeError, match="microscopy import"):
        fetch.relocate(dist)


def test_a_build_of_another_shape_is_refused(dist: Path):
    (dist / "app.bundle.0f6159c501addfe9.js").write_text("no public path here")
    (dist / "100.bundle.cb02411ce321d4e4.js").write_text("nor here")
    with pytest.raises(RuntimeError, match="public path"):
        fetch.relocate(dist)


def test_viewer_routes_get_its_page_and_our_configuration(dist: Path):
    for path in ("/viewer/", "/viewer/viewer?StudyInstanceUIDs=1.2.3", "/viewer/segmentation"):
        answer = get(dist, path)
        assert answer.status_code == 200, path
        assert '<div id="root">' in answer.text
        assert answer.headers["cache-control"] == "no-cache"
        assert answer.headers["x-frame-options"] == "SAMEORIGIN"
        assert "frame-ancestors 'self'" in answer.headers["content-security-policy"]
    config = get(dist, "/viewer/app-config.js")
    assert config.headers["content-type"].startswith("text/javascript")
    assert "routerBasename: '/viewer'" in config.text
    assert "staticWado: false" in config.text
    assert "getAuthorizationHeader" in config.text
    assert get(dist, "/viewer").headers["location"] == "/viewer/"


def test_hashed_bundles_are_cached_and_compressed_a_missing_one_is_404(dist: Path):
    fetch.precompress(dist)
    answer = get(dist, "/viewer/100.bundle.cb02411ce321d4e4.js", {"Accept-Encoding": "gzip"})
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.content == BUNDLE
    wasm = get(dist, "/viewer/0ddf166f7a343eda.wasm")
    assert wasm.headers["content-type"] == "application/wasm"
    assert wasm.headers["cache-control"].endswith("immutable")
    assert get(dist, "/viewer/app.bundle.css").headers["cache-control"] == "no-cache"
    assert get(dist, "/viewer/999.bundle.0000000000000000.js").status_code == 404
    assert gzip.decompress((dist / "app.bundle.0f6159c501addfe9.js.gz").read_bytes()) == APP_BUNDLE


def test_without_the_viewer_the_page_says_how_to_install_it(tmp_path: Path):
    answer = get(tmp_path / "missing", "/viewer/viewer")
    assert answer.status_code == 503
    assert "make install" in answer.text
