"""The web dashboard's built files at ``/``, with the single-page app's fallback: any other
GET path outside the API answers ``index.html`` so client routes (``/backtests/bt_1``)
survive a reload. Built by ``scripts/build-web.sh`` into ``web/dist`` (``make up`` does);
``KWONT_WEB_DIST`` points elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import FileResponse, HTMLResponse, Response

DEFAULT_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"
RESERVED = ("api", "graphql", "ws", "docs", "redoc", "openapi.json", "metrics", "healthz", "readyz")
"""First path segments that belong to the gateway: never answered with the app."""
PATHS = {"/", "/{path:webpath}"}
"""Routes added here; they answer without credentials (the app signs in through the API)."""

NOT_BUILT = """<!doctype html><title>Kwont</title>
<h1>The web dashboard is not built</h1>
<p>Build it with <code>make up</code> (or <code>scripts/build-web.sh</code>), then reload.
The API is at <a href="/docs">/docs</a>.</p>
<p>Looked for <code>{index}</code>.</p>"""


class WebPath(Convertor[str]):
    """A path outside ``RESERVED``: the gateway's own paths never match the app's routes, so
    their 404 and 405 answers stay the API's."""

    regex = "(?!(?:" + "|".join(r.replace(".", r"\.") for r in RESERVED) + ")(?:/|$)).*"

    def convert(self, value: str) -> str:
        """The path as matched."""
        return value

    def to_string(self, value: str) -> str:
        """The path as given."""
        return value


register_url_convertor("webpath", WebPath())


def dist_dir() -> Path:
    """Where the built dashboard is: $KWONT_WEB_DIST, else web/dist of the checkout."""
    return Path(os.environ.get("KWONT_WEB_DIST") or DEFAULT_DIST)


def _answer(dist: Path, path: str) -> Response:
    index = dist / "index.html"
    if not index.is_file():  # looked up per request: building after the start just works
        return HTMLResponse(NOT_BUILT.format(index=index))
    if path:
        file = (dist / path).resolve()
        if file.is_relative_to(dist.resolve()) and file.is_file():
            # Vite names assets by content hash, so they never change under one name.
            immutable = path.startswith("assets/")
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(file, headers={"Cache-Control": cache})
    return FileResponse(index, headers={"Cache-Control": "no-cache"})


def serve_web(app: FastAPI, dist: Path | None = None) -> None:
    """Add the dashboard's routes; call after every other route so they match first."""
    root = dist or dist_dir()

    @app.get("/", include_in_schema=False)
    async def web_index() -> Response:
        return _answer(root, "")

    @app.get("/{path:webpath}", include_in_schema=False)
    async def web_files(path: str) -> Response:
        return _answer(root, path)
