"""gongfu-rules: China's basic public-service standards (基本公共服务标准) as versioned, cited,
region-aware rules, and an engine that evaluates a person or household into entitlements.

    >>> from gongfu_rules import evaluate
    >>> result = evaluate({"birth_date": "2015-05-01", "hukou_region": "530102",
    ...                    "orphan": True, "child_care_arrangement": "散居"}, on="2024-03-01")
    >>> str(result.get("orphan_basic_living").amount)
    '1374'
"""

from .errors import (ErrorDetail, ExpressionError, GongfuError, InputError, ProfileError,
                     StandardsError)
from .evaluate import default_standards, evaluate
from .load.loader import bundled_standards_dir, load_standards
from .model import Standard, StandardsSet
from .profile import Household, Person, parse_household
from .results import Evaluation, PeriodResult, StandardResult

__version__ = "0.1.0"


def __getattr__(name: str):
    # evaluate_table needs the batch extra (Polars); import it only when asked for.
    if name == "evaluate_table":
        try:
            from .batch import evaluate_table
        except ImportError as e:
            raise ImportError(f"evaluate_table needs the batch extra: pip install "
                              f"'gongfu-rules[batch]' ({e.name} is missing)") from e
        return evaluate_table
    raise AttributeError(f"module 'gongfu_rules' has no attribute {name!r}")


__all__ = [
    "evaluate", "evaluate_table", "load_standards", "default_standards", "bundled_standards_dir",
    "Household", "Person", "parse_household",
    "Evaluation", "StandardResult", "PeriodResult", "Standard", "StandardsSet",
    "GongfuError", "ProfileError", "InputError", "StandardsError", "ExpressionError", "ErrorDetail",
]
