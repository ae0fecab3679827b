"""``bench/progress_overhead.py``'s job in a Flask-configured worker (no Django settings in
this process or the worker); prints the job's timings as one JSON line.

Run by ``bench/progress_overhead.py --compare-flask``; alone:
``.venv/bin/python bench/progress_flask.py --items 200000 --state-writes 5000``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.pop("DJANGO_SETTINGS_MODULE", None)
os.environ["JOBTASTIC_BENCH_FLASK_QUEUE"] = f"jobtastic-bench-flask-{uuid.uuid4().hex}"

READY_TIMEOUT = 60.0  # seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, required=True)
    parser.add_argument("--state-writes", type=int, required=True)
    options = parser.parse_args()

    from django.conf import settings

    from bench.flask_celery import QUEUE, app
    from bench.jobs import ProgressBenchJob

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        *(sys.executable, "-m", "celery", "-A", "bench.flask_celery", "worker", "-P", "solo"),
        *("-Q", QUEUE, "-l", "WARNING", "--without-gossip", "--without-mingle"),
        "--without-heartbeat",
    ]
    worker = subprocess.Popen(
        command, env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL
    )
    try:
        result = ProgressBenchJob.delay(n=options.items, state_writes=options.state_writes)
        deadline = time.monotonic() + READY_TIMEOUT + 80
        while not result.ready():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Flask-configured worker died or never answered")
            time.sleep(0.05)
        timings = result.get()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(QUEUE)
    assert not settings.configured, "the Flask-configured benchmark configured Django"
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
