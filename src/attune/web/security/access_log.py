"""Gunicorn's logger for ``attune serve --production``, with participant link tokens redacted.

Its own module: gunicorn is imported only by the production server, never by Django's app loading.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from attune.web.security.logs import RedactTokens, redact_value


class GunicornLogger(Logger):
    """Gunicorn's logger with link tokens redacted from the access log's every field (request
    line, path, Referer, headers, environment) and from the error log's messages."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactTokens) for f in log.filters):
                log.addFilter(RedactTokens())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: timedelta) -> dict[str, Any]:
        found: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {key: redact_value(value) for key, value in found.items()}
