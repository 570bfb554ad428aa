#!/bin/sh
# Builds one source file against the SDK the way the README shows, with
# pkg-config, and an rpath so the program runs from anywhere.
# usage: build_with_pkgconfig.sh <compiler> <sdk dir> <output> <source> [compiler flags...]
set -eu
compiler=$1 sdk=$2 output=$3 source=$4
shift 4
export PKG_CONFIG_PATH="$sdk/lib/pkgconfig"
mkdir -p "$(dirname "$output")"
set -x
"$compiler" "$@" "$source" $(pkg-config --cflags --libs agtrace) -pthread -Wl,-rpath,"$sdk/lib" -o "$output"
