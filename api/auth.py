"""API keys with roles. Every endpoint declares the roles it serves; admin may do everything.

A key comes as ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). No key, or one that
is unknown or revoked, is 401; a valid key of a role the endpoint does not serve is 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, g, request

from api.errors import problem
from api.extensions import db_session

F = TypeVar("F", bound=Callable[..., Any])
SECURITY = [{"ApiKey": []}]
SECURITY_SCHEMES = {"ApiKey": {"type": "http", "scheme": "bearer",
                               "description": "A key from `loyalty keys create --role ROLE`."}}


def presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.headers.get("X-API-Key") or None


PUBLIC: frozenset[str] = frozenset()


def public(view: F) -> F:
    """Mark a view as open to everyone (health checks): it still declares its roles, none."""
    view.roles = PUBLIC  # type: ignore[attr-defined]
    return view


def require(*roles: str) -> Callable[[F], F]:
    """Declare the roles (besides admin) that may call the view. The key is checked by
    :func:`authenticate` before the request's parameters are validated, so a caller without
    the right key learns nothing about them."""
    allowed = frozenset(roles) | {"admin"}

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.get("api_role") not in allowed:  # authenticate() did not run: refuse
                return problem(403, "Forbidden", "this endpoint needs an API key")
            return view(*args, **kwargs)

        wrapper.roles = allowed  # type: ignore[attr-defined] - read by authenticate()
        return wrapper  # type: ignore[return-value]

    return decorate


def authenticate() -> Response | None:
    """Before every request: check the key against the roles its view declares."""
    from loyalty.keys import verify_key

    view = current_app.view_functions.get(request.endpoint or "")
    roles = getattr(view, "roles", None)
    if not roles:  # public, documentation, static files, unknown URLs (404)
        return None
    key = presented_key()
    row = verify_key(db_session(), key) if key else None
    if row is None:
        db_session().rollback()
        return problem(401, "Unauthorized",
                       "send a valid API key as 'Authorization: Bearer <key>'" if key is None
                       else "the API key is unknown or revoked",
                       headers={"WWW-Authenticate": 'Bearer realm="loyalty"'})
    if row.role not in roles:
        return problem(403, "Forbidden", f"a {row.role} key cannot do this; it needs one of: "
                                         f"{', '.join(sorted(roles))}")
    if db_session().dirty:  # verify_key stamped last_used_at (at most once a minute)
        db_session().commit()
    g.api_role = row.role
    return None
