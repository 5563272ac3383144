"""Benchmark: the HTTP service (``gongfu serve``) against evaluating in-process.

Run (needs the service extra: ``pip install -e '.[service]' httpx``):

    python bench/service.py                       # 200 households, 400 requests per level
    python bench/service.py --n 100 --requests 200 --detail summary
    python bench/service.py --n 100 --requests 200 --gzip      # the server gzips (level 1)

It starts ``gongfu serve`` on a free 127.0.0.1 port (one worker), sends ``POST /v1/evaluate``
for generated Yunnan households from 1, 8 and 32 concurrent clients, and prints requests/s and
p50/p99 latency for each, beside the in-process figure for the same households: the
evaluation written as the service writes it (``views.evaluation_json``), the work the server
does per request less HTTP. Rounds are interleaved (in-process, c=1, c=8, c=32, then again)
and each row reports the median round. Client and server share the machine's cores, so the
HTTP figures include the client's own CPU. It prints figures only and asserts nothing. Only
127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
try:
    import gongfu_rules  # noqa: F401
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(REPO / "src"))

import httpx

from gongfu_rules import __version__, evaluate, load_standards, parse_household

# A few Yunnan counties in and outside Kunming, so regional values differ between households.
COUNTIES = ("530102", "530103", "530111", "530112", "530128", "532301", "532325", "533401",
            "530402", "532501")


def households(n: int, seed: int, on: date) -> list[dict]:
    """``n`` households of 1-5 members with the facts the larger standards read."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        county = rng.choice(COUNTIES)
        members = []
        for j in range(rng.randint(1, 5)):
            born = on - timedelta(days=rng.randint(0, 95 * 365))
            age = (on - born).days // 365
            person = {"id": f"p{j + 1}", "birth_date": born.isoformat(),
                      "sex": rng.choice(("male", "female")), "hukou_region": county}
            if age < 18 and rng.random() < 0.1:
                person |= {"orphan": True, "child_care_arrangement": rng.choice(("散居", "集中"))}
            if age >= 16 and rng.random() < 0.1:
                person |= {"disability_certificate": True, "disability_grade": rng.randint(1, 4),
                           "disability_category": rng.choice(("肢体", "视力", "智力"))}
            if age >= 60 and rng.random() < 0.3:
                person["resident_pension_recipient"] = True
            members.append(person)
        home = {"id": f"h{i}", "region": county, "members": members}
        if rng.random() < 0.15:
            home |= {"dibao": True, "per_capita_monthly_income": rng.randint(0, 800)}
        out.append(home)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def in_process(homes: list[dict], on: str, std, requests: int, detail: str) -> dict:
    """The server's per-request work without HTTP: parse, evaluate, the JSON text (as the
    service writes it; a version without ``json_text``: to_dict, then JSON)."""
    try:
        from gongfu_rules.service.views import evaluation_json
    except ImportError:
        evaluation_json = None
    latencies = []
    started = time.perf_counter()
    for k in range(requests):
        t = time.perf_counter()
        evaluation = evaluate(parse_household(homes[k % len(homes)]), on, standards=std)
        if evaluation_json is not None:
            evaluation_json(evaluation, None, detail)
        else:
            result = evaluation.to_dict()
            if detail == "summary":  # what the service drops for detail=summary
                for group in (result["household"], *result["persons"]):
                    group["not_eligible"] = []
            json.dumps(result, ensure_ascii=False)
        latencies.append(time.perf_counter() - t)
    return _figures(latencies, time.perf_counter() - started)


async def over_http(url: str, bodies: list[bytes], concurrency: int, requests: int,
                    encoding: str = "identity") -> dict:
    """``requests`` POSTs from ``concurrency`` clients, each waiting for its answer (read
    whole, and decompressed when ``encoding`` is gzip)."""
    latencies: list[float] = []
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        async def worker() -> None:
            for k in counter:
                t = time.perf_counter()
                r = await client.post("/v1/evaluate", content=bodies[k % len(bodies)],
                                      headers={"Content-Type": "application/json",
                                               "Accept-Encoding": encoding})
                await r.aread()
                latencies.append(time.perf_counter() - t)
                if r.status_code != 200:
                    raise SystemExit(f"unexpected {r.status_code}: {r.text[:300]}")
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return _figures(latencies, time.perf_counter() - started)


def _figures(latencies: list[float], wall: float) -> dict:
    return {"rps": len(latencies) / wall, "p50": percentile(latencies, 0.5) * 1000,
            "p99": percentile(latencies, 0.99) * 1000}


def start_server(standards: str | None, gzip_level: int = 0) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "gongfu_rules.cli", "serve", "--host", "127.0.0.1",
           "--port", str(port)] + (["--standards", standards] if standards else []) \
        + (["--gzip-level", str(gzip_level)] if gzip_level else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="households (default 200)")
    ap.add_argument("--requests", type=int, default=400, help="requests per level and round")
    ap.add_argument("--levels", default="1,8,32", help="concurrency levels (default 1,8,32)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--detail", choices=("full", "compact", "summary"), default="full")
    ap.add_argument("--gzip", action="store_true",
                    help="the server gzips at level 1 and the clients accept it; default: not")
    ap.add_argument("--on", default="2025-08-01")
    ap.add_argument("--seed", type=int, default=20250801)
    ap.add_argument("--standards", help="standards directory (default: the bundled one)")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    encoding = "gzip" if args.gzip else "identity"

    std = load_standards(args.standards)
    homes = households(args.n, args.seed, date.fromisoformat(args.on))
    bodies = [json.dumps({"profile": h, "on": args.on, "detail": args.detail},
                         ensure_ascii=False).encode() for h in homes]
    persons = sum(len(h["members"]) for h in homes)
    print(f"gongfu-rules {__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs (shared machine: figures vary between runs)")
    print(f"{args.n} households ({persons} persons), {len(std)} standards, detail={args.detail}, "
          f"Accept-Encoding: {encoding}, {args.requests} requests per level, {args.rounds} "
          "interleaved rounds, median shown")

    proc, url = start_server(args.standards, 1 if args.gzip else 0)
    rows: dict[str, list[dict]] = {"in-process": [], **{f"http c={c}": [] for c in levels}}
    try:
        for level in levels:  # warm-up: plans cached, connections open
            asyncio.run(over_http(url, bodies, level, min(args.requests, 2 * level), encoding))
        in_process(homes, args.on, std, min(args.requests, 50), args.detail)
        for _ in range(args.rounds):
            rows["in-process"].append(in_process(homes, args.on, std, args.requests, args.detail))
            for level in levels:
                rows[f"http c={level}"].append(
                    asyncio.run(over_http(url, bodies, level, args.requests, encoding)))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)

    print(f"\n| {'path':<12} | {'requests/s':>10} | {'p50 ms':>8} | {'p99 ms':>8} |")
    print(f"|{'-' * 14}|{'-' * 12}|{'-' * 10}|{'-' * 10}|")
    for name, runs in rows.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99")}
        print(f"| {name:<12} | {med['rps']:>10.1f} | {med['p50']:>8.2f} | {med['p99']:>8.2f} |")


if __name__ == "__main__":
    main()
