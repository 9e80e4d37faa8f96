"""Gunicorn's settings for the API (``loyalty serve`` passes ``-c python:api.serving``).

Two things gunicorn does on its own, before the app sees a request, are changed here:

- **The access log leaves out query strings.** Staff look guests up with
  ``GET /customers?q=EMAIL|PHONE``, so the default format (``%(r)s``, the whole request line)
  wrote guests' emails and phone numbers into the log. The line keeps the method, the path,
  the status, the size, the time taken and the user agent.
- **Its own error answers are problem+json.** A request line over ``limit_request_line``
  (414), a header over ``limit_request_field_size`` or too many headers (431) or a request
  that is not HTTP (400) is answered by gunicorn itself with an HTML page. The API promises
  problem+json only, so gunicorn's error writer is replaced by one that writes it, with a
  fixed detail per status that echoes nothing of the request.
"""

from __future__ import annotations

import json

from gunicorn import util

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
# Gunicorn's defaults, written out because the README quotes them.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

_DETAILS = {
    414: f"the request line (method, path and query) is longer than {limit_request_line} "
         "bytes",
    431: f"a request header is longer than {limit_request_field_size} bytes, or there are "
         f"more than {limit_request_fields} headers",
    400: "the request is not valid HTTP/1.1",
}


def problem_error(sock, status_int: int, reason: str, mesg: str) -> None:  # noqa: ANN001
    """`gunicorn.util.write_error`, answering application/problem+json."""
    detail = _DETAILS.get(status_int, "the request could not be read")
    if status_int >= 500:
        detail = "something went wrong on our side; it has been logged"
    body = json.dumps({"type": "about:blank", "title": reason, "status": status_int,
                       "detail": detail}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            "Content-Type: application/problem+json\r\nCache-Control: no-store\r\n"
            f"X-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


# The workers call `util.write_error` through the module at the moment of the error, so this
# is the one place to change what they write; it runs in the master before workers fork.
util.write_error = problem_error
