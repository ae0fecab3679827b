"""The example site; its Celery app loads with Django, as the status view needs."""

from example_project.celery import app

__all__ = ["app"]
