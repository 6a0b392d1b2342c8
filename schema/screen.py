"""The big-screen page, `/screen?node=<code>`: one self-contained HTML file (its script, styles
and charts inline, nothing from a CDN: these screens sit on government intranets)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from models.config import ROOT

SCREEN_PAGE = ROOT / "static" / "screen" / "index.html"


async def screen(_: Request) -> Response:
    return FileResponse(
        SCREEN_PAGE,
        media_type="text/html; charset=utf-8",
        headers={
            "Cache-Control": "no-cache",
            # the page talks to this server only, and runs its own inline script alone
            "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline';"
            " style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
            "Referrer-Policy": "no-referrer",
        },
    )


def screen_routes() -> list[BaseRoute]:
    return [Route("/screen", screen, methods=["GET"])]
