"""A small OpenFisca model mirroring 11 gongfu-rules standards: the fair peer of the benchmarks.

It is written the way OpenFisca is meant to be used for a batch:

* **arrays**: one simulation for many persons, built with ``SimulationBuilder``
  (``declare_person_entity``, ``declare_entity``, ``join_with_persons``) from integer ids,
  integer household indices and integer role indices (``simulation_from_arrays``), then one
  ``set_input`` of a whole array per input variable;
* **categorical codes**: regions are an ``Enum`` of Yunnan's counties (``County``), given as
  integer codes; every other choice (care arrangement, school stage…) is an ``Enum`` given as
  integer codes (``Enum.encode`` of an integer array);
* **parameters read per county, not per person**: a formula reads a parameter node *once per
  county* with OpenFisca's vectorial parameter indexing (``node[ALL_COUNTIES]``, an
  ``EnumArray`` of the 129 counties) and gathers the persons' values from that small array by
  their integer county code (``county_values``). Indexing the node with a person-length array
  instead (``node[region]``) is what OpenFisca's documentation shows for a few persons, but
  openfisca-core 46 resolves it with a Python loop over the persons (see
  ``VectorialParameterNodeAtInstant.build_from_node_name``), which made the old model 5-10×
  slower than it needs to be;
* **only the inputs a formula reads** are variables of the model (``PERSON_INPUTS``,
  ``HOUSEHOLD_INPUTS``) and are set.

Nothing here reads gongfu's compiled rules; only the parameter *values* come from the loaded
standards set: every parameter a mirrored standard reads is resolved on the benchmark date for
every Yunnan county (``ParameterDef.resolve(regions().chain(code), on)``: the county's own
value, else its prefecture's, else the province's) and stored as ``<standard>.<parameter>.
c<county code>`` (a dict value, e.g. rates by care arrangement, becomes a sub-node).

OpenFisca has no "unknown": a missing boolean input is ``False``, a missing choice ``unknown``.
A value gongfu leaves undetermined (a parameter without a known value, or an amount that needs
a fact not given) is ``NaN`` here. Amounts are 0 when not eligible. A mirror is used only when
its standard is in the loaded set and its rule, on the benchmark date, reads exactly the
parameters the mirror expects; otherwise it is skipped and the reason reported.
"""

from __future__ import annotations

import csv
import enum
import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from openfisca_core.entities import build_entity
from openfisca_core.indexed_enums import Enum
from openfisca_core.parameters import ParameterNode
from openfisca_core.periods import DateUnit
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

MONTH = DateUnit.MONTH
ETERNITY = DateUnit.ETERNITY
NAN = float("nan")


# --- entities ---------------------------------------------------------------------------------

#: Household roles in OpenFisca's order; ``join_with_persons`` takes their integer index.
ROLES = ("head", "spouse", "child", "parent", "other")
#: The plural keys a JSON situation uses for each role (OpenFisca's ``plural`` of the role).
ROLE_PLURAL = {"head": "head", "spouse": "spouse", "child": "children", "parent": "parents",
               "other": "others"}


def _entities():
    person = build_entity(key="person", plural="persons", label="个人 person", is_person=True)
    household = build_entity(
        key="household", plural="households", label="家庭 household",
        roles=[
            {"key": "head", "max": 1, "label": "户主 head of household"},
            {"key": "spouse", "max": 1, "label": "配偶 spouse"},
            {"key": "child", "plural": "children", "label": "子女 child"},
            {"key": "parent", "plural": "parents", "label": "父母 parent"},
            {"key": "other", "plural": "others", "label": "其他 other"},
        ])
    return person, household


# --- enumerations (each with ``unknown`` first: OpenFisca's default, index 0) ------------------

def yunnan_counties() -> list[str]:
    """Every Yunnan county-level code in gongfu's GB/T 2260 table, sorted. The file is found
    without importing gongfu_rules: the OpenFisca process of the batch bench never loads it."""
    package = importlib.util.find_spec("gongfu_rules").submodule_search_locations[0]
    with open(f"{package}/data/divisions/areas.csv", encoding="utf-8") as f:
        return sorted(row["code"] for row in csv.DictReader(f) if row["code"].startswith("53"))


