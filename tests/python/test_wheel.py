"""The wheel `make sdk-python` builds into dist/python, installed as a user
would: into a fresh virtual environment, offline, then imported with no
environment variables set.

Its layout (bindings/python/pyproject.toml): the hand-written package under
``agtrace/`` with the generated ``_codes.py`` and the C extension
``_fastpath.abi3.so``, and in ``agtrace/_uniffi/`` the uniffi-generated
``agtrace_ffi.py`` beside ``libagtrace.so``. ``agtrace._native`` is the one
module that knows it: its ``library_path`` must be the file the generated
module loaded, and the extension must run on that same library, so the
process maps exactly one libagtrace.

Its tag: the extension uses Python's stable ABI (abi3, 3.10), and both it
and the library need glibc 2.17 at most, which auditwheel confirms."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

DIST = Path(__file__).resolve().parents[2] / "dist" / "python"

# Run in the installed interpreter: what _native found, and whether opening
# library_path again gives the handle uniffi's loader already holds.
# A span goes through the extension, so its calls into the library have run
# when /proc/self/maps is read.
PROBE = """
import ctypes, json
import agtrace
import agtrace._native as n
t = agtrace.Tracer("probe", exporters="none", ignore_env=True)
with t.span("probe", attributes={"k": 1}):
    pass
t.shutdown()
mapped = sorted({line.split()[-1] for line in open("/proc/self/maps") if "libagtrace" in line})
print(json.dumps({
    "library_path": n.library_path,
    "module": n.ffi.__name__,
    "module_file": n.ffi.__file__,
    "extension_file": n.fastpath.__file__,
    "loaded_by_uniffi": n.ffi._UniffiLib._name,
    "same_handle": ctypes.CDLL(n.library_path)._handle == n.ffi._UniffiLib._handle,
    "mapped": mapped,
}))
"""


def _wheel() -> Path:
    wheels = sorted(DIST.glob("agtrace-*.whl"))
    assert len(wheels) == 1, f"expected one agtrace wheel in {DIST} (make sdk-python), found {wheels}"
    return wheels[0]


def _probe(python: Path, cwd: Path, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [str(python), "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(python, site-packages) of a fresh venv holding only the wheel."""
    wheel = _wheel()
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    # This interpreter's pip, installing into the new venv: offline and fast.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check",
         "install", "--quiet", "--no-index", "--no-deps", str(wheel)],
        check=True, timeout=120,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['platlib'])"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    return python, Path(site)


def test_wheel_holds_the_package_the_extension_the_generated_module_and_the_library():
    names = set(zipfile.ZipFile(_wheel()).namelist())
    assert {
        "agtrace/__init__.py",
        "agtrace/_native.py",
        "agtrace/_codes.py",
        "agtrace/_fastpath.abi3.so",
        "agtrace/_uniffi/__init__.py",
        "agtrace/_uniffi/agtrace_ffi.py",
        "agtrace/_uniffi/libagtrace.so",
    } <= names
    assert sorted(n for n in names if ".so" in n) == ["agtrace/_fastpath.abi3.so", "agtrace/_uniffi/libagtrace.so"]
    assert all(n.startswith(("agtrace/", "agtrace-")) for n in names), sorted(names)


def test_wheel_is_abi3_and_manylinux2014_as_auditwheel_sees_it():
    wheel = _wheel()
    python_tag, abi_tag, platforms = wheel.name[: -len(".whl")].split("-")[2:]
    assert (python_tag, abi_tag) == ("cp310", "abi3"), wheel.name
    assert f"manylinux2014_{platform.machine()}" in platforms.split("."), wheel.name
    shown = subprocess.run(
        [sys.executable, "-m", "auditwheel", "show", str(wheel)], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert f'consistent with the following platform tag: "manylinux_2_17_{platform.machine()}"' in text, shown.stdout


def test_installed_wheel_imports_with_no_environment(installed, tmp_path):
    python, site = installed
    found = _probe(python, tmp_path, env={})
    package_dir = site / "agtrace" / "_uniffi"
    assert found["library_path"] == str(package_dir / "libagtrace.so")
    assert (package_dir / "libagtrace.so").is_file()
    assert found["module"] == "agtrace._uniffi.agtrace_ffi"
    assert Path(found["module_file"]).parent == package_dir
    assert found["loaded_by_uniffi"] == found["library_path"]
    assert found["same_handle"]
    assert Path(found["extension_file"]).parent == site / "agtrace"
    assert found["mapped"] == [found["library_path"]]


def test_native_dir_variable_loads_a_development_directory(installed, tmp_path):
    python, site = installed
    dev = tmp_path / "dev"
    dev.mkdir()
    for name in ("agtrace_ffi.py", "libagtrace.so"):
        shutil.copy(site / "agtrace" / "_uniffi" / name, dev / name)
    shutil.copy(site / "agtrace" / "_fastpath.abi3.so", dev / "_fastpath.abi3.so")
    found = _probe(python, tmp_path, env={"AGTRACE_PYTHON_NATIVE_DIR": str(dev)})
    assert found["library_path"] == str(dev / "libagtrace.so")
    assert found["module"] == "agtrace_ffi"
    assert found["loaded_by_uniffi"] == found["library_path"]
    assert found["same_handle"]
    assert found["extension_file"] == str(dev / "_fastpath.abi3.so")
    assert found["mapped"] == [found["library_path"]]


def test_native_dir_variable_without_bindings_names_the_variable(installed, tmp_path):
    python, _ = installed
    out = subprocess.run(
        [str(python), "-c", "import agtrace._native"],
        cwd=tmp_path, env={"AGTRACE_PYTHON_NATIVE_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode != 0
    assert "AGTRACE_PYTHON_NATIVE_DIR" in out.stderr and "agtrace_ffi.py" in out.stderr
