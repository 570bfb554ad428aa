import Agtrace
import Foundation
import XCTest

private enum Tier: String {
    case gold
}

private enum Level: Int {
    case high = 3
}

private struct Booking: Encodable {
    let id: UUID
    let at: Date
    let price: Decimal
    let receipt: Data
    let note: String?
}

private struct Unencodable: Encodable {
    struct Refused: Error {}
    func encode(to encoder: Encoder) throws { throw Refused() }
}

private final class Opaque: CustomStringConvertible {
    var description: String { String(repeating: "x", count: 2000) }
}

/// Attribute setters take a value of any type and convert it as every
/// agtrace SDK does (Python's `agtrace._record`), never throwing.
final class ValuesTests: XCTestCase {
    func testCommonValueTypesConvert() throws {
        let t = try Traced()
        let id = UUID(uuidString: "6BA7B810-9DAD-11D1-80B4-00C04FD430C8")!
        let when = Date(timeIntervalSince1970: 1_700_000_000.25)
        let city: String = "Oslo", step: Int = 3, score: Double = 0.5, small: Float = 0.25, ok: Bool = true
        let big: UInt64 = .max, tags: [String] = ["a", "b"], none: String? = nil
        t.tracer.withSpan("values") { span in
            span.setAttribute("city", city)
            span.setAttribute("step", step)
            span.setAttribute("score", score)
            span.setAttribute("small", small)
            span.setAttribute("ok", ok)
            span.setAttribute("big", big)
            span.setAttribute("tags", tags)
            span.setAttribute("none", none)
            span.setAttribute("when", when)
            span.setAttribute("price", Decimal(string: "19.99")!)
            span.setAttribute("id", id)
            span.setAttribute("url", URL(string: "https://example.com/a?b=1")!)
            span.setAttribute("tier", Tier.gold)
            span.setAttribute("level", Level.high)
            span.setAttribute("blob", Data([1, 2, 3]))
            span.setAttribute("query", ["city": "Oslo", "days": 3] as [String: Any])
            span.setAttribute("nested", [["k": [1, 2]], "x", NSNull()] as [Any])
            span.setAttribute("booking", Booking(id: id, at: when, price: Decimal(string: "19.99")!, receipt: Data("secret".utf8), note: nil))
            span.setAttribute("opaque", Opaque())
        }
        let a = try t.one("values").attributes
        XCTAssertEqual(a["city"] as? String, "Oslo")
        XCTAssertEqual(a["step"] as? Int, 3)
        XCTAssertEqual(a["score"] as? Double, 0.5)
        XCTAssertEqual(a["small"] as? Double, 0.25)
        XCTAssertEqual(a["ok"] as? Bool, true)
        XCTAssertEqual(a["big"] as? Double, Double(UInt64.max), "beyond Int64: a JSON number, which the core makes a double")
        XCTAssertEqual(a["tags"] as? [String], ["a", "b"])
        XCTAssertNil(a["none"], "nil sets nothing")
        XCTAssertEqual(a["when"] as? String, "2023-11-14T22:13:20.250Z")
        XCTAssertEqual(a["price"] as? String, "19.99")
        XCTAssertEqual(a["id"] as? String, "6BA7B810-9DAD-11D1-80B4-00C04FD430C8")
        XCTAssertEqual(a["url"] as? String, "https://example.com/a?b=1")
        XCTAssertEqual(a["tier"] as? String, "gold")
        XCTAssertEqual(a["level"] as? Int, 3)
        XCTAssertEqual(a["blob"] as? String, "<bytes len=3 sha256=039058c6f2c0>")
        XCTAssertEqual(a["query"] as? String, #"{"city":"Oslo","days":3}"#)
        XCTAssertEqual(a["nested"] as? String, #"[{"k":[1,2]},"x",null]"#)
        XCTAssertEqual(
            a["booking"] as? String,
            #"{"at":"2023-11-14T22:13:20.250Z","id":"6BA7B810-9DAD-11D1-80B4-00C04FD430C8","price":19.99,"#
                + #""receipt":"<bytes len=6 sha256=2bb80d537b1d>"}"#
        )
        let opaque = try XCTUnwrap(a["opaque"] as? String)
        XCTAssertTrue(opaque.hasPrefix(String(repeating: "x", count: 1024) + "...<976 more chars>"), opaque)
        XCTAssertEqual(t.tracer.stats().misuse.values.reduce(0, +), 0, "converting is not misuse")
    }

    func testSetAttributesTakesADictionaryOfAnyValues() throws {
        let t = try Traced()
        t.tracer.withSpan("many") { span in
            span.setAttributes(["when": Date(timeIntervalSince1970: 0), "n": 7, "skip": nil] as [String: Any?])
        }
        let a = try t.one("many").attributes
        XCTAssertEqual(a["when"] as? String, "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(a["n"] as? Int, 7)
        XCTAssertNil(a["skip"])
    }

    func testAValueThatCannotBeEncodedIsDroppedAndCounted() throws {
        let t = try Traced()
        t.tracer.withSpan("bad value") { span in
            span.setAttribute("refused", Unencodable())
            span.setAttribute("json", .json("{nope"))
            span.setAttribute("kept", 1)
        }
        let a = try t.one("bad value").attributes
        XCTAssertNil(a["refused"])
        XCTAssertNil(a["json"])
        XCTAssertEqual(a["kept"] as? Int, 1)
        XCTAssertEqual(t.tracer.stats().misuse["bad_value"], 2)
    }

    func testMessagesTakeAnyValue() throws {
        struct Message: Encodable {
            let role: String
            let content: String
        }
        let t = try Traced(["AGTRACE_CAPTURE_CONTENT": true])
        t.tracer.withSpan("chat", kind: .llm) { llm in
            llm.setMessages(input: [Message(role: "user", content: "hi")], output: [["role": "assistant", "content": "hello"]])
        }
        let a = try t.one("chat").attributes
        XCTAssertTrue((a["gen_ai.input.messages"] as? String ?? "").contains("\"content\":\"hi\""), "\(a)")
        XCTAssertTrue((a["gen_ai.output.messages"] as? String ?? "").contains("hello"), "\(a)")
    }
}
