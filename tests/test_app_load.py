"""The load test of the web app: 20 concurrent uploads of 640 x 480 photos to the app
with the shipped model on 127.0.0.1 (`benchmarks/app.py`). Every request ends in the
photo's own colorized image or a 503; none is lost or corrupted; RSS stays below 2 GB.
Throughput and latency are printed, not asserted (the machines are shared)."""

import json
import subprocess
import sys

import pytest

from tests.train_data import REPO

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("retry", [False, True], ids=["503s", "retry-after"])
def test_twenty_concurrent_uploads_end_in_a_result_or_a_503(retry):
    command = [sys.executable, "benchmarks/app.py", "--requests", "40"]
    command += ["--concurrency", "20", "--queue-size", "8"]
    if retry:
        command.append("--retry")
    run = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=1200
    )
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures["answered"] == figures["requests"] == 40  # none lost
    assert figures["ok"] + figures["busy"] == 40
    assert figures["error"] == figures["lost"] == figures["corrupted"] == 0
    assert figures["ok"] >= 8  # at least the queue's worth got through
    if retry:
        assert figures["ok"] == 40 and figures["busy"] == 0
    else:
        assert figures["busy"] > 0  # 20 at once overflow a queue of 8
    assert 0 < figures["peak_rss_mb"] < 2048
