"""Limit/offset pagination: one query model, one page envelope."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
MAX_LIMIT = 500


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=MAX_LIMIT, description=f"At most {MAX_LIMIT}.")
    offset: int = Field(0, ge=0, le=10**9)


class Page(BaseModel, Generic[T]):
    total: int
    limit: int
    offset: int
    items: list[T]
