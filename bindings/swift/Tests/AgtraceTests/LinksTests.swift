import Agtrace
import XCTest

/// Links: given at a start or added later, to local spans and remote
/// contexts, with attributes; and a conversation's turns linked in order.
final class LinksTests: XCTestCase {
    func testLinksAtTheStartAndAddedLater() throws {
        let t = try Traced()
        let first = t.tracer.startSpan("first try", parent: nil)
        first.end()
        let batch = t.tracer.startSpan("batch item", parent: nil)
        let remote = try XCTUnwrap(t.tracer.extract([
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "tracestate": "vendor=abc",
        ]))
        t.tracer.withSpan("retry", links: [SpanLink(first, attributes: ["reason": "timeout"])], parent: nil) { span in
            span.addLink(batch, attributes: ["index": 3])
            span.addLink(remote)
        }
        batch.end()
        let spans = try t.spans()
        let retry = try Support.one(spans, "retry")
        guard retry.links.count == 3 else { return XCTFail("want 3 links, got \(retry.links)") }
        let toFirst = try Support.one(spans, "first try"), toBatch = try Support.one(spans, "batch item")
        XCTAssertEqual(retry.links[0].traceId, toFirst.traceId)
        XCTAssertEqual(retry.links[0].spanId, toFirst.spanId)
        XCTAssertEqual(retry.links[0].attributes["reason"] as? String, "timeout")
        XCTAssertEqual(retry.links[1].spanId, toBatch.spanId)
        XCTAssertEqual(retry.links[1].attributes["index"] as? Int, 3)
        XCTAssertEqual(retry.links[2].traceId, "0af7651916cd43dd8448eb211c80319c")
        XCTAssertEqual(retry.links[2].spanId, "b7ad6b7169203331")
        XCTAssertEqual(retry.links[2].traceState, "vendor=abc")
        XCTAssertNotEqual(retry.traceId, toFirst.traceId, "a link is not a parent")
    }

    func testALinkAttributeThatCannotBeRecordedIsLeftOut() throws {
        let t = try Traced()
        let target = t.tracer.startSpan("target")
        target.end()
        t.tracer.withSpan("linked") { span in
            span.addLink(target, attributes: ["": 1, "kept": 2])
        }
        let link = try XCTUnwrap(try t.one("linked").links.first)
        XCTAssertEqual(try t.one("linked").links.count, 1)
        XCTAssertEqual(link.attributes.count, 1)
        XCTAssertEqual(link.attributes["kept"] as? Int, 2)
        XCTAssertEqual(t.tracer.stats().misuse["bad_name"], 1)
    }

    func testTheLinksSettingDropsLinks() throws {
        let t = try Traced(["AGTRACE_LINKS": false])
        let target = t.tracer.startSpan("target")
        target.end()
        t.tracer.withSpan("linked", links: [SpanLink(target)]) { _ in }
        XCTAssertTrue(try t.one("linked").links.isEmpty)
    }

    func testAConversationLinksEachTurnToThePreviousOne() async throws {
        let t = try Traced()
        let chat = t.tracer.conversation(id: "thread-9")
        XCTAssertEqual(chat.id, "thread-9")
        let first = chat.turn("turn", kind: .agent, input: "hi") { _ in
            t.tracer.withSpan("chat", kind: .llm) { _ in "hello" }
        }
        XCTAssertEqual(first, "hello")
        _ = try await chat.turn("turn 2", kind: .agent, input: "and?") { _ in
            try await Task.sleep(nanoseconds: 1000)
            return "more"
        }
        chat.turn("turn 3") { _ in }
        let spans = try t.spans()
        let one = try Support.one(spans, "turn"), two = try Support.one(spans, "turn 2"), three = try Support.one(spans, "turn 3")
        XCTAssertTrue(one.links.isEmpty)
        XCTAssertNil(two.parentSpanId, "every turn is its own trace")
        XCTAssertNotEqual(one.traceId, two.traceId)
        XCTAssertEqual(two.links.map(\.spanId), [one.spanId])
        XCTAssertEqual(two.links.first?.attributes["agtrace.link.type"] as? String, "previous_turn")
        XCTAssertEqual(three.links.map(\.spanId), [two.spanId])
        for span in [one, two, three, try Support.one(spans, "chat")] {
            XCTAssertEqual(span.attributes["gen_ai.conversation.id"] as? String, "thread-9", span.name)
        }
        XCTAssertEqual(two.attributes["output.value"] as? String, "more")
        XCTAssertNotEqual(Agtrace.conversation().id, Agtrace.conversation().id, "a new id each")
    }
}
