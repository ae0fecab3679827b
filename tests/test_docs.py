"""Every example in README.md and docs/*.md runs here, so none of them can rot.

One test per fenced block, named after its page and line (``README.md:42``):

- ```python blocks are executed, in eager mode (jobs run in this process, their results
  stored for real). A block whose first line names a file of a package, such as
  ``# myapp/jobs.py``, is that module: later blocks import it (``from myapp.jobs import ...``)
  and its job classes register as ``myapp.jobs.<Class>``, as they would in a project. Blocks
  naming the same file add to it, in page order (a word-for-word repeat of an earlier block,
  the same file shown on two pages, is run once). Other blocks run on their own.
- A line ``print(...)  # text`` states what it prints; the test compares.
- A function of a block whose only parameter is ``request`` is a view: it is called with an
  anonymous visitor's request and must answer 200; a status URL in its answer is then read
  with that visitor's session cookie and must report the job's SUCCESS.
- ``# settings.py`` blocks are executed too; their JOBTASTIC_* names must be real settings,
  and with their values the system checks tagged ``jobtastic`` must report no error.
- ```django blocks are templates, rendered with a request and a ``task_id``. One whose first
  line is ``{# myapp/templates/myapp/page.html #}`` is also the template ``myapp/page.html``
  for the views above.
- ```json blocks must parse.

What cannot run here (shell commands, JavaScript, HTML, output) uses another fence language.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import io
import json
import re
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

import pytest
from celery import _state as celery_state
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.checks import ERROR, run_checks
from django.template import engines
from django.test import Client, RequestFactory, override_settings

from django_jobtastic import grant
from django_jobtastic.conf import conf

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]

#: Fence languages a page may use; only the first three are checked here.
CHECKED = {"python", "django", "json"}
SHOWN_ONLY = {"sh", "text", "js", "html", "jinja", "{include}", "{toctree}"}
#: Pages whose examples run without Django settings, in tests/flask/test_docs.py.
WITHOUT_DJANGO = {ROOT / "docs" / "flask.md"}

OPENING_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
MODULE_FILE = re.compile(r"^# (?P<path>[a-z_][a-z0-9_]*(?:/[a-z_][a-z0-9_]*)+)\.py\s*$")
SETTINGS_FILE = re.compile(r"^# (?:[a-z_][a-z0-9_]*/)*settings\.py\s*$")
TEMPLATE_FILE = re.compile(r"^\{# [a-z0-9_/]*templates/(?P<name>[\w./-]+\.html) #\}\s*$")
PRINTS = re.compile(r"^print\(.*\)  # (?P<output>.*)$")
STATUS_URL = re.compile(r"/jobtastic/status/[^\"'/\s]+/")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: Path
    line: int  # the opening fence's line, 1-based
    end: int  # the closing fence's line
    language: str
    source: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def first_line(self) -> str:
        return self.source.split("\n", 1)[0]

    def code(self) -> Any:
        """The block compiled with the page's own line numbers, so tracebacks point there."""
        return compile("\n" * self.line + self.source, str(self.page), "exec")

    def defined_here(self, value: Any) -> bool:
        code = getattr(value, "__code__", None)
        return (
            code is not None
            and code.co_filename == str(self.page)
            and self.line < code.co_firstlineno < self.end
        )


