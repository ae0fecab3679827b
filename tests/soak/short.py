"""The short soak, as ``scripts/test.sh`` runs it: one round of faults per leg (about 2.5
minutes), asserting on what was counted, never on how long anything took.

Run by path: ``pytest tests/soak/short.py`` (its name keeps the unit and integration runs of
``tests/`` from collecting it). It starts services of its own, whatever
JOBTASTIC_TEST_BACKEND says, and restarts RabbitMQ under /tmp/jobtastic-services.lock.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.soak.runner import FAULTS, WORKER_FAULTS
from tests.soak.services import ROOT

pytestmark = pytest.mark.soak

#: Generous bounds for a busy machine: the run takes about 2.5 minutes.
RUN_TIMEOUT = 840
STOP_TIMEOUT = 300  # the runner's cleanup on SIGTERM (RabbitMQ started again)


def run_soak(*arguments: str) -> tuple[str, int]:
    """``python -m tests.soak`` with ``arguments``: its output and exit code. Stopped with
    SIGTERM whatever happens here, so that it cleans up (it starts RabbitMQ again)."""
    command = [sys.executable, "-m", "tests.soak", *arguments]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT)
    except BaseException:
        process.terminate()
        output, _ = process.communicate(timeout=STOP_TIMEOUT)
        print(output)
        raise
    print(output)
    return output, process.returncode


@pytest.mark.timeout(RUN_TIMEOUT + STOP_TIMEOUT + 60)
def test_every_job_gets_a_terminal_answer_through_every_fault(tmp_path):
    figures = tmp_path / "soak.json"
    output, code = run_soak("--minutes", "0", "--json", str(figures), "--folder", str(tmp_path))
    assert figures.exists(), output
    result = json.loads(figures.read_text())

    assert [leg["leg"] for leg in result["legs"]] == ["redis", "rabbitmq"]
    for leg in result["legs"]:
        counts = leg["counts"]
        where = f"{leg['leg']} leg, logs in {leg['folder']}"
        assert counts["submitted"] > 0, where
        assert counts["never terminal"] == 0, where
        assert counts["5xx other than 503"] == 0, (where, leg["details"]["5xx other than 503"])
        assert counts["4xx"] == 0, (where, leg["details"]["4xx"])  # "not yours" to its owner
        # A failure the submitting request alone knew (broker and results down) reaches the
        # status URL too, once Redis is back.
        told = leg["details"]["failure told by the submit answer only"]
        assert counts["  ...and its status URL not terminal"] == 0, (where, told)
        # Each fault happened, the worker faults while the worker ran a job.
        assert [fault["name"] for fault in leg["faults"]] == FAULTS[leg["leg"]], where
        for fault in leg["faults"]:
            if fault["name"] in WORKER_FAULTS:
                assert fault["mid_run"], (where, fault)
    assert code == 0, output
