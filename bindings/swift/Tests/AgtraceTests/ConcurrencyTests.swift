import Agtrace
import XCTest

/// The current span is a task local: `async let`, task groups and `Task {}`
/// inherit it; `Task.detached` starts a new root unless given a parent.
final class ConcurrencyTests: XCTestCase {
    func testAsyncLetAndTaskGroupChildrenNestUnderTheCurrentSpan() async throws {
        let t = try Traced()
        let tracer = t.tracer
        try await tracer.withSpan("invoke_agent", kind: .agent) { _ in
            async let oslo = tracer.withSpan("tool Oslo", kind: .tool) { _ in
                try await Task.sleep(nanoseconds: 1_000_000)
                return "sunny"
            }
            async let rome = tracer.withSpan("tool Rome", kind: .tool) { _ in
                await Task.yield()
                return "rainy"
            }
            _ = try await (oslo, rome)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<3 {
                    group.addTask {
                        tracer.withSpan("group \(i)") { _ in
                            tracer.withSpan("group \(i) inner") { _ in }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let spans = try t.spans()
        let agent = try Support.one(spans, "invoke_agent")
        for name in ["tool Oslo", "tool Rome", "group 0", "group 1", "group 2"] {
            XCTAssertEqual(try Support.one(spans, name).parentSpanId, agent.spanId, name)
        }
        for i in 0..<3 {
            XCTAssertEqual(try Support.one(spans, "group \(i) inner").parentSpanId, try Support.one(spans, "group \(i)").spanId)
        }
        XCTAssertTrue(spans.allSatisfy { $0.traceId == agent.traceId })
    }

    func testTaskInheritsAndDetachedStartsANewRoot() async throws {
        let t = try Traced()
        let tracer = t.tracer
        await tracer.withSpan("outer") { outer in
            await Task { await tracer.withSpan("in task") { _ in await Task.yield() } }.value
            await Task.detached { await tracer.withSpan("detached") { _ in await Task.yield() } }.value
            await Task.detached { await tracer.withSpan("detached with parent", parent: outer) { _ in await Task.yield() } }.value
        }
        let spans = try t.spans()
        let outer = try Support.one(spans, "outer")
        XCTAssertEqual(try Support.one(spans, "in task").parentSpanId, outer.spanId)
        XCTAssertNil(try Support.one(spans, "detached").parentSpanId)
        XCTAssertNotEqual(try Support.one(spans, "detached").traceId, outer.traceId)
        XCTAssertEqual(try Support.one(spans, "detached with parent").parentSpanId, outer.spanId)
    }

    func testCancellationEndsTheSpanWithoutAnError() async throws {
        let t = try Traced()
        let tracer = t.tracer
        let task = Task {
            try await tracer.withSpan("cancelled") { _ in
                try await Task.sleep(nanoseconds: 10_000_000_000)
            }
        }
        task.cancel()
        _ = await task.result
        let span = try t.one("cancelled")
        XCTAssertNotEqual(span.status, "error")
        XCTAssertTrue(span.events.isEmpty)
    }
}
