"""The hot path: direct calls into libagtrace's C ABI through ctypes.

A span costs two calls here (start and finish, each carrying a packed
record), against microseconds per call for uniffi's Python bindings, which
keep the cold API (configuration, flush, stats). Both load the same library
file, so the process has one core.

The library is loaded with ``PyDLL``: calls keep the GIL. Every function used
here is short and never blocks, so holding the GIL is cheaper than releasing
and retaking it, and it means no other Python thread is inside the library
when the process forks or when a handle is freed.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_bool, c_char_p, c_size_t, c_uint32, c_void_p
from typing import Any

from . import _errors
from ._native import library_path

_lib = ctypes.PyDLL(library_path)


class Str(ctypes.Structure):
    """``agtrace_str_t``: pointer and length, not NUL-terminated."""

    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]


def _fn(name: str, restype: object, *argtypes: object) -> Any:
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_ERR = POINTER(c_void_p)


class Handle(c_void_p):
    """An opaque pointer from the library. As a ``restype`` a subclass of
    ``c_void_p`` comes back as an instance (not an int), which the hot
    functions below take back without conversion; it is false when NULL."""


def _hot(name: str, restype: object) -> Any:
    # No argtypes: ctypes then converts arguments itself (Handle, bytes,
    # None, small ints), several times cheaper than calling each argtype's
    # from_param. The integer arguments (kind, record length) are widened to
    # 64 bits by libffi on the platforms we ship (x86-64, aarch64), and ctypes
    # refuses ints that do not fit a C int, so nothing is silently truncated.
    f = getattr(_lib, name)
    f.restype = restype
    return f


#: (tracer, parent span or None, remote parent or None, kind, record, len,
#: None) -> Handle, false on failure (then repeat with an error holder).
start_packed = _hot("agtrace_span_start_packed", Handle)
#: (span, record or None, len, error holder or None) -> status
finish_packed = _hot("agtrace_span_finish_packed", ctypes.c_int)
record_packed = _fn("agtrace_span_record_packed", ctypes.c_int, c_void_p, c_char_p, c_size_t, _ERR)
free_many = _fn("agtrace_span_free_many", None, POINTER(c_void_p), c_size_t)
span_free = _fn("agtrace_span_free", None, c_void_p)
is_recording = _fn("agtrace_span_is_recording", c_bool, c_void_p)
tracer_free = _fn("agtrace_tracer_free", None, c_void_p)
_version = _fn("agtrace_version", c_char_p)

span_context = _fn("agtrace_span_context", ctypes.c_int, c_void_p, POINTER(c_void_p), _ERR)
context_free = _fn("agtrace_context_free", None, c_void_p)
context_ids = _fn(
    "agtrace_context_ids",
    ctypes.c_int,
    c_void_p,
    POINTER(ctypes.c_uint8 * 16),
    POINTER(ctypes.c_uint8 * 8),
    POINTER(c_bool),
    _ERR,
)
headers_new = _fn("agtrace_headers_new", c_void_p)
headers_free = _fn("agtrace_headers_free", None, c_void_p)
headers_set = _fn("agtrace_headers_set", ctypes.c_int, c_void_p, Str, Str, _ERR)
headers_count = _fn("agtrace_headers_count", c_size_t, c_void_p)
headers_get = _fn(
    "agtrace_headers_get", ctypes.c_int, c_void_p, c_size_t, POINTER(Str), POINTER(Str), _ERR
)
inject = _fn("agtrace_inject", ctypes.c_int, c_void_p, c_void_p, c_void_p, _ERR)
extract = _fn("agtrace_extract", ctypes.c_int, c_void_p, c_void_p, POINTER(c_void_p), _ERR)

_error_code = _fn("agtrace_error_code", ctypes.c_int, c_void_p)
_error_message = _fn("agtrace_error_message", c_char_p, c_void_p)
_error_free = _fn("agtrace_error_free", None, c_void_p)


def error_holder() -> tuple[c_void_p, ctypes._Pointer[c_void_p]]:
    """A fresh out-parameter for one call's error (never shared: another
    thread may run between a call and reading its result)."""
    holder = c_void_p()
    return holder, ctypes.pointer(holder)


def take_error(holder: c_void_p) -> _errors.AgtraceError:
    """Converts and frees the error a failed call left in ``holder``."""
    code = _error_code(holder)
    raw = _error_message(holder)
    message = raw.decode("utf-8", "replace") if raw else "unknown error"
    _error_free(holder)
    return _errors.from_status(code, message)


def check(status: int, holder: c_void_p) -> None:
    if status != 0:
        raise take_error(holder)


def make_str(data: bytes) -> Str:
    """An ``agtrace_str_t`` over ``data``, which must outlive the call."""
    return Str(ctypes.cast(c_char_p(data), c_void_p), len(data))


def read_str(s: Str) -> str:
    return ctypes.string_at(s.ptr, s.len).decode("utf-8") if s.len else ""


def library_version() -> str:
    """libagtrace's version, ``MAJOR.MINOR.PATCH``."""
    raw: bytes = _version()
    return raw.decode()
