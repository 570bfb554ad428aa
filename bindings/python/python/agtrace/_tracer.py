"""Tracers: configuration, spans, propagation, flush and stats.

A tracer is two handles on one core tracer: the uniffi object for the cold
API (settings, flush, shutdown, stats, live configuration), and the C ABI
handle its C base class (agtrace._fastpath.Tracer) owns, for spans and
propagation."""

from __future__ import annotations

import difflib
import json
import weakref
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Optional, Union

from . import _flusher, _otel
from ._errors import InvalidArgument, InvalidConfig, Timeout, Undelivered, cold
from ._native import fastpath, ffi
from ._capture import Mask
from ._span import Parent, Span, SpanContext, current, log, span_kind

__all__ = ["ExporterStats", "Stats", "Tracer", "live", "span_kind"]

_CURRENT: Any = object()
"""Default ``parent``: the current span of the calling context."""

#: Every live tracer, for the exit hook and the fork handlers.
live: "weakref.WeakSet[Tracer]" = weakref.WeakSet()

# Keyword settings that are not the lower-case form of one setting name.
_ALIASES = {
    "service_name": "OTEL_SERVICE_NAME",
    "disabled": "OTEL_SDK_DISABLED",
    "sampler": "OTEL_TRACES_SAMPLER",
    "sampler_arg": "OTEL_TRACES_SAMPLER_ARG",
}
_PREFIXES = ("AGTRACE_", "OTEL_", "OTEL_EXPORTER_OTLP_", "OTEL_BSP_", "")

# Headers whose presence makes an extracted context carry state (trace state,
# baggage) that the spans under it pass on to their own descendants.
_STATEFUL_HEADERS = ("tracestate", "baggage")


@dataclass(frozen=True)
class ExporterStats:
    """One exporter's counters (the core's ``ExporterStats`` record):
    ``received == exported + sum(dropped.values()) + spooled + pending``;
    ``dropped`` counts by reason. ``spooled`` spans were written to the disk
    spool instead of dropped; ``replayed`` spans from the spool (this
    process's or an earlier one's) reached the backend; ``lost_from_spool``
    spans the spool could not keep or deliver (disk full, evicted at its cap,
    corrupt, rejected on replay); ``spool_corrupt`` counts corrupt records."""

    name: str
    received: int
    exported: int
    retried: int
    pending: int
    breaker_open: bool
    dropped: dict[str, int]
    spooled: int
    replayed: int
    lost_from_spool: int
    spool_corrupt: int


@dataclass(frozen=True)
class Stats:
    """A tracer's counters (the core's ``Stats`` record, the shape every SDK
    exposes). Invariant: ``ended == dispatched + sum(dropped.values()) +
    pending``; each exporter accounts for what it received the same way.
    ``misuse`` counts the API's misuse by kind (``bad_name``, ``bad_value``,
    ``ended_twice``, ``bad_call``, ``mask_failed``): what was skipped
    instead of raising."""

    started: int
    ended: int
    unsampled: int
    dispatched: int
    pending: int
    dropped: dict[str, int]
    exported: int
    exporters: list[ExporterStats]
    misuse: dict[str, int]

    @classmethod
    def of(cls, s: Any) -> Stats:
        """From the generated record (a dataclass without fields, so
        ``dataclasses.asdict`` could not read it)."""
        return cls(
            started=s.started,
            ended=s.ended,
            unsampled=s.unsampled,
            dispatched=s.dispatched,
            pending=s.pending,
            dropped=dict(s.dropped),
            exported=s.exported,
            exporters=[
                ExporterStats(
                    name=e.name,
                    received=e.received,
                    exported=e.exported,
                    retried=e.retried,
                    pending=e.pending,
                    breaker_open=e.breaker_open,
                    dropped=dict(e.dropped),
                    spooled=e.spooled,
                    replayed=e.replayed,
                    lost_from_spool=e.lost_from_spool,
                    spool_corrupt=e.spool_corrupt,
                )
                for e in s.exporters
            ],
            misuse=dict(s.misuse),
        )


