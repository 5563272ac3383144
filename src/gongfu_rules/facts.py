"""The fact vocabulary: what a profile may say about a person or a household.

The facts live in ``data/facts/*.yaml`` (one file per area), so that adding a standard that
needs a new fact means adding a few lines of data, not code. Each fact has a type, a label in
Chinese and English and, for an enumeration, its values with the Chinese spellings accepted for
each. The profile models (:mod:`gongfu_rules.profile`), the expression checker
(:mod:`gongfu_rules.expr.names`) and the batch column mapping all read this one registry.

Built-in facts that are derived from or checked against each other (birth date, sex, ID
number, regions, 残疾等级) are declared in :mod:`gongfu_rules.profile` and are not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# libyaml's parser when PyYAML has it: the same safe rules, read at every start-up, about
# seven times faster than the Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

FactType = Literal["bool", "enum", "count", "money"]
Entity = Literal["person", "household"]


class _FactEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FactType
    zh: str
    en: str
    choices: dict[str, list[str]] | None = None
    also: list[str] = Field(default_factory=list)  # other Chinese headers accepted in batches
    note: str | None = None


class _FactFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    person: dict[str, _FactEntry] = Field(default_factory=dict)
    household: dict[str, _FactEntry] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FactSpec:
    """One declared fact: its name, owner, type, labels and (for enums) values with aliases."""

    name: str
    entity: Entity
    type: FactType
    zh: str
    en: str
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()
    file: str = ""
    also: tuple[str, ...] = ()  # other Chinese headers a batch file may use for it

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.choices)


class FactRegistryError(Exception):
    """The bundled fact files are inconsistent (a packaging bug, caught by the tests)."""


@cache
def fact_specs() -> tuple[FactSpec, ...]:
    """Every declared fact, persons first, in file and declaration order."""
    specs: list[FactSpec] = []
    seen: dict[tuple[str, str], str] = {}
    folder = resources.files("gongfu_rules") / "data" / "facts"
    for item in sorted(folder.iterdir(), key=lambda f: f.name):
        if not item.name.endswith(".yaml"):
            continue
        try:
            parsed = _FactFile.model_validate(
                yaml.load(item.read_text("utf-8"), Loader=_YAML_LOADER) or {})
        except ValidationError as e:
            raise FactRegistryError(f"data/facts/{item.name}: {e}") from None
        for entity in ("person", "household"):
            for name, entry in getattr(parsed, entity).items():
                specs.append(_spec(name, entity, entry, item.name, seen))
    return tuple(sorted(specs, key=lambda s: s.entity != "person"))


def _spec(name: str, entity: str, entry: _FactEntry, file: str,
          seen: dict[tuple[str, str], str]) -> FactSpec:
    if (entity, name) in seen:
        raise FactRegistryError(f"data/facts/{file}: {entity} fact '{name}' is also declared "
                                f"in data/facts/{seen[entity, name]}")
    seen[entity, name] = file
    if (entry.type == "enum") != bool(entry.choices):
        raise FactRegistryError(f"data/facts/{file}: fact '{name}': an enum needs 'choices', "
                                "and only an enum has them")
    choices = tuple((v, tuple(a)) for v, a in (entry.choices or {}).items())
    return FactSpec(name, entity, entry.type, entry.zh, entry.en,  # type: ignore[arg-type]
                    choices, file, tuple(entry.also))


def person_facts() -> tuple[FactSpec, ...]:
    return tuple(s for s in fact_specs() if s.entity == "person")


def household_facts() -> tuple[FactSpec, ...]:
    return tuple(s for s in fact_specs() if s.entity == "household")


def facts_markdown() -> str:
    """The registry's facts (outside ``core.yaml``) as the Markdown tables of
    ``docs/profiles.md``; a test keeps the document equal to this."""
    lines: list[str] = []
    for entity in ("person", "household"):
        lines += [f"### {'Person' if entity == 'person' else 'Household'} facts from the catalog",
                  "", facts_table(entity, core=False), ""]
    return "\n".join(lines)


def facts_table(entity: str, core: bool) -> str:
    """One Markdown table of the registry's ``entity`` facts: those of ``core.yaml`` (the
    profile's own, in ``docs/profiles.md``'s Person and Household sections) or the others.
    The 中文 column is the label a batch file's header may use (with any other spelling
    accepted)."""
    lines = ["| Field | Type | 中文 | Meaning | Allowed values (Chinese aliases) |",
             "|---|---|---|---|---|"]
    for s in fact_specs():
        if s.entity != entity or (s.file == "core.yaml") != core:
            continue
        values = ", ".join(f"`{v}` ({', '.join(a)})" if a else f"`{v}`" for v, a in s.choices)
        zh = ", ".join((s.zh, *s.also))
        lines.append(f"| `{s.name}` | {_TYPE_WORDS[s.type]} | {zh} | {s.en} | {values} |")
    return "\n".join(lines)


_TYPE_WORDS = {"bool": "yes/no", "enum": "enum", "count": "integer", "money": "decimal (元)"}
