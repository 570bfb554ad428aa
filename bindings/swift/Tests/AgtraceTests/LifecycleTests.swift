import Agtrace
import Foundation
import XCTest

/// The default tracer, flush and shutdown, spans after shutdown, and the
/// exit hook delivering a program's spans without a shutdown.
final class LifecycleTests: XCTestCase {
    func testBootstrapMakesTheDefaultTracerAndReplacesIt() throws {
        let first = FileManager.default.temporaryDirectory.appendingPathComponent("agtrace-default-\(UUID()).jsonl")
        let second = FileManager.default.temporaryDirectory.appendingPathComponent("agtrace-default-\(UUID()).jsonl")
        defer { for url in [first, second] { try? FileManager.default.removeItem(at: url) } }
        let tracer = try Agtrace.bootstrap(serviceName: "swift-default", exporters: ["file"],
                                           settings: ["AGTRACE_FILE_PATH": .string(first.path)], ignoreEnvironment: true)
        XCTAssertTrue(Agtrace.tracer === tracer)
        XCTAssertTrue(Agtrace.isActive)
        withSpan("default root", kind: .agent) { _ in
            withSpan("default child") { _ in
                XCTAssertEqual(Agtrace.inject()["traceparent"]?.count, 55)
            }
        }
        XCTAssertEqual(try Agtrace.stats().ended, 2)
        XCTAssertTrue(Agtrace.flush())
        try Agtrace.bootstrap(exporters: ["file"], settings: ["AGTRACE_FILE_PATH": .string(second.path)], ignoreEnvironment: true)
        XCTAssertTrue(tracer.isShutDown, "the replaced tracer is shut down")
        withSpan("on the new default") { _ in }
        XCTAssertTrue(Agtrace.shutdown())
        XCTAssertFalse(Agtrace.isActive)
        let spans = try readSpans(first)
        XCTAssertEqual(try Support.one(spans, "default child").parentSpanId, try Support.one(spans, "default root").spanId)
        XCTAssertEqual(try readSpans(second).map(\.name), ["on the new default"])
    }

    func testSpansAfterShutdownRecordNothing() throws {
        let t = try Traced()
        t.tracer.withSpan("before") { _ in }
        XCTAssertTrue(t.tracer.shutdown())
        XCTAssertTrue(t.tracer.shutdown(), "shutdown is idempotent")
        XCTAssertTrue(t.tracer.isShutDown)
        let ran = t.tracer.withSpan("after") { span in
            XCTAssertFalse(span.isRecording)
            span.setAttribute("ignored", 1)
            return true
        }
        XCTAssertTrue(ran, "the body still runs")
        XCTAssertEqual(try t.spans().map(\.name), ["before"])
    }

    func testFlushDeliversAndReportsCounts() throws {
        let t = try Traced()
        for i in 0..<10 { t.tracer.withSpan("span \(i)") { _ in } }
        XCTAssertTrue(t.tracer.flush(timeout: .seconds(5)))
        let stats = t.tracer.stats()
        XCTAssertEqual(stats.ended, 10)
        XCTAssertEqual(stats.exported, 10)
        XCTAssertEqual(try t.spans().count, 10)
        XCTAssertEqual((t.tracer.config()["exporters"] as? [Any])?.count, 1, "\(t.tracer.config())")
        XCTAssertFalse(Agtrace.version.isEmpty)
    }

    func testLiveConfigurationChanges() throws {
        let t = try Traced()
        try t.tracer.updateRedaction(["sensitive_keys": ["customer_ssn"]])
        XCTAssertThrowsError(try t.tracer.updateRedaction(["no_such_rule": true])) {
            XCTAssertTrue(String(describing: $0).contains("no_such_rule"), "\($0)")
        }
        try t.tracer.setSamplingRate(1.0)
        XCTAssertThrowsError(try t.tracer.setSamplingRate(2.0))
        t.tracer.addTags("live")
        try t.tracer.setGlobalMetadata("team", "search")
        t.tracer.withSpan("configured") { _ in }
        let a = try t.one("configured").attributes
        XCTAssertEqual(a["tag.tags"] as? [String], ["live"])
    }

    func testAProgramThatExitsWithoutShutdownStillExportsItsSpans() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("agtrace-exit-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        let probe = Bundle.main.bundleURL.appendingPathComponent("AgtraceExitProbe")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: probe.path), "no \(probe.path)")
        let process = Process()
        process.executableURL = probe
        process.arguments = [url.path]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let spans = try readSpans(url)
        XCTAssertEqual(try Support.one(spans, "probe child").parentSpanId, try Support.one(spans, "probe root").spanId)
    }
}
