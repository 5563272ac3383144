"""Running the app under uvicorn (``gongfu serve``).

One worker (the default) loads the set once and reloads it in place on SIGHUP. With
``--workers N``, uvicorn's supervisor owns SIGHUP: it replaces the workers one by one, each
loading the set afresh, and keeps an old worker when its replacement fails to start.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from .app import create_app, openapi_json

_SETTINGS_ENV = "GONGFU_SERVICE_SETTINGS"

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain",
                            "stream": "ext://sys.stderr"}},
    "loggers": {
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # uvicorn's own access log prints the query string; ours (gongfu_rules.service.access)
        # does not, so uvicorn's is off.
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        "gongfu_rules.service": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def serve(host: str = "127.0.0.1", port: int = 8000, standards: str | None = None,
          workers: int = 1, cors_origins: Sequence[str] = (), access_log: bool = True,
          gzip_level: int = 0) -> None:
    """Serve until interrupted. The standards set is loaded before the port opens, so a set
    that does not load is reported as a :class:`~gongfu_rules.errors.StandardsError`.
    ``gzip_level``: as :func:`~gongfu_rules.service.create_app`'s."""
    settings = {"standards": standards, "cors_origins": list(cors_origins),
                "gzip_level": gzip_level}
    config = dict(host=host, port=port, log_config=_logging(access_log), access_log=False,
                  server_header=False)
    if workers <= 1:
        uvicorn.run(_app(settings), **config)
        return
    _app(settings)  # fail here, once, rather than in every worker
    os.environ[_SETTINGS_ENV] = json.dumps(settings)
    uvicorn.run("gongfu_rules.service.server:app_from_env", factory=True, workers=workers,
                **config)


def app_from_env() -> Any:
    """The app of one worker process, from the settings ``serve`` left in the environment."""
    return _app(json.loads(os.environ.get(_SETTINGS_ENV, "{}")))


def _app(settings: dict[str, Any]) -> Any:
    return create_app(settings.get("standards"), cors_origins=settings.get("cors_origins", ()),
                      gzip_level=settings.get("gzip_level", 0))


def _logging(access: bool) -> dict[str, Any]:
    config = json.loads(json.dumps(LOGGING))
    if not access:
        config["loggers"]["gongfu_rules.service.access"] = {"level": "WARNING"}
    return config


def export_openapi(path: str | Path, standards: str | None = None) -> None:
    """Write the OpenAPI document (``docs/openapi.json``)."""
    Path(path).write_text(openapi_json(create_app(standards, reload_on_sighup=False)),
                          encoding="utf-8")
