#!/usr/bin/env bash
# Make (or reuse) a Swift 6 toolchain and print how to run it.
#
# Contract:
#   tests/swift/toolchain.sh       -> ensures a toolchain, prints one line to stdout:
#       "native"            a `swift` on PATH is used as it is (macOS, or a Linux with Swift);
#       "chroot DIR"        Debian 13 (trixie) with its swiftlang package in DIR, to be
#                           entered with tests/swift/run.sh.
#   Every other message goes to stderr.
#
#   * Debian 12 has no Swift package; trixie's swiftlang (Swift 6.0.3, with
#     SwiftPM, XCTest and Foundation) works in a chroot on it. The chroot is
#     ${AGTRACE_CACHE:-$HOME/.cache/agtrace}/swift-chroot, about 3.3 GB, made
#     once in about 3 minutes (debootstrap, then apt-get inside) and reused.
#   * Idempotent: a stamp with the package list is written only after apt-get
#     succeeded, so an interrupted build is redone, and a changed list
#     installs what is missing.
#   * Needs root (debootstrap, chroot, mounts) and debootstrap, which it
#     installs from Debian's packages when missing. Safe to run concurrently:
#     an flock serialises builders.
set -euo pipefail

log() { printf 'swift-toolchain: %s\n' "$*" >&2; }

if command -v swift >/dev/null 2>&1; then
    printf 'native\n'
    exit 0
fi

cache="${AGTRACE_CACHE:-$HOME/.cache/agtrace}"
root="$cache/swift-chroot"
packages="swiftlang libc6-dev libstdc++-14-dev"
stamp="$root/.agtrace-swift.stamp"

ready() { [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$packages" ]]; }

if ready; then
    printf 'chroot %s\n' "$root"
    exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
    log "no swift on PATH, and making the Debian 13 chroot needs root"
    exit 1
fi

mkdir -p "$cache"
exec 9>"$cache/swift-chroot.lock"
flock 9
if ready; then
    printf 'chroot %s\n' "$root"
    exit 0
fi

started=$SECONDS
if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    # A fresh machine may have no package lists yet.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >&2 ||
        { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >&2; }
fi
# A marker, not the presence of files: an interrupted debootstrap leaves a
# half-made root that is started over.
if [[ ! -f "$root/.agtrace-debootstrap-done" ]]; then
    log "debootstrap trixie into $root (about a minute)"
    rm -rf "$root"
    debootstrap --variant=minbase trixie "$root" http://deb.debian.org/debian >&2
    touch "$root/.agtrace-debootstrap-done"
fi
# apt inside needs /proc and the host's resolver; both are undone on exit.
cp /etc/resolv.conf "$root/etc/resolv.conf"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
log "installing $packages in the chroot (about 2 minutes, 3.3 GB)"
# shellcheck disable=SC2086
chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get update -q && apt-get install -y -q --no-install-recommends $packages && apt-get clean" >&2
chroot "$root" swift --version >&2
printf '%s\n' "$packages" >"$stamp"
log "ready in $((SECONDS - started)) s"
printf 'chroot %s\n' "$root"
