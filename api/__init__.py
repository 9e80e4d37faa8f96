"""The HTTP API: `create_app(config)` builds a Flask app with one blueprint per area.

Paths are versioned under ``/api/v1``; the OpenAPI 3.1 document generated from the same
pydantic schemas the views validate with is at ``/api/v1/openapi.json`` and a local Swagger UI
at ``/api/v1/swagger`` (its assets ship with the package: no CDN).
"""

from __future__ import annotations

from flask_openapi3 import Info, OpenAPI

from api import errors, headers, logs, metrics
from api.auth import SECURITY_SCHEMES, authenticate
from api.config import Config
from api.converters import CONVERTERS
from api.extensions import Database, Models, RuleBooks, close_session

API_PREFIX = "/api/v1"
# One module per area, each with a `bp` (an APIBlueprint); add a new area here.
BLUEPRINTS = (
    "health",
    "metrics",
    "customers",
    "offers",
    "staff",
    "segments",
    "rules",
    "models",
    "reviews",
    "jobs",
)


def blueprint_modules() -> list:
    import importlib

    return [importlib.import_module(f"api.blueprints.{name}") for name in BLUEPRINTS]


def create_app(config: Config | None = None) -> OpenAPI:
    config = config or Config.from_env()
    app = OpenAPI(
        __name__,
        info=Info(title="Loyalty program designer", version="1.0.0",
                  description="Offers, explained segments, reviews and models of a "
                              "restaurant loyalty programme."),
        security_schemes=SECURITY_SCHEMES,
        doc_prefix=API_PREFIX, doc_url="/openapi.json",
        validation_error_status=422, validation_error_model=errors.Problem,
        validation_error_callback=errors.validation_problem,
    )
    app.url_map.converters.update(CONVERTERS)
    app.config.update(MAX_CONTENT_LENGTH=config.max_content_length, TESTING=config.testing,
                      JSON_SORT_KEYS=False)
    app.extensions["loyalty.config"] = config
    database = Database(config.settings)
    app.extensions["loyalty.db"] = database
    app.extensions["loyalty.models"] = Models(database)
    app.extensions["loyalty.rules"] = RuleBooks(database, config.rules_refresh_seconds)
    app.teardown_appcontext(close_session)
    app.before_request(authenticate)  # first: callers without the right key learn nothing
    logs.register(app)
    errors.register(app)
    headers.register(app)
    metrics.instrument(app)

    for module in blueprint_modules():
        app.register_api(module.bp)
    if config.load_models == "eager":
        try:
            app.extensions["loyalty.models"].sentiment()
        except Exception as exc:  # noqa: BLE001 - /readyz reports it; the API still serves
            app.logger.warning("sentiment model not loaded at start-up: %s", exc)
    return app
