"""The Flask site of the Django-free tests: views that submit, grant and render widgets."""

from __future__ import annotations

from flask import Flask, render_template_string, request

from django_jobtastic.flask import Jobtastic
from tests.flask.celery_app import app as celery_app
from tests.flask.jobs import CancellableHeldJob, HeldJob, LotsOfDivisionTask

app = Flask(__name__)
app.config.update(SECRET_KEY="flask-tests-secret", TESTING=True)
jobtastic = Jobtastic(app, celery=celery_app)

WIDGET = "{{ jobtastic_progress(task_id) }}"


@app.route("/", methods=["GET"])
def lets_divide():
    """The original's Flask view, as its README wrote it, with lists instead of ranges."""
    iterations = int(request.args.get("iterations", 1000))
    step = 10

    result = LotsOfDivisionTask.delay_or_fail(
        numerators=list(range(0, step * iterations * 2, step * 2)),
        denominators=list(range(1, step * iterations, step)),
    )

    return render_template_string(WIDGET, task_id=result.task_id)


@app.post("/held/<marker>")
def submit_held(marker: str):
    """Submit and grant, answering the status URL (an API-style view)."""
    result = HeldJob.delay_or_fail(marker=marker)
    return {"task_id": result.id, "status_url": jobtastic.grant(result)}


@app.get("/cancellable/<marker>")
def cancellable_page(marker: str):
    """Submits a cancellable job and renders its widget (with a Cancel button)."""
    result = CancellableHeldJob.delay_or_fail(marker=marker)
    return render_template_string(WIDGET, task_id=result.id)


@app.get("/grant/<task_id>")
def grant_bare_id(task_id: str):
    return {"status_url": jobtastic.grant(task_id)}


@app.get("/widget")
def widget_for_any_id():
    """A page rendering a widget for an id taken from the URL: it shows strangers nothing."""
    return render_template_string(WIDGET + WIDGET, task_id=request.args["id"])


@app.get("/url-in-page")
def status_url_in_a_page():
    return render_template_string(
        "<a href='{{ jobtastic_status_url(task_id) }}'>", task_id=request.args["id"]
    )


@app.get("/url")
def status_url_for_any_id():
    return {"status_url": jobtastic.status_url(request.args["id"])}


@app.get("/mine")
def my_jobs():
    return {"jobs": [job.task_id for job in jobtastic.jobs()]}
