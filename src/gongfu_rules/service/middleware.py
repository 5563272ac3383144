"""Per request: pin the standards set, name it in the response headers, log the access.

The access log line has the client, method, path (no query string), status and time: never a
body, and any ID-number-shaped run of digits in the path is masked.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from .problems import INTERNAL_ERROR, log_internal_error
from .state import Standards

DIGEST_HEADER = "Gongfu-Standards-Digest"
VERSION_HEADER = "Gongfu-Standards-Version"
access_log = logging.getLogger("gongfu_rules.service.access")
_ID_LIKE = re.compile(r"\d{17}[\dXx]|\d{15}")


class StandardsHeaders:
    """Pure ASGI middleware (it must not buffer streamed responses)."""

    def __init__(self, app: Any, holder: Standards):
        self.app, self.holder = app, holder

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        std = self.holder.current
        scope["gongfu.standards"] = std
        extra = [(DIGEST_HEADER.lower().encode(), std.digest.encode("latin-1", "replace")),
                 (VERSION_HEADER.lower().encode(), std.version.encode("latin-1", "replace"))]
        status = 0
        started = time.perf_counter()

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # a bug: answer 500 here, before anything logs its message
            log_internal_error(scope, exc)
            if not status:  # otherwise the response is under way and can only be cut short
                body = json.dumps(INTERNAL_ERROR).encode()
                await send_with_headers({"type": "http.response.start", "status": 500,
                                         "headers": [(b"content-type", b"application/json"),
                                                     (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
        finally:
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client") or ("-", 0)
                access_log.info('%s "%s %s" %d %.1fms', client[0], scope["method"],
                                _ID_LIKE.sub("<redacted>", scope["path"]), status,
                                (time.perf_counter() - started) * 1000)
