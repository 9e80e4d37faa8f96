"""The model registry as marketing and admins see it: every version per kind, with its status,
metrics, training-data window and dates (the artifact's folder stays on the server)."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from api import API_PREFIX
from api.auth import SECURITY, require
from api.errors import problem_responses
from api.extensions import db_session
from api.schemas.marketing import ModelKind, ModelList, ModelsQuery, ModelVersionOut
from loyalty import registry

bp = APIBlueprint("models", __name__, url_prefix=API_PREFIX,
                  abp_tags=[Tag(name="models", description="Trained model versions")])


@bp.get("/models", security=SECURITY, summary="Model versions per kind",
        description="Kinds by name; within a kind, the newest version first.",
        responses={200: ModelList, **problem_responses(401, 403, 422)})
@require("marketing", "admin")
def list_all(query: ModelsQuery):
    by_kind: dict[str, list[ModelVersionOut]] = {}
    for row in registry.versions(db_session(), query.kind):
        by_kind.setdefault(row.kind, []).append(ModelVersionOut(
            id=row.id, kind=row.kind, version=row.version, status=row.status,
            metrics=row.metrics or {}, data_start=row.data_start, data_end=row.data_end,
            seed=row.seed, notes=row.notes, created_at=row.created_at,
            promoted_at=row.promoted_at))
    items = [ModelKind(kind=kind, versions=versions,
                       production=next((v.version for v in versions
                                        if v.status == "production"), None))
             for kind, versions in sorted(by_kind.items())]
    return ModelList(items=items).model_dump(mode="json")
