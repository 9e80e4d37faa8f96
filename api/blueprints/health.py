"""Liveness and readiness: for load balancers and the container's health check."""

from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from api.auth import public
from api.errors import problem, problem_responses
from api.extensions import database, models

bp = APIBlueprint("health", __name__, abp_tags=[Tag(name="health")])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: str
    sentiment_model: str | None = None


@bp.get("/healthz", responses={200: Health}, summary="The process is up")
@public
def healthz():
    return {"status": "ok"}


@bp.get("/readyz", responses={200: Ready, **problem_responses(503)},
        summary="The database answers and the models are loaded")
@public
def readyz():
    try:
        database().ping()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        current_app.logger.warning("readyz: database: %s", exc)
        return problem(503, "Service unavailable", "the database cannot be reached")
    loaded = models()
    try:
        loaded.sentiment()
    except Exception as exc:  # noqa: BLE001
        return problem(503, "Service unavailable", f"models not loaded: {exc}")
    return {"status": "ready", "database": "ok", "sentiment_model": loaded.sentiment_version}
