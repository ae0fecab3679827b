"""The example's Flask site: the original's Flask view, and the widget following its job.

Run with ``make demo-flask``, or ``flask --app example_flask.app run`` beside
``celery -A example_flask.celery_app worker``.
"""

from __future__ import annotations

import logging
import os
import secrets

from flask import Flask, render_template, request

from django_jobtastic.flask import Jobtastic
from example_flask.celery_app import app as celery_app
from example_flask.tasks import LotsOfDivisionTask

app = Flask(__name__)
# No usable key is built in: a key of this process's own unless one is given (sessions, and
# so the status URLs handed out, then last until the server restarts).
app.config["SECRET_KEY"] = os.environ.get("FLASK_SECRET_KEY") or secrets.token_hex(32)
if "FLASK_SECRET_KEY" not in os.environ:
    logging.getLogger(__name__).warning("FLASK_SECRET_KEY is not set: using a random key")
jobtastic = Jobtastic(app, celery=celery_app)


@app.route("/", methods=["GET"])
def lets_divide():
    iterations = request.args.get("iterations", 1000, type=int)
    step = 10

    result = LotsOfDivisionTask.delay_or_fail(
        numerators=list(range(0, step * iterations * 2, step * 2)),
        denominators=list(range(1, step * iterations, step)),
    )

    return render_template("lets_divide.html", task_id=result.task_id, iterations=iterations)