def _choices(name: str, members: str) -> type[Enum]:
    """An enumeration of the model, ``unknown`` first (OpenFisca has no None)."""
    return Enum(name, [(m, m) for m in ["unknown", *members.split()]])


COUNTIES = yunnan_counties()
#: Yunnan's counties: code ``i`` (1-based) is ``COUNTIES[i - 1]``; 0 is unknown.
County = Enum("County", [("unknown", "unknown")] + [(f"c{code}", code) for code in COUNTIES])
#: Every county (not ``unknown``): the key that reads a parameter node once per county.
ALL_COUNTIES = County.encode(np.arange(1, len(COUNTIES) + 1, dtype=np.int16))

# The same members as gongfu's profile enumerations of the same names (``export_spec``
# checks it, so that a renamed member cannot silently become "unknown" here).
Sex = _choices("Sex", "male female")
HukouType = _choices("HukouType", "agricultural non_agricultural")
CareArrangement = _choices("CareArrangement", "institutional scattered")
StudentStage = _choices("StudentStage", "preschool primary junior_secondary senior_secondary "
                        "secondary_vocational higher")
SchoolLocation = _choices("SchoolLocation", "village_township county_seat city")

#: (name, value type, enumeration or None): the profile facts some formula reads, nothing else.
PERSON_INPUTS: list[tuple[str, Any, Any]] = [
    ("birth_date", date, None),
    ("hukou_region", Enum, County),
    ("residence_region", Enum, County),
    ("hukou_type", Enum, HukouType),
    ("orphan", bool, None),
    ("de_facto_unsupported_child", bool, None),
    ("hiv_infected_child", bool, None),
    ("child_care_arrangement", Enum, CareArrangement),
    ("disability_grade", int, None),
    ("disability_certificate", bool, None),
    ("tekun", bool, None),
    ("student_stage", Enum, StudentStage),
    ("school_location", Enum, SchoolLocation),
    ("nutrition_pilot_area", bool, None),
    ("unemployed", bool, None),
    ("unemployment_insured_months", int, None),
    ("only_child_parent", bool, None),
    ("only_child_sex", Enum, Sex),
]
HOUSEHOLD_INPUTS: list[tuple[str, Any, Any]] = [
    ("dibao", bool, None),
]
#: The choice enumerations of the inputs, by input name (for encoding labels as integer codes).
ENUMS: dict[str, type[Enum]] = {name: e for name, _t, e in PERSON_INPUTS if e is not None}


def _input_variable(name: str, entity, value_type, choices) -> type[Variable]:
    attrs: dict[str, Any] = {
        "value_type": value_type, "entity": entity, "label": name,
        "definition_period": ETERNITY if name == "birth_date" else MONTH,
    }
    if choices is not None:
        attrs["possible_values"] = choices
        attrs["default_value"] = choices.unknown
    return type(name, (Variable,), attrs)


def _age_variable(person) -> type[Variable]:
    def formula(person, period, parameters):
        """周岁 on the first day of the period: completed years."""
        birth = person("birth_date", period)
        on = period.start
        year = birth.astype("datetime64[Y]").astype(int) + 1970
        month_start = birth.astype("datetime64[M]")
        month = month_start.astype(int) % 12 + 1
        day = (birth - month_start.astype("datetime64[D]")).astype(int) + 1
        before_birthday = (on.month < month) | ((on.month == month) & (on.day < day))
        return on.year - year - before_birthday
    return type("age", (Variable,), {
        "value_type": int, "entity": person, "definition_period": MONTH,
        "label": "age in completed years (周岁)", "formula": formula})


# --- reading parameters per county --------------------------------------------------------------

class CountyValues:
    """A parameter node read once per county, gathered for each person by county code.

    ``CountyValues(node, region).scattered`` is the ``scattered`` sub-value for every person
    (``NaN`` where the county is unknown); ``CountyValues(node, region).value`` the leaf itself.
    """

    def __init__(self, node, region) -> None:
        self._per_county = _per_county(node)
        self._region = np.asarray(region)

    def _gather(self, values) -> np.ndarray:
        return np.concatenate(([NAN], np.asarray(values, dtype=float)))[self._region]

    @property
    def value(self) -> np.ndarray:
        return self._gather(self._per_county)

    def __getattr__(self, key: str) -> np.ndarray:
        return self._gather(self._per_county[key])


_PER_COUNTY: dict[int, tuple[Any, Any]] = {}


