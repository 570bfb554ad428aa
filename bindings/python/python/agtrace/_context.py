"""Carrying the current span (and session) where Python does not: into
threads and thread pools, and onto a span or remote context by hand."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from ._errors import InvalidArgument
from ._span import Parent, Span, SpanContext, current

R = TypeVar("R")


def bind(fn: Callable[..., R]) -> Callable[..., R]:
    """``fn`` wrapped to run in a copy of the calling context (current span
    and session), wherever it is later called: a thread, a pool, a callback.
    Each call gets its own copy, so concurrent calls do not interfere."""
    context = contextvars.copy_context()

    @functools.wraps(fn)
    def run_bound(*args: Any, **kwargs: Any) -> R:
        return context.copy().run(fn, *args, **kwargs)

    return run_bound


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in the context of the code
    that submitted them, so their spans nest under the submitter's span."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


@contextmanager
def use_span(span: Parent) -> Iterator[Parent]:
    """Makes ``span`` (a span, a remote :class:`SpanContext`, or None for no
    parent) current inside the block without ending it."""
    if span is not None and type(span) not in (Span, SpanContext):
        raise InvalidArgument(f"use_span takes a Span, a SpanContext or None, not {type(span).__name__}")
    token = current.set(span)
    try:
        yield span
    finally:
        current.reset(token)


def current_span() -> Parent:
    """The current span (or remote parent set with :func:`use_span`), or
    None."""
    return current.get()
