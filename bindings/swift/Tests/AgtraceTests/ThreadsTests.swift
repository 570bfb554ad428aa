import Agtrace
import Foundation
import XCTest

/// Spans end into the ending thread's pending records: stats and flush see
/// them from any thread, a span may end on another thread than it started
/// on, and a thread that goes idle does not hold them back.
final class ThreadsTests: XCTestCase {
    func testStatsAndFlushSeeSpansEndedOnOtherThreadsThatStayAlive() throws {
        let t = try Traced()
        let ended = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        for i in 0..<3 {
            Thread {
                t.tracer.withSpan("thread \(i)") { _ in }
                ended.signal()
                release.wait() // alive, starting nothing more
            }.start()
        }
        for _ in 0..<3 { ended.wait() }
        defer { for _ in 0..<3 { release.signal() } }
        XCTAssertEqual(t.tracer.stats().ended, 3)
        XCTAssertEqual(try t.spans().map(\.name).sorted(), ["thread 0", "thread 1", "thread 2"])
    }

    func testStatsSeeSpansEndedInTasksAndSpansEndedOnAnotherThread() async throws {
        let t = try Traced()
        let tracer = t.tracer
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask {
                    try await tracer.withSpan("task \(i)") { _ in
                        try await Task.sleep(nanoseconds: 1_000_000) // resumes on any pool thread
                    }
                }
            }
            try await group.waitForAll()
        }
        // Started here, ended on a plain thread.
        let span = tracer.startSpan("handed over", attributes: ["from": "task"])
        let done = DispatchSemaphore(value: 0)
        Thread {
            span.setAttribute("to", "thread")
            span.end()
            done.signal()
        }.start()
        done.wait()
        XCTAssertEqual(tracer.stats().ended, 9)
        let handed = try t.one("handed over").attributes
        XCTAssertEqual(handed["from"] as? String, "task")
        XCTAssertEqual(handed["to"] as? String, "thread")
    }

    func testASpanEndedOnAThreadThatThenIdlesIsExportedWithNoFurtherCall() throws {
        let t = try Traced(["OTEL_BSP_SCHEDULE_DELAY": 200])
        let ended = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        Thread {
            t.tracer.withSpan("then idle") { _ in }
            ended.signal()
            release.wait()
        }.start()
        ended.wait()
        defer { release.signal() }
        // No flush, stats or span start from here on: the SDK's idle flusher
        // hands the END to the core, whose batch delay exports it.
        var spans: [Exported] = []
        let deadline = Date().addingTimeInterval(10)
        while spans.isEmpty && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            spans = try readSpans(t.url)
        }
        XCTAssertEqual(spans.map(\.name), ["then idle"])
    }
}
