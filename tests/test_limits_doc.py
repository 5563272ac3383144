"""docs/limits-and-errors.md stays equal to the code: every error code the package can raise is
in its table (and nothing else is), and every limit is listed with its value."""

import ast
import re
from decimal import Decimal
from pathlib import Path

import gongfu_rules.limits as limits
from gongfu_rules.errors import GongfuError
from gongfu_rules.profile import _CODES, OWN_CODES

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "limits-and-errors.md").read_text(encoding="utf-8")
#: Calls whose first argument (or ``code=``) is an error code.
CODE_CALLS = {"ErrorDetail", "one", "fail", "PydanticCustomError", "_IdProblem", "_StrictError"}


def _constant_codes(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):  # "version_gap" if ... else "version_overlap"
        return _constant_codes(node.body) | _constant_codes(node.orelse)
    return set()


def codes_in_source() -> set[str]:
    """Every literal error code in src/gongfu_rules, and the codes pydantic's are mapped to."""
    codes = set(OWN_CODES) | set(_CODES.values())
    for path in (ROOT / "src" / "gongfu_rules").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in CODE_CALLS:
                first = node.args[0] if node.args else next(
                    (k.value for k in node.keywords if k.arg == "code"), None)
                codes |= _constant_codes(first) if first is not None else set()
    return codes


def codes_in_doc() -> set[str]:
    """The codes in the first column of the doc's error tables (rows starting ``| `code` |``)."""
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOC, flags=re.MULTILINE))


def test_every_error_code_in_the_source_is_documented():
    missing = codes_in_source() - codes_in_doc()
    assert not missing, f"add these codes to docs/limits-and-errors.md: {sorted(missing)}"


def test_every_documented_error_code_exists():
    stale = codes_in_doc() - codes_in_source()
    assert not stale, f"these codes in docs/limits-and-errors.md are raised nowhere: {sorted(stale)}"


def test_the_schema_code_family_is_documented():
    assert "`schema_*`" in DOC


def test_every_limit_is_documented_with_its_value():
    for name in dir(limits):
        value = getattr(limits, name)
        if not name.isupper() or not isinstance(value, (int, Decimal)):
            continue
        row = re.search(rf"^\| `{name}` \| ([^|]+) \|", DOC, flags=re.MULTILINE)
        assert row, f"limit {name} is not in docs/limits-and-errors.md"
        written = row.group(1).strip().replace(",", "").replace(" ", "")
        shown = f"10^{len(str(int(value))) - 1}" if isinstance(value, Decimal) else str(value)
        assert written == shown, f"{name}: the doc says {written}, the code {shown}"


def test_every_error_class_is_documented_with_its_http_status():
    classes = [GongfuError, *GongfuError.__subclasses__()]
    classes += [c for k in GongfuError.__subclasses__() for c in k.__subclasses__()]
    for cls in classes:
        assert re.search(rf"^\| `{cls.__name__}` \| {cls.http_status} \|", DOC, flags=re.MULTILINE), cls


def test_the_evaluators_cache_sizes_are_listed_with_their_values():
    # those of evaluate() and the batch engine (gongfu_rules.model and .evaluate)
    import importlib

    section = DOC.split("## Caches of a long-running process", 1)[1].split("\n## ", 1)[0]
    listed = dict(re.findall(r"^\| `(\w+\.\w+_CACHE_SIZE)` \| ([\d,]+) ", section, re.M))
    in_code = {}
    for module in ("model", "evaluate"):
        mod = importlib.import_module(f"gongfu_rules.{module}")
        in_code |= {f"{module}.{name}": value for name, value in vars(mod).items()
                    if name.endswith("_CACHE_SIZE") and isinstance(value, int)}
    assert {name: int(size.replace(",", "")) for name, size in listed.items()} == in_code