class Tracer(fastpath.Tracer):
    """Starts spans and delivers them to the configured exporters. Thread-safe.

    Settings are keyword arguments named after the environment variables of
    the README's table, in lower case without their prefix
    (``capture_content=True`` for ``AGTRACE_CAPTURE_CONTENT``,
    ``endpoint=...`` for ``OTEL_EXPORTER_OTLP_ENDPOINT``); the variables
    themselves are read too unless ``ignore_env=True``, and code wins. A bad
    setting raises :class:`agtrace.InvalidConfig` naming it. Construction does
    no network I/O.

    ``mask`` is a function applied to captured inputs, outputs and message
    content before they are recorded (see agtrace._capture): it gets the
    value converted to JSON-ready Python and returns what to record. If it
    raises, that value is dropped and the failure counted as misuse
    (``stats().misuse["mask_failed"]``).

    ``span(name, kind=SpanKind.PLAIN, attributes=None, *, parent=...)``
    starts a span under ``parent`` (default: the current span; ``None`` for a
    new trace): use it in a ``with`` block to make it current and end it on
    exit, or call :meth:`Span.end`. It never blocks; after shutdown it returns
    a span that records nothing.
    """

    def __init__(
        self,
        service_name: Optional[str] = None,
        exporters: Union[str, list[str], None] = None,
        *,
        ignore_env: bool = False,
        exit_timeout: float = 5.0,
        mask: Optional[Mask] = None,
        **settings: Any,
    ) -> None:
        if mask is not None and not callable(mask):
            raise InvalidConfig(f"mask must be a function taking a value and returning one, not {type(mask).__name__}")
        #: The user's masking function, or None.
        self.mask = mask
        if isinstance(exit_timeout, bool) or not isinstance(exit_timeout, (int, float)) or exit_timeout < 0:
            raise InvalidConfig(f"exit_timeout must be a non-negative number of seconds, got {exit_timeout!r}")
        #: How long the exit hook waits for this tracer's spans.
        self.exit_timeout = float(exit_timeout)
        named = settings_by_name(service_name, exporters, settings)
        self._ffi = cold(lambda: ffi.Tracer(named, ignore_env))
        super().__init__(self._ffi.c_handle())
        live.add(self)
        config = self.get_config()
        #: Whether decorated functions record their inputs and outputs
        #: (``AGTRACE_CAPTURE_IO``), read once here: the decorators check it
        #: on every call.
        self.capture_io = bool(config["capture_io"])
        if config["otel_bridge"]:
            _otel.enable(self)
        _flusher.watch(config["batch"]["flush_interval_ms"])

    # -- propagation -------------------------------------------------------

    def inject(
        self,
        carrier: Optional[MutableMapping[str, str]] = None,
        *,
        span: Parent = _CURRENT,
    ) -> MutableMapping[str, str]:
        """Writes propagation headers (W3C ``traceparent``/``tracestate``/
        ``baggage`` or B3, per the tracer's propagators) for ``span``
        (default: the current span) into ``carrier`` and returns it. With no
        span, the carrier is returned unchanged."""
        out: MutableMapping[str, str] = {} if carrier is None else carrier
        target = current.get() if span is _CURRENT else span
        context = target.context if isinstance(target, Span) else target
        if context is None:
            return out
        if type(context) is not SpanContext:
            raise InvalidArgument(f"span must be a Span or SpanContext, not {type(context).__name__}")
        for name, value in self._inject(context):
            out[name] = value
        return out

    def extract(self, carrier: Mapping[str, str]) -> Optional[SpanContext]:
        """The remote parent in ``carrier`` (header names in any case), or
        None when it holds neither a valid context nor baggage. Pass it as
        ``parent=`` to continue the trace."""
        if not isinstance(carrier, Mapping):
            raise InvalidArgument(f"carrier must be a mapping, not {type(carrier).__name__}")
        headers = list(carrier.items())
        for key, value in headers:
            if type(key) is not str or type(value) is not str:
                raise InvalidArgument(f"headers must map str to str, got {key!r}: {value!r}")
        stateful = any(value and key.lower() in _STATEFUL_HEADERS for key, value in headers)
        return self._extract(headers, stateful)

    # -- delivery ----------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> bool:
        """Waits until spans ended before the call (on any thread) are
        delivered, up to ``timeout`` seconds. False (and a warning) if some
        were still on their way (they stay queued) or an exporter dropped
        spans meanwhile (``stats()`` says why); never raises for that."""
        ms = _millis("timeout", timeout)
        fastpath.flush_pending()
        try:
            cold(lambda: self._ffi.flush(ms))
        except (Timeout, Undelivered) as e:
            log.warning("agtrace: flush: %s", e)
            return False
        return True

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Flushes and stops the export threads within ``timeout`` seconds;
        the exporters retry until shortly before it ends. False (and a
        warning) if spans were left undelivered or dropped, by this call or,
        for a second call, by the first. Spans started afterwards record
        nothing."""
        ms = _millis("timeout", timeout)
        fastpath.flush_pending()
        self._mark_shut_down()
        try:
            cold(lambda: self._ffi.shutdown(ms))
        except (Timeout, Undelivered) as e:
            log.warning("agtrace: shutdown: %s", e)
            return False
        return True

    def stats(self) -> Stats:
        """The counters, counting every span ended before the call on any
        thread."""
        fastpath.flush_pending()
        return Stats.of(self._ffi.stats())

    # -- live configuration ------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The effective configuration, including live changes."""
        config: dict[str, Any] = json.loads(self._ffi.config_json())
        return config

    def set_config(self, **changes: Any) -> None:
        """Changes settings of the running tracer, for spans exported from
        now on: ``sampling_rate``, ``sampling_rules``, ``parent_based``,
        ``tags`` (added), ``metadata`` (merged), ``links``, and every
        redaction rule (see :meth:`update_redaction_rules`). Other settings
        are fixed at construction: changing one raises
        :class:`agtrace.InvalidConfig`."""
        sampling: dict[str, Any] = {}
        redaction: dict[str, Any] = {}
        redaction_keys = self.get_config()["redaction"].keys()
        for key, value in changes.items():
            if key in ("sampling_rate", "sampling_rules", "parent_based"):
                sampling[{"sampling_rate": "rate", "sampling_rules": "rules"}.get(key, key)] = value
            elif key in redaction_keys:
                redaction[key] = value
            elif key not in ("tags", "metadata", "links"):
                raise InvalidConfig(
                    f"{key!r} cannot be changed on a running tracer (live settings: "
                    f"sampling_rate, sampling_rules, parent_based, tags, metadata, links, "
                    f"{', '.join(sorted(redaction_keys))}); pass it to init() instead"
                )
        if sampling:
            cold(lambda: self._ffi.update_sampling(json.dumps(sampling)))
        if redaction:
            self.update_redaction_rules(**redaction)
        if "tags" in changes:
            self.add_tags(*_strings("tags", changes["tags"]))
        if "metadata" in changes:
            metadata = changes["metadata"]
            if not isinstance(metadata, Mapping):
                raise InvalidConfig("metadata must be a mapping")
            for k, v in metadata.items():
                cold(lambda: self._ffi.set_global_metadata(str(k), _json_text("metadata", v)))
        if "links" in changes:
            self._ffi.set_links_enabled(bool(changes["links"]))

    def update_redaction_rules(self, **rules: Any) -> None:
        """Changes redaction rules (``redact_messages``, ``sensitive_keys``,
        ``scrub_patterns``, ``max_attribute_bytes``, ...; see
        :meth:`get_config` ``["redaction"]``); unspecified rules keep their
        value. Applies to spans exported from now on."""
        cold(lambda: self._ffi.update_redaction(_json_text("redaction rules", rules)))

    def add_tags(self, *tags: str) -> None:
        """Adds tags to every span exported from now on."""
        self._ffi.add_tags(_strings("tags", list(tags)))

    def is_shut_down(self) -> bool:
        return bool(self._ffi.is_shut_down())

    # -- process lifecycle (see _lifecycle) ---------------------------------

    def _prepare_fork(self) -> None:
        self._ffi.prepare_fork()

    def _after_fork_parent(self) -> None:
        self._ffi.after_fork_parent()

    def _after_fork_child(self) -> None:
        self._ffi.after_fork_child()


