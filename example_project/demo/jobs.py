"""The demo's jobs: the seed's division job, a CSV export and a chart.

Each sleeps a little per step to stand in for real work, so the progress bar has something
to show. Results that are files come back as ``{"url": ..., "file": ...}``: the widget links
to the URL, ``/jobs/<kind>/<task id>/file/``, and the view behind it serves ``file`` only to
those holding a grant for that task. The job itself knows nothing of web requests (it runs
in the worker): only its own task id.
"""

from __future__ import annotations

import csv
import random
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import reverse

from django_jobtastic import JobtasticTask, UserFacingError


@dataclass(frozen=True)
class Output:
    """Where a kind of job keeps its files, and how they are served."""

    folder: str
    suffix: str
    content_type: str
    attachment: bool

    @property
    def name_pattern(self) -> re.Pattern[str]:
        return re.compile(rf"[A-Za-z0-9_-]+\.{self.suffix}")


#: The jobs that write a file, by the kind in their URLs.
OUTPUT_KINDS = {
    "export": Output("exports", "csv", "text/csv", attachment=True),
    "chart": Output("charts", "svg", "image/svg+xml", attachment=False),
}


def _output(task: JobtasticTask, kind: str, stem: str) -> tuple[Path, dict[str, str]]:
    """A new file for this run, and the result fields that lead to it.

    The name has a random part: no file is reachable by guessing, and a second run never
    writes into the first one's file. The URL names the task, not the file.
    """
    output = OUTPUT_KINDS[kind]
    folder = settings.OUTPUT_DIR / output.folder
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{stem}-{secrets.token_hex(16)}.{output.suffix}"
    task_id = task.request.id
    if not task_id:
        raise RuntimeError(f"{task.name} must run as a task (its file is found by task id)")
    # No request here: a site served under a path prefix sets FORCE_SCRIPT_NAME for reverse().
    url = reverse("job_file", kwargs={"kind": kind, "task_id": task_id})
    return folder / name, {"url": url, "file": name, "filename": f"{stem}.{output.suffix}"}


class LotsOfDivisionTask(JobtasticTask):
    """Division is hard. Make Celery do it a bunch."""

    significant_kwargs = [("numerators", str), ("denominators", str), ("label", str)]
    herd_avoidance_timeout = 60
    cache_duration = 0  # math is pretty stable
    cancellable = True  # its widget has a Cancel button

    def calculate_result(
        self, numerators: list[int], denominators: list[int], label: str = "", pace: float = 0.05
    ) -> list[float]:
        results = []
        total = len(numerators)
        for count, (numerator, denominator) in enumerate(
            zip(numerators, denominators, strict=True), 1
        ):
            if denominator == 0:
                raise UserFacingError(f"Cannot divide {numerator} by zero (pair {count}).")
            results.append(round(numerator / denominator, 4))
            time.sleep(pace)
            self.update_progress(count, total, message=f"{label}: {count} of {total} divisions")
        return results


class CsvExportTask(JobtasticTask):
    """Writes a CSV of made-up orders; the result is its download link. Its owners may
    cancel it: the next ``update_progress`` then ends the run, and no half file is left."""

    significant_kwargs = ["rows"]
    herd_avoidance_timeout = 120
    cache_duration = 3600
    cancellable = True

    def calculate_result(self, rows: int, pace: float = 0.002) -> dict[str, Any]:
        path, found_by = _output(self, "export", f"orders-{rows}")
        generator = random.Random(rows)
        partial = path.with_suffix(".partial")
        try:
            with partial.open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["order", "customer", "amount"])
                for row in range(1, rows + 1):
                    amount = f"{generator.uniform(5, 500):.2f}"
                    writer.writerow([row, f"customer-{generator.randint(1, 99)}", amount])
                    time.sleep(pace)
                    self.update_progress(row, rows, message="Writing orders")
        except BaseException:  # cancelled (update_progress raised), or failed
            partial.unlink(missing_ok=True)
            raise
        partial.replace(path)  # a download never sees half a file
        return {**found_by, "rows": rows}


class ChartTask(JobtasticTask):
    """Draws an SVG line chart of a random walk; the result is the chart's URL."""

    significant_kwargs = ["points"]
    herd_avoidance_timeout = 120
    cache_duration = 3600

    def calculate_result(self, points: int, pace: float = 0.02) -> dict[str, Any]:
        generator = random.Random(points)
        values = [0.0]
        for done in range(1, points):
            values.append(values[-1] + generator.uniform(-1, 1))
            time.sleep(pace)
            self.update_progress(done, points, message="Simulating")
        path, found_by = _output(self, "chart", f"walk-{points}")
        path.write_text(_line_chart(values))
        return {**found_by, "points": points}


def _line_chart(values: list[float], width: int = 600, height: int = 240) -> str:
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    coordinates = " ".join(
        f"{index * step:.1f},{height - (value - low) / span * (height - 20) - 10:.1f}"
        for index, value in enumerate(values)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><rect width="100%" height="100%" fill="#f8fafc"/>'
        f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{coordinates}"/></svg>'
    )
