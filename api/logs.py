"""Personal data stays out of the API's error log.

An unexpected error is logged with its traceback, and an exception's message can carry what a
guest typed or is stored as: a search for an email address that failed, or a database error
(SQLAlchemy's messages would list the statement's parameters; `loyalty.db.make_engine` hides
them). Every record of the app's logger has email addresses and runs of seven or more digits
(phone and card numbers) in its message and traceback replaced before any handler writes it.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Not from inside a longer number, and not an ISO date: "2026-12-07" has eight digits too.
_LONG_NUMBER = re.compile(r"(?<![\w-])(?!\d{4}-\d\d-\d\d)\+?\d(?:[\s().-]?\d){6,}")


def redact(text: str) -> str:
    """``text`` with email addresses and phone-like numbers masked."""
    return _LONG_NUMBER.sub("[number]", _EMAIL.sub("[email]", text))


class RedactPersonalData(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            # Handlers format a traceback once and keep it in exc_text: fill it in, redacted.
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
        return True


def register(app: Flask) -> None:
    app.logger.addFilter(RedactPersonalData())
