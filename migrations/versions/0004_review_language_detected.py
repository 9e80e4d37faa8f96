"""the detected language of a review

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10

`reviews.language_detected` holds what the language detector (`nlp.language`) read in a
review's text when it was scored: es, en, other, mixed or und (undetermined). It is a column of
its own, beside `reviews.language` (the language the input gave, en or es, `String(2)` as
before), so that scoring never overwrites a given language and a given language can be told
from a guess. Reviews scored before this revision get theirs from the next scoring run, which
detects the language of scored reviews that lack one without scoring them again.

SQLite cannot add a CHECK to a table in place: batch mode rebuilds `reviews` (no other table
refers to it, so nothing is cascaded).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DETECTED = ("es", "en", "other", "mixed", "und")


def upgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language_detected", sa.String(length=8), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_reviews_language_detected_known"),
            "language_detected IS NULL OR language_detected IN ("
            + ", ".join(f"'{code}'" for code in DETECTED) + ")")


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_reviews_language_detected_known"), type_="check")
        batch_op.drop_column("language_detected")
