#!/usr/bin/env bash
# Where a span's time goes: profiles core/benches/span_loop.rs (root spans
# with 5 attributes in a tight loop on a thread named span-loop) and prints
# one line `PROFILE {json}` for bench/run.py, which writes the Profile
# section of RESULTS.md:
#   {"workload", "method", "threads": [{"thread", "share"}],
#    "symbols": [{"self", "object", "symbol"}]}
# with the calling thread's symbols by self time (percent of its samples,
# demangled) and every thread's share of the samples.
#
#   bench/profile.sh [SECONDS]        (default 5; 1 under AGTRACE_BENCH_SMOKE)
#
# perf record, with the cycles event where the machine has hardware
# counters and the cpu-clock software event where it has not (VMs often
# do not); linux-perf is installed when perf is missing. Where perf cannot
# record at all, valgrind's callgrind counts instructions instead (every
# thread, not the calling thread alone), and the method says so.
set -euo pipefail

seconds=${1:-$([ -n "${AGTRACE_BENCH_SMOKE:-}" ] && echo 1 || echo 5)}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The bench binary as cargo built it (make bench-build did; this is then a
# fresh check, not a build).
bin=$(cd "$root" &&
  cargo bench --quiet --no-run --message-format=json -p agtrace-core --bench span_loop |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$bin" ] || { echo "profile.sh: no span_loop bench binary" >&2; exit 1; }

if ! perf --version >/dev/null 2>&1; then
  echo "profile.sh: installing linux-perf" >&2
  { apt-get install -y -q linux-perf ||
    { apt-get update -q && apt-get install -y -q linux-perf; }; } >&2 || true
fi

# Lines "PERCENT<TAB>OBJECT<TAB>SYMBOL" to JSON objects, comma-separated.
# perf and valgrind print symbols with no control characters, so quotes and
# backslashes are all that need escaping.
symbols_json() {
  sed 's/\\/\\\\/g; s/"/\\"/g' |
    awk -F '\t' '{ printf "%s{\"self\":%s,\"object\":\"%s\",\"symbol\":\"%s\"}", sep, $1, $2, $3
                   sep = "," }'
}

event=
if perf --version >/dev/null 2>&1; then
  if perf stat -x, -e cycles true 2>&1 | grep -q '^[0-9]'; then
    event=cycles
  else
    event=cpu-clock
  fi
  perf record -q -e "$event" -o "$work/probe.data" -- true >/dev/null 2>&1 || event=
fi

if [ -n "$event" ]; then
  perf record -q -e "$event" -F 4999 -o "$work/perf.data" -- "$bin" "$seconds"
  # Lines: "  46.65%  span-loop      ".
  threads=$(perf report -i "$work/perf.data" --sort comm --stdio -q 2>/dev/null |
    awk 'NF >= 2 { pct = $1; sub(/%$/, "", pct); $1 = ""; gsub(/^ +| +$/, "")
                   printf "%s{\"thread\":\"%s\",\"share\":%s}", sep, $0, pct; sep = "," }')
  perf report -i "$work/perf.data" --comm span-loop --no-children --sort dso,sym \
    --percentage relative --percent-limit 0.1 --stdio > "$work/report.txt" 2>/dev/null
  samples=$(sed -n 's/^# Samples: \([0-9.]*[kKM]*\) .*/\1/p' "$work/report.txt" | head -n 1)
  # Lines: "  17.48%  [vdso]  [.] __vdso_clock_gettime"; the symbol may hold spaces.
  symbols=$(sed '/^#/d' "$work/report.txt" |
    awk 'NF >= 4 { pct = $1; sub(/%$/, "", pct); obj = $2; $1 = $2 = $3 = ""; sub(/^ +/, "")
                   print pct "\t" obj "\t" $0 }' |
    symbols_json)
  method="perf record -e $event at 4999 Hz; self time of the calling thread's ${samples:-?} samples"
elif command -v valgrind >/dev/null 2>&1; then
  echo "profile.sh: perf cannot record here; using valgrind --tool=callgrind" >&2
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$bin" "$seconds"
  threads=
  # Lines: "3,352,457,110 (26.49%)  ???:symbol [/path/object]".
  symbols=$(callgrind_annotate --inclusive=no --threshold=99 "$work/callgrind.out" 2>/dev/null |
    awk 'match($0, /^ *[0-9,]+ \( *[0-9.]+%\) +/) {
           pct = substr($0, 1, RLENGTH); sub(/^.*\( */, "", pct); sub(/%\).*$/, "", pct)
           rest = substr($0, RLENGTH + 1); obj = ""
           if (match(rest, / \[[^]]*\]$/)) {
             obj = substr(rest, RSTART + 2, RLENGTH - 3); rest = substr(rest, 1, RSTART - 1)
           }
           sub(/^[^:]*:/, "", rest); n = split(obj, parts, "/")
           if (pct + 0 >= 0.1 && rest != "PROGRAM TOTALS") print pct "\t" parts[n] "\t" rest }' |
    symbols_json)
  method="perf cannot record on this machine: valgrind --tool=callgrind instruction counts"
  method="$method, self, every thread"
else
  echo "profile.sh: neither perf nor valgrind can run here" >&2
  exit 1
fi

[ -n "$symbols" ] || { echo "profile.sh: the profile has no symbols" >&2; exit 1; }
workload="root span + 5 attributes in a loop for $seconds s (core/benches/span_loop.rs),"
workload="$workload default settings, discarding exporter"
printf 'PROFILE {"workload":"%s","method":"%s","threads":[%s],"symbols":[%s]}\n' \
  "$workload" "$method" "$threads" "$symbols"
