"""The demo's jobs: the seed's division job, a CSV export and a chart.

Each sleeps a little per step to stand in for real work, so the progress bar has something
to show. Results that are files come back as ``{"url": ...}``: the widget links to them.
"""

from __future__ import annotations

import csv
import hashlib
import random
import time
from typing import Any

from django.conf import settings
from django.urls import reverse

from django_jobtastic import JobtasticTask, UserFacingError


def _output(kind: str, name: str) -> tuple[Any, str]:
    folder = settings.OUTPUT_DIR / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name, reverse("download", kwargs={"kind": kind, "name": name})


class LotsOfDivisionTask(JobtasticTask):
    """Division is hard. Make Celery do it a bunch."""

    significant_kwargs = [("numerators", str), ("denominators", str), ("label", str)]
    herd_avoidance_timeout = 60
    cache_duration = 0  # math is pretty stable

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
    """Writes a CSV of made-up orders; the result is its download link."""

    significant_kwargs = ["rows"]
    herd_avoidance_timeout = 120
    cache_duration = 3600

    def calculate_result(self, rows: int, pace: float = 0.002) -> dict[str, Any]:
        path, url = _output("exports", f"orders-{rows}.csv")
        generator = random.Random(rows)
        # A name of this run's own: a second run after the herd entry expired never writes
        # into the same file.
        partial = path.with_suffix(f".{self.request.id or 'eager'}.partial")
        with partial.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["order", "customer", "amount"])
            for row in range(1, rows + 1):
                amount = f"{generator.uniform(5, 500):.2f}"
                writer.writerow([row, f"customer-{generator.randint(1, 99)}", amount])
                time.sleep(pace)
                self.update_progress(row, rows, message="Writing orders")
        partial.replace(path)  # a download never sees half a file
        return {"url": url, "rows": rows}


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
        svg = _line_chart(values)
        digest = hashlib.sha256(svg.encode()).hexdigest()[:12]
        path, url = _output("charts", f"walk-{points}-{digest}.svg")
        path.write_text(svg)
        return {"url": url, "points": points}


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
