"""Load a standards directory into an immutable :class:`~gongfu_rules.model.StandardsSet`.

Every problem in every file is collected and reported together in one
:class:`~gongfu_rules.errors.StandardsError`, each naming its file and the key path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ErrorDetail, StandardsError, boundary
from ..limits import MAX_NESTING, MAX_NUMBER_CHARS, MAX_YAML_BYTES, MAX_YAML_NODES
from ..model import StandardsSet
from . import cache
from .build import Builder
from .schema import CatalogFile, DocumentsFile, ParameterFile, SetFile, StandardFile

SET_FILE = "gongfu.yaml"
CATALOG_DOCUMENTS = "catalog/documents.yaml"


# libyaml's C parser when PyYAML has it (about ten times faster on the bundled set); the
# constructor and resolver below are Python either way, so the rules are the same.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictError(yaml.constructor.ConstructorError):
    """A YAML value this loader refuses, with its own error code."""

    def __init__(self, code: str, problem: str, mark: Any):
        super().__init__(None, None, problem, mark)
        self.code = code


class _StrictLoader(_Base):  # type: ignore[valid-type,misc]
    """YAML read as its author meant it, or not at all.

    * Plain scalars follow YAML 1.2: ``true``/``false`` are the only booleans (``on:``, ``yes``
      stay text), numbers are decimal, and numbers are read exactly (``1.10`` is
      ``Decimal('1.10')``, never a binary float).
    * A plain scalar that YAML 1.1 reads differently — base 60 (``1:30`` is 90), octal
      (``053`` is 43), ``0x``/``0o``/``0b`` numbers, ``1_000``, ``.inf``/``.nan`` — is an error
      telling the author to quote it, so a region code or a figure is never silently changed.
    * ``YYYY-MM-DD`` is a date and must be a real one (``2025-02-30`` is an error).
    * A key given twice in one mapping is an error, also when written once as a date or number
      and once as quoted text (``2024-01-01`` and ``"2024-01-01"``, ``5301`` and ``"5301"``).
    """


_StrictLoader.yaml_implicit_resolvers = {}
_DIGITS = list("-+0123456789")
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("tag:yaml.org,2002:timestamp", r"[0-9]{4}-[0-9]{2}-[0-9]{2}", list("0123456789")),
    ("tag:yaml.org,2002:int", r"[-+]?(?:0|[1-9][0-9]*)", _DIGITS),
    ("tag:yaml.org,2002:float",
     r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[1-9][0-9]*|0)(?:[eE][-+]?[0-9]+)?", [*_DIGITS, "."]),
    ("tag:gongfu:ambiguous",
     r"[-+]?(?:0[0-9_]+(?:\.[0-9_]*)?|0[oObBxX][0-9a-fA-F_]*|[0-9][0-9_]*(?::[0-5]?[0-9])+"
     r"(?:\.[0-9_]*)?|[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"
     r"|\.(?:inf|Inf|INF|nan|NaN|NAN))", [*_DIGITS, "."]),
):
    _StrictLoader.add_implicit_resolver(_tag, re.compile(rf"^(?:{_pattern})$"), _first)


def _number_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    text = loader.construct_scalar(node)
    if len(text) > MAX_NUMBER_CHARS:
        raise _StrictError("number_too_long", f"a number of {len(text)} characters; numbers "
                           f"have at most {MAX_NUMBER_CHARS}", node.start_mark)
    return text


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    return int(_number_text(loader, node))


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    return Decimal(_number_text(loader, node))


def _construct_date(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> date:
    text = loader.construct_scalar(node)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _StrictError("date_invalid", f"{text} is not a real date", node.start_mark) from None


def _construct_ambiguous(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> None:
    text = loader.construct_scalar(node)
    raise _StrictError(
        "yaml_ambiguous", f"{text[:40]} is read differently by YAML 1.1 (base 60, octal, hex, "
        f"digit groups or infinity) and YAML 1.2; write it in quotes ('{text[:40]}') if it is "
        "a code or text, or as a plain decimal number", node.start_mark)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[str, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, Decimal, date)) or isinstance(key, bool):
            raise _StrictError("yaml_key", "a key must be text, a number or a date",
                               key_node.start_mark)
        norm = key.isoformat() if isinstance(key, date) else str(key).strip()
        if norm in seen:
            # yaml_invalid: the code a duplicate key has always had (codes are stable)
            raise _StrictError("yaml_invalid", f"duplicate key {norm[:60]!r} (given twice, "
                               "perhaps once quoted and once not)", key_node.start_mark)
        seen[norm] = key
    return loader.construct_mapping(node, deep=False)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_date)
_StrictLoader.add_constructor("tag:gongfu:ambiguous", _construct_ambiguous)
_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def bundled_standards_dir() -> Path:
    """The standards shipped with the package (or, in a source checkout, the repo's ``standards/``)."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "standards"
    if (packaged / SET_FILE).exists():
        return packaged
    return here.parent.parent / "standards"


@boundary
def load_standards(path: str | Path | None = None) -> StandardsSet:
    """Load and validate every standard under ``path`` (default: the bundled standards).

    Raises :class:`StandardsError` listing every problem found, each with its file and key.
    """
    root = Path(path) if path is not None else bundled_standards_dir()
    if not (root / SET_FILE).is_file():
        raise StandardsError.one("set_missing", f"no {SET_FILE} in {root}: not a standards directory",
                                 source=str(root))
    errors: list[ErrorDetail] = []
    try:
        files = sorted(p for p in root.rglob("*.yaml") if p.name != SET_FILE)
    except OSError as e:
        raise StandardsError.one("file_unreadable", f"cannot list the directory: {e.strerror}",
                                 source=str(root)) from None
    # Every file's bytes first: they give the digest, which keys the start-up cache.
    contents: dict[Path, bytes] = {}
    texts = {f: _read_text(f, f.relative_to(root).as_posix(), errors, contents)
             for f in [root / SET_FILE, *files]}
    digest = _digest(root, contents)
    if not errors:
        kept = cache.load_set(digest)  # the set an earlier run built from these files
        if kept is not None:
            return dataclasses.replace(kept, root=str(root))
    parsed = cache.load(digest)  # the files' YAML as parsed by an earlier run, if kept
    fresh: dict[str, Any] = {}

    def read(path: Path, model: type[BaseModel]) -> Any:
        return _read_model(path, model, root, errors, texts[path], parsed, fresh)
    meta = read(root / SET_FILE, SetFile)
    shared: list[tuple[str, ParameterFile]] = []
    standard_files: list[tuple[str, StandardFile]] = []
    catalog: list[tuple[str, CatalogFile]] = []
    documents = None
    for f in files:
        rel = f.relative_to(root).as_posix()
        if rel == CATALOG_DOCUMENTS:
            documents = read(f, DocumentsFile)
        elif rel.startswith("catalog/"):
            model = read(f, CatalogFile)
            if model is not None:
                catalog.append((rel, model))
        elif rel.startswith("parameters/"):
            model = read(f, ParameterFile)
            if model is not None:
                shared.append((rel, model))
        else:
            model = read(f, StandardFile)
            if model is not None:
                standard_files.append((rel, model))
    builder = Builder(errors)
    parameters = builder.shared_parameters(shared)
    standards = builder.standards(standard_files, parameters)
    entries = builder.catalog(catalog, documents, standards)
    if errors or meta is None:
        raise StandardsError(errors)
    if parsed is None:
        cache.store(digest, fresh)
    loaded = StandardsSet(
        name=meta.name, version=meta.version, digest=digest,
        standards=MappingProxyType(standards), parameters=MappingProxyType(parameters),
        root=str(root), catalog=MappingProxyType(entries),
        catalog_domains=MappingProxyType({k: cf.domain for _, cf in catalog for k in cf.entries}),
        documents=MappingProxyType(dict(documents.documents) if documents else {}))
    cache.store_set(loaded)
    return loaded


def _read_model(path: Path, model: type[BaseModel], root: Path, errors: list[ErrorDetail],
                text: str | None, parsed: dict[str, Any] | None, fresh: dict[str, Any]) -> Any:
    """A file validated as ``model``; its YAML from ``parsed`` (the cache) when there, else
    parsed from ``text`` and kept in ``fresh`` for the cache."""
    rel = path.relative_to(root).as_posix()
    if parsed is not None and rel in parsed:
        data = parsed[rel]
    else:
        data = None if text is None else _parse_yaml(text, rel, errors)
        if data is not None:
            fresh[rel] = data
    if data is None:
        return None
    try:
        return model.model_validate(_stringify_region_keys(data))
    except ValidationError as e:
        errors.extend(_schema_errors(e, rel))
        return None


def read_yaml(path: Path, rel: str, errors: list[ErrorDetail],
              contents: dict[Path, bytes] | None = None) -> dict[str, Any] | None:
    """A YAML file holding a mapping, read under this loader's strict rules (also for reform
    files); ``None``, with the problems appended to ``errors`` naming ``rel``, when it cannot be."""
    text = _read_text(path, rel, errors, {} if contents is None else contents)
    return None if text is None else _parse_yaml(text, rel, errors)


def _parse_yaml(text: str, rel: str, errors: list[ErrorDetail]) -> dict[str, Any] | None:
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except _StrictError as e:
        errors.append(ErrorDetail(e.code, f"{e.problem} {_where(e.problem_mark)}", source=rel))
        return None
    except yaml.YAMLError as e:
        errors.append(ErrorDetail("yaml_invalid", f"not valid YAML: {e}", source=rel))
        return None
    except RecursionError:
        errors.append(ErrorDetail("yaml_too_deep", f"the file nests more than {MAX_NESTING} "
                                  "levels deep", source=rel))
        return None
    except (ValueError, ArithmeticError, KeyError, TypeError):
        # An explicit tag the value does not fit (!!int 0x1f, !!float abc, !!bool maybe).
        errors.append(ErrorDetail("yaml_invalid", "a value does not fit its explicit tag "
                                  "(!!int, !!float, !!bool ...); drop the tag", source=rel))
        return None
    problem = _shape_problem(data, rel)
    if problem is not None:
        errors.append(problem)
        return None
    if not isinstance(data, dict):
        errors.append(ErrorDetail("yaml_invalid", "the file must hold a mapping of keys", source=rel))
        return None
    return data


def _read_text(path: Path, rel: str, errors: list[ErrorDetail],
               contents: dict[Path, bytes]) -> str | None:
    """The file's text, if it is a readable UTF-8 file of at most :data:`MAX_YAML_BYTES`."""
    try:
        if not path.is_file():
            errors.append(ErrorDetail("file_not_regular", "is a directory or a special file, "
                                      "not a YAML file", source=rel))
            return None
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            errors.append(ErrorDetail("file_too_large", f"{size:,} bytes; a standards file has "
                                      f"at most {MAX_YAML_BYTES:,}", source=rel))
            return None
        raw = path.read_bytes()[:MAX_YAML_BYTES + 1]
    except OSError as e:
        errors.append(ErrorDetail("file_unreadable", f"cannot read the file: {e.strerror}",
                                  source=rel))
        return None
    contents[path] = raw
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        errors.append(ErrorDetail("file_encoding", "is UTF-16 (or UTF-32); save it as UTF-8",
                                  source=rel))
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        errors.append(ErrorDetail("file_encoding", f"is not UTF-8 (byte 0x{raw[e.start]:02x} on "
                                  f"line {line}); save it as UTF-8", source=rel))
        return None


def _where(mark: Any) -> str:
    return f"(line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def _shape_problem(data: Any, rel: str) -> ErrorDetail | None:
    """Whether the loaded document is too big once aliases are expanded, too deep, or cyclic.

    Aliases share one object, so the expanded size is counted once per object (memoised),
    and an alias bomb is refused in time linear in the file.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(data, 0, False)]
    while stack:
        node, depth, done = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        children = list(node.values()) if isinstance(node, dict) else node
        key = id(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + len(node) + sum(sizes.get(id(c), 0) for c in children)
            if sizes[key] > MAX_YAML_NODES:
                return ErrorDetail("yaml_too_large", f"more than {MAX_YAML_NODES:,} values once "
                                   "anchors and aliases (&name, *name) are expanded", source=rel)
            continue
        if key in sizes:
            continue
        if key in on_path:
            return ErrorDetail("yaml_recursive", "an alias (*name) refers to a value that "
                               "contains it", source=rel)
        if depth >= MAX_NESTING:
            return ErrorDetail("yaml_too_deep", f"the file nests more than {MAX_NESTING} levels "
                               "deep", source=rel)
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in children)
    return None


def _stringify_region_keys(data: dict[str, Any]) -> dict[str, Any]:
    """Region codes written unquoted (``53:``) read as numbers; they are codes, so make them text."""
    def fix(values: Any) -> Any:
        return {str(k): v for k, v in values.items()} if isinstance(values, dict) else values
    out = dict(data)
    if "values" in out:
        out["values"] = fix(out["values"])
    if isinstance(out.get("parameters"), dict):
        out["parameters"] = {name: ({**p, "values": fix(p.get("values"))} if isinstance(p, dict) else p)
                             for name, p in out["parameters"].items()}
    if "scope" in out:
        out["scope"] = str(out["scope"])
    return out


def _schema_errors(e: ValidationError, rel: str) -> Iterable[ErrorDetail]:
    for err in e.errors():
        loc = tuple(x if isinstance(x, int) else _iso(str(x)) for x in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key '{loc[-1]}' (see docs/standards-format.md for the allowed keys)"
        elif err["type"] == "missing":
            msg = f"required key '{loc[-1]}' is missing"
        yield ErrorDetail(f"schema_{err['type']}", msg, loc=loc, input=_short(err.get("input")),
                          source=rel)


def _iso(text: str) -> str:
    """pydantic writes a date key as ``datetime.date(2021, 9, 1)``; show it as written: 2021-09-01."""
    m = re.fullmatch(r"datetime\.date\((\d+), (\d+), (\d+)\)", text)
    return f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}" if m else text


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 200 else text[:200] + "…"


def _digest(root: Path, contents: dict[Path, bytes]) -> str:
    """A hash of every file read (the set file first, then the others by path)."""
    h = hashlib.sha256()
    for f in [root / SET_FILE, *sorted(set(contents) - {root / SET_FILE})]:
        h.update(f.relative_to(root).as_posix().encode())
        h.update(contents[f])
    return h.hexdigest()[:16]


__all__ = ["load_standards", "bundled_standards_dir"]
