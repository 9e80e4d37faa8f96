"""Prometheus exposition for the monitoring system (an admin key, as a bearer token)."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from api.auth import SECURITY, require
from api.errors import problem_responses
from api.extensions import database
from api.metrics import exposition

bp = APIBlueprint("metrics", __name__, abp_tags=[Tag(name="operations")])


@bp.get("/metrics", security=SECURITY, summary="Prometheus metrics",
        responses={"200": {"description": "Prometheus text exposition",
                           "content": {"text/plain": {"schema": {"type": "string"}}}},
                   **problem_responses(401, 403)})
@require("admin")
def metrics():
    return exposition(database().engine, database().settings)
