"""`loyalty serve` as run for real: gunicorn's own error answers are problem+json, and the
access and error logs keep guests' emails and phone numbers out."""

from __future__ import annotations

import http.client
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from api.logs import RedactPersonalData, redact
from loyalty.db import make_engine
from loyalty.keys import create_key
from tests.offers.factory import make_customer

EMAIL = "ana.serving@example.com"
PHONE = "+51987654321"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory, sqlite_template):
    home = tmp_path_factory.mktemp("serve-home")
    db = home / "loyalty.db"
    shutil.copy(sqlite_template, db)
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as s, s.begin():
        guest = make_customer(s)
        guest.email, guest.phone = EMAIL, PHONE
        _, key = create_key(s, role="staff", name="serving test")
    engine.dispose()
    port = free_port()
    log = home / "serve.log"
    env = dict(os.environ, LOYALTY_HOME=str(home), LOYALTY_DATABASE_URL=f"sqlite:///{db}")
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", "from loyalty.cli import main; main()",
                                 "serve", "--port",
                                 str(port), "--workers", "1"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield port, key, log
    finally:
        proc.terminate()
        proc.wait(30)


def request(port: int, method: str, path: str, headers: dict[str, str] | None = None
            ) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.getheader("Content-Type", ""), answer.read()
    finally:
        conn.close()


@pytest.mark.parametrize(("path", "headers", "status"), [
    pytest.param("/api/v1/customers?q=" + "9" * 100_000, {}, 414, id="100-kB-query"),
    pytest.param("/api/v1/customers?q=1", {"Authorization": "Bearer " + "x" * 9_000}, 431,
                 id="9-kB-header"),
])
def test_gunicorns_own_refusals_are_problems(served, path, headers, status):
    port, _, _ = served
    got, content_type, body = request(port, "GET", path, headers)
    assert got == status and content_type == "application/problem+json", body[:300]
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert b"999999" not in body  # nothing of the request is echoed


def test_the_access_log_has_no_query_strings(served):
    port, key, log = served
    auth = {"Authorization": f"Bearer {key}"}
    for q in (EMAIL, PHONE.replace("+", "%2B")):
        status, _, _ = request(port, "GET", f"/api/v1/customers?q={q}", auth)
        assert status == 200
    time.sleep(0.5)  # the access log is written after the answer
    text = log.read_text()
    assert "GET /api/v1/customers HTTP/1.1" in text
    assert "example.com" not in text and "987654321" not in text


def test_error_records_lose_emails_and_phone_numbers():
    try:
        raise ValueError(f"no customer matches {EMAIL!r} or {PHONE}")
    except ValueError:
        record = logging.LogRecord("api", logging.ERROR, __file__, 1, "search %s failed",
                                   (EMAIL,), sys.exc_info())
    assert RedactPersonalData().filter(record)
    text = logging.Formatter().format(record)
    assert "example.com" not in text and "987654321" not in text
    assert "search [email] failed" in text and "ValueError: no customer matches" in text
    assert redact("visit on 2026-12-07 by 900 000 000") == "visit on 2026-12-07 by [number]"
