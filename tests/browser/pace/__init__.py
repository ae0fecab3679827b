"""Test-only pacing of the example site's jobs: a gate holds a job after a progress write.

The browser tests run the example project unmodified, on settings of their own
(``tests.browser.site_settings``) whose change for pacing is the result backend:
``backend.PacedDatabaseBackend`` is django-celery-results' backend, which after storing a
PROGRESS state asks ``gate.after_progress`` whether the job must be held there. Only a job
one of whose string arguments (the division job's label) names a gate a test opened is ever
held, so every other job, and every page, behaves exactly as in the example project.

A held job waits at its next ``time.sleep`` (see ``gate``), and the state it wrote is what
every poll reads: the test sees it on the page for as long as it needs to, then releases the
job. The gate lives in files in the site's var folder (the embedded set-up has no Redis),
shared by the test and the worker.
"""
