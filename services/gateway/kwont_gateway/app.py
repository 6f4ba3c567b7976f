"""The FastAPI application: health and readiness for now; resources arrive with their issues."""

from __future__ import annotations

from fastapi import FastAPI

from kwont_common.service import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    """The gateway's ASGI app, bound to the service runtime."""
    app = FastAPI(title="Kwont", version="0.1.0", description="Kwont trading platform API.")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> dict[str, bool]:
        """Readiness: the service's dependencies answer."""
        return {"ready": not runtime.stop.is_set()}

    return app
