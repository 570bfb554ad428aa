import Agtrace
import XCTest

/// The GenAI helpers, and usage rolled up onto every ancestor.
final class LlmTests: XCTestCase {
    func testModelCallsToolsAgentsAndRollups() throws {
        let t = try Traced(["AGTRACE_CAPTURE_CONTENT": true])
        t.tracer.withSpan("invoke_agent travel", kind: .agent) { agent in
            agent.setAgent(name: "travel-assistant", id: "agent-1")
            t.tracer.withSpan("chat gpt-4o", kind: .llm) { llm in
                llm.setLLM(provider: "openai", requestModel: "gpt-4o", responseModel: "gpt-4o-2024",
                           responseId: "resp-1", finishReasons: ["stop"])
                llm.setUsage(inputTokens: 120, outputTokens: 40, cacheReadInputTokens: 20,
                                 cacheCreationInputTokens: 5, reasoningOutputTokens: 7)
                llm.setMessages(input: [["role": "user", "content": "Where to fly?"]],
                                    output: [["role": "assistant", "content": "Oslo"]])
                llm.markFirstChunk()
            }
            t.tracer.withSpan("workflow", kind: .workflow) { _ in
                t.tracer.withSpan("chat small", kind: .llm) { llm in
                    llm.setUsage(inputTokens: 10, outputTokens: 2)
                }
            }
            t.tracer.withSpan("execute_tool get_weather", kind: .tool) { tool in
                tool.setTool(name: "get_weather", callId: "call-7")
            }
        }
        let spans = try t.spans()
        let agent = try Support.one(spans, "invoke_agent travel").attributes
        XCTAssertEqual(agent["gen_ai.agent.name"] as? String, "travel-assistant")
        XCTAssertEqual(agent["gen_ai.agent.id"] as? String, "agent-1")
        XCTAssertEqual(agent["agtrace.usage.input_tokens"] as? Int, 130)
        XCTAssertEqual(agent["agtrace.usage.output_tokens"] as? Int, 42)
        XCTAssertEqual(try Support.one(spans, "workflow").attributes["agtrace.usage.input_tokens"] as? Int, 10)

        let llm = try Support.one(spans, "chat gpt-4o").attributes
        XCTAssertEqual(llm["gen_ai.provider.name"] as? String, "openai")
        XCTAssertEqual(llm["gen_ai.request.model"] as? String, "gpt-4o")
        XCTAssertEqual(llm["gen_ai.response.model"] as? String, "gpt-4o-2024")
        XCTAssertEqual(llm["gen_ai.response.id"] as? String, "resp-1")
        XCTAssertEqual(llm["gen_ai.response.finish_reasons"] as? [String], ["stop"])
        XCTAssertEqual(llm["gen_ai.usage.input_tokens"] as? Int, 120)
        XCTAssertEqual(llm["gen_ai.usage.output_tokens"] as? Int, 40)
        XCTAssertEqual(llm["gen_ai.usage.cache_read.input_tokens"] as? Int, 20)
        XCTAssertEqual(llm["gen_ai.usage.cache_creation.input_tokens"] as? Int, 5)
        XCTAssertEqual(llm["gen_ai.usage.reasoning.output_tokens"] as? Int, 7)
        XCTAssertTrue((llm["gen_ai.input.messages"] as? String ?? "").contains("Where to fly?"), "\(llm)")
        XCTAssertTrue((llm["gen_ai.output.messages"] as? String ?? "").contains("Oslo"), "\(llm)")
        XCTAssertNotNil(llm["gen_ai.response.time_to_first_chunk"], "\(llm)")

        let tool = try Support.one(spans, "execute_tool get_weather").attributes
        XCTAssertEqual(tool["gen_ai.tool.name"] as? String, "get_weather")
        XCTAssertEqual(tool["gen_ai.tool.call.id"] as? String, "call-7")
    }

    func testMessagesAreLeftOutWithoutContentCapture() throws {
        let t = try Traced()
        t.tracer.withSpan("chat", kind: .llm) { llm in
            llm.setMessages(input: [["role": "user", "content": "secret"]])
        }
        XCTAssertNil(try t.one("chat").attributes["gen_ai.input.messages"])
    }
}
