import Agtrace
import XCTest

/// inject and extract through the C ABI's header lists.
final class PropagationTests: XCTestCase {
    func testInjectAndExtractRoundTrip() throws {
        let t = try Traced()
        var headers: [String: String] = [:]
        var callerContext: SpanContext?
        t.tracer.withSpan("caller") { span in
            headers = t.tracer.inject()
            callerContext = span.context
        }
        let traceparent = try XCTUnwrap(headers["traceparent"])
        let caller = try XCTUnwrap(callerContext)
        XCTAssertEqual(traceparent, "00-\(caller.traceId)-\(caller.spanId)-01")

        let remote = try XCTUnwrap(t.tracer.extract(["TraceParent": traceparent]))
        XCTAssertEqual(remote.traceId, caller.traceId)
        XCTAssertEqual(remote.spanId, caller.spanId)
        XCTAssertTrue(remote.isSampled)
        t.tracer.withSpan("callee", parent: remote) { _ in }
        let spans = try t.spans()
        let callee = try Support.one(spans, "callee")
        XCTAssertEqual(callee.traceId, caller.traceId)
        XCTAssertEqual(callee.parentSpanId, caller.spanId)
        XCTAssertEqual(t.tracer.inject(parent: remote)["traceparent"], traceparent)
    }

    func testNothingToInjectOrExtract() throws {
        let t = try Traced()
        XCTAssertEqual(t.tracer.inject(), [:])
        XCTAssertNil(t.tracer.extract(["traceparent": "garbage"]))
        XCTAssertNil(t.tracer.extract([:]))
    }
}