def _per_county(node):
    """``node[ALL_COUNTIES]`` (OpenFisca's vectorial indexing, 129 keys), kept for the node.

    A parameter node at an instant never changes and OpenFisca hands out the same object for
    the same instant, so a process evaluating many small simulations reads each node once."""
    cached = _PER_COUNTY.get(id(node))
    if cached is None or cached[0] is not node:
        cached = _PER_COUNTY[id(node)] = (node, node[ALL_COUNTIES])
    return cached[1]


# --- mirrored standards ---------------------------------------------------------------------

@dataclass(frozen=True)
class Mirror:
    """A hand-written OpenFisca formula for one standard.

    ``params``: the parameters the standard's rule must read (else the mirror is skipped).
    ``formula(person, period, P, region)``: P is ``parameters(period).<standard id>`` (None
    when the standard has no parameters), region the person's county codes for the standard's
    region basis. Returns the amount (0 if not eligible, NaN if undetermined); for a service
    (no amount), the quantity.
    """

    params: frozenset[str]
    formula: Callable[..., Any]
    note: str


def _orphan_amount(person, period, P, region):
    eligible = person("orphan", period) & (person("age", period) < 18)
    rates = CountyValues(P.child_living_standard, region)
    care = person("child_care_arrangement", period)
    amount = np.select([care == CareArrangement.institutional, care == CareArrangement.scattered],
                       [rates.institutional, rates.scattered], NAN)
    return np.where(eligible, amount, 0.0)


def _de_facto_amount(person, period, P, region):
    under_18 = person("age", period) < 18
    eligible = person("de_facto_unsupported_child", period) & under_18
    # the orphan allowance and the HIV-infected child allowance take priority (both exclude
    # this standard: orphan_basic_living, hiv_infected_child_living_allowance)
    eligible &= ~((person("orphan", period) | person("hiv_infected_child", period)) & under_18)
    return np.where(eligible, CountyValues(P.child_living_standard, region).scattered, 0.0)


def _family_planning_amount(person, period, P, region):
    eligible = ((person("hukou_type", period) == HukouType.agricultural)
                & person("only_child_parent", period)
                & (person("age", period) >= CountyValues(P.min_age, region).value))
    rates = CountyValues(P.rate, region)
    sex = person("only_child_sex", period)
    amount = np.select([sex == Sex.male, sex == Sex.female], [rates.male, rates.female], NAN)
    return np.where(eligible, amount, 0.0)


def _disability_living_amount(person, period, P, region):
    eligible = person("disability_certificate", period) & person.household("dibao", period)
    return np.where(eligible, CountyValues(P.rate, region).value, 0.0)


def _severe_disability_care_amount(person, period, P, region):
    grade = person("disability_grade", period)
    eligible = person("disability_certificate", period) & ((grade == 1) | (grade == 2))
    rates = CountyValues(P.care_rate, region)
    return np.where(eligible, np.where(grade == 1, rates.grade_1, rates.grade_2), 0.0)


def _elderly_amount(person, period, P, region):
    age = person("age", period)
    bands = CountyValues(P.allowance, region)
    amount = np.select([age >= 100, age >= 90], [bands.age_100_plus, bands.age_90_99],
                       bands.age_80_89)
    return np.where(age >= 80, amount, 0.0)


def _school_meal_amount(person, period, P, region):
    stage = person("student_stage", period)
    eligible = (((stage == StudentStage.primary) | (stage == StudentStage.junior_secondary))
                & (person("school_location", period) == SchoolLocation.village_township)
                & person("nutrition_pilot_area", period))
    return np.where(eligible, CountyValues(P.meal_rate, region).value, 0.0)  # per school day


def _aged_65_service(person, period, P, region):
    return np.where(person("age", period) >= 65, 1.0, 0.0)  # 1 time a year


def _tekun_amount(person, period, P, region):
    # the published figure of the county's city or province (NaN where none is published)
    return np.where(person("tekun", period), CountyValues(P.published_standard, region).value,
                    0.0)


