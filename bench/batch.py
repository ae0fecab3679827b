"""Many bars on one page: one batch request per poll interval against one request per bar.

Run: ``.venv/bin/python bench/batch.py [--bars 50] [--seconds 5] [--rounds 3]``. Needs the
``bench`` dependency group (gunicorn) and ``redis-server``; prints figures, asserts nothing.

gunicorn serves the status routes as ``bench/status_view.py`` starts it, but with no limit
on the request line (50 tokens take about 9.5 KB; gunicorn allows 8190 bytes at most) and
with answer re-use off: one viewer per bar, polling once a second, never finds a held
answer anyway, while a tight benchmark loop would. The result backend is a Redis server of
the benchmark's own, so its ``INFO commandstats`` counts this benchmark's round trips and
nobody else's (``hello`` is a new connection's). BARS tasks are in PROGRESS there (written
with the backend's ``store_result``).

- Per poll interval: the requests one page makes (1 batch, or one per bar) and the result
  backend's commands they cost, counted over POLLS sequential poll intervals.
- Throughput: CLIENTS processes, each polling over its own keep-alive connection as fast
  as it can, batch and single rounds alternated; requests/s, and bars answered per second
  (a batch request answers BARS bars). The best round gives the ratio (this machine's CPU
  sags now and then, which only ever slows a round); medians are printed too.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness

POLLS = 20  # sequential poll intervals counted for round trips
CLIENTS = 4  # polling processes during the throughput rounds
REQUEST_LINE_LIMIT = 0  # no limit: gunicorn allows at most 8190 bytes (4094 by default)


def progress_tasks(bars: int) -> list[str]:
    from tests.celery_app import app

    meta = {"progress_percent": 25.0, "time_remaining": 3.0, "completed": 1, "total": 4}
    ids = [str(uuid.uuid4()) for _ in range(bars)]
    for task_id in ids:
        app.backend.store_result(task_id, meta, "PROGRESS")
    return ids


def paths(task_ids: list[str], session_key: str) -> tuple[str, list[str]]:
    """The batch path of all bars, and each bar's single status path."""
    from django_jobtastic.web.tokens import make_token, session_owner

    owner = session_owner(session_key)
    tokens = [make_token(task_id, owner) for task_id in task_ids]
    batch = "/jobtastic/status/?" + urlencode({"t": tokens}, doseq=True)
    return batch, [f"/jobtastic/status/{token}/" for token in tokens]


def get(connection: http.client.HTTPConnection, path: str, cookie: str) -> bytes:
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status} for {path[:80]}: {body[:200]!r}")
    return body


def check_answers(port: int, cookie: str, batch: str, singles: list[str]) -> None:
    """Every bar reads PROGRESS, in the batch and alone (not a 404 or a PENDING)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    tasks = json.loads(get(connection, batch, cookie))["tasks"]
    assert len(tasks) == len(singles), tasks
    assert all(task.get("status") == "PROGRESS" for task in tasks.values()), tasks
    for path in singles:
        assert json.loads(get(connection, path, cookie))["task"]["status"] == "PROGRESS"
    connection.close()


def count_round_trips(
    port: int, cookie: str, backend: object, pages: list[list[str]]
) -> dict[str, float]:
    """Requests and result backend commands per poll interval of one page (``pages``: the
    paths one poll interval requests), over POLLS intervals."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    backend.config_resetstat()  # type: ignore[attr-defined]
    for _ in range(POLLS):
        for page in pages:
            for path in page:
                get(connection, path, cookie)
    stats = backend.info("commandstats")  # type: ignore[attr-defined]
    connection.close()
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    calls.pop("info", None)
    calls.pop("config|resetstat", None)
    per_poll = {name: count / POLLS for name, count in calls.items()}
    per_poll["requests"] = sum(len(page) for page in pages)
    return per_poll


