"""Read a status URL from a separate web process, whose services a test may point elsewhere.

    python -m tests.integration.read_status PATH [--session KEY]

Prints one JSON object: the HTTP status, the Retry-After and Cache-Control headers, the body.
"""

from __future__ import annotations

import argparse
import json

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--session")
    options = parser.parse_args()

    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment

    import tests.celery_app  # noqa: F401 - loads the project's Celery app, as proj/__init__ does

    setup_test_environment()  # allows the test client's host name, as in the tests

    client = Client()
    if options.session:
        client.cookies[settings.SESSION_COOKIE_NAME] = options.session
    response = client.get(options.path)
    print(
        json.dumps(
            {
                "status": response.status_code,
                "retry_after": response.get("Retry-After"),
                "cache_control": response.get("Cache-Control"),
                "body": json.loads(response.content),
            }
        )
    )


if __name__ == "__main__":
    main()
