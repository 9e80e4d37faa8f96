"""Headers every answer carries: answers name guests, with their emails and phone numbers, so no
cache (browser or proxy) may keep one, and no browser may read a JSON body as something else."""

from __future__ import annotations

from flask import Flask, Response


def protect(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def register(app: Flask) -> None:
    app.after_request(protect)
