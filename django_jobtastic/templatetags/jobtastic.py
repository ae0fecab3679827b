"""``{% load jobtastic %}``: ``jobtastic_progress``, ``jobtastic_status_url``, ``jobtastic_jobs``.

The tags verify, they never grant: for a job the requester holds no grant for, the widget
renders its "cannot be shown" state with no status URL in it, and the URL tag renders
nothing; both log a WARNING naming ``grant()``.
"""

from __future__ import annotations

import logging

from django import template
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.http import HttpRequest
from django.utils.safestring import SafeString

from django_jobtastic.web.grants import jobs_of
from django_jobtastic.web.task_refs import TaskOrId
from django_jobtastic.web.tokens import SessionStoreUnavailableError
from django_jobtastic.web.widget import followed_job, widget_context

register = template.Library()
logger = logging.getLogger(__name__)

WIDGET_TEMPLATE = "django_jobtastic/progress.html"
JOBS_TEMPLATE = "django_jobtastic/jobs.html"


def _request_of(context: template.Context, tag: str) -> HttpRequest:
    request = context.get("request")
    if not isinstance(request, HttpRequest):
        raise ImproperlyConfigured(
            f"{{% {tag} %}} needs the request in the template context: add "
            '"django.template.context_processors.request" to the context_processors of your '
            "TEMPLATES setting, and render with a request."
        )
    return request


def _render(context: template.Context, name: str, values: dict[str, object]) -> SafeString:
    engine = context.template.engine if context.template else template.Engine.get_default()
    # Always escaped: it is our markup, even inside the caller's {% autoescape off %}.
    return engine.get_template(name).render(template.Context(values, autoescape=True))


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
    return _render(context, WIDGET_TEMPLATE, values)


@register.simple_tag(takes_context=True)
def jobtastic_status_url(context: template.Context, task_or_id: TaskOrId) -> str:
    """The job's status URL (for your own JavaScript); empty for a job not granted."""
    request = _request_of(context, "jobtastic_status_url")
    job = followed_job(request, task_or_id, "jobtastic_status_url")
    return job.status_url if job else ""


@register.simple_tag(takes_context=True)
def jobtastic_jobs(context: template.Context) -> SafeString:
    """The requester's jobs, most recent first, each with its live widget."""
    request = _request_of(context, "jobtastic_jobs")
    try:
        granted = jobs_of(request)
    except (DatabaseError, SessionStoreUnavailableError) as error:
        # The page still renders: saying "no jobs yet" would be untrue.
        logger.warning("Jobtastic: {%% jobtastic_jobs %%} cannot list the jobs: %s", error)
        return _render(context, JOBS_TEMPLATE, {"jobs": [], "unavailable": True})
    jobs = [
        {
            "job": job,
            "widget": _render(
                context,
                WIDGET_TEMPLATE,
                widget_context(request, job.task_id, None, granted_name=job.task_name or ""),
            ),
        }
        for job in granted
    ]
    return _render(context, JOBS_TEMPLATE, {"jobs": jobs})
