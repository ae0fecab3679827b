from __future__ import annotations

import pytest

from tests import jobs, probe
from tests.helpers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_progress_visible_from_another_process_while_running(worker, marker):
    result = jobs.CountingJob.delay(marker=marker, hold=True)
    meta = wait_until(
        lambda: result.state == "PROGRESS" and result.info.get("completed") == 1 and result.info,
        what="progress of the held job",
    )
    assert meta["progress_percent"] == 25.0
    assert meta["total"] == 4
    assert meta["message"] == "step 1"
    assert meta["started_at"].endswith("Z")
    probe.release(marker)
    assert result.get(timeout=30) == {"marker": marker, "steps": 4}
