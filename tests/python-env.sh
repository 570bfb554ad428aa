#!/usr/bin/env bash
# Make (or reuse) the Python virtualenv the tests run in.
#
# Contract:
#   tests/python-env.sh            -> ensures the venv, prints its path to stdout
#
#   * stdout carries exactly one line: the absolute path of the venv. Every
#     other message (pip, progress, errors) goes to stderr, so callers can do
#         VENV := $(shell tests/python-env.sh)          # Makefile
#         venv="$(tests/python-env.sh)"                  # shell
#     and then use "$venv/bin/python", "$venv/bin/pytest", "$venv/bin/phoenix".
#   * Location: ${AGTRACE_CACHE:-$HOME/.cache/agtrace}/venv; pip's download
#     cache: ${AGTRACE_CACHE:-$HOME/.cache/agtrace}/pip.
#   * Interpreter: ${AGTRACE_PYTHON:-python3} from PATH.
#   * Idempotent and fast when up to date: the venv holds a stamp file with the
#     sha256 of tests/requirements.txt plus the interpreter's version and path.
#     If the stamp matches and the venv's python runs, nothing is installed
#     (~0.2 s). Otherwise the venv is deleted and rebuilt from scratch, which
#     takes about 2 minutes (arize-phoenix and its ~160-package tree). pip's
#     cache rarely shortens that here: the registry proxy on these machines
#     sends no caching headers, so pip's HTTP cache stores nothing.
#   * Safe to run concurrently (e.g. make -j): an flock on the cache dir
#     serialises builders; the second one finds the stamp and returns.
#   * The stamp is written only after pip succeeded, so an interrupted install
#     is redone on the next run instead of leaving a half-built venv in use.
#   * Build tools (tests/build-requirements.txt: maturin, which `make
#     sdk-python` runs from this venv) have their own stamp and are installed
#     into the venv as it is, in a few seconds: changing a build pin does not
#     rebuild the test environment, nor pull it from under a running test. A
#     tool dropped from that file stays until the next full rebuild.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
requirements="$here/requirements.txt"
build_requirements="$here/build-requirements.txt"
cache="${AGTRACE_CACHE:-$HOME/.cache/agtrace}"
venv="$cache/venv"
stamp="$venv/.agtrace-requirements.stamp"
build_stamp="$venv/.agtrace-build-requirements.stamp"
python="${AGTRACE_PYTHON:-python3}"

log() { printf 'python-env: %s\n' "$*" >&2; }

if ! command -v "$python" >/dev/null 2>&1; then
    log "interpreter '$python' not found on PATH (set AGTRACE_PYTHON)"
    exit 1
fi

# What the venv must have been built from. The interpreter's real path is
# included because a venv is bound to the interpreter that created it.
want="$(
    {
        sha256sum <"$requirements" | cut -d' ' -f1
        "$python" -c 'import sys, os; print(sys.version); print(os.path.realpath(sys.executable))'
    } | sha256sum | cut -d' ' -f1
)"

want_build="$(sha256sum <"$build_requirements" | cut -d' ' -f1)"

up_to_date() {
    [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$want" ]] &&
        "$venv/bin/python" -c 'pass' >/dev/null 2>&1
}

build_tools_up_to_date() {
    [[ -f "$build_stamp" ]] && [[ "$(cat "$build_stamp")" == "$want_build" ]]
}

install_build_tools() {
    PIP_CACHE_DIR="$cache/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 \
        "$venv/bin/python" -m pip install --no-input --progress-bar off \
        -r "$build_requirements" >&2
    printf '%s\n' "$want_build" >"$build_stamp"
}

if up_to_date && build_tools_up_to_date; then
    printf '%s\n' "$venv"
    exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/venv.lock"
flock 9
# Someone else may have built it while we waited for the lock.
if up_to_date; then
    if ! build_tools_up_to_date; then
        log "installing build tools from $build_requirements"
        install_build_tools
    fi
    printf '%s\n' "$venv"
    exit 0
fi

log "building $venv (requirements or interpreter changed; this takes a few minutes once)"
started=$SECONDS
# Rebuild from scratch rather than upgrading in place, so packages dropped
# from requirements.txt do not linger and a venv from another interpreter is
# never reused.
rm -rf "$venv"
if ! "$python" -m venv "$venv" >&2; then
    log "'$python -m venv' failed (on Debian's own python, apt-get install python3-venv)"
    exit 1
fi
PIP_CACHE_DIR="$cache/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$venv/bin/python" -m pip install --no-input --progress-bar off \
    -r "$requirements" >&2
printf '%s\n' "$want" >"$stamp"
install_build_tools
log "venv ready in $((SECONDS - started)) s"
printf '%s\n' "$venv"
