"""``gongfu serve`` as a process: SIGHUP reload, and what its access log holds.

The server runs in a subprocess on a free 127.0.0.1 port, on a copy of the bundled standards
that the tests edit.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
import httpx  # noqa: E402

from gongfu_rules import bundled_standards_dir  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="SIGHUP is POSIX-only")
ID_NUMBER = "11010519491231002X"  # the valid example number of docs/profiles.md


class Served:
    def __init__(self, root: Path):
        self.standards = root / "standards"
        shutil.copytree(bundled_standards_dir(), self.standards)
        self.log = root / "server.log"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gongfu_rules.cli", "serve", "--port", str(port),
             "--standards", str(self.standards)],
            stdout=subprocess.DEVNULL, stderr=self.log.open("wb"))
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        self.wait_for(lambda: self.get_ok("/healthz"), "the server to start")

    def get_ok(self, path: str) -> bool:
        assert self.proc.poll() is None, self.log.read_text()
        try:
            return self.http.get(path).status_code == 200
        except httpx.TransportError:
            return False

    def wait_for(self, condition, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    def version(self) -> dict:
        return self.http.get("/v1/version").json()["standards_set"]

    def hup(self) -> None:
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(20)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    s = Served(tmp_path_factory.mktemp("serve"))
    yield s
    s.stop()


def set_version(standards: Path, version: str) -> None:
    path = standards / "gongfu.yaml"
    lines = [f'version: "{version}"' if line.startswith("version:") else line
             for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_sighup_swaps_in_the_edited_set_and_every_answer_names_one_set(served):
    before = served.version()
    set_version(served.standards, "reload-test-1")
    served.hup()
    seen = set()

    def reloaded() -> bool:
        r = served.http.post("/v1/evaluate", json={"profile": {"birth_date": "1950-01-01"},
                                                   "on": "2025-08-01", "detail": "summary"})
        # Whatever the moment, the header and the body name the same set.
        assert r.headers["Gongfu-Standards-Digest"] == r.json()["standards_set"]["digest"]
        seen.add(r.json()["standards_set"]["version"])
        return r.json()["standards_set"]["version"] == "reload-test-1"
    served.wait_for(reloaded, "the reload")
    after = served.version()
    assert after["digest"] != before["digest"]
    assert seen <= {before["version"], "reload-test-1"}
    assert "standards reloaded" in served.log.read_text(encoding="utf-8")


def test_a_set_that_fails_to_load_on_sighup_leaves_the_old_one_serving(served):
    before = served.version()
    broken = served.standards / "zz_broken.yaml"
    broken.write_text("id: [unclosed\n", encoding="utf-8")
    try:
        served.hup()
        served.wait_for(lambda: "standards reload failed" in served.log.read_text(encoding="utf-8"),
                        "the failed reload to be logged")
        assert served.version() == before
        r = served.http.post("/v1/evaluate", json={"profile": {}, "on": "2025-08-01"})
        assert r.status_code == 200
        assert r.headers["Gongfu-Standards-Digest"] == before["digest"]
    finally:
        broken.unlink()


def test_the_access_log_has_no_bodies_no_query_strings_and_no_id_numbers(served):
    r = served.http.post(f"/v1/evaluate?id_number={ID_NUMBER}",
                         json={"profile": {"per_capita_monthly_income": "345.67",
                                           "members": [{"id_number": ID_NUMBER}]},
                               "on": "2025-08-01"})
    assert r.status_code == 200
    served.http.get(f"/v1/standards/{ID_NUMBER}")
    served.wait_for(lambda: "/v1/standards/" in served.log.read_text(encoding="utf-8"),
                    "the access log line")
    log = served.log.read_text(encoding="utf-8")
    assert '"POST /v1/evaluate" 200' in log
    assert ID_NUMBER not in log and ID_NUMBER[:17] not in log
    # a figure with a decimal point: a bare "345" can occur by chance in the standards digest
    assert "per_capita_monthly_income" not in log and "345.67" not in log
