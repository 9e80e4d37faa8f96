"""URL converters of the API's own."""

from __future__ import annotations

import re

from werkzeug.routing import BaseConverter, Map


class OtherThan(BaseConverter):
    """One path segment, except the given words: ``/jobs/<other("score-reviews"):job_id>``.

    A sibling route such as ``POST /jobs/score-reviews`` otherwise also matches the variable
    one, so ``GET /jobs/score-reviews`` would read "score-reviews" as a job id (422) instead of
    answering 405 with ``Allow: POST``.
    """

    def __init__(self, url_map: Map, *words: str) -> None:
        super().__init__(url_map)
        self.regex = rf"(?!(?:{'|'.join(re.escape(w) for w in words)})\Z)[^/]+"


CONVERTERS = {"other": OtherThan}
