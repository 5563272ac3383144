"""The GB/T 2260 region hierarchy: national → province → prefecture → county.

Codes are written at their own length inside the library: ``"000000"`` (national), ``"53"``
(云南省), ``"5301"`` (昆明市), ``"530102"`` (五华区). The six-digit padded forms that forms and ID
numbers use (``"530000"``, ``"530100"``) are accepted everywhere and normalised.

The table ships as package data (``data/divisions``; NBS 2023 edition).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

NATIONAL = "000000"

_LEVELS = {2: "province", 4: "prefecture", 6: "county"}


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    level: str  # national | province | prefecture | county

    @property
    def code6(self) -> str:
        """The six-digit padded code (``"530100"`` for 昆明市)."""
        return self.code.ljust(6, "0")


class RegionTable:
    """Every known region, looked up by code (any accepted form)."""

    def __init__(self, regions: dict[str, Region]):
        self._regions = regions

    def normalize(self, code: str) -> str | None:
        """The canonical code for ``code``, or ``None`` if it names no known region."""
        code = str(code).strip()
        if code in ("000000", "0", "00", "CN", "national"):
            return NATIONAL
        if not code.isdigit() or len(code) not in (2, 4, 6):
            return None
        for candidate in _shortenings(code):
            if candidate in self._regions:
                return candidate
        return None

    def get(self, code: str) -> Region | None:
        canonical = self.normalize(code)
        return None if canonical is None else self._regions[canonical]

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.normalize(code) is not None

    def chain(self, code: str) -> tuple[str, ...]:
        """``code`` and its ancestors, most specific first, ending with :data:`NATIONAL`."""
        return _chain(code)

    def name(self, code: str) -> str:
        region = self.get(code)
        return region.name if region else code

    def __len__(self) -> int:
        return len(self._regions)


@cache
def _chain(code: str) -> tuple[str, ...]:
    if code == NATIONAL:
        return (NATIONAL,)
    parts = [code[:n] for n in (6, 4, 2) if len(code) >= n]
    return (*parts, NATIONAL)


def _shortenings(code: str) -> list[str]:
    """``"530100"`` may stand for prefecture ``"5301"``; ``"530000"`` for province ``"53"``."""
    out = [code]
    if len(code) == 6 and code.endswith("00"):
        out.append(code[:4])
        if code.endswith("0000"):
            out.append(code[:2])
    elif len(code) == 4 and code.endswith("00"):
        out.append(code[:2])
    return out


def is_within(code: str, ancestor: str) -> bool:
    """True if region ``code`` lies within (or is) ``ancestor``; both canonical."""
    return ancestor == NATIONAL or code.startswith(ancestor)


@cache
def regions() -> RegionTable:
    """The shipped GB/T 2260 table (loaded once; immutable)."""
    table: dict[str, Region] = {NATIONAL: Region(NATIONAL, "全国", "national")}
    root = resources.files("gongfu_rules") / "data" / "divisions"
    for filename in ("provinces.csv", "cities.csv", "areas.csv"):
        with (root / filename).open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                code = row["code"].strip()
                name = row["name"].strip()
                if name == "市辖区" and len(code) == 4:  # municipalities' placeholder rows
                    name = f"{table[code[:2]].name}市辖区"
                table[code] = Region(code, name, _LEVELS[len(code)])
    return RegionTable(table)
