"""The web side: following a job over HTTP (status URLs, tokens, views, the widget).

Nothing here imports the task side (``django_jobtastic.task``): it reads what the workers
stored in the result backend, through ``conf`` and ``exceptions`` only.
"""
