"""Registering task classes with Celery apps, and calling them on the class.

Celery 5 dropped the metaclass that registered class-based tasks; subclasses of
``JobtasticTask`` are registered again here, in every app (now or when it finalizes), so a
worker that imports the module runs them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from celery import Celery, Task, current_app
from celery._state import _get_active_apps, connect_on_app_finalize  # type: ignore[attr-defined]

if TYPE_CHECKING:
    from typing import TypeAlias

    AnyTask: TypeAlias = Task[Any, Any]
else:
    AnyTask = Task  # Celery < 5.7 cannot subscript Task at run time

T = TypeVar("T")


def register_everywhere(cls: type[AnyTask]) -> None:
    """Register ``cls`` with every existing finalized app and with each app that finalizes."""

    def attach(app: Celery) -> AnyTask:
        existing = app._tasks.get(cls.name)  # type: ignore[attr-defined]
        if existing is not None and type(existing) is cls:
            return existing
        return app.register_task(cls())

    connect_on_app_finalize(attach)
    for app in list(_get_active_apps()):
        if app.finalized:
            with app._finalize_mutex:
                attach(app)


def registered_instance(cls: type[AnyTask]) -> AnyTask:
    """The instance of ``cls`` that the current app runs (registering it if needed)."""
    app: Celery = current_app._get_current_object()  # type: ignore[attr-defined]
    task = app.tasks.get(cls.name)
    if task is None or not isinstance(task, cls):
        task = app.register_task(cls())
    return task


class class_or_instance_method(Generic[T]):
    """A method that also works on the class, bound to the registered task instance.

    ``MyTask.delay_or_fail(...)`` then behaves as ``app.tasks[MyTask.name].delay_or_fail``.
    On an abstract base class it is the plain function, so inspecting or patching a base
    never registers it as a task.
    """

    def __init__(self, func: Callable[..., T]) -> None:
        self.__func__ = func
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __get__(self, instance: Any, owner: type[AnyTask] | None = None) -> Callable[..., T]:
        if instance is None:
            assert owner is not None
            if getattr(owner, "abstract", False):
                return self.__func__  # a base class is never registered: a plain function
            instance = registered_instance(owner)
        return self.__func__.__get__(instance, owner)  # type: ignore[no-any-return]
