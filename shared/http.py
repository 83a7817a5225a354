"""Small HTTP helpers shared by the services' Starlette routes."""

from __future__ import annotations

from starlette.responses import JSONResponse


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
