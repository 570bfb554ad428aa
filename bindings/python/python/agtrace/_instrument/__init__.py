"""Auto-instrumentation: spans for OpenAI, Anthropic and LangChain calls
without changing the code that makes them.

* :func:`instrument` patches every supported library that is installed (or
  the ones named); :func:`uninstrument` puts every original back, the very
  same objects. Both are idempotent. A library that is missing, or of a
  version this module does not know, is skipped with one warning; nothing
  here raises into the application's calls.
* :func:`wrap` traces one client instance and leaves the classes alone.
* :func:`wrap_function` traces an existing function, sync or async.

Spans go to the tracer given, or to the default tracer current at each call
(nothing is recorded before :func:`agtrace.init`). Message content is
recorded through :meth:`Span.set_messages`, so only with
``capture_content=True`` and after the tracer's redaction rules.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Optional, TypeVar, Union

from .._decorators import _decorate, _Options
from .._errors import InvalidArgument
from .._record import Attributes
from .._span import SpanKind
from .._tracer import Tracer, span_kind
from ._common import Patches

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C")

#: Library name -> (distribution on PyPI, module that patches it).
LIBRARIES = {
    "openai": ("openai", "openai"),
    "anthropic": ("anthropic", "anthropic"),
    "langchain": ("langchain-core", "langchain_core"),
}

_lock = threading.Lock()
_active: dict[str, Patches] = {}
_wrapped: list[Patches] = []


def _integration(library: str) -> Any:
    return importlib.import_module(f"._{library}", __name__)


def _available(library: str, explicit: bool) -> bool:
    """Whether ``library`` is installed in a supported version; warns once
    (per call of :func:`instrument`) when it was asked for by name or is
    installed but too old."""
    distribution, module = LIBRARIES[library]
    try:
        version = importlib.metadata.version(distribution)
        importlib.import_module(module)
    except (importlib.metadata.PackageNotFoundError, ImportError):
        if explicit:
            warnings.warn(f"agtrace.instrument: {distribution} is not installed; {library} is not traced", stacklevel=3)
        return False
    integration = _integration(library)
    if not _at_least(version, integration.MIN_VERSION):
        minimum = ".".join(map(str, integration.MIN_VERSION))
        warnings.warn(
            f"agtrace.instrument: {distribution} {version} is not supported (needs {minimum} or later); "
            f"{library} is not traced",
            stacklevel=3,
        )
        return False
    return True


def _at_least(version: str, minimum: tuple[int, int]) -> bool:
    """Whether ``version``'s major.minor is ``minimum`` or later (false when unparsable)."""
    try:
        parts = tuple(int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    return parts >= minimum


def instrument(*libraries: str, tracer: Optional[Tracer] = None) -> list[str]:
    """Traces the supported libraries that are installed: ``"openai"``,
    ``"anthropic"``, ``"langchain"`` (all of them when none is named).
    Returns the libraries instrumented now or before. A library already
    instrumented is left as it is."""
    unknown = [name for name in libraries if name not in LIBRARIES]
    if unknown:
        raise InvalidArgument(f"unknown libraries {unknown} (supported: {', '.join(LIBRARIES)})")
    explicit = bool(libraries)
    done: list[str] = []
    with _lock:
        for library in libraries or tuple(LIBRARIES):
            if library in _active:
                done.append(library)
                continue
            if not _available(library, explicit):
                continue
            patches = Patches()
            try:
                if library == "langchain":
                    _integration(library).instrument(tracer)
                else:
                    _integration(library).instrument(patches, tracer)
            except Exception as e:  # a layout this module does not know
                patches.restore()
                warnings.warn(f"agtrace.instrument: could not instrument {library}: {e!r}", stacklevel=2)
                continue
            _active[library] = patches
            done.append(library)
    return done


def uninstrument(*libraries: str) -> None:
    """Restores the original functions of the named libraries (default:
    every instrumented one, and every :func:`wrap`-ped client)."""
    with _lock:
        for library in libraries or tuple(_active):
            patches = _active.pop(library, None)
            if patches is None:
                continue
            if library == "langchain":
                _integration(library).uninstrument()
            patches.restore()
        if not libraries:
            for patches in _wrapped:
                patches.restore()
            _wrapped.clear()


def instrumented() -> list[str]:
    """The libraries instrumented now."""
    return list(_active)


def wrap(client: C, *, tracer: Optional[Tracer] = None) -> C:
    """Traces the calls of one ``openai.OpenAI``/``AsyncOpenAI`` or
    ``anthropic.Anthropic``/``AsyncAnthropic`` client, and returns it (the
    same object). Other clients and the classes stay untouched; a client
    wrapped twice is traced once."""
    module = type(client).__module__.split(".")[0]
    if module not in ("openai", "anthropic"):
        raise InvalidArgument(f"wrap takes an OpenAI or Anthropic client, not {type(client).__name__}")
    patches = Patches()
    _integration(module).wrap(client, patches, tracer)
    with _lock:
        _wrapped.append(patches)
    return client


def wrap_function(
    fn: F,
    *,
    name: Optional[str] = None,
    kind: Union[SpanKind, str] = SpanKind.PLAIN,
    attributes: Optional[Attributes] = None,
    tracer: Optional[Tracer] = None,
    capture_input: bool = True,
    capture_output: bool = True,
    links: Optional[Sequence[object]] = None,
) -> F:
    """``fn`` traced as a span (named ``name``, default its qualified name)
    on each call; plain, ``async``, generator and async generator functions,
    as :func:`agtrace.trace` decorates them, inputs and outputs recorded
    alike. ``fn`` itself is unchanged and is the result's ``__wrapped__``."""
    if not callable(fn):
        raise InvalidArgument(f"wrap_function takes a callable, not {type(fn).__name__}")
    if name is not None and (type(name) is not str or not name):
        raise InvalidArgument(f"name must be a non-empty str, got {name!r}")
    label = name or getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    options = _Options(
        label, span_kind(kind), attributes, tracer, fn, bool(capture_input), bool(capture_output), links
    )
    return _decorate(fn, options)

