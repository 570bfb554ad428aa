"""Run agtrace's benchmarks and write one table of results.

    python bench/run.py [--smoke] --out FILE -- 'SHELL COMMAND' ['SHELL COMMAND' ...]

Each command is one benchmark program (`make bench` passes them). Its output
is shown as it runs; its lines `BENCH {json}` are result rows with the keys
section, scenario, unit (ns, spans/s, spans, MiB, allocs), agtrace, peer,
peer_value, target, met and note (see core/benches/report.rs). FILE receives
the machine, the tool versions, the date and a table per section: scenario,
agtrace, peer, ratio, target, met or not.

A line `PROFILE {json}` (bench/profile.sh) is a profile: workload, method,
threads (thread, share in percent of samples) and symbols (self in percent,
object, symbol), most first. It becomes the Profile section: the shares, the
time by kind of work and the top symbols.

--smoke sets AGTRACE_BENCH_SMOKE=1 for every command (each benchmark then
runs briefly, to prove it works: CI does this; the numbers mean nothing).
A command that fails, or prints no row, fails the run (exit status 1) after
FILE is written with what there was.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

VERSIONS = [
    ("rustc", ["rustc", "--version"]),
    ("java", ["java", "-version"]),
    ("python", [sys.executable, "--version"]),
    ("gcc", ["gcc", "--version"]),
]


def run(
    command: str, env: dict[str, str]
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    print(f"\n=== {command}", flush=True)
    rows: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    proc = subprocess.Popen(command, shell=True, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.startswith("BENCH "):
            rows.append(json.loads(line[len("BENCH ") :]))
        elif line.startswith("PROFILE "):
            profiles.append(json.loads(line[len("PROFILE ") :]))
    return proc.wait(), rows, profiles


def value(v: float | None, unit: str) -> str:
    if v is None:
        return ""
    if unit == "ns":
        return f"{v / 1000:.2f} us" if v >= 1000 else f"{v:.0f} ns"
    if unit == "spans/s":
        return f"{v / 1000:.0f}k spans/s"
    if unit == "spans":
        return f"{v:.0f} spans"
    if unit == "MiB":
        return f"{v:.0f} MiB"
    return f"{v:.2f} {unit}"


def first_line(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "?"


def machine() -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    lines = [
        f"- machine: {platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), {mem}",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
    ]
    for name, cmd in VERSIONS:
        if shutil.which(cmd[0]) or os.path.isabs(cmd[0]):
            lines.append(f"- {name}: {first_line(cmd)}")
    # The wheel the Python rows measured (installed from dist/python): its
    # platform tag is what decides which Linux systems can install it.
    wheels = sorted(Path(__file__).resolve().parent.parent.glob("dist/python/agtrace-*.whl"))
    if wheels:
        tag = wheels[-1].stem.split("-")[-1]
        floor = " (glibc 2.17 and newer)" if "manylinux2014" in tag or "manylinux_2_17" in tag else ""
        lines.append(f"- python wheel: {wheels[-1].name}, platform tag {tag}{floor}")
    return lines


def table(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| scenario | agtrace | peer | ratio | target | |", "|---|---|---|---|---|---|"]
    notes = []
    for r in rows:
        unit = r["unit"]
        peer = ""
        ratio = ""
        if r.get("peer"):
            peer = f"{value(r.get('peer_value'), unit)} ({r['peer']})"
            if r.get("peer_value"):
                ratio = f"{r['agtrace'] / r['peer_value']:.2f}"
        met = {True: "met", False: "**missed**", None: ""}[r.get("met")]
        out.append(
            f"| {r['scenario']} | {value(r['agtrace'], unit)} | {peer} | {ratio} |"
            f" {r.get('target') or ''} | {met} |"
        )
        if r.get("note"):
            notes.append(f"- {r['scenario']}: {r['note']}")
    return out + ([""] + notes if notes else [])


# Kinds of work, matched against "object symbol" (first match wins), so the
# note says where the time goes without reading every symbol.
KINDS = [
    ("kernel", r"^\[kernel"),
    ("clock reads", r"clock_gettime|Instant|Timespec|SystemTime"),
    ("allocator", r" (__libc_|_int_|__rust_)?(malloc|free|cfree|realloc|calloc|alloc|dealloc)\b"
     r"|tcache"),
    ("memory copies", r" __(memmove|memcpy|memset|memcmp)"),
    ("channel and locks", r"flume::|pthread_mutex|futex|parking_lot|std::sync::"),
    ("agtrace_core", r"agtrace_core::"),
]


def profile(p: dict[str, Any]) -> list[str]:
    symbols = p["symbols"]
    out = [f"Where the time goes: {p['workload']}; {p['method']}.", ""]
    if p.get("threads"):
        shares = ", ".join(
            f"{t['thread']} {t['share']:.0f}%" for t in p["threads"] if t["share"] >= 0.5
        )
        out += [f"Samples by thread: {shares}.", ""]
    kinds: dict[str, float] = {}
    for s in symbols:
        name = f"{s['object']} {s['symbol']}"
        kind = next((k for k, pattern in KINDS if re.search(pattern, name)), "other")
        kinds[kind] = kinds.get(kind, 0.0) + s["self"]
    kinds.pop("other", None)
    kinds["other, or under 0.1% each"] = 100.0 - sum(kinds.values())
    by_kind = ", ".join(f"{k} {v:.0f}%" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    out += [f"By kind of work (from symbol names): {by_kind}.", ""]
    out += ["| self | symbol | object |", "|---|---|---|"]
    for s in symbols[:10]:
        obj = re.sub(r"-[0-9a-f]{16}$", "", s["object"])
        sym = s["symbol"].replace("|", "\\|")
        out.append(f"| {s['self']:.1f}% | `{sym}` | {obj} |")
    return out


def main(argv: list[str]) -> int:
    smoke = "--smoke" in argv
    out = Path(argv[argv.index("--out") + 1])
    commands = argv[argv.index("--") + 1 :]
    env = dict(os.environ)
    if smoke:
        env["AGTRACE_BENCH_SMOKE"] = "1"
    failed = []
    sections: dict[str, list[dict[str, Any]]] = {}
    profiles: list[dict[str, Any]] = []
    for command in commands:
        code, rows, found = run(command, env)
        if code != 0 or not (rows or found):
            failed.append(f"{command} (exit {code}, {len(rows) + len(found)} rows)")
        for r in rows:
            sections.setdefault(r["section"], []).append(r)
        profiles += found

    text = ["# agtrace benchmark results", ""]
    if smoke:
        text += ["Smoke run (AGTRACE_BENCH_SMOKE): the numbers below mean nothing.", ""]
    text += [
        "Written by `make bench` (bench/run.py). Every comparison is measured side by side on the",
        "same machine in the same run; ratios are agtrace / peer (for throughput, higher is",
        "better). Targets are from the design's TARGETS.md.",
        "",
        *machine(),
        "",
    ]
    for section, rows in sections.items():
        text += [f"## {section}", "", *table(rows), ""]
    for p in profiles:
        text += ["## Profile", "", *profile(p), ""]
    if failed:
        text += ["## Failed", "", *(f"- {f}" for f in failed), ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(text))
    print(f"\nbench: wrote {out}")
    for f in failed:
        print(f"bench: FAILED: {f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
