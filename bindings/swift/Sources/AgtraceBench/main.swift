// The cost of a span from Swift: start and end of a tool span with three
// attributes, the child of a live span, exporter "none"; beside the same
// span through the raw C ABI packed calls (the floor the SDK adds to).
// Prints the best mean of 3 rounds, in ns per span, after a warm-up round,
// and a result row for bench/run.py.
//
//   swift run -c release AgtraceBench [iterations]
import Agtrace
import AgtraceFFI
import AgtraceFFIC
import Foundation

let smoke = ProcessInfo.processInfo.environment["AGTRACE_BENCH_SMOKE"] != nil
let iterations = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? (smoke ? 2_000 : 200_000)

func best(_ name: String, _ round: () throws -> Void) rethrows -> Double {
    try round() // warm-up
    var best = Double.infinity
    for _ in 0..<3 {
        let start = DispatchTime.now().uptimeNanoseconds
        try round()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations))
    }
    print(name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%7.1f ns/span", best))
    return best
}

let tracer = try Tracer(serviceName: "bench", exporters: ["none"], ignoreEnvironment: true)
let parent = try tracer.startSpan("parent", kind: .agent)

let sdk = try best("swift/startSpan+end") {
    for i in 0..<iterations {
        let span = try tracer.startSpan(
            "span", kind: .tool, attributes: ["city": "Oslo", "step": .int(i), "ok": true], parent: parent
        )
        span.end()
    }
}

_ = try best("swift/withSpan") {
    for i in 0..<iterations {
        try tracer.withSpan("span", kind: .tool, attributes: ["city": "Oslo", "step": .int(i), "ok": true], parent: parent) { _ in }
    }
}

// Before bootstrap the free withSpan has no tracer: this is the Swift side
// alone (checks, packing, the span object, the task local), no C call.
_ = try best("swift/withSpan, no tracer") {
    for i in 0..<iterations {
        try withSpan("span", kind: .tool, attributes: ["city": "Oslo", "step": .int(i), "ok": true], parent: parent) { _ in }
    }
}

// The raw C ABI: a second tracer's C handle, the record packed by hand.
let raw = try AgtraceFFI.Tracer(
    settings: ["AGTRACE_EXPORTERS": "none"], ignoreEnv: true
)
let rawTracer = OpaquePointer(bitPattern: UInt(raw.cHandle()))!
var parentRecord = "parent"
let rawParent = parentRecord.withUTF8 {
    agtrace_span_start_packed(rawTracer, nil, nil, SpanKind.agent.rawValue, $0.baseAddress, $0.count, nil)
}!
let c = best("c_abi/start_packed+finish_packed") {
    for i in 0..<iterations {
        var record = "span\0city\0Oslo\0\u{1}step\0\(i)\0\u{1}ok\0true"
        let span = record.withUTF8 {
            agtrace_span_start_packed(rawTracer, rawParent, nil, SpanKind.tool.rawValue, $0.baseAddress, $0.count, nil)
        }
        agtrace_span_finish_packed(span, nil, 0, nil)
        agtrace_span_free(span)
    }
}
print(String(format: "swift/c_abi: ratio %.2f, swift adds %.0f ns/span (target: a span <= 500 ns)", sdk / c, sdk - c))
// A result row for bench/run.py.
print(
    "BENCH {\"section\": \"Swift\", \"scenario\": \"startSpan + end, 3 attributes (child of a live span)\", "
        + "\"unit\": \"ns\", \"agtrace\": \(sdk), \"peer\": \"the same span through the C ABI's packed calls\", "
        + "\"peer_value\": \(c), \"target\": \"<= 500 ns\", \"met\": \(sdk <= 500), "
        + "\"note\": \"no Swift peer is installable here; best of 3 rounds of \(iterations) spans\"}"
)

parent.end()
agtrace_span_finish_packed(rawParent, nil, 0, nil)
agtrace_span_free(rawParent)
tracer.shutdown()
_ = try? raw.shutdown(timeoutMs: 5000)
agtrace_tracer_free(rawTracer)