def poll_loop(port: int, cookie: str, targets: list[str], seconds: float, done: object) -> None:
    """One client: request ``targets`` in turn for ``seconds``; puts its request count."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    count, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        get(connection, targets[count % len(targets)], cookie)
        count += 1
    connection.close()
    done.put(count)  # type: ignore[attr-defined]


def throughput(port: int, cookie: str, targets: list[str], seconds: float) -> float:
    """Requests/s of CLIENTS processes polling ``targets``."""
    context = multiprocessing.get_context("fork")
    done = context.Queue()
    clients = [
        context.Process(target=poll_loop, args=(port, cookie, targets, seconds, done))
        for _ in range(CLIENTS)
    ]
    started = time.monotonic()
    for client in clients:
        client.start()
    counts = [done.get(timeout=seconds + 60) for _ in clients]
    elapsed = time.monotonic() - started
    for client in clients:
        client.join(timeout=30)
        if client.exitcode != 0:
            raise RuntimeError(f"a polling client failed (exit code {client.exitcode})")
    return sum(counts) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=50, help="bars on the page (at most 50)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per target, alternated")
    options = parser.parse_args()
    import redis

    backend_port = _harness.free_port()
    results_url = f"redis://127.0.0.1:{backend_port}/0"
    os.environ["JOBTASTIC_TEST_RESULT_BACKEND"] = results_url  # this process and gunicorn
    server_of_results = _harness.start_redis(backend_port)
    try:
        _harness.setup("redis")
        from bench.status_view import session_cookie, start_server, wait_for_server

        task_ids = progress_tasks(options.bars)
        key, cookie = session_cookie()
        batch, singles = paths(task_ids, key)
        port = _harness.free_port()
        # 50 tokens make a request line of about 9.5 KB: over gunicorn's default limit (4094).
        os.environ["GUNICORN_CMD_ARGS"] = f"--limit-request-line {REQUEST_LINE_LIMIT}"
        web = start_server(port, "0")
        try:
            wait_for_server(f"http://127.0.0.1:{port}{singles[0]}", cookie, web)
            check_answers(port, cookie, batch, singles)
            backend = redis.Redis.from_url(results_url)
            trips = {
                "batch": count_round_trips(port, cookie, backend, [[batch]]),
                "single": count_round_trips(port, cookie, backend, [singles]),
            }
            rates: dict[str, list[float]] = {"batch": [], "single": []}
            throughput(port, cookie, [batch], 1)  # warm-up
            throughput(port, cookie, singles, 1)
            for round_number in range(options.rounds):
                order = ["batch", "single"] if round_number % 2 == 0 else ["single", "batch"]
                for name in order:
                    targets = [batch] if name == "batch" else singles
                    rates[name].append(throughput(port, cookie, targets, options.seconds))
        finally:
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(timeout=30)
    finally:
        server_of_results.terminate()
        server_of_results.wait(timeout=30)
    report(options, trips, rates)


def report(
    options: argparse.Namespace,
    trips: dict[str, dict[str, float]],
    rates: dict[str, list[float]],
) -> None:
    bars = options.bars
    print(
        f"\n{bars} bars on one page, Redis result backend of our own, gunicorn "
        f"2x4 gthread, answer re-use off, {CLIENTS} polling processes, "
        f"{options.rounds} x {options.seconds:g} s per target"
    )
    print("\nper poll interval of one page:")
    for name, counted in trips.items():
        commands = {k: v for k, v in counted.items() if k != "requests"}
        listed = ", ".join(f"{k} {v:g}" for k, v in sorted(commands.items())) or "none"
        print(
            f"  {name:6}  requests {counted['requests']:g}, result backend commands "
            f"{sum(commands.values()):g} ({listed})"
        )
    print("\nthroughput:")
    per_request = {"batch": bars, "single": 1}
    for name, runs in rates.items():
        best, median = max(runs), statistics.median(runs)
        print(
            f"  {name:6}  best {best:7.0f} req/s ({best * per_request[name]:8.0f} bars/s, "
            f"{best * per_request[name] / bars:6.1f} pages/s), median {median:7.0f} req/s; "
            f"rounds {' '.join(f'{run:.0f}' for run in runs)}"
        )
    batch_bars = max(rates["batch"]) * bars
    single_bars = max(rates["single"])
    print(
        f"\nbars/s batch/single {batch_bars / single_bars:.1f}; "
        f"requests per poll interval single/batch {trips['single']['requests']:g}; "
        f"backend commands per poll interval single/batch "
        f"{_commands(trips['single']) / max(_commands(trips['batch']), 1):g}"
    )


def _commands(counted: dict[str, float]) -> float:
    return sum(v for k, v in counted.items() if k != "requests")


if __name__ == "__main__":
    main()
