"""The idle flusher: a daemon thread that sends every thread's pending span
ends to the core (``fastpath.flush_pending``), so that a span ended on a
thread which then starts no more spans (it idles, blocks or exits) still
reaches the exporters within the batch delay. A thread that keeps starting
spans sends its ends with its next start anyway; this thread only wakes to
pick up what such threads left.

It runs every half batch delay of the tracer with the shortest one, within
10-100 ms, and holds the GIL only while it sends. Started with the first
tracer; in a forked child, again (threads do not survive a fork)."""

from __future__ import annotations

import threading
import time
from typing import Optional

from ._native import fastpath

_interval = 0.1
_thread: Optional[threading.Thread] = None
_lock = threading.Lock()


def watch(batch_delay_ms: int) -> None:
    """Runs the flusher, often enough for a tracer with this batch delay."""
    global _interval, _thread
    with _lock:
        _interval = min(_interval, max(0.01, batch_delay_ms / 2000))
        if _thread is None:
            _thread = threading.Thread(target=_run, name="agtrace-flusher", daemon=True)
            _thread.start()


def after_fork_child() -> None:
    """In a forked child: the parent's flusher thread did not come along."""
    global _lock, _thread
    _lock = threading.Lock()
    running, _thread = _thread is not None, None
    if running:
        watch(int(_interval * 2000))


def _run() -> None:
    while True:
        time.sleep(_interval)
        fastpath.flush_pending()
