"""The wheel users install carries what the package needs, and brings what the README uses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import django_jobtastic

ROOT = Path(__file__).resolve().parent.parent
#: The standard Celery app of a Django project, as Celery's "First steps with Django" has it.
CELERY_MODULE = """\
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
app = Celery("proj")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"),
            *("-w", str(folder), str(ROOT)),
        ],
        check=True,
    )
    [built] = folder.glob("django_jobtastic-*.whl")
    return built


def test_wheel_contains_the_package_and_its_type_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "django_jobtastic/py.typed" in names
    assert "django_jobtastic/task/base.py" in names
    assert "django_jobtastic/web/views.py" in names
    # The widget ships built: pip users need no Node.
    assert "django_jobtastic/static/django_jobtastic/jobtastic.js" in names
    assert "django_jobtastic/static/django_jobtastic/jobtastic.css" in names
    assert "django_jobtastic/templates/django_jobtastic/progress.html" in names
    assert "django_jobtastic/templatetags/jobtastic.py" in names
    assert "django_jobtastic/locale/de/LC_MESSAGES/django.mo" in names
    assert not any(name.startswith("tests/") for name in names)


def test_wheel_carries_the_flask_integration_and_its_extra(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert "django_jobtastic/flask/extension.py" in names
    assert "django_jobtastic/flask/templates/jobtastic/progress.html" in names
    metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
    requirements = archive.read(metadata).decode().splitlines()
    assert "Provides-Extra: flask" in requirements
    assert "Requires-Dist: flask>=3.0; extra == 'flask'" in requirements


def test_wheel_version_is_the_package_version(wheel: Path) -> None:
    assert wheel.name.startswith(f"django_jobtastic-{django_jobtastic.__version__}-")


def readme_settings() -> str:
    """The README's settings block (the Python block setting INSTALLED_APPS), up to urls.py."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    [block] = [block for block in blocks if "INSTALLED_APPS" in block]
    return block.split("# urls.py")[0]


def test_a_bare_install_runs_a_project_with_the_readme_settings(wheel: Path, tmp_path: Path):
    """``pip install django-jobtastic`` alone, then exactly the README's settings: it checks
    and migrates."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.pop("PYTHONPATH", None)
    subprocess.run(
        [str(venv / "bin" / "django-admin"), "startproject", "proj", str(tmp_path)],
        check=True,
        env=env,
    )
    package = tmp_path / "proj"
    (package / "celery.py").write_text(CELERY_MODULE)
    (package / "__init__.py").write_text("from .celery import app as celery_app\n")
    settings = readme_settings().replace("[...,", "[*INSTALLED_APPS,")
    with (package / "settings.py").open("a") as settings_file:
        settings_file.write("\n" + settings)
    with (package / "urls.py").open("a") as urls_file:
        urls_file.write(
            "\nfrom django.urls import include\n"
            'urlpatterns += [path("jobtastic/", include("django_jobtastic.urls"))]\n'
        )
    setup = subprocess.run(
        [
            python,
            "-c",
            "import django; django.setup(); import django_jobtastic, django_celery_results",
        ],
        cwd=tmp_path,
        env={**env, "DJANGO_SETTINGS_MODULE": "proj.settings"},
        capture_output=True,
        text=True,
    )
    assert setup.returncode == 0, setup.stderr
    check = subprocess.run(
        [python, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "System check identified no issues" in check.stdout
    # The README's next step: migrate creates the tables, ours (the grants) included, from the
    # migrations the wheel ships.
    migrate = subprocess.run(
        [python, "manage.py", "migrate", "--noinput"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "Applying django_jobtastic.0001_initial... OK" in migrate.stdout


def test_importing_the_package_touches_no_setting():
    """A settings module may import ``django_jobtastic.filesystem_transport`` (the example's
    does): the package's import must not configure Django from the half-imported settings."""
    code = (
        "import django_jobtastic, django_jobtastic.filesystem_transport\n"
        "from django.conf import settings\n"
        "names = set(dir(django_jobtastic)) & {'grant', 'JobtasticTask'}\n"
        "print(settings.configured, sorted(names))"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    ran = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["False", "['JobtasticTask',", "'grant']"]