def settings_by_name(
    service_name: Optional[str], exporters: Union[str, list[str], None], settings: dict[str, Any]
) -> dict[str, str]:
    """Keyword settings as the core's setting names and text values."""
    names = set(ffi.setting_names())
    out: dict[str, str] = {}
    if service_name is not None:
        out["OTEL_SERVICE_NAME"] = _text("service_name", service_name)
    if exporters is not None:
        out["AGTRACE_EXPORTERS"] = setting_text("AGTRACE_EXPORTERS", exporters)
    for key, value in settings.items():
        if value is None:
            continue
        if key == "sampling_rate":
            out["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
            out["OTEL_TRACES_SAMPLER_ARG"] = setting_text(key, value)
            continue
        name = _setting_name(key, names)
        out[name] = setting_text(name, value)
    return out


def _setting_name(key: str, names: set[str]) -> str:
    if key in _ALIASES:
        return _ALIASES[key]
    for prefix in _PREFIXES:
        candidate = prefix + key.upper()
        if candidate in names:
            return candidate
    known = sorted({n.lower().removeprefix("agtrace_") for n in names})
    close = difflib.get_close_matches(key.lower(), known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise InvalidConfig(f"unknown setting {key!r}{hint}")


def setting_text(name: str, value: Any) -> str:
    """A setting's text form, as the environment variable would hold it:
    booleans true/false; lists comma-separated (one regex per line for
    ``AGTRACE_SCRUB_PATTERNS``); ``AGTRACE_METADATA`` as a JSON object; other
    mappings (headers, resource attributes) as ``key=value`` pairs with the
    values percent-encoded."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, Mapping):
        if name == "AGTRACE_METADATA":
            return _json_text(name, dict(value))
        return ",".join(f"{k}={_percent(str(v))}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ("\n" if name == "AGTRACE_SCRUB_PATTERNS" else ",").join(str(v) for v in value)
    raise InvalidConfig(f"setting {name}: unsupported value type {type(value).__name__}")


def _percent(value: str) -> str:
    return value.replace("%", "%25").replace(",", "%2C")


def _text(what: str, value: object) -> str:
    if type(value) is not str:
        raise InvalidConfig(f"{what} must be a str, not {type(value).__name__}")
    return value


def _strings(what: str, values: object) -> list[str]:
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise InvalidArgument(f"{what} must be a list of str")
    if not all(type(v) is str for v in values):
        raise InvalidArgument(f"{what} must be a list of str")
    return list(values)


def _json_text(what: str, value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"{what}: {e}") from None


def _seconds(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidArgument(f"{what} must be a non-negative number of seconds, got {value!r}")
    return float(value)


def _millis(what: str, seconds: object) -> int:
    return min(int(_seconds(what, seconds) * 1000), 2**32 - 1)
