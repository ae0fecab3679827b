"""The fault suite: real services, workers, a WSGI server and clients, and faults injected one
after another while jobs run; then a count of what every job's owner was told.

``python -m tests.soak`` (``make soak``) runs it for minutes; ``tests/soak/short.py`` is its
short version in ``scripts/test.sh``. Nothing here is named ``test_*.py``: the unit and
integration runs of ``tests/`` never collect it.

- ``runner``: services, workers, gunicorn, clients; the faults; the report.
- ``client``: one client process, submitting and polling through gunicorn.
- ``settings``, ``urls``, ``wsgi``, ``celery_app``, ``jobs``: the project under test.
"""
