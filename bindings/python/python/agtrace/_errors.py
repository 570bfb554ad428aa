"""One exception hierarchy for everything the core reports, from either of
the two ways into the library (the C ABI's status codes, through the
extension, and uniffi's error enum), converted here and nowhere else."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from . import _codes as codes
from ._native import ffi


class AgtraceError(Exception):
    """Base of every agtrace error; ``str(e)`` says what was wrong."""


class InvalidArgument(AgtraceError, ValueError, TypeError):
    """A value passed to agtrace had the wrong type or an invalid value."""


class InvalidConfig(AgtraceError, ValueError):
    """A setting had a bad value; the message names the setting."""


class AlreadyEnded(AgtraceError):
    """The span was already ended."""


class ShutDown(AgtraceError):
    """The tracer was shut down."""


class Timeout(AgtraceError, TimeoutError):
    """A flush or shutdown ran out of time with spans undelivered."""


class Undelivered(AgtraceError):
    """A flush or shutdown finished, but the exporters dropped spans
    meanwhile (rejected, failed after retries, left at the deadline)."""


class ExporterError(AgtraceError):
    """An exporter could not be created."""


class InternalError(AgtraceError):
    """An internal error inside the library (a caught panic); it stays usable."""


# The C ABI's agtrace_status_t values (the generated ERROR_* codes).
_BY_STATUS: dict[int, type[AgtraceError]] = {
    codes.ERROR_NULL_ARGUMENT: InvalidArgument,
    codes.ERROR_INVALID_ARGUMENT: InvalidArgument,
    codes.ERROR_INVALID_UTF8: InvalidArgument,
    codes.ERROR_INVALID_CONFIG: InvalidConfig,
    codes.ERROR_ALREADY_ENDED: AlreadyEnded,
    codes.ERROR_SHUT_DOWN: ShutDown,
    codes.ERROR_TIMEOUT: Timeout,
    codes.ERROR_UNDELIVERED: Undelivered,
    codes.ERROR_EXPORTER: ExporterError,
    codes.ERROR_PANIC: InternalError,
}

_BY_VARIANT: dict[str, type[AgtraceError]] = {
    "InvalidArgument": InvalidArgument,
    "InvalidConfig": InvalidConfig,
    "AlreadyEnded": AlreadyEnded,
    "ShutDown": ShutDown,
    "Timeout": Timeout,
    "Undelivered": Undelivered,
    "Exporter": ExporterError,
    "Internal": InternalError,
}


def from_status(code: int, message: str) -> AgtraceError:
    """The exception for a C ABI status and its error message."""
    return _BY_STATUS.get(code, InternalError)(message)


T = TypeVar("T")


def cold(call: Callable[[], T]) -> T:
    """Runs a uniffi call, converting its error into this hierarchy."""
    try:
        return call()
    except ffi.AgtraceError as e:
        kind = _BY_VARIANT.get(type(e).__name__, InternalError)
        raise kind(getattr(e, "detail", str(e))) from None
