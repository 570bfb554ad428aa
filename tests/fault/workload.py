"""The fault suite's workload: a small agent traced with the Python SDK,
configured by the environment (the OTLP endpoint, delivery settings), run
as its own process so a test can kill it.

    python workload.py --traces N [--pause-ms MS] [--ids FILE] [--shutdown S] [--attribute-bytes B]
                       [--exit-hook S]

Each trace is an agent span with an LLM child and two tool children (four
spans). The hex id of every span is appended to ``--ids`` when its trace
ends (flushed, so a killed process leaves the ids of every trace it
finished). After each trace it prints ``trace K`` (flushed); at the end it
shuts the tracer down within ``--shutdown`` seconds and prints one JSON line:
``{"shutdown": bool, "stats": {...}}`` (the ``Stats`` dataclass). With
``--exit-hook S`` it never calls shutdown: the SDK's exit hook delivers
within S seconds as the interpreter exits (no JSON line then).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import agtrace


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--traces", type=int, required=True)
    p.add_argument("--pause-ms", type=float, default=0.0)
    p.add_argument("--ids", default=None)
    p.add_argument("--shutdown", type=float, default=10.0)
    p.add_argument("--attribute-bytes", type=int, default=0)
    p.add_argument("--exit-hook", type=float, default=None)
    a = p.parse_args()

    tracer = agtrace.Tracer("fault-workload", exit_timeout=a.exit_hook or 0.0)
    ids = open(a.ids, "a") if a.ids else None
    blob = "x" * a.attribute_bytes
    for k in range(a.traces):
        spans = []
        with tracer.span("invoke_agent fault", kind="agent", attributes={"trace": k}) as agent:
            spans.append(agent)
            with tracer.span("chat model", kind="llm") as llm:
                llm.set_usage(input_tokens=10, output_tokens=3)
                spans.append(llm)
            for city in ("Oslo", "Rome"):
                with tracer.span("execute_tool weather", kind="tool", attributes={"city": city}) as tool:
                    if blob:
                        tool.set_attribute("payload", blob)
                    spans.append(tool)
        if ids is not None:
            ids.write("".join(s.context.span_id + "\n" for s in spans))
            ids.flush()
        print(f"trace {k}", flush=True)
        if a.pause_ms:
            time.sleep(a.pause_ms / 1000)
    if a.exit_hook is not None:
        return 0
    ok = tracer.shutdown(timeout=a.shutdown)
    print(json.dumps({"shutdown": ok, "stats": dataclasses.asdict(tracer.stats())}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
