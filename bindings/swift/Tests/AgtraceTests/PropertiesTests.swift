import Agtrace
import Foundation
import XCTest

/// Property tests, seeded random loops: hostile names, keys and values (NUL,
/// control characters, huge strings, deep nesting, bytes; Swift strings
/// cannot hold lone surrogates) and random orders of span calls (start, end,
/// end again, use after end) on random threads never trap with strict mode
/// off, and the accounting stays exact after a flush: `ended == dispatched +
/// dropped + pending`, and per exporter `received == exported + dropped +
/// pending`. A failure names its seed.
final class PropertiesTests: XCTestCase {
    /// SplitMix64: a seeded generator, so a failing run can be replayed.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func text(_ r: inout Seeded) -> String {
        switch Int.random(in: 0..<6, using: &r) {
        case 0: return ""
        case 1: return "\0\(Int.random(in: 0..<100, using: &r))"
        case 2: return String(repeating: "x", count: Int.random(in: 0..<200_000, using: &r))
        case 3: return String(String.UnicodeScalarView((0..<Int.random(in: 0..<16, using: &r)).compactMap { _ in
            Unicode.Scalar(UInt32.random(in: 0..<0x11_0000, using: &r))
        }))
        case 4: return "\u{1}\u{7f}\u{202e}"
        default: return "k\(Int.random(in: 0..<8, using: &r))"
        }
    }

    static func value(_ r: inout Seeded, depth: Int = 0) -> Any? {
        switch Int.random(in: 0..<(depth > 50 ? 6 : 9), using: &r) {
        case 0: return nil
        case 1: return Bool.random(using: &r)
        case 2: return Int64.random(in: .min ... .max, using: &r)
        case 3: return [Double.nan, .infinity, -0.0, Double.random(in: -1e300...1e300, using: &r)][Int.random(in: 0..<4, using: &r)]
        case 4: return text(&r)
        case 5: return Data((0..<Int.random(in: 0..<64, using: &r)).map { _ in UInt8.random(in: 0...255, using: &r) })
        case 6: return (0..<Int.random(in: 0..<4, using: &r)).map { _ in value(&r, depth: depth + 1) }
        case 7:
            var d: [String: Any?] = [:]
            for _ in 0..<Int.random(in: 0..<4, using: &r) { d[text(&r)] = value(&r, depth: depth + 1) }
            return d
        default:
            // A list nested up to 2000 deep.
            return (0..<Int.random(in: 1..<2000, using: &r)).reduce("leaf" as Any) { acc, _ in [acc] }
        }
    }

    static func attributes(_ r: inout Seeded) -> [String: Any?] {
        var d: [String: Any?] = [:]
        for _ in 0..<Int.random(in: 0..<4, using: &r) { d[text(&r)] = value(&r) }
        return d
    }

    static func run(_ t: Tracer, _ r: inout Seeded, steps: Int) {
        var spans: [Span] = []
        for _ in 0..<steps {
            let target = spans.last
            switch Int.random(in: 0..<7, using: &r) {
            case 0, 1:
                let s = t.startSpan(text(&r))
                s.setAttributes(attributes(&r))
                spans.append(s)
            case 2: target?.setAttribute(text(&r), value(&r))
            case 3: target?.setAttributes(attributes(&r))
            case 4: target?.addEvent(text(&r))
            case 5: if !spans.isEmpty { spans[Int.random(in: 0..<spans.count, using: &r)].end() } // may end twice
            default:
                let key = text(&r), v = value(&r)
                t.withSpan(text(&r)) { $0.setAttribute(key, v) }
            }
        }
        spans.forEach { $0.end() }
    }

    func assertAccounted(_ t: Tracer, seed: UInt64) {
        XCTAssertTrue(t.flush(timeout: .seconds(10)), "flush timed out (seed \(seed))")
        let s = t.stats()
        XCTAssertEqual(s.ended, s.dispatched + s.dropped.values.reduce(0, +) + s.pending, "seed \(seed): \(s)")
        for e in s.exporters {
            XCTAssertEqual(e.received, e.exported + e.dropped.values.reduce(0, +) + e.pending, "seed \(seed): \(e)")
        }
    }

    func testRandomCallsNeverTrapAndEverySpanIsAccountedFor() throws {
        let t = try Traced()
        for seed in UInt64(1)...30 {
            var r = Seeded(state: seed)
            Self.run(t.tracer, &r, steps: 40)
            assertAccounted(t.tracer, seed: seed)
        }
    }

    func testRandomInterleavingsOnThreadsAreAccountedFor() throws {
        let t = try Traced()
        for seed in UInt64(1)...10 {
            var pick = Seeded(state: seed)
            let n = Int.random(in: 2..<5, using: &pick)
            let tracer = t.tracer
            DispatchQueue.concurrentPerform(iterations: n) { i in
                var r = Seeded(state: seed &* 31 &+ UInt64(i))
                Self.run(tracer, &r, steps: 30)
            }
            assertAccounted(t.tracer, seed: seed)
        }
    }
}