def _unemployment_amount(person, period, P, region):
    eligible = person("unemployed", period) & (person("unemployment_insured_months", period) >= 12)
    wage_class = CountyValues(P.min_wage_class, region).value  # NaN where unknown
    wages = CountyValues(P.min_wage_monthly, region)
    wage = np.select([wage_class == 1, wage_class == 2, wage_class == 3],
                     [wages.class_1, wages.class_2, wages.class_3], NAN)
    return np.where(eligible, CountyValues(P.unemployment_ratio, region).value * wage, 0.0)


MIRRORS: dict[str, Mirror] = {
    "tekun_basic_living": Mirror(
        frozenset({"published_standard"}), _tekun_amount,
        "特困 person; the published figure, Kunming's own or the province's"),
    "unemployment_insurance_benefit": Mirror(
        frozenset({"unemployment_ratio", "min_wage_class", "min_wage_monthly"}),
        _unemployment_amount,
        "registered unemployed, >= 12 insured months; 0.9 x minimum wage of the county's class"),
    "rural_school_meal_subsidy": Mirror(
        frozenset({"meal_rate", "school_days"}), _school_meal_amount,
        "primary/junior pupil at a village-township school in a pilot area; yuan per day"),
    "elderly_health_management": Mirror(
        frozenset(), _aged_65_service, "service: age >= 65; compared as times a year"),
    "elderly_tcm_health_management": Mirror(
        frozenset(), _aged_65_service, "service: age >= 65; compared as times a year"),
    "disability_living_subsidy": Mirror(
        frozenset({"rate"}), _disability_living_amount,
        "certificate holder in a dibao household; county rate or the provincial floor"),
    "severe_disability_care_subsidy": Mirror(
        frozenset({"care_rate"}), _severe_disability_care_amount,
        "certificate holder, grade 1 or 2; rate by grade"),
    "elderly_allowance": Mirror(
        frozenset({"allowance"}), _elderly_amount,
        "age >= 80; bands 80-89 / 90-99 / 100+, county table or the provincial floor"),
    "orphan_basic_living": Mirror(
        frozenset({"child_living_standard"}), _orphan_amount,
        "orphan < 18; rate by care arrangement (Kunming's own rates vs the province's)"),
    "de_facto_unsupported_child_subsidy": Mirror(
        frozenset({"child_living_standard"}), _de_facto_amount,
        "de facto unsupported child < 18, scattered rate; not when an orphan or HIV-infected"),
    "family_planning_reward": Mirror(
        frozenset({"min_age", "rate", "two_daughter_rate"}), _family_planning_amount,
        "agricultural hukou only-child parent, age >= 60 (Diqing 55); 960 son / 1080 daughter "
        "(two-daughter parents, a fact the caseload does not carry, are not modelled)"),
}


# --- parameters -------------------------------------------------------------------------------

def _leaf(value: Any, on: date) -> dict:
    number = NAN if value is None else float(value)
    return {"values": {on.isoformat(): {"value": number}}}


def _county_node(std, standard, name: str, on: date) -> dict:
    """``{c<county>: value}`` (or ``{c<county>: {key: value}}``) for one parameter on ``on``."""
    from gongfu_rules.regions import regions

    p = std.parameter(standard, name)
    table = regions()
    values = {}
    for code in COUNTIES:
        r = p.resolve(table.chain(code), on)
        values[code] = None if r is None else r.entry.value
    keys = sorted({k for v in values.values() if isinstance(v, dict) for k in v})
    node: dict[str, Any] = {}
    for code, v in values.items():
        if keys:
            v = v if isinstance(v, dict) else {}
            node[f"c{code}"] = {k: _leaf(v.get(k), on) for k in keys}
        else:
            node[f"c{code}"] = _leaf(v, on)
    return node


# --- the model --------------------------------------------------------------------------------

@dataclass
class Model:
    tbs: TaxBenefitSystem
    covered: list[str]          # standard ids with a formula, in the set's order
    skipped: dict[str, str]     # standard id → why it has no mirror here
    notes: dict[str, str]
    period: str


