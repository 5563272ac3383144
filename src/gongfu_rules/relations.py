"""Facts about a person's relatives, read from the household's members (家庭成员关系).

Some facts a rule reads are about someone else: the spouse's age (计划生育家庭特别扶助: 女方年满49
周岁), whether a parent is disabled (残疾人子女), the sex of the only child. When the household
lists that relative, the fact comes from the relative's own record, and only when the relative
is absent (or their record lacks it) is the person's own answer used — so a husband is never
asked his wife's age when she is a member with a birth date.

Relatives are found by the role each member has relative to the head of household (与户主关系,
:class:`gongfu_rules.profile.Role`), among the members living on the evaluation date:

- spouse: the head's is the one member whose role is ``spouse``; a spouse's is the one ``head``;
- parents: a ``child``'s are the ``head`` and the ``spouse``; the head's are the ``parent`` members;
- children: the head's and the spouse's are the ``child`` members.

A relation that is not one member (two members with role ``spouse``, say) is not guessed.

:data:`DERIVED` says, per fact, how it is read from the relatives (``None``: they do not
decide it, and the person's own answer stands). The batch path computes the same as column
expressions (``gongfu_rules.table``); a property test holds the two to agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from .dates import age_on

#: The roles whose members are a person's parents, by the person's role.
PARENT_ROLES = {"child": ("head", "spouse"), "head": ("parent",)}
#: The role of a person's spouse, by the person's role.
SPOUSE_ROLE = {"head": "spouse", "spouse": "head"}
#: The roles whose children are the ``child`` members.
CHILD_OWNER_ROLES = ("head", "spouse")


def living(members: Sequence[Any], on: date) -> list[Any]:
    """The members alive on ``on``: a member who died on or before it, or who is born after
    it (a period's months before a child's birth), is not a relative then."""
    return [m for m in members if (m.death_date is None or m.death_date > on)
            and (m.birth_date is None or m.birth_date <= on)]


def with_role(members: Sequence[Any], role: str) -> list[Any]:
    # a Role is a str enumeration: it equals (and hashes as) its value, read in C
    return [m for m in members if m.role == role]


def spouse_age(person: Any, members: Sequence[Any], on: date) -> int | None:
    """The spouse member's age (周岁) on ``on``; None without exactly one spouse member, or
    when that member's birth date is not known."""
    role = SPOUSE_ROLE.get(person.role)
    found = with_role(members, role) if role else []
    if len(found) != 1 or found[0].birth_date is None:
        return None
    return age_on(found[0].birth_date, on)


def parent_disabled(person: Any, members: Sequence[Any], on: date) -> bool | None:
    """True when a parent member holds a disability certificate (残疾人证); False when both
    parents are members and neither does; otherwise None (an absent parent may be)."""
    roles = PARENT_ROLES.get(person.role, ())
    parents = [m for m in members if m.role in roles]
    if any(m.disability_certificate is True for m in parents):
        return True
    if len(parents) == 2 and all(m.disability_certificate is False for m in parents):
        return False
    return None


def only_child_sex(person: Any, members: Sequence[Any], on: date) -> str | None:
    """The sex of the one ``child`` member of a head or spouse; None otherwise."""
    if person.role not in CHILD_OWNER_ROLES:
        return None
    children = with_role(members, "child")
    if len(children) != 1 or children[0].sex is None:
        return None
    return children[0].sex.value


#: Each fact read from the relatives, and how (given the person, the living members, the date).
DERIVED: dict[str, Callable[[Any, Sequence[Any], date], Any]] = {
    "spouse_age": spouse_age, "parent_disabled": parent_disabled,
    "only_child_sex": only_child_sex,
}


#: The member fields each derived fact reads (a batch reads these columns too).
INPUTS: dict[str, tuple[str, ...]] = {
    "spouse_age": ("role", "birth_date", "death_date"),
    "parent_disabled": ("role", "disability_certificate", "birth_date", "death_date"),
    "only_child_sex": ("role", "sex", "birth_date", "death_date"),
}


def derived(name: str, person: Any, members: Sequence[Any], on: date,
            alive: Sequence[Any] | None = None) -> Any:
    """The fact ``name`` of ``person``: from the relatives among ``members`` when they decide
    it, else the person's own answer (None when neither is known). ``alive``: the members
    :func:`living` on ``on``, when already found."""
    value = DERIVED[name](person, living(members, on) if alive is None else alive, on)
    return getattr(person, name) if value is None else value
