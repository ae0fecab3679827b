"""The demo's forms, one per kind of job: what a user may ask for, checked before any job starts.

``form.cleaned_data`` is exactly the job's keyword arguments, so a view hands it over as is.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

#: At most this many divisions in one job.
MAX_NUMBERS = 5000
#: 2 ms a row: the longest export (40 s) stays well within its 120 s herd avoidance.
MAX_ROWS = 20_000
MAX_POINTS = 2000


class WholeNumbersField(forms.CharField):
    """Whole numbers separated by commas (or spaces), cleaned into a list of ints."""

    widget = forms.Textarea(attrs={"rows": 2})
    default_error_messages = {
        "invalid": "Whole numbers only, separated by commas.",
        "count": "Between 1 and %(limit)s numbers, please (you gave %(count)s).",
    }

    def __init__(self, *, max_count: int, **kwargs: Any) -> None:
        self.max_count = max_count
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[int]:  # type: ignore[override]
        text = super().to_python(value)
        try:
            return [int(part) for part in text.replace(",", " ").split()]
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None

    def validate(self, value: Any) -> None:
        super().validate(value)  # "This field is required." for an empty list
        if len(value) > self.max_count:
            raise ValidationError(
                self.error_messages["count"],
                code="count",
                params={"limit": self.max_count, "count": len(value)},
            )


class DivisionForm(forms.Form):
    numerators = WholeNumbersField(max_count=MAX_NUMBERS)
    denominators = WholeNumbersField(max_count=MAX_NUMBERS)
    label = forms.CharField(max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        numerators, denominators = cleaned.get("numerators"), cleaned.get("denominators")
        if numerators and denominators and len(numerators) != len(denominators):
            raise ValidationError(
                "Give as many denominators as numerators (%(numerators)s numerators, "
                "%(denominators)s denominators).",
                code="lengths",
                params={"numerators": len(numerators), "denominators": len(denominators)},
            )
        return cleaned


class ExportForm(forms.Form):
    rows = forms.IntegerField(min_value=1, max_value=MAX_ROWS)


class ChartForm(forms.Form):
    points = forms.IntegerField(min_value=2, max_value=MAX_POINTS)