def export_spec(std, on: date) -> dict:
    """What the model takes from gongfu's loaded standards ``std`` on ``on``, as plain data
    (JSON-ready): the mirrored standards, each one's region basis, and the parameter tree."""
    from gongfu_rules import profile

    for choices in (Sex, HukouType, CareArrangement, StudentStage, SchoolLocation):
        theirs = [m.name for m in getattr(profile, choices.__name__)]
        if list(choices.names[1:]) != theirs:
            raise ValueError(f"openfisca_model.{choices.__name__} has {list(choices.names[1:])}"
                             f", gongfu's profile has {theirs}: update the model")
    covered, skipped, notes, tree = {}, {}, {}, {}
    for s in std:
        mirror = MIRRORS.get(s.id)
        if mirror is None:
            skipped[s.id] = "no OpenFisca formula written for it"
            continue
        rule = s.rule_on(on)
        if rule is None:
            skipped[s.id] = f"not in force on {on}"
            continue
        if set(rule.params) != mirror.params:
            skipped[s.id] = (f"its rule reads {sorted(rule.params)}, the mirror expects "
                             f"{sorted(mirror.params)}")
            continue
        if s.entity != "person":
            skipped[s.id] = "household-level standards are not mirrored"
            continue
        if rule.params:
            tree[s.id] = {name: _county_node(std, s, name, on) for name in sorted(rule.params)}
        covered[s.id] = s.region_basis
        notes[s.id] = mirror.note
    for sid in MIRRORS:
        if sid not in std.standards:
            skipped[sid] = "mirror written, but the standard is not in the loaded set"
    return {"period": f"{on.year:04d}-{on.month:02d}", "covered": covered, "skipped": skipped,
            "notes": notes, "tree": tree}


def model_from_spec(spec: dict) -> Model:
    """The tax-benefit system: inputs, age, and a variable for every mirrored standard."""
    person, household = _entities()
    tbs = TaxBenefitSystem([person, household])
    person, household = tbs.person_entity, tbs.group_entities[0]
    for name, vtype, choices in PERSON_INPUTS:
        tbs.add_variable(_input_variable(name, person, vtype, choices))
    for name, vtype, choices in HOUSEHOLD_INPUTS:
        tbs.add_variable(_input_variable(name, household, vtype, choices))
    tbs.add_variable(_age_variable(person))
    for sid, basis in spec["covered"].items():
        tbs.add_variable(_benefit_variable(sid, basis, MIRRORS[sid], person))
    tbs.parameters = ParameterNode("", data=spec["tree"])
    return Model(tbs, list(spec["covered"]), spec["skipped"], spec["notes"], spec["period"])


def build_model(std, on: date) -> Model:
    """The model for gongfu's loaded standards ``std`` on ``on``."""
    return model_from_spec(export_spec(std, on))


def _benefit_variable(sid: str, basis: str, mirror: Mirror, person) -> type[Variable]:
    region_var = "hukou_region" if basis == "hukou" else "residence_region"

    def formula(person, period, parameters):
        node = parameters(period)[sid] if mirror.params else None
        return mirror.formula(person, period, node, person(region_var, period))
    return type(sid, (Variable,), {
        "value_type": float, "entity": person, "definition_period": MONTH, "label": sid,
        "default_value": 0.0, "formula": formula})


# --- simulations from arrays (the batch path) ---------------------------------------------------

def simulation_from_arrays(model: Model, household: np.ndarray, role: np.ndarray,
                           persons: dict[str, np.ndarray], households: dict[str, np.ndarray]):
    """One simulation for ``len(household)`` persons in ``households``' count of households.

    ``household``: each person's household index (0..H-1); ``role``: each person's index into
    ``ROLES``; ``persons`` / ``households``: an array per input variable (Enum inputs as integer
    codes of their enumeration, ``NaT``-free ``datetime64[D]`` birth dates). Ids are the
    integer positions. Only the given inputs are set.
    """
    n_households = len(next(iter(households.values())))
    builder = SimulationBuilder()
    builder.create_entities(model.tbs)
    builder.declare_person_entity("person", range(len(household)))
    group = builder.declare_entity("household", range(n_households))
    builder.join_with_persons(group, household, role)
    simulation = builder.build(model.tbs)
    for name, values in persons.items():
        simulation.set_input(name, "ETERNITY" if name == "birth_date" else model.period, values)
    for name, values in households.items():
        simulation.set_input(name, model.period, values)
    return simulation


def calculate_all(model: Model, simulation) -> dict[str, np.ndarray]:
    """Every mirrored standard's amounts, a person-length array each."""
    return {sid: simulation.calculate(sid, model.period) for sid in model.covered}


