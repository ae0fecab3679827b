"""The Flask example: the original jobtastic's division job and Flask view, on django-jobtastic.

``make demo-flask`` starts it (Flask's server and a Celery worker, on Redis).
"""
