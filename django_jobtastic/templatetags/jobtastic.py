"""``{% load jobtastic %}``: ``jobtastic_progress`` and ``jobtastic_status_url``."""

from __future__ import annotations

from django import template
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.safestring import SafeString

from django_jobtastic.web.status_urls import TaskOrId, status_url
from django_jobtastic.web.widget import widget_context

register = template.Library()

WIDGET_TEMPLATE = "django_jobtastic/progress.html"


def _request_of(context: template.Context, tag: str) -> HttpRequest:
    request = context.get("request")
    if not isinstance(request, HttpRequest):
        raise ImproperlyConfigured(
            f"{{% {tag} %}} needs the request in the template context: add "
            '"django.template.context_processors.request" to the context_processors of your '
            "TEMPLATES setting, and render with a request."
        )
    return request


@register.simple_tag(takes_context=True)
def jobtastic_progress(
    context: template.Context, task_or_id: TaskOrId | None, label: str | None = None
) -> SafeString | str:
    """An accessible progress widget following the job; nothing for an empty value.

    The page's first widget also brings the script and stylesheet; later ones do not.
    """
    if task_or_id is None or task_or_id == "":
        return ""  # no job (yet): the page renders without a widget
    values = widget_context(_request_of(context, "jobtastic_progress"), task_or_id, label)
    engine = context.template.engine if context.template else template.Engine.get_default()
    widget = engine.get_template(WIDGET_TEMPLATE)
    # Always escaped: it is our markup, even inside the caller's {% autoescape off %}.
    return widget.render(template.Context(values, autoescape=True))


@register.simple_tag(takes_context=True)
def jobtastic_status_url(context: template.Context, task_or_id: TaskOrId) -> str:
    """The job's status URL (for your own JavaScript), readable by this request only."""
    return status_url(_request_of(context, "jobtastic_status_url"), task_or_id)
