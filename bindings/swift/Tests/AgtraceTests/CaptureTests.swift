import Agtrace
import Foundation
import XCTest

private struct Query: Codable, Equatable {
    let city: String
    let days: Int
}

private struct Forecast: Codable {
    let city: String
    let temperature: Double
}

/// Inputs and outputs: `input:` and the body's result recorded as
/// `input.value`/`output.value` with their MIME types (and the tool call's
/// arguments and result on tool spans), unless `captureOutput: false` or
/// `AGTRACE_CAPTURE_IO=false`; the mask applied to them.
final class CaptureTests: XCTestCase {
    func testAnEncodableInputAndResultAreJSON() throws {
        let t = try Traced()
        let forecast = t.tracer.withSpan("plan", kind: .agent, input: Query(city: "Oslo", days: 3)) { _ in
            Forecast(city: "Oslo", temperature: 21.5)
        }
        XCTAssertEqual(forecast.temperature, 21.5)
        let a = try t.one("plan").attributes
        XCTAssertEqual(a["input.mime_type"] as? String, "application/json")
        XCTAssertEqual(a["input.value"] as? String, #"{"city":"Oslo","days":3}"#, "JSONEncoder's, keys sorted")
        XCTAssertEqual(a["output.mime_type"] as? String, "application/json")
        XCTAssertEqual(a["output.value"] as? String, #"{"city":"Oslo","temperature":21.5}"#)
        XCTAssertNil(a["gen_ai.tool.call.arguments"], "only tool spans carry the tool call's fields")
    }

    func testTextValuesArePlainTextAndOtherScalarsJSON() async throws {
        let t = try Traced()
        _ = try await t.tracer.withSpan("fetch", input: "https://example.com") { _ in
            try await Task.sleep(nanoseconds: 1000)
            return "page text"
        }
        t.tracer.withSpan("count", input: 3) { _ in 4.5 }
        let fetch = try t.one("fetch").attributes
        XCTAssertEqual(fetch["input.value"] as? String, "https://example.com")
        XCTAssertEqual(fetch["input.mime_type"] as? String, "text/plain")
        XCTAssertEqual(fetch["output.value"] as? String, "page text")
        XCTAssertEqual(fetch["output.mime_type"] as? String, "text/plain")
        let count = try t.one("count").attributes
        XCTAssertEqual(count["input.value"] as? String, "3")
        XCTAssertEqual(count["input.mime_type"] as? String, "application/json")
        XCTAssertEqual(count["output.value"] as? String, "4.5")
    }

    func testAToolSpanCarriesTheToolCallArgumentsAndResult() throws {
        let t = try Traced()
        t.tracer.withSpan("execute_tool lookup", kind: .tool, input: ["city": "Lima"]) { _ in "sunny" }
        let a = try t.one("execute_tool lookup").attributes
        XCTAssertEqual(a["gen_ai.tool.call.arguments"] as? String, #"{"city":"Lima"}"#)
        XCTAssertEqual(a["input.mime_type"] as? String, "application/json")
        XCTAssertEqual(a["gen_ai.tool.call.result"] as? String, "\"sunny\"", "the result as JSON, even a string")
        XCTAssertEqual(a["output.value"] as? String, "sunny")
    }

    func testNonEncodableValuesAreDescribed() throws {
        struct Opaque: CustomStringConvertible {
            var description: String { "<Opaque>" }
        }
        let t = try Traced()
        t.tracer.withSpan("handle", input: Opaque()) { _ in Opaque() }
        let a = try t.one("handle").attributes
        XCTAssertEqual(a["input.value"] as? String, "<Opaque>")
        XCTAssertEqual(a["input.mime_type"] as? String, "text/plain")
        XCTAssertEqual(a["output.value"] as? String, "<Opaque>")
    }

    func testDataIsAPlaceholderNeverItsBytes() throws {
        let t = try Traced()
        t.tracer.withSpan("upload", input: Data("secret".utf8)) { _ in }
        let input = try XCTUnwrap(try t.one("upload").attributes["input.value"] as? String)
        XCTAssertEqual(input, "<bytes len=6 sha256=2bb80d537b1d>")
        XCTAssertFalse(input.contains("secret"))
    }

    func testAVoidBodyAnErrorAndCaptureOutputFalseRecordNoOutput() throws {
        struct Failed: Error {}
        let t = try Traced()
        t.tracer.withSpan("void", input: "x") { _ in }
        _ = try? t.tracer.withSpan("throws", kind: .tool, input: "Atlantis") { _ -> String in throw Failed() }
        t.tracer.withSpan("quiet", kind: .tool, input: "Lima", captureOutput: false) { _ in "sunny" }
        let spans = try t.spans()
        for name in ["void", "throws", "quiet"] {
            let a = try Support.one(spans, name).attributes
            XCTAssertNotNil(a["input.value"], name)
            XCTAssertNil(a["output.value"], name)
            XCTAssertNil(a["gen_ai.tool.call.result"], name)
        }
        XCTAssertEqual(try Support.one(spans, "throws").status, "error")
    }

    func testANilResultIsNull() throws {
        let t = try Traced()
        t.tracer.withSpan("lookup") { _ -> String? in nil }
        let a = try t.one("lookup").attributes
        XCTAssertEqual(a["output.value"] as? String, "null")
        XCTAssertEqual(a["output.mime_type"] as? String, "application/json")
    }

    func testStartSpanTakesAnInputAndSetOutputRecordsTheOutput() throws {
        let t = try Traced()
        let span = t.tracer.startSpan("manual", kind: .tool, input: Query(city: "Rome", days: 1))
        span.setOutput(["ok": true])
        span.end()
        let a = try t.one("manual").attributes
        XCTAssertEqual(a["gen_ai.tool.call.arguments"] as? String, #"{"city":"Rome","days":1}"#)
        XCTAssertEqual(a["output.value"] as? String, "{\"ok\":true}")
    }

    func testTheCaptureIOSettingTurnsCaptureOff() throws {
        let t = try Traced(["AGTRACE_CAPTURE_IO": false])
        XCTAssertFalse(t.tracer.captureIO)
        t.tracer.withSpan("lookup", kind: .tool, input: "Lima") { _ in "sunny" }
        let a = try t.one("lookup").attributes
        for key in ["input.value", "input.mime_type", "output.value", "output.mime_type",
                    "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"] {
            XCTAssertNil(a[key], key)
        }
        XCTAssertTrue(try Traced().tracer.captureIO, "on by default")
    }

    func testTheMaskRewritesInputsOutputsAndMessages() throws {
        let t = try Traced(["AGTRACE_CAPTURE_CONTENT": true], mask: { text in
            text.replacingOccurrences(of: #"\d{4}-\d{4}"#, with: "<card>", options: .regularExpression)
        })
        t.tracer.withSpan("pay", kind: .tool, input: ["card": "1234-5678"]) { span in
            span.setMessages(input: [["role": "user", "content": "my card is 1234-5678"]])
            return "charged 1234-5678"
        }
        let a = try t.one("pay").attributes
        XCTAssertEqual(a["input.value"] as? String, "{\"card\":\"<card>\"}")
        XCTAssertEqual(a["gen_ai.tool.call.arguments"] as? String, "{\"card\":\"<card>\"}")
        XCTAssertEqual(a["output.value"] as? String, "charged <card>")
        XCTAssertEqual(a["gen_ai.tool.call.result"] as? String, "\"charged <card>\"")
        let messages = try XCTUnwrap(a["gen_ai.input.messages"] as? String)
        XCTAssertTrue(messages.contains("my card is <card>"), messages)
        XCTAssertFalse(messages.contains("1234"), messages)
    }

    func testAMaskThatThrowsDropsTheValueAndIsCounted() throws {
        struct MaskBroke: Error {}
        let t = try Traced(mask: { text in
            if text.contains("poison") { throw MaskBroke() }
            return text
        })
        let result = t.tracer.withSpan("lookup", input: "poison") { _ in "fine" }
        XCTAssertEqual(result, "fine", "the app's value is untouched")
        let a = try t.one("lookup").attributes
        XCTAssertNil(a["input.value"])
        XCTAssertNil(a["input.mime_type"])
        XCTAssertEqual(a["output.value"] as? String, "fine")
        XCTAssertEqual(t.tracer.stats().misuse["mask_failed"], 1)
    }
}
