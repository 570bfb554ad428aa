// The cost of a span from Swift: start and end of a tool span with three
// attributes, the child of a live span, exporter "none"; beside the same
// span through the C ABI's span protocol by hand (one agtrace_spans_apply
// per span carrying the previous span's END and this span's BEGIN, bytes
// written by hand: the floor the SDK adds to). Prints the best mean of 3
// rounds, in ns of the calling thread's CPU time per span (the machine may
// be shared; the span path never blocks), after a warm-up round, and
// result rows for bench/run.py.
//
//   swift run -c release AgtraceBench [iterations]
import Agtrace
import AgtraceFFI
import AgtraceFFIC
import Foundation

let smoke = ProcessInfo.processInfo.environment["AGTRACE_BENCH_SMOKE"] != nil
let iterations = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? (smoke ? 2_000 : 200_000)

func threadCPU() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func best(_ name: String, _ round: () throws -> Void) rethrows -> Double {
    try round() // warm-up
    var best = Double.infinity
    for _ in 0..<3 {
        let start = threadCPU()
        try round()
        best = min(best, Double(threadCPU() - start) / Double(iterations))
    }
    print(name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%7.1f ns/span", best))
    return best
}

let tracer = try Tracer(serviceName: "bench", exporters: ["none"], ignoreEnvironment: true)
let parent = tracer.startSpan("parent", kind: .agent)

let sdk = best("swift/startSpan+end") {
    for i in 0..<iterations {
        let span = tracer.startSpan(
            "span", kind: .tool, attributes: ["city": "Oslo", "step": .int(i), "ok": true], parent: parent
        )
        span.end()
    }
}

let scoped = best("swift/withSpan") {
    for i in 0..<iterations {
        tracer.withSpan("span", kind: .tool, attributes: ["city": "Oslo", "step": .int(i), "ok": true], parent: parent) { _ in }
    }
}

// Inputs and outputs captured (AGTRACE_CAPTURE_IO, on by default): an
// Encodable input as JSON, a String result as text, on a tool span (which
// also gets gen_ai.tool.call.arguments and .result).
struct Query: Encodable {
    let city: String
    let step: Int
}
let captured = best("swift/withSpan, input+output") {
    for i in 0..<iterations {
        tracer.withSpan("span", kind: .tool, input: Query(city: "Oslo", step: i), parent: parent) { _ in "sunny" }
    }
}

// Before bootstrap the free withSpan has no tracer: this is the Swift side
// alone (the span object, the task local), no C call.
_ = best("swift/withSpan, no tracer") {
    for i in 0..<iterations {
        withSpan("span", kind: .tool, attributes: ["city": "Oslo", "step": .int(i), "ok": true], parent: parent) { _ in }
    }
}

// The protocol by hand, on a second tracer's C handle: the parent's BEGIN,
// then per span one call with the previous span's END and this BEGIN.
let raw = try AgtraceFFI.Tracer(settings: ["AGTRACE_EXPORTERS": "none"], ignoreEnv: true)
let rawTracer = OpaquePointer(bitPattern: UInt(raw.cHandle()))!

/// Little-endian appends, as the protocol lays bytes out (ffi/PROTOCOL.md).
struct Message {
    var bytes: [UInt8] = []
    mutating func u8(_ v: Int32) { bytes.append(UInt8(v)) }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func str(_ s: String) {
        u32(s.utf8.count)
        bytes += s.utf8
    }
    /// A record: code, body length, body.
    mutating func record(_ code: Int32, _ body: (inout Message) -> Void) {
        var inner = Message()
        body(&inner)
        u8(code)
        u32(inner.bytes.count)
        bytes += inner.bytes
    }
}

func apply(_ message: Message) -> agtrace_begun_t {
    var begun = agtrace_begun_t()
    _ = message.bytes.withUnsafeBufferPointer { agtrace_spans_apply(rawTracer, $0.baseAddress, $0.count, &begun, nil) }
    return begun
}

var parentMessage = Message()
parentMessage.record(AGTRACE_PROTO_RECORD_BEGIN) {
    $0.u8(SpanKind.agent.rawValue)
    $0.u8(UInt8(AGTRACE_PROTO_PARENT_ROOT))
    $0.str("parent")
}
let rawParent = apply(parentMessage)

// Each message: the previous span's END (handle and duration patched in),
// then the same BEGIN with its `step` value patched in, in a reused buffer.
var end = Message()
end.record(AGTRACE_PROTO_RECORD_END) {
    $0.u64(0)
    $0.u64(0)
}
var begin = Message()
begin.record(AGTRACE_PROTO_RECORD_BEGIN) { m in
    m.u8(SpanKind.tool.rawValue)
    m.u8(AGTRACE_PROTO_PARENT_LOCAL)
    withUnsafeBytes(of: rawParent.trace_id) { m.bytes += $0 }
    withUnsafeBytes(of: rawParent.span_id) { m.bytes += $0 }
    m.u8(rawParent.flags)
    m.str("span")
    m.u8(AGTRACE_PROTO_ITEM_STRING); m.str("city"); m.str("Oslo")
    m.u8(AGTRACE_PROTO_ITEM_INT); m.str("step"); m.u64(0)
    m.u8(AGTRACE_PROTO_ITEM_BOOL); m.str("ok"); m.u8(1 as UInt8)
}
let stepAt = end.bytes.count + begin.bytes.count - 1 - 2 - 4 - 1 - 8
let buffer = UnsafeMutableRawPointer.allocate(byteCount: end.bytes.count + begin.bytes.count, alignment: 8)
end.bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
begin.bytes.withUnsafeBytes { (buffer + end.bytes.count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
var previous: (handle: UInt64, start: UInt64)?
let c = best("c_abi/spans_apply by hand") {
    for i in 0..<iterations {
        var from = end.bytes.count
        if let (handle, start) = previous {
            buffer.storeBytes(of: handle.littleEndian, toByteOffset: 5, as: UInt64.self)
            buffer.storeBytes(of: (agtrace_swift_now_ns() - start).littleEndian, toByteOffset: 13, as: UInt64.self)
            from = 0
        }
        buffer.storeBytes(of: UInt64(i).littleEndian, toByteOffset: stepAt, as: UInt64.self)
        var begun = agtrace_begun_t()
        _ = agtrace_spans_apply(rawTracer, buffer + from, end.bytes.count + begin.bytes.count - from, &begun, nil)
        previous = (begun.handle, agtrace_swift_now_ns())
    }
}
print(String(format: "swift/c_abi: ratio %.2f, swift adds %.0f ns/span (target: a span <= 500 ns)", sdk / c, sdk - c))

let note = "no Swift peer is installable here; calling thread CPU time, best of 3 rounds of \(iterations) spans"
for (scenario, value) in [("startSpan + end, 3 attributes (child of a live span)", sdk),
                          ("withSpan { }, 3 attributes (child of a live span)", scoped)] {
    print(
        "BENCH {\"section\": \"Swift\", \"scenario\": \"\(scenario)\", \"unit\": \"ns\", \"agtrace\": \(value), "
            + "\"peer\": \"the same span through the C ABI's span protocol, encoded by hand\", "
            + "\"peer_value\": \(c), \"target\": \"<= 500 ns\", \"met\": \(value <= 500), \"note\": \"\(note)\"}"
    )
}

// Capture's cost is the conversion (JSONEncoder for the input) on the
// calling thread: compared with the plain withSpan, no target of its own.
print(
    "BENCH {\"section\": \"Swift\", \"scenario\": \"withSpan(input:) { result }, Encodable input and String output captured\", "
        + "\"unit\": \"ns\", \"agtrace\": \(captured), \"peer\": \"the same span without input or output (withSpan row)\", "
        + "\"peer_value\": \(scoped), \"target\": null, \"met\": null, \"note\": \"\(note)\"}"
)

parent.end()
var last = Message()
if let (handle, start) = previous {
    last.record(AGTRACE_PROTO_RECORD_END) {
        $0.u64(handle)
        $0.u64(agtrace_swift_now_ns() - start)
    }
}
last.record(AGTRACE_PROTO_RECORD_END) {
    $0.u64(rawParent.handle)
    $0.u64(UInt64.max)
}
_ = apply(last)
buffer.deallocate()
tracer.shutdown()
_ = try? raw.shutdown(timeoutMs: 5000)
agtrace_tracer_free(rawTracer)
