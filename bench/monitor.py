"""Benchmark: the life-event monitor — events/s for ingest, persons/s for the clock.

    python bench/monitor.py                      # 100,000 households
    python bench/monitor.py --households 2000    # a quick run

Generates households of 1-3 members in Yunnan (fixed seed): every member registered by a hukou
move with a birth date, then births, 低保 grants, disability certificates, 特困 grants, income
changes and deaths, a few sent twice and a few late. Ingests them into a fresh SQLite store
(``bench/out/monitor.sqlite``), then runs the clock over two years (birthdays at the ages the
standards test, and every rule or figure boundary). Prints figures only, and the peak RSS.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
try:
    import gongfu_rules  # noqa: F401
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(REPO / "src"))

from gongfu_rules import default_standards
from gongfu_rules.monitor import Monitor

COUNTIES = ["530102", "530103", "530111", "532301", "532325", "533422", "530402", "530602"]


def day(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randrange((hi - lo).days))


def events(n: int, seed: int) -> tuple[list[dict], list[dict]]:
    """The events in date order with 1 % sent twice, and 0.5 % held back to be sent late."""
    rng = random.Random(seed)
    out: list[dict] = []
    start = date(2024, 1, 1)
    for h in range(n):
        hid, region = f"h{h}", rng.choice(COUNTIES)

        def ev(type_: str, on: date, person: str | None = None, **kw) -> None:
            out.append({"id": f"{hid}-{len(out)}", "type": type_, "household_id": hid,
                        "effective_date": on.isoformat(),
                        **({"person_id": person} if person else {}), **kw})
        members = rng.choice([1, 2, 2, 3])
        for p in range(members):
            ev("hukou_move", start, f"p{p}", region=region, hukou_region=region,
               birth_date=day(rng, date(1935, 1, 1), date(2020, 1, 1)).isoformat())
        if rng.random() < 0.3:
            ev("birth", day(rng, start, date(2025, 12, 1)), "c", born_in_compliance=True)
        if rng.random() < 0.15:
            ev("dibao_granted", day(rng, start, date(2025, 6, 1)), area_type="urban",
               per_capita_monthly_income=str(rng.randrange(0, 600)))
        if rng.random() < 0.08:
            ev("disability_certified", day(rng, start, date(2025, 6, 1)), "p0",
               grade=rng.randint(1, 4))
        if rng.random() < 0.04:
            ev("tekun_granted", day(rng, start, date(2025, 6, 1)), "p0",
               support_mode="dispersed", self_care="able")
        if rng.random() < 0.05:
            ev("income_change", day(rng, date(2025, 6, 1), date(2025, 12, 1)),
               per_capita_monthly_income=str(rng.randrange(0, 900)))
        if rng.random() < 0.02:
            ev("death", day(rng, date(2025, 6, 1), date(2025, 12, 1)), "p0")
    out.sort(key=lambda e: e["effective_date"])
    dupes = rng.sample(out, len(out) // 100)
    late = [e for e in out if rng.random() < 0.005]  # held back, sent after the rest
    held = {id(e) for e in late}
    return [e for e in out if id(e) not in held] + dupes, late


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20251207)
    ap.add_argument("--store", default=str(REPO / "bench" / "out" / "monitor.sqlite"))
    args = ap.parse_args()

    for suffix in ("", "-wal", "-shm"):
        Path(args.store + suffix).unlink(missing_ok=True)
    std = default_standards()
    evs, late = events(args.households, args.seed)
    print(f"python {platform.python_version()}, {os.cpu_count()} cores (shared machine, load "
          f"{os.getloadavg()[0]:.1f}), {args.households:,} households, {len(evs) + len(late):,} events")

    m = Monitor(args.store, std)
    for name, batch in (("ingest", evs), ("ingest late", late)):
        t, cpu = time.perf_counter(), time.process_time()
        report = m.ingest(batch)
        s, c = time.perf_counter() - t, time.process_time() - cpu
        print(f"{name}: {report.applied:,} applied ({report.late:,} late, {report.revoked:,} "
              f"changes revoked), {report.duplicates:,} duplicates, {report.changes:,} changes, "
              f"{len(report.errors)} errors in {s:.1f} s ({c:.1f} s CPU): "
              f"{len(batch) / s:,.0f} events/s ({len(batch) / c:,.0f} per CPU second)")

    ticks = [date(2026, 1, 1), date(2026, 7, 1), date(2027, 1, 1), date(2028, 1, 1)]
    for on in ticks:
        t, cpu = time.perf_counter(), time.process_time()
        r = m.tick(on)
        s, c = time.perf_counter() - t, time.process_time() - cpu
        print(f"tick --on {on}: {r.households:,} households ({r.persons:,} persons) "
              f"re-evaluated, {r.changes:,} changes in {s:.1f} s ({c:.1f} s CPU): "
              f"{r.persons / s:,.0f} persons/s ({r.persons / c:,.0f} per CPU second)")
    m.close()
    print(f"peak RSS {peak_mb():,.0f} MB; store {Path(args.store).stat().st_size / 2**20:,.0f} MB")


if __name__ == "__main__":
    main()
