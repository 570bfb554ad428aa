import Agtrace
import XCTest

/// Spans: nesting, explicit parents, ending by hand, ending twice, spans
/// released without ending, names, status and events.
final class SpansTests: XCTestCase {
    func testNestedSpansFormOneTree() throws {
        let t = try Traced()
        let value = t.tracer.withSpan("invoke_agent planner", kind: .agent) { _ in
            t.tracer.withSpan("chat", kind: .llm) { _ in }
            return t.tracer.withSpan("execute_tool search", kind: .tool) { _ in 42 }
        }
        XCTAssertEqual(value, 42)
        let spans = try t.spans()
        let agent = try Support.one(spans, "invoke_agent planner")
        XCTAssertNil(agent.parentSpanId)
        XCTAssertEqual(agent.attributes["agtrace.kind"] as? String, "agent")
        XCTAssertEqual(agent.attributes["gen_ai.operation.name"] as? String, "invoke_agent")
        XCTAssertEqual(agent.attributes["openinference.span.kind"] as? String, "AGENT")
        for name in ["chat", "execute_tool search"] {
            let child = try Support.one(spans, name)
            XCTAssertEqual(child.parentSpanId, agent.spanId, name)
            XCTAssertEqual(child.traceId, agent.traceId, name)
        }
    }

    func testExplicitParentsAndNewRoots() throws {
        let t = try Traced()
        let outer = t.tracer.startSpan("outer")
        t.tracer.withSpan("current") { _ in
            t.tracer.withSpan("under outer", parent: outer) { _ in }
            t.tracer.withSpan("new root", parent: nil) { _ in }
            XCTAssertEqual(Span.current?.description, "Span(live)")
        }
        XCTAssertNil(Span.current)
        outer.end()
        let spans = try t.spans()
        XCTAssertEqual(try Support.one(spans, "under outer").parentSpanId, try Support.one(spans, "outer").spanId)
        XCTAssertNil(try Support.one(spans, "new root").parentSpanId)
        XCTAssertNotEqual(try Support.one(spans, "new root").traceId, try Support.one(spans, "current").traceId)
    }

    func testEndingTwiceIsHarmless() throws {
        let t = try Traced()
        let span = t.tracer.startSpan("twice")
        XCTAssertTrue(span.isRecording)
        span.end()
        span.end()
        XCTAssertTrue(span.isEnded)
        XCTAssertFalse(span.isRecording)
        span.setAttribute("late", "ignored")
        XCTAssertNil(try t.one("twice").attributes["late"])
    }

    func testASpanReleasedWithoutEndIsExportedAbandonedWithEverythingRecorded() throws {
        let t = try Traced()
        do {
            let span = t.tracer.startSpan("dropped", kind: .llm, attributes: ["a": 1])
            span.setAttribute("b", "after start")
            span.setLLM(provider: "openai", requestModel: "gpt-4o")
            span.setUsage(inputTokens: 12, outputTokens: 3)
        }
        t.tracer.withSpan("ended") { _ in }
        let dropped = try t.one("dropped").attributes
        XCTAssertEqual(dropped["agtrace.abandoned"] as? Bool, true)
        XCTAssertEqual(dropped["a"] as? Int, 1)
        XCTAssertEqual(dropped["b"] as? String, "after start")
        XCTAssertEqual(dropped["gen_ai.provider.name"] as? String, "openai")
        XCTAssertEqual(dropped["gen_ai.request.model"] as? String, "gpt-4o")
        XCTAssertEqual(dropped["gen_ai.usage.input_tokens"] as? Int, 12)
        XCTAssertNil(try t.one("ended").attributes["agtrace.abandoned"])
    }

    func testNameStatusAndEvents() throws {
        let t = try Traced()
        t.tracer.withSpan("draft") { span in
            span.updateName("final")
            span.setStatus(.error, description: "quota exceeded")
            span.addEvent("retry", attributes: ["attempt": 2, "reason": "429"])
        }
        let span = try t.one("final")
        XCTAssertEqual(span.status, "error")
        XCTAssertEqual(span.statusMessage, "quota exceeded")
        let event = try span.event("retry")
        XCTAssertEqual(event["attempt"] as? Int, 2)
        XCTAssertEqual(event["reason"] as? String, "429")
    }
}
