// Checks the trace the README's Swift example wrote (OTLP/JSON lines, the
// file exporter's format, path as the argument): the agent span is the
// root, the LLM call and both tool calls are its children, the session's
// user reached every span, and the usage rolled up onto the agent. Exits
// non-zero, saying what was wrong, on any failure.
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("check: FAIL: \(message)\n".utf8))
    exit(1)
}

struct Exported {
    let name: String
    let id: String
    let parent: String
    /// Attribute values as their OTLP/JSON text (int64 is a string there).
    let attributes: [String: String]
}

guard let path = CommandLine.arguments.dropFirst().first else { fail("usage: Check TRACES.jsonl") }
guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("cannot read \(path)") }
var spans: [Exported] = []
for line in text.split(separator: "\n") {
    guard let request = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { fail("not JSON: \(line)") }
    for rs in request["resourceSpans"] as? [[String: Any]] ?? [] {
        for ss in rs["scopeSpans"] as? [[String: Any]] ?? [] {
            for span in ss["spans"] as? [[String: Any]] ?? [] {
                var attributes: [String: String] = [:]
                for kv in span["attributes"] as? [[String: Any]] ?? [] {
                    if let key = kv["key"] as? String, let value = (kv["value"] as? [String: Any])?.values.first {
                        attributes[key] = "\(value)"
                    }
                }
                spans.append(Exported(
                    name: span["name"] as? String ?? "", id: span["spanId"] as? String ?? "",
                    parent: span["parentSpanId"] as? String ?? "", attributes: attributes
                ))
            }
        }
    }
}
let agents = spans.filter { $0.name == "invoke_agent travel-assistant" }
guard agents.count == 1, let agent = agents.first else { fail("no single agent span: \(spans.map(\.name))") }
var problems: [String] = []
if !agent.parent.isEmpty { problems.append("the agent span is not a root") }
let llm = spans.filter { $0.name == "chat gpt-4o" }
if llm.count != 1 || llm[0].parent != agent.id { problems.append("the LLM span is not the agent's only LLM child") }
let tools = spans.filter { $0.name == "execute_tool get_weather" }
if tools.count != 2 || !tools.allSatisfy({ $0.parent == agent.id }) { problems.append("want two tool children of the agent, got \(tools.count)") }
if !spans.allSatisfy({ $0.attributes["user.id"] == "user-7" }) { problems.append("the session's user id is missing on some span") }
if agent.attributes["agtrace.usage.input_tokens"] != "120" { problems.append("no input-token rollup on the agent: \(agent.attributes)") }
if !problems.isEmpty { fail(problems.joined(separator: "; ")) }
print("check: \(spans.count) spans in \(path) as the README describes")
