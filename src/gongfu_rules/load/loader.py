"""Load a standards directory into an immutable :class:`~gongfu_rules.model.StandardsSet`.

Every problem in every file is collected and reported together in one
:class:`~gongfu_rules.errors.StandardsError`, each naming its file and the key path.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ErrorDetail, StandardsError
from ..model import StandardsSet
from . import cache
from .build import Builder
from .schema import CatalogFile, DocumentsFile, ParameterFile, SetFile, StandardFile

SET_FILE = "gongfu.yaml"
CATALOG_DOCUMENTS = "catalog/documents.yaml"


# libyaml's C parser when PyYAML has it (about ten times faster on the bundled set); the
# constructor and resolver below are Python either way, so the rules are the same.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_Base):  # type: ignore[valid-type,misc]
    """YAML SafeLoader that rejects a key given twice in one mapping (a silent overwrite else)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# YAML 1.1 reads on/off/yes/no as booleans, which turns a test's `on:` key into True. Booleans
# here are YAML 1.2's: true and false only.
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def bundled_standards_dir() -> Path:
    """The standards shipped with the package (or, in a source checkout, the repo's ``standards/``)."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "standards"
    if (packaged / SET_FILE).exists():
        return packaged
    return here.parent.parent / "standards"


def load_standards(path: str | Path | None = None) -> StandardsSet:
    """Load and validate every standard under ``path`` (default: the bundled standards).

    Raises :class:`StandardsError` listing every problem found, each with its file and key.
    """
    root = Path(path) if path is not None else bundled_standards_dir()
    if not (root / SET_FILE).is_file():
        raise StandardsError.one("set_missing", f"no {SET_FILE} in {root}: not a standards directory",
                                 source=str(root))
    errors: list[ErrorDetail] = []
    files = sorted(p for p in root.rglob("*.yaml") if p.name != SET_FILE)
    digest = _digest(root, files)
    parsed = cache.load(digest)  # the files' YAML as parsed by an earlier run, if kept
    fresh: dict[str, Any] = {}

    def read(path: Path, model: type[BaseModel]) -> Any:
        return _read_model(path, model, root, errors, parsed, fresh)
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
    return StandardsSet(
        name=meta.name, version=meta.version, digest=digest,
        standards=MappingProxyType(standards), parameters=MappingProxyType(parameters),
        root=str(root), catalog=MappingProxyType(entries),
        catalog_domains=MappingProxyType({k: cf.domain for _, cf in catalog for k in cf.entries}),
        documents=MappingProxyType(dict(documents.documents) if documents else {}))


def _read_model(path: Path, model: type[BaseModel], root: Path, errors: list[ErrorDetail],
                 parsed: dict[str, Any] | None, fresh: dict[str, Any]) -> Any:
    """A file validated as ``model``; its YAML from ``parsed`` (the cache) when there, and
    kept in ``fresh`` for the cache."""
    rel = path.relative_to(root).as_posix()
    try:
        data = parsed[rel] if parsed is not None and rel in parsed else \
            yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as e:
        errors.append(ErrorDetail("yaml_invalid", f"not valid YAML: {e}", source=rel))
        return None
    fresh[rel] = data
    if not isinstance(data, dict):
        errors.append(ErrorDetail("yaml_invalid", "the file must hold a mapping of keys", source=rel))
        return None
    try:
        return model.model_validate(_stringify_region_keys(data))
    except ValidationError as e:
        errors.extend(_schema_errors(e, rel))
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


def _digest(root: Path, files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in [root / SET_FILE, *files]:
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


__all__ = ["load_standards", "bundled_standards_dir"]
