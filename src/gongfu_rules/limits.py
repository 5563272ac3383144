"""The limits every entry point enforces before it does any work.

Each bound is far above anything a real standard or profile needs and far below what would
make the engine slow, run out of memory or lose exactness; input past one is an error with its
own code, never a crash or a silently wrong figure. ``docs/limits-and-errors.md`` lists them
(a test keeps that page equal to this module).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

#: Characters in one rule expression (the longest bundled one has about 260).
MAX_EXPRESSION_CHARS = 2_000
#: Nesting depth of one rule expression's syntax tree (a 500-term sum is 500 deep).
MAX_EXPRESSION_DEPTH = 100
#: Largest magnitude of a number: a parameter value, a literal in an expression, a money or
#: count fact in a profile (one trillion; the largest bundled value is 10,000).
MAX_NUMBER = Decimal(10) ** 12
#: Largest magnitude an amount (or ``per_year``) expression may reach on any input, checked
#: when the standards load from the largest values its parameters and facts can take; an
#: annual figure or a period total then still has every fen exact.
MAX_AMOUNT = Decimal(10) ** 18
#: Decimal places ``round(x, digits)`` may ask for.
MAX_ROUND_DIGITS = 8
#: Bytes in one standards YAML file (the largest bundled file has about 48 KB).
MAX_YAML_BYTES = 1_000_000
#: Values in one YAML file once anchors and aliases are expanded (an alias bomb stops here).
MAX_YAML_NODES = 200_000
#: Nesting depth of one YAML file or one profile (mappings and lists inside each other).
MAX_NESTING = 32
#: Members in one household (its JSON result repeats every standard's sources for each
#: member, about 150 KB a member).
MAX_MEMBERS = 100
#: Values (fields and list items, all levels) in one profile: a full household of
#: ``MAX_MEMBERS`` with every fact holds under 10,000.
MAX_PROFILE_VALUES = 100_000
#: Bytes in one profile file read by ``gongfu evaluate``.
MAX_PROFILE_BYTES = 10_000_000
#: Characters of a number written in a profile or JSON file (Python refuses over 4,300).
MAX_NUMBER_CHARS = 50
#: Evaluation dates and periods: these years, inclusive.
MIN_YEAR, MAX_YEAR = 1900, 2199
#: Dates in a profile (birth, death): these years, inclusive.
MIN_PROFILE_YEAR = 1850
#: Characters of an offending value quoted in an error (longer values are cut with "…").
MAX_ERROR_INPUT_CHARS = 200
#: Characters of one error message (a longer one is cut with "…").
MAX_ERROR_MESSAGE_CHARS = 2_000

FIRST_DAY, LAST_DAY = date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)
