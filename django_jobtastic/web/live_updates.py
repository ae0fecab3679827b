"""One follower of job states per process (and event loop), shared by every open stream.

On Celery's Redis result backend every stored state is also published, on the task's key:
the follower holds one Redis connection, subscribed to the channels of the tasks some
stream follows (counted, so a channel is left when its last stream ends), and hands each
published state to those streams. The backend is never read per client, and a change costs
one message however many people watch it. On other backends the follower reads the
followed tasks itself, all in one round trip, once per poll interval, and hands on what
changed: one reader per process, however many streams.

A stream's inbox receives ``(task_id, change)`` pairs, or ``CONTACT_LOST`` when the
follower cannot go on (Redis went away): the stream then ends, and its client falls back to
polling. Every stream following a task gets the same ``Change``, so that what they work out
from it (their answer) is worked out once, however many streams there are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

from django_jobtastic.conf import conf
from django_jobtastic.web.result_reading import (
    ResultBackendUnavailableError,
    ResultNotReadableError,
    TaskState,
    followed_channels,
    published_state,
    read_task_states,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Put in every inbox when the follower lost its source: the streams end.
CONTACT_LOST = ("", None)
#: Seconds the Redis reader waits for a message before looking whether anyone still listens.
READ_WAIT = 1.0


class Change:
    """A task's stored state, as handed to every stream following the task; ``shared``
    holds what those streams work out from it once for all."""

    __slots__ = ("shared", "state")

    def __init__(self, state: TaskState | ResultNotReadableError) -> None:
        self.state = state
        self.shared: dict[Any, Any] = {}


Inbox = asyncio.Queue[tuple[str, Change | None]]


class Follower(Protocol):
    async def follow(self, task_ids: Iterable[str], inbox: Inbox) -> None: ...

    async def unfollow(self, task_ids: Iterable[str], inbox: Inbox) -> None: ...


class _Inboxes:
    """Which inboxes follow which task ids."""

    def __init__(self) -> None:
        self.by_task: dict[str, set[Inbox]] = {}

    def add(self, task_ids: Iterable[str], inbox: Inbox) -> list[str]:
        """Follow; returns the task ids nobody followed before."""
        new = []
        for task_id in task_ids:
            if task_id not in self.by_task:
                self.by_task[task_id] = set()
                new.append(task_id)
            self.by_task[task_id].add(inbox)
        return new

    def remove(self, task_ids: Iterable[str], inbox: Inbox) -> list[str]:
        """Stop following; returns the task ids nobody follows any more."""
        gone = []
        for task_id in task_ids:
            followers = self.by_task.get(task_id)
            if followers is None:
                continue
            followers.discard(inbox)
            if not followers:
                del self.by_task[task_id]
                gone.append(task_id)
        return gone

    def hand(self, task_id: str, state: TaskState | ResultNotReadableError) -> None:
        change = Change(state)
        for inbox in list(self.by_task.get(task_id, ())):
            inbox.put_nowait((task_id, change))

    def lose_all(self) -> None:
        for inbox in {inbox for inboxes in self.by_task.values() for inbox in inboxes}:
            inbox.put_nowait(CONTACT_LOST)
        self.by_task.clear()


class RedisFollower:
    """Follows the Redis result backend's own publish of each state (see the module)."""

    def __init__(self, backend: Any, prefix: str, url: str) -> None:
        self._backend = backend  # decodes what is published, as a read would
        self._prefix = prefix
        self._url = url
        self._pubsub: Any = None  # open while some stream follows a job
        self._reader: asyncio.Task[None] | None = None
        self._inboxes = _Inboxes()
        self._lock = asyncio.Lock()

    async def follow(self, task_ids: Iterable[str], inbox: Inbox) -> None:
        async with self._lock:
            new = self._inboxes.add(task_ids, inbox)
            if self._pubsub is None:
                import redis.asyncio

                self._pubsub = redis.asyncio.from_url(self._url).pubsub()
            try:
                if new:
                    await self._pubsub.subscribe(*(self._prefix + task_id for task_id in new))
            except Exception as error:  # Redis is down: the stream ends at once
                logger.warning("Jobtastic: cannot follow job states on Redis: %s", error)
                await self._reset()
                return
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read())

    async def unfollow(self, task_ids: Iterable[str], inbox: Inbox) -> None:
        async with self._lock:
            gone = self._inboxes.remove(task_ids, inbox)
            if not self._inboxes.by_task:  # nobody follows anything: let the connection go
                await self._close()
            elif gone and self._pubsub is not None:
                with contextlib.suppress(Exception):  # a broken connection: reset on next use
                    await self._pubsub.unsubscribe(*(self._prefix + task_id for task_id in gone))

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=READ_WAIT
                )
            except Exception as error:  # the connection went away: every stream ends
                logger.warning("Jobtastic: lost the Redis feed of job states: %s", error)
                async with self._lock:
                    await self._reset()
                return
            if message is None:
                if not self._inboxes.by_task:
                    return  # nobody listens: the next follow() starts reading again
                continue
            if message.get("type") != "message":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            if channel.startswith(self._prefix):
                task_id = channel[len(self._prefix) :]
                self._inboxes.hand(task_id, published_state(self._backend, message["data"]))

    async def _reset(self) -> None:  # with the lock held
        self._inboxes.lose_all()
        await self._close()

    async def _close(self) -> None:  # with the lock held
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task() and not reader.done():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
                await pubsub.connection_pool.aclose()


class ReadingFollower:
    """Reads every followed task once per poll interval, in one round trip (see the module)."""

    def __init__(self) -> None:
        self._inboxes = _Inboxes()
        self._last: dict[str, TaskState | ResultNotReadableError] = {}
        self._reader: asyncio.Task[None] | None = None

    async def follow(self, task_ids: Iterable[str], inbox: Inbox) -> None:
        self._inboxes.add(task_ids, inbox)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read())

    async def unfollow(self, task_ids: Iterable[str], inbox: Inbox) -> None:
        for task_id in self._inboxes.remove(task_ids, inbox):
            self._last.pop(task_id, None)
        if not self._inboxes.by_task and self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None

    async def _read(self) -> None:
        while self._inboxes.by_task:
            await asyncio.sleep(conf.POLL_INTERVAL)
            task_ids = list(self._inboxes.by_task)
            if not task_ids:
                return
            try:
                states = await in_thread(read_task_states)(task_ids)
            except ResultBackendUnavailableError as error:
                logger.warning("Jobtastic: cannot read the followed job states: %s", error)
                continue  # the streams keep their last state, and their keep-alives
            for task_id, state in states.items():
                if self._last.get(task_id) != state:
                    self._last[task_id] = state
                    self._inboxes.hand(task_id, state)


def in_thread(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """``function`` run in a thread of the loop's pool, its database connections closed
    when it returns: a stream lives for minutes and holds no connection between reads.

    Not in the request's own thread (``thread_sensitive``): every open stream would keep a
    thread of its own for as long as it lasts, 1,000 threads for 1,000 viewers."""

    def closing(*args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    return sync_to_async(closing, thread_sensitive=False)


#: Per event loop, its follower (a process serves its streams from one loop).
_followers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Follower] = (
    weakref.WeakKeyDictionary()
)


def follower_for(backend: Any) -> Follower:
    """The running loop's follower for ``backend``, made on first use."""
    loop = asyncio.get_running_loop()
    follower = _followers.get(loop)
    if follower is None:
        channels = followed_channels(backend)
        follower = RedisFollower(backend, *channels) if channels else ReadingFollower()
        _followers[loop] = follower
    return follower
