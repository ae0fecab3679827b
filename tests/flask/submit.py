"""Submit one ``HeldJob`` with ``delay_or_fail`` from a process of its own and print its id:
run with ``JOBTASTIC_FLASK_TEST_BROKER`` naming a broker that is down (Celery binds a task
class to one app, so a second app in the test process would take the class from it)."""

from __future__ import annotations

import json
import sys

from tests.flask.jobs import HeldJob

if __name__ == "__main__":
    result = HeldJob.delay_or_fail(marker=sys.argv[1])
    print(json.dumps({"id": result.id, "state": result.state}))
