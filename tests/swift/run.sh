#!/usr/bin/env bash
# Run a command with the Swift toolchain tests/swift/toolchain.sh made.
#
#   tests/swift/run.sh DIR CMD [ARG...]
#
# Runs CMD in DIR: directly when `swift` is on PATH, else inside the Debian 13
# chroot, where the clone, the cargo target directory ($CARGO_TARGET_DIR) and
# /tmp are bind-mounted at their own paths (so every path means the same
# inside and out) and /proc is mounted. The mounts are private to this run
# (a new mount namespace, unshare -m), so nothing is left mounted when it
# ends, however it ends, and concurrent runs do not meet. The environment is
# passed through (HOME is the caller's, so SwiftPM's caches stay outside the
# clone). Exits with CMD's exit code.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
clone="$(cd "$here/../.." && pwd)"
dir="$1"
shift

read -r mode root < <("$here/toolchain.sh")
if [[ "$mode" == native ]]; then
    cd "$dir"
    exec "$@"
fi

target="${CARGO_TARGET_DIR:-${AGTRACE_CACHE:-$HOME/.cache/agtrace}/target}"
mkdir -p "$target" "$HOME"
exec unshare -m -- bash -euo pipefail -c '
root="$1"; shift; dir="$1"; shift
mount --make-rprivate /
mount -t proc proc "$root/proc"
for path in "$@"; do
    [[ "$path" == -- ]] && break
    mkdir -p "$root$path"
    mount --bind "$path" "$root$path"
done
while [[ "$1" != -- ]]; do shift; done
shift
cd_and_run="cd \"\$0\" && exec \"\$@\""
exec chroot "$root" /bin/sh -c "$cd_and_run" "$dir" "$@"
' run.sh "$root" "$dir" "$HOME" "$clone" "$target" /tmp -- "$@"
