import Agtrace
import XCTest

/// Attributes keep their types through the packed record to the exporter.
final class AttributesTests: XCTestCase {
    func testTypedAttributesReadBackWithTheirTypes() throws {
        let t = try Traced()
        let city = "Oslo"
        t.tracer.withSpan("typed", attributes: ["city": .string(city), "step": 3, "score": 0.5, "ok": true]) { span in
            span.setAttribute("tags", ["a", "b"])
            span.setAttribute("counts", [1, 2, 3])
            span.setAttribute("ratios", [0.25, 1])
            span.setAttribute("flags", [true, false])
            span.setAttribute("mixed", [1, "two"])
            span.setAttribute("nul", "a\0b")
            span.setAttribute("greeting", "hello \(city)")
            span.setAttributes(["config": .json("{\"depth\":2}"), "big": .int(Int.max)])
        }
        let a = try t.one("typed").attributes
        XCTAssertEqual(a["city"] as? String, "Oslo")
        XCTAssertEqual(a["step"] as? Int, 3)
        XCTAssertEqual(a["score"] as? Double, 0.5)
        XCTAssertEqual(a["ok"] as? Bool, true)
        XCTAssertEqual(a["tags"] as? [String], ["a", "b"])
        XCTAssertEqual(a["counts"] as? [Int], [1, 2, 3])
        XCTAssertEqual(a["ratios"] as? [Double], [0.25, 1.0])
        XCTAssertEqual(a["flags"] as? [Bool], [true, false])
        XCTAssertEqual(a["mixed"] as? String, "[1,\"two\"]")
        XCTAssertEqual(a["nul"] as? String, "a\0b")
        XCTAssertEqual(a["greeting"] as? String, "hello Oslo")
        XCTAssertEqual(a["config"] as? String, "{\"depth\":2}")
        XCTAssertEqual(a["big"] as? Int, Int.max)
    }

    func testSetAttributesLeavesOutOnlyWhatCannotBeRecorded() throws {
        let t = try Traced()
        t.tracer.withSpan("partial") { span in
            span.setAttributes(["good": 1, "": 2])
        }
        XCTAssertEqual(try t.one("partial").attributes["good"] as? Int, 1)
    }

    func testLiteralsPickTheirCase() {
        let values: [AttributeValue] = ["s", 1, 1.5, true, ["a"], [1], [1, 2.5], [true], []]
        XCTAssertEqual(values, [
            .string("s"), .int(1), .double(1.5), .bool(true), .stringArray(["a"]), .intArray([1]),
            .doubleArray([1, 2.5]), .boolArray([true]), .stringArray([]),
        ])
    }
}
