"""A start-up cache: the standards set of a standards directory, kept between runs.

Loading the bundled standards means parsing about 120 YAML files, validating them and
compiling their rules; a ``gongfu batch`` of a small file would spend more time loading than
evaluating. Two things are kept in ``$XDG_CACHE_HOME/gongfu-rules`` (``~/.cache/gongfu-rules``),
both keyed by the standards digest (the SHA-256 of every file,
:func:`gongfu_rules.load.loader.load_standards`), so that a changed file is a new digest and a
fresh load:

* the loaded set itself (:func:`load_set`), also keyed by the code that built it (every
  module and data file of the package, by size and modification time, the test Python uses
  for its bytecode): a set is only ever one that this code, validating and compiling these
  very files, built. Its compiled rule functions are not stored: they are compiled again
  from the stored expressions, which takes about a millisecond.
* the parsed YAML (:func:`load`), for a new version of the code with the same files: they
  are then validated and compiled again.

Any problem with the cache — a missing or unwritable directory, a truncated or corrupt file, a
file from another version — means a normal load, silently. Files are written to a temporary
name and renamed, so concurrent runs never read half a file. ``GONGFU_RULES_CACHE=off`` turns
the cache off; ``GONGFU_RULES_CACHE=DIR`` puts it in DIR.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import pickle
import sys
import tempfile
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pydantic

from ..compile.scalar import compile_scalar
from ..model import CompiledCondition, Rule, StandardsSet
from .build import _decimal_valued

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


def _path(digest: str, kind: str = "standards") -> Path | None:
    folder = cache_dir()
    tag = f"py{sys.version_info.major}{sys.version_info.minor}-v{_FORMAT}"
    return None if folder is None else folder / f"{kind}-{digest}-{tag}.pickle"


def load(digest: str) -> dict[str, Any] | None:
    """The parsed files (``{relative path: data}``) stored for ``digest``, or ``None``."""
    stored = _read(_path(digest))
    if stored.get("digest") == digest and isinstance(stored.get("files"), dict):
        return stored["files"]
    return None


def store(digest: str, files: dict[str, Any]) -> None:
    """Keep ``files`` for ``digest``; does nothing if it cannot."""
    _write(_path(digest), {"digest": digest, "files": files})


def load_set(digest: str) -> StandardsSet | None:
    """The set an earlier run loaded from files of ``digest`` with this very code, or ``None``."""
    stored = _read(_path(f"{digest}-{code_digest()}", "set"))
    if stored.get("digest") == digest and stored.get("code") == code_digest() and \
            isinstance(stored.get("set"), StandardsSet):
        return stored["set"]
    return None


def _read(path: Path | None) -> dict[str, Any]:
    """What a cache file holds, or ``{}`` (no file, a cache that is off, a file that does not
    unpickle: a cache problem is never an error)."""
    if path is None:
        return {}
    try:
        with open(path, "rb") as handle:
            stored = pickle.load(handle)
    except Exception:  # noqa: BLE001 - load normally
        return {}
    return stored if isinstance(stored, dict) else {}


def store_set(std: StandardsSet) -> None:
    """Keep a freshly loaded ``std`` for :func:`load_set`; does nothing if it cannot."""
    path = _path(f"{std.digest}-{code_digest()}", "set")
    if path is None:
        return
    try:
        buffer = io.BytesIO()
        _SetPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(
            {"digest": std.digest, "code": code_digest(), "set": std})
    except Exception:  # noqa: BLE001 - something in the set that does not pickle: no cache
        return
    _write(path, buffer.getvalue(), raw=True)


@cache
def code_digest() -> str:
    """A fingerprint of the package's code and data: each file's path, size and modification
    time (the bundled standards aside: their digest is the other half of a set's key), and
    pydantic's version."""
    package = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(f"pydantic {pydantic.VERSION};".encode())  # its models are in the set
    for folder, dirs, names in os.walk(package):
        top = Path(folder) == package
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not (top and d == "standards"))
        for name in sorted(names):
            if name.endswith((".py", ".yaml", ".csv")):
                stat = os.stat(os.path.join(folder, name))
                h.update(f"{folder}/{name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


class _SetPickler(pickle.Pickler):
    """Pickles a :class:`StandardsSet` without its compiled rule functions (closures, which
    do not pickle): they are compiled again, from their expressions, as it is read. The
    set's evaluation caches are left out (they start empty)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is MappingProxyType:
            return _proxy, (dict(obj),)
        if type(obj) is CompiledCondition:
            return _condition, (obj.test, obj.text, obj.node)
        if type(obj) is Rule:
            fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(Rule)}
            for key in ("amount", "per_year"):
                if fields[key] is not None:
                    fields[key] = fields[key][:2]  # (text, node): the function is rebuilt
            return _rule, (fields,)
        if type(obj) is StandardsSet:
            fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(StandardsSet)
                      if f.init and not f.name.startswith("_")}
            return _standards_set, (fields,)
        names = _plain_fields(type(obj))
        if names is not None:  # read back by its constructor, not by dataclasses' __setstate__
            positional, keywords = names
            return _construct, (type(obj), tuple(getattr(obj, n) for n in positional),
                                {n: getattr(obj, n) for n in keywords})
        return NotImplemented


@cache
def _plain_fields(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The fields of a dataclass with slots that its constructor takes (positional, keyword
    only); ``None`` for any other class. Dataclasses with slots unpickle through a
    ``__setstate__`` that looks their fields up again for each object: for the thousands of
    values and expression nodes of a set, that is most of the time it takes to read it."""
    if not (dataclasses.is_dataclass(cls) and "__slots__" in vars(cls)) or \
            hasattr(cls, "__post_init__"):
        return None
    fields = dataclasses.fields(cls)
    if not all(f.init for f in fields):
        return None
    return (tuple(f.name for f in fields if not f.kw_only),
            tuple(f.name for f in fields if f.kw_only))


def _construct(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return cls(*args, **kwargs)


def _proxy(entries: dict[Any, Any]) -> MappingProxyType:
    return MappingProxyType(entries)


def _condition(test: str, text: Any, node: Any) -> CompiledCondition:
    return CompiledCondition(test, text, node, compile_scalar(node))


def _compiled(expression: tuple[str, Any] | None) -> tuple[str, Any, Any] | None:
    if expression is None:
        return None
    text, node = expression
    return text, node, _decimal_valued(node, compile_scalar(node))


def _rule(fields: dict[str, Any]) -> Rule:
    return Rule(**{**fields, "amount": _compiled(fields["amount"]),
                   "per_year": _compiled(fields["per_year"])})


def _standards_set(fields: dict[str, Any]) -> StandardsSet:
    return StandardsSet(**fields)


def _write(path: Path | None, stored: Any, raw: bool = False) -> None:
    """``stored`` (pickled unless ``raw``) written to ``path`` whole or not at all; nothing
    if it cannot be."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".standards-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                if raw:
                    handle.write(stored)
                else:
                    pickle.dump(stored, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except Exception:  # noqa: BLE001 - a read-only home, a full disk: no cache, no error
        pass
