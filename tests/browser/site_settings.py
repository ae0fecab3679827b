"""The example project's settings, as the browser tests serve the site: two changes only.

- The result backend is django-celery-results' own with the test gate after progress writes
  (see ``tests.browser.pace``), so a test decides how long a job stays at a step it wants to
  see.
- The URLs are the example's plus test-only pages (``tests.browser.site_urls``): a widget
  for any task id the URL names, and one submitting a job that reports no progress
  (``tests.browser.quiet_job``, which the worker imports too).

Everything else, the jobs' code and the example's views included, is the example project's.
"""

from __future__ import annotations

from example_project.settings import *  # noqa: F403
from example_project.settings import CELERY_RESULT_BACKEND

if CELERY_RESULT_BACKEND != "django-db":
    raise RuntimeError("the browser tests serve the example site on its embedded set-up")
CELERY_RESULT_BACKEND = "tests.browser.pace.backend:PacedDatabaseBackend"
ROOT_URLCONF = "tests.browser.site_urls"
CELERY_IMPORTS = ["tests.browser.quiet_job"]
