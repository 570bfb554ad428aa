import Agtrace
import XCTest

/// Session scopes: trace-level context on every span started inside,
/// nested scopes merged, carried into child tasks.
final class SessionTests: XCTestCase {
    func testASessionAppliesToEverySpanInside() throws {
        let t = try Traced()
        t.tracer.withSpan("before") { _ in }
        withSession(userId: "u-42", sessionId: "s-7", conversationId: "c-1", tags: ["beta"],
                        metadata: ["plan": "pro"], environment: "staging", release: "2.1.0") {
            withSession(tags: ["eu"], metadata: ["seats": 3]) {
                t.tracer.withSpan("root") { _ in
                    t.tracer.withSpan("child") { _ in }
                }
            }
        }
        t.tracer.withSpan("after") { _ in }
        let spans = try t.spans()
        for name in ["root", "child"] {
            let a = try Support.one(spans, name).attributes
            XCTAssertEqual(a["user.id"] as? String, "u-42", name)
            XCTAssertEqual(a["session.id"] as? String, "s-7", name)
            XCTAssertEqual(a["gen_ai.conversation.id"] as? String, "c-1", name)
            XCTAssertEqual(a["tag.tags"] as? [String], ["beta", "eu"], name)
            let metadata = try JSONSerialization.jsonObject(with: Data((a["metadata"] as? String ?? "").utf8)) as? [String: Any]
            XCTAssertEqual(metadata?["plan"] as? String, "pro", name)
            XCTAssertEqual(metadata?["seats"] as? Int, 3, name)
            XCTAssertEqual(a["deployment.environment.name"] as? String, "staging", name)
            XCTAssertEqual(a["agtrace.release"] as? String, "2.1.0", name)
        }
        for name in ["before", "after"] {
            XCTAssertNil(try Support.one(spans, name).attributes["user.id"], name)
        }
    }

    func testAnAsyncSessionFollowsChildTasks() async throws {
        let t = try Traced()
        let tracer = t.tracer
        try await withSession(userId: "task-user") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<3 {
                    group.addTask { tracer.withSpan("task \(i)") { _ in } }
                }
                try await group.waitForAll()
            }
        }
        let spans = try t.spans()
        for i in 0..<3 {
            XCTAssertEqual(try Support.one(spans, "task \(i)").attributes["user.id"] as? String, "task-user")
        }
    }

    func testARunningTraceGetsTheSessionFromItsNextSpan() throws {
        let t = try Traced()
        t.tracer.withSpan("started outside") { _ in
            withSession(userId: "late-user") {
                t.tracer.withSpan("inside") { _ in }
            }
        }
        let spans = try t.spans()
        XCTAssertEqual(try Support.one(spans, "started outside").attributes["user.id"] as? String, "late-user")
        XCTAssertEqual(try Support.one(spans, "inside").attributes["user.id"] as? String, "late-user")
    }
}
