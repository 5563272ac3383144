"""A start-up cache: the parsed YAML of a standards directory, kept between runs.

Parsing the YAML files is most of the time it takes to load the bundled standards (about
three quarters of a second); a ``gongfu batch`` of a small file would spend more time loading
than evaluating. The parsed files are pickled once per standards digest (the SHA-256 of every
file, :func:`gongfu_rules.load.loader.load_standards`) into
``$XDG_CACHE_HOME/gongfu-rules`` (``~/.cache/gongfu-rules``). Validation and compilation still
run on every load, so a cached set is the same set, checked the same way.

Any problem with the cache — a missing or unwritable directory, a truncated or corrupt file, a
file from another version — means a normal load, silently. Files are written to a temporary
name and renamed, so concurrent runs never read half a file. ``GONGFU_RULES_CACHE=off`` turns
the cache off; ``GONGFU_RULES_CACHE=DIR`` puts it in DIR.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

_FORMAT = 2  # bump when what is stored changes


def cache_dir() -> Path | None:
    """Where cached sets go, or ``None`` when the cache is off."""
    chosen = os.environ.get("GONGFU_RULES_CACHE")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gongfu-rules"


def _path(digest: str) -> Path | None:
    folder = cache_dir()
    tag = f"py{sys.version_info.major}{sys.version_info.minor}-v{_FORMAT}"
    return None if folder is None else folder / f"standards-{digest}-{tag}.pickle"


def load(digest: str) -> dict[str, Any] | None:
    """The parsed files (``{relative path: data}``) stored for ``digest``, or ``None``."""
    path = _path(digest)
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            stored = pickle.load(handle)
        if isinstance(stored, dict) and stored.get("digest") == digest and \
                isinstance(stored.get("files"), dict):
            return stored["files"]
    except Exception:  # noqa: BLE001 - a cache problem is never an error: load normally
        pass
    return None


def store(digest: str, files: dict[str, Any]) -> None:
    """Keep ``files`` for ``digest``; does nothing if it cannot."""
    path = _path(digest)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".standards-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump({"digest": digest, "files": files}, handle,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except Exception:  # noqa: BLE001 - a read-only home, a full disk: no cache, no error
        pass
