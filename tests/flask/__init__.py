"""Tests of a process that never configures Django: the Flask extension and the task side on
a Celery app's own configuration. Run as their own pytest run (``scripts/test.sh``):
``pytest tests/flask -p no:django --confcutdir tests/flask``."""
