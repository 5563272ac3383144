"""A portal developer (门户开发者): what can this citizen get, and what should we ask next?

    python examples/portal.py [PROFILE.json] [--on YYYY-MM-DD]

Prints each entitlement with its amount and source grade, then the undetermined standards with
the facts that would decide them (the 免申即享 idea: ask only what matters).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gongfu_rules import evaluate
from gongfu_rules.facts import fact_specs

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("profile", nargs="?", default=HERE / "profiles" / "orphan_kunming.json")
    ap.add_argument("--on", default="2024-08-01")
    args = ap.parse_args()
    profile = json.loads(Path(args.profile).read_text(encoding="utf-8"))
    result = evaluate(profile, on=args.on)
    labels = {s.name if s.entity == "person" else f"household.{s.name}": s.zh for s in fact_specs()}

    for person in result.persons:
        print(f"== {person} ({args.on})")
        for r in result.entitlements(person):
            what = f"{r.amount} {r.standard.unit}" if r.amount is not None else \
                f"{r.quantity} {r.rule.quantity_unit.zh}" if r.quantity is not None else "—"
            print(f"可享受 {r.standard.name.zh}: {what} [{r.reliability}]")
        asks: dict[str, list[str]] = {}
        for r in result.results(person):
            if r.status == "undetermined":
                for fact in r.missing:
                    asks.setdefault(fact, []).append(r.standard_id)
        for fact, ids in sorted(asks.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:5]:
            print(f"待确定: ask {fact} ({labels.get(fact, fact)}) to decide {len(ids)} standards")
    print("JSON schema:", json.loads(result.to_json())["schema"])


if __name__ == "__main__":
    main()
