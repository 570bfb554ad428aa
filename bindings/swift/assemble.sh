#!/usr/bin/env bash
# Assemble a self-contained SwiftPM package of the agtrace Swift SDK.
#
#   bindings/swift/assemble.sh OUT_DIR
#
# OUT_DIR receives this directory's hand-written files (Package.swift,
# Sources/, Tests/), the Swift bindings uniffi-bindgen generates from the
# built library (Sources/AgtraceFFI/AgtraceFFI.swift and the scaffolding
# header Sources/AgtraceFFIC/AgtraceFFIC.h), the boundary constants
# generated from core/src/codes.rs (Sources/Agtrace/Codes.swift, by
# `agtrace-header --codes swift`: kinds, statuses, error and protocol
# codes, never written by hand), the C ABI header
# (include/agtrace.h) and the library itself (lib/libagtrace.so.0, under its
# soname, which is what the loader looks for, and lib/libagtrace.so for the
# linker). Package.swift links lib/ by its own path, so the package works
# from wherever it is assembled, with no LD_LIBRARY_PATH.
#
# Needs libagtrace.so and uniffi-bindgen built in the cargo target directory
# ($CARGO_TARGET_DIR, default ~/.cache/agtrace/target): `cargo build
# --release -p agtrace-ffi` and `cargo build --release -p uniffi-bindgen`,
# two invocations (together they would change uniffi's features and rebuild
# the library). Codes.swift is made with `cargo run -p agtrace-header` in
# the same target directory.
#
# Re-running over an existing OUT_DIR keeps its .build/ and only rewrites
# files whose content changed, so SwiftPM rebuilds only what changed; files
# no longer produced are removed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
clone="$(cd "$here/../.." && pwd)"
out="${1:?usage: assemble.sh OUT_DIR}"
release="${CARGO_TARGET_DIR:-${AGTRACE_CACHE:-$HOME/.cache/agtrace}/target}/release"

for built in "$release/libagtrace.so" "$release/uniffi-bindgen"; do
    if [[ ! -x "$built" ]]; then
        echo "assemble.sh: $built is missing: run cargo build --release -p agtrace-ffi, then -p uniffi-bindgen" >&2
        exit 1
    fi
done

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

cp -R "$here/Package.swift" "$here/Sources" "$here/Tests" "$stage/"
(cd "$clone" && CARGO_TARGET_DIR="${release%/release}" cargo run --release --quiet -p agtrace-header -- --codes swift "$stage/Sources/Agtrace/Codes.swift") \
    || { echo "assemble.sh: generating Codes.swift failed" >&2; exit 1; }
"$release/uniffi-bindgen" generate --library "$release/libagtrace.so" --language swift \
    --config "$clone/uniffi.toml" --out-dir "$stage/generated" >/dev/null 2>&1 \
    || { echo "assemble.sh: uniffi-bindgen failed" >&2; "$release/uniffi-bindgen" generate \
         --library "$release/libagtrace.so" --language swift --config "$clone/uniffi.toml" \
         --out-dir "$stage/generated"; exit 1; }
mkdir -p "$stage/Sources/AgtraceFFI" "$stage/lib"
mv "$stage/generated/AgtraceFFI.swift" "$stage/Sources/AgtraceFFI/"
mv "$stage/generated/AgtraceFFIC.h" "$stage/Sources/AgtraceFFIC/"
# The generated module map is not used: Sources/AgtraceFFIC/module.modulemap
# also covers agtrace.h and links the library.
rm -rf "$stage/generated"
cp "$clone/include/agtrace.h" "$stage/Sources/AgtraceFFIC/"
soname="$(objdump -p "$release/libagtrace.so" 2>/dev/null | sed -n 's/^ *SONAME *//p')"
soname="${soname:-libagtrace.so}"
cp "$release/libagtrace.so" "$stage/lib/$soname"
[[ "$soname" == libagtrace.so ]] || ln -s "$soname" "$stage/lib/libagtrace.so"

# Sync the stage into OUT_DIR: copy what differs, delete what is gone,
# leave .build (SwiftPM's build directory) alone.
mkdir -p "$out"
(cd "$stage" && find . \( -type f -o -type l \) -print0) | while IFS= read -r -d '' f; do
    dest="$out/$f"
    if [[ -L "$stage/$f" ]]; then
        [[ -L "$dest" && "$(readlink "$dest")" == "$(readlink "$stage/$f")" ]] && continue
        mkdir -p "$(dirname "$dest")" && rm -rf "$dest" && cp -P "$stage/$f" "$dest"
    elif [[ -L "$dest" ]] || ! cmp -s "$stage/$f" "$dest"; then
        mkdir -p "$(dirname "$dest")" && rm -rf "$dest" && cp "$stage/$f" "$dest"
    fi
done
(cd "$out" && find . -path ./.build -prune -o -path ./.swiftpm -prune -o \( -type f -o -type l \) -print0) \
    | while IFS= read -r -d '' f; do
        [[ -e "$stage/$f" || -L "$stage/$f" ]] || rm -f "$out/$f"
    done
find "$out" -mindepth 1 -type d -empty -not -path "$out/.build*" -not -path "$out/.swiftpm*" -delete
