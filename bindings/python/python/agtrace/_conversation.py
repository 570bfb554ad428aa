"""Conversations: a chat's turns, one after the other, each a span that
knows the turn before it.

    chat = agtrace.conversation("c-42")
    with chat.turn("answer") as turn:     # an AGENT span by default
        ...
    with chat.turn("answer"):             # linked to the first turn's span
        ...

A turn's span starts in a session scope (see :func:`agtrace.session`) whose
conversation id is the conversation's, so every span of its trace carries
``gen_ai.conversation.id`` (backends group traces into sessions by it), and
it is linked to the previous turn's span (the link's attribute ``link.kind``
is ``previous_turn``), so a backend can step from a turn
to the one before even when each turn is its own trace. A turn's span is a
child of the current span like any other (a new trace when there is none:
the usual chat loop), or of ``parent=``.

The previous turn is the one that started last in this process; pass
``previous=`` (a :class:`SpanContext`, e.g. ``Conversation.previous`` kept
from an earlier process or request) to continue a conversation elsewhere.
Thread-safe: concurrent turns link in the order they started.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Optional, Union

from . import _session
from ._errors import InvalidArgument
from ._native import fastpath
from ._record import Attributes
from ._span import Parent, Span, SpanContext, SpanKind
from ._tracer import Tracer

_CURRENT: Any = object()

#: The attributes of a turn's link to the turn before.
PREVIOUS_TURN = {"link.kind": "previous_turn"}


class Conversation:
    """One conversation's turns; see the module doc. Made by
    :func:`agtrace.conversation`."""

    def __init__(self, conversation_id: str, previous: Optional[SpanContext], tracer: Optional[Tracer]) -> None:
        #: The conversation id every turn's trace carries.
        self.id = conversation_id
        self._previous = previous
        self._tracer = tracer
        self._lock = threading.Lock()

    @property
    def previous(self) -> Optional[SpanContext]:
        """The context of the turn that started last (or the one this
        conversation was made with), which the next turn links to."""
        with self._lock:
            return self._previous

    @contextmanager
    def turn(
        self,
        name: str = "turn",
        kind: Union[SpanKind, str] = SpanKind.AGENT,
        attributes: Optional[Attributes] = None,
        *,
        parent: Parent = _CURRENT,
        links: Optional[Sequence[object]] = None,
    ) -> Iterator[Span]:
        """Starts the turn's span (current in the block, ended on exit like
        ``with agtrace.span(...)``) in the conversation's session scope,
        linked to the previous turn's span and to ``links``."""
        with _session.session(conversation_id=self.id):
            with self._lock:
                previous = self._previous
                options: dict[str, Any] = {"links": [(previous, PREVIOUS_TURN), *(links or ())] if previous else links}
                if parent is not _CURRENT:
                    options["parent"] = parent
                start = self._tracer.span if self._tracer is not None else fastpath.span
                span = start(name, kind, attributes, **options)
                context = span.context
                if context is not None:
                    self._previous = context
            with span:
                yield span


def conversation(
    conversation_id: str, *, previous: Optional[SpanContext] = None, tracer: Optional[Tracer] = None
) -> Conversation:
    """A conversation whose turns (:meth:`Conversation.turn`) carry
    ``conversation_id`` and link each to the turn before; ``previous``
    continues one whose last turn started elsewhere; ``tracer`` (default:
    the default tracer) records the turns."""
    if type(conversation_id) is not str or not conversation_id:
        raise InvalidArgument(f"conversation_id must be a non-empty str, got {conversation_id!r}")
    if previous is not None and type(previous) is not SpanContext:
        raise InvalidArgument(f"previous must be a SpanContext, not {type(previous).__name__}")
    return Conversation(conversation_id, previous, tracer)
