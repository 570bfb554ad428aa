"""The native layer: the uniffi-generated module, the library it loaded, and
the C extension that takes the span hot path into that same library.

Exposes three names, and nothing else of the package should find these files:

* ``ffi``: the generated uniffi module (``agtrace_ffi``, from libagtrace's
  namespace), loaded on import of this module: the cold API (settings,
  flush, shutdown, stats, live configuration).
* ``library_path``: the absolute path of the ``libagtrace`` shared library that
  ``ffi`` loaded.
* ``fastpath``: the C extension ``agtrace._fastpath`` (bindings/python/ext),
  bound to the library at ``library_path`` before anything uses it: it looks
  its functions up in the library already loaded, never loading a second one,
  so the process keeps one core. Binding fails (ImportError) when that
  library speaks another span protocol version than the extension.

Where they come from:

* Installed (the wheel ``make sdk-python`` builds with maturin): the
  sub-package ``agtrace._uniffi`` holds ``agtrace_ffi.py`` and
  ``libagtrace.so`` side by side, and the extension is ``agtrace/_fastpath*.so``.
* Development, without a wheel: if ``AGTRACE_PYTHON_NATIVE_DIR`` is set, it
  names a directory holding the same three files (``make bindings-python``
  writes ``build/uniffi-python``); ``agtrace_ffi`` is loaded from there as a
  top-level module and the extension as ``agtrace._fastpath``.
"""

from __future__ import annotations

import glob
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["fastpath", "ffi", "library_path"]

_MODULE = "agtrace_ffi"
_EXTENSION = "agtrace._fastpath"
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


def _exec(name: str, spec: importlib.machinery.ModuleSpec | None) -> ModuleType:
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as an import would: the generated code's
    # dataclasses look their module up in sys.modules.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _load_from(directory: str) -> tuple[ModuleType, ModuleType]:
    path = os.path.join(directory, _MODULE + ".py")
    extensions = glob.glob(os.path.join(directory, "_fastpath*.so"))
    if not os.path.isfile(path) or not extensions:
        raise ImportError(
            f"{_DEV_DIR_VARIABLE}={directory!r} must hold {_MODULE}.py, libagtrace and the _fastpath "
            "extension (make bindings-python writes them)"
        )
    loaded = sys.modules.get(_MODULE)
    if loaded is None or os.path.abspath(loaded.__file__ or "") != path:
        loaded = _exec(_MODULE, importlib.util.spec_from_file_location(_MODULE, path))
    extension = sys.modules.get(_EXTENSION)
    if extension is None:
        loader = importlib.machinery.ExtensionFileLoader(_EXTENSION, extensions[0])
        extension = _exec(_EXTENSION, importlib.util.spec_from_file_location(_EXTENSION, extensions[0], loader=loader))
    return loaded, extension


def _load() -> tuple[ModuleType, ModuleType]:
    directory = os.environ.get(_DEV_DIR_VARIABLE)
    if directory:
        return _load_from(os.path.abspath(directory))
    try:
        from ._uniffi import agtrace_ffi
        from . import _fastpath
    except ModuleNotFoundError as e:
        if e.name is None or not e.name.startswith((__package__ + "._uniffi", _EXTENSION)):
            raise
        raise ImportError(
            "agtrace's native layer (agtrace._uniffi, agtrace._fastpath) is missing: install the wheel "
            f"that `make sdk-python` builds, or set {_DEV_DIR_VARIABLE} to the directory "
            "`make bindings-python` writes"
        ) from e
    return agtrace_ffi, _fastpath


ffi, _extension = _load()
library_path: str = os.path.join(os.path.dirname(os.path.abspath(ffi.__file__ or "")), _library_file_name())

if TYPE_CHECKING:
    from . import _fastpath as fastpath
else:
    fastpath = _extension
fastpath._bind(library_path)