def household_arrays(households: list) -> tuple[np.ndarray, np.ndarray, dict, dict]:
    """(household index, role index, person inputs, household inputs) for gongfu ``Household``s,
    as ``simulation_from_arrays`` takes them: what a portal's batch would send as columns."""
    hh, role = [], []
    values: dict[str, list] = {name: [] for name, _t, _e in PERSON_INPUTS}
    for index, h in enumerate(households):
        for member in h.members:
            hh.append(index)
            role.append(ROLES.index(member.role.value) if member.role else ROLES.index("other"))
            for name, vtype, choices in PERSON_INPUTS:
                values[name].append(_array_value(getattr(member, name), vtype, choices,
                                                 h.region if vtype is Enum and choices is County
                                                 else None))
    persons = {}
    for name, vtype, _choices in PERSON_INPUTS:
        dtype = {date: "datetime64[D]", bool: bool, int: np.int32}.get(vtype, np.int16)
        persons[name] = np.array(values[name], dtype=dtype)
    house = {"dibao": np.array([bool(h.dibao) for h in households])}
    return np.array(hh), np.array(role, dtype=np.int16), persons, house


_COUNTY_CODE = {code: i + 1 for i, code in enumerate(COUNTIES)}


def _array_value(value: Any, vtype, choices, fallback_region: str | None) -> Any:
    """An input cell as the array wants it; OpenFisca's default where the fact is unknown."""
    if choices is County:
        return _COUNTY_CODE.get(value or fallback_region or "", 0)
    if choices is not None:
        return 0 if value is None else choices[value.name].index
    if value is None:
        return False if vtype is bool else 0
    return value


# --- situations (the JSON path) -----------------------------------------------------------------

def _json_value(value: Any, choices) -> Any:
    if choices is County:
        return f"c{value}"
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def situation(households: list, period: str, prefix: bool = False) -> dict:
    """The JSON situation a portal would send for ``households`` (a list of gongfu Households).

    Only the facts some formula reads, and only where known (a person's missing region is the
    household's). Person ids are ``<household>/<member>`` when ``prefix`` (several households
    in one situation), else the member ids.
    """
    persons: dict[str, dict] = {}
    groups: dict[str, dict] = {}
    for index, hh in enumerate(households):
        hid = hh.id or f"h{index}"
        group: dict[str, Any] = {}
        for member in hh.members:
            pid = f"{hid}/{member.id}" if prefix else member.id
            facts: dict[str, Any] = {}
            for name, _vtype, choices in PERSON_INPUTS:
                value = getattr(member, name)
                if value is None and choices is County:
                    value = hh.region
                if value is None:
                    continue
                key = "ETERNITY" if name == "birth_date" else period
                facts[name] = {key: _json_value(value, choices)}
            persons[pid] = facts
            role = ROLE_PLURAL[member.role.value if member.role else "other"]
            group.setdefault(role, []).append(pid)
        if hh.dibao is not None:
            group["dibao"] = {period: hh.dibao}
        groups[hid] = group
    return {"persons": persons, "households": groups}


def calculate(model: Model, data: dict) -> dict[str, dict[str, float]]:
    """``{person id: {standard id: amount}}`` for a situation."""
    return results(model, SimulationBuilder().build_from_entities(model.tbs, data))


def results(model: Model, simulation) -> dict[str, dict[str, float]]:
    """``{person id: {standard id: amount}}`` computed by a built simulation."""
    ids = simulation.persons.ids
    out: dict[str, dict[str, float]] = {pid: {} for pid in ids}
    for sid, values in calculate_all(model, simulation).items():
        for pid, v in zip(ids, values):
            out[pid][sid] = float(v)
    return out


# --- comparing with gongfu ----------------------------------------------------------------------

def comparable(result) -> Any:
    """What the mirror computes for a gongfu result: the amount (0 if not eligible); for an
    eligible service without an amount, its quantity (times a year)."""
    if result.status != "eligible":
        return 0
    if result.amount is None and result.quantity is not None and result.rule.amount is None:
        return result.quantity
    return result.amount


def same_amount(gongfu_amount: Decimal | None, openfisca_amount: float) -> bool:
    """Equal to the fen (0.01), or both undetermined (None / NaN)."""
    if gongfu_amount is None or math.isnan(openfisca_amount):
        return gongfu_amount is None and math.isnan(openfisca_amount)
    return abs(float(gongfu_amount) - openfisca_amount) < 0.005
