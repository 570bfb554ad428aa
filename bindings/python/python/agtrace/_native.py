"""The native layer: the uniffi-generated module and the library it loaded.

Exposes two names, and nothing else of the package should find these files:

* ``ffi``: the generated uniffi module (``agtrace_ffi``, from libagtrace's
  namespace), loaded on import of this module.
* ``library_path``: the absolute path of the ``libagtrace`` shared library that
  ``ffi`` loaded. Code that opens the library itself (the ctypes fast path)
  must open this path: the dynamic loader returns the handle it already has
  for a file it loaded, so the process keeps one core.

Where they come from:

* Installed (the wheel ``make sdk-python`` builds with maturin): the
  sub-package ``agtrace._uniffi`` holds ``agtrace_ffi.py`` and
  ``libagtrace.so`` side by side; the generated module loads the library from
  its own directory.
* Development, without a wheel: if ``AGTRACE_PYTHON_NATIVE_DIR`` is set, it
  names a directory holding the same two files (``make bindings-python``
  writes ``build/uniffi-python``), and ``agtrace_ffi`` is loaded from there
  as a top-level module.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType

__all__ = ["ffi", "library_path"]

_MODULE = "agtrace_ffi"
_DEV_DIR_VARIABLE = "AGTRACE_PYTHON_NATIVE_DIR"


def _library_file_name() -> str:
    # The name uniffi's generated loader joins to its own directory
    # (cdylib_name "agtrace"); tests/python/test_wheel.py checks that the
    # result is the very file the loader opened.
    if sys.platform == "darwin":
        return "libagtrace.dylib"
    if sys.platform == "win32":
        return "agtrace.dll"
    return "libagtrace.so"


def _load_from(directory: str) -> ModuleType:
    path = os.path.join(directory, _MODULE + ".py")
    loaded = sys.modules.get(_MODULE)
    if loaded is not None and os.path.abspath(loaded.__file__ or "") == path:
        return loaded
    if not os.path.isfile(path):
        raise ImportError(
            f"{_DEV_DIR_VARIABLE}={directory!r} holds no {_MODULE}.py (make bindings-python writes one)"
        )
    spec = importlib.util.spec_from_file_location(_MODULE, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as an import would: the generated code's
    # dataclasses look their module up in sys.modules.
    sys.modules[_MODULE] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[_MODULE]
        raise
    return module


def _load() -> ModuleType:
    directory = os.environ.get(_DEV_DIR_VARIABLE)
    if directory:
        return _load_from(os.path.abspath(directory))
    try:
        from ._uniffi import agtrace_ffi
    except ModuleNotFoundError as e:
        if e.name is None or not e.name.startswith(__package__ + "._uniffi"):
            raise
        raise ImportError(
            "agtrace's native layer (agtrace._uniffi) is missing: install the wheel that "
            f"`make sdk-python` builds, or set {_DEV_DIR_VARIABLE} to the directory "
            "`make bindings-python` writes"
        ) from e
    return agtrace_ffi


ffi: ModuleType = _load()
library_path: str = os.path.join(os.path.dirname(os.path.abspath(ffi.__file__ or "")), _library_file_name())
