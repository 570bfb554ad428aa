"""The process-wide default tracer, the exit hook and the fork handlers.

- Exit: ``atexit`` shuts down every live tracer, each within its
  ``exit_timeout``, so a script that never calls ``shutdown`` still exports
  its spans, and a dead collector delays exit by at most that long.
  ``multiprocessing`` workers end with ``os._exit``, which skips ``atexit``;
  they run the same hook as a multiprocessing finalizer.
- Fork: before ``os.fork()`` each tracer's export thread is paused so that it
  holds no lock; the parent resumes it; the child gets a fresh pipeline and
  does not export spans the parent started (the parent does). The child
  drops the span ends every thread had pending (the parent sends them) and
  starts its own idle flusher.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import os
import threading
from typing import Optional

from . import _flusher
from ._native import fastpath
from ._tracer import Tracer, live

_lock = threading.Lock()
#: The default tracer, or None before ``init``; read without the lock.
default: Optional[Tracer] = None


def tracer() -> Optional[Tracer]:
    """The default tracer, or None before ``init``."""
    return default


def install(new: Tracer) -> Optional[Tracer]:
    """Makes ``new`` the default tracer; returns the one it replaces."""
    global default
    with _lock:
        old, default = default, new
        fastpath.set_default(new)
    return old


def _at_exit() -> None:
    for t in list(live):
        t.shutdown(t.exit_timeout)


def _before_fork() -> None:
    for t in list(live):
        t._prepare_fork()


def _after_fork_in_parent() -> None:
    for t in list(live):
        t._after_fork_parent()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    fastpath._after_fork_child()
    for t in list(live):
        t._after_fork_child()
    _flusher.after_fork_child()


class _WorkerHook:
    """A weak-referenceable key for multiprocessing's after-fork registry."""


def _register_exit_in_worker(_: _WorkerHook) -> None:
    # Registered after multiprocessing cleared the finalizers it inherited;
    # exitpriority -1 runs it after the worker's own finalizers.
    multiprocessing.util.Finalize(None, _at_exit, exitpriority=-1)


_worker_hook = _WorkerHook()
multiprocessing.util.register_after_fork(_worker_hook, _register_exit_in_worker)
atexit.register(_at_exit)
os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)