def blocks_of(page: Path) -> Iterator[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = OPENING_FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening["fence"]
        closing = re.compile(rf"^ *{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = textwrap.dedent("\n".join(lines[index + 1 : end]))
        info = opening["info"].strip()
        yield Block(page, index + 1, end + 1, info.split()[0] if info else "", body + "\n")
        index = end + 1


BLOCKS = [block for page in PAGES for block in blocks_of(page)]
PYTHON = [b for b in BLOCKS if b.language == "python" and b.page not in WITHOUT_DJANGO]
TEMPLATES = [block for block in BLOCKS if block.language == "django"]

#: Module name -> the blocks that make it up, in page order; a block repeating an earlier
#: one word for word (the same file shown on two pages) is not run twice.
MODULES: dict[str, list[Block]] = {}
#: Block -> the module it belongs to.
MODULE_OF: dict[Block, str] = {}
for _block in PYTHON:
    if match := MODULE_FILE.match(_block.first_line):
        _name = match["path"].replace("/", ".").removesuffix(".__init__")
        MODULE_OF[_block] = _name
        _parts = MODULES.setdefault(_name, [])
        if all(part.source != _block.source for part in _parts):
            _parts.append(_block)
PACKAGES = {
    name.rsplit(".", depth)[0] for name in MODULES for depth in range(1, name.count(".") + 1)
}
DOC_TEMPLATES = {
    match["name"]: block.source
    for block in TEMPLATES
    if (match := TEMPLATE_FILE.match(block.first_line))
}


class DocModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the modules the pages define (``myapp.jobs``) from their blocks."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        is_package = fullname in PACKAGES
        if fullname not in MODULES and not is_package:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=is_package)

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        for part in MODULES.get(module.__name__, []):
            exec(part.code(), module.__dict__)


for _top in {name.split(".")[0] for name in MODULES}:
    # The pages' packages must not shadow (or be shadowed by) anything importable.
    assert importlib.util.find_spec(_top) is None, f"docs module {_top!r} is a real module"
sys.meta_path.append(DocModules())


@contextlib.contextmanager
def same_current_celery_app() -> Iterator[None]:
    """An example creating its own Celery app must not make it the suite's current one."""
    current = celery_state.get_current_app()
    try:
        yield
    finally:
        celery_state._set_current_app(current)


@pytest.fixture
def doc_templates() -> Iterator[None]:
    """The pages' named templates, next to the apps' own (``django_jobtastic/...``)."""
    context_processors = [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
    ]
    loaders = [
        ("django.template.loaders.locmem.Loader", DOC_TEMPLATES),
        "django.template.loaders.app_directories.Loader",
    ]
    backend = "django.template.backends.django.DjangoTemplates"
    options = {"context_processors": context_processors, "loaders": loaders}
    with override_settings(TEMPLATES=[{"BACKEND": backend, "OPTIONS": options}]):
        yield


def visitor_request() -> Any:
    """A first visit: an anonymous visitor without a session yet."""
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    return request


def check_view(view: FunctionType) -> None:
    request = visitor_request()
    response = view(request)
    assert response.status_code == 200, response
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = request.session.session_key
    for url in set(STATUS_URL.findall(response.content.decode())):
        status = client.get(url)
        assert status.status_code == 200, status.content
        task = status.json()["task"]
        assert (task["status"], task["error"]) == ("SUCCESS", None), task


def check_settings(namespace: dict[str, Any]) -> None:
    ours = {name: value for name, value in namespace.items() if name.startswith("JOBTASTIC_")}
    for name in ours:
        assert hasattr(type(conf), name.removeprefix("JOBTASTIC_")), f"no setting {name}"
    if "CACHES" in namespace:  # next to the suite's own aliases, which its jobs name
        ours["CACHES"] = {**settings.CACHES, **namespace["CACHES"]}
    with override_settings(**ours):
        problems = [
            message
            for message in run_checks(tags=["jobtastic"])
            if message.level >= ERROR or message.id == "django_jobtastic.W004"
        ]
    assert not problems


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in PYTHON])
def test_python_example(block: Block, eager: Any, doc_templates: None, tmp_path: Path) -> None:
    printed = io.StringIO()
    with same_current_celery_app(), contextlib.redirect_stdout(printed):
        if name := MODULE_OF.get(block):
            namespace = vars(importlib.import_module(name))
        else:
            # A settings module's own path, for BASE_DIR = Path(__file__)...: a fresh folder.
            settings_file = tmp_path / "proj" / "settings.py"
            namespace = {"__name__": f"docs_example_{block.line}", "__file__": str(settings_file)}
            exec(block.code(), namespace)
    expected = [m["output"] for line in block.source.splitlines() if (m := PRINTS.match(line))]
    assert printed.getvalue().splitlines() == expected
    if SETTINGS_FILE.match(block.first_line):
        check_settings(namespace)
    for value in list(namespace.values()):
        if not (inspect.isfunction(value) and block.defined_here(value)):
            continue
        if list(inspect.signature(value).parameters) == ["request"]:
            check_view(value)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in TEMPLATES])
def test_template_example(block: Block, doc_templates: None) -> None:
    template = engines["django"].from_string(block.source)
    request, task_id = visitor_request(), "5f1e2d3c-0000-4000-8000-00000000d0c5"
    grant(request, task_id)  # as the view that submitted the job did
    rendered = template.render({"task_id": task_id}, request)
    if "{% jobtastic_progress" in block.source:
        assert 'class="jobtastic"' in rendered
    if "{% jobtastic_status_url" in block.source:
        assert STATUS_URL.search(rendered)


@pytest.mark.parametrize(
    "block", [pytest.param(b, id=b.id) for b in BLOCKS if b.language == "json"]
)
def test_json_example_parses(block: Block) -> None:
    json.loads(block.source)


@pytest.mark.parametrize("page", [pytest.param(p, id=str(p.relative_to(ROOT))) for p in PAGES])
def test_every_fence_names_a_known_language(page: Path) -> None:
    unknown = [block.id for block in blocks_of(page) if block.language not in CHECKED | SHOWN_ONLY]
    assert not unknown, "unknown or missing fence language (add it to CHECKED or SHOWN_ONLY)"


def test_readme_starts_with_the_two_setup_commands() -> None:
    first = next(blocks_of(README))
    commands = [line.split("#", 1) for line in first.source.splitlines()]
    assert first.language == "sh"
    assert [command.strip() for command, _comment in commands] == ["make demo", "make test"]
    assert all(comment.strip() for _command, comment in commands)
