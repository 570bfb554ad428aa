package dev.agtrace

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** Model calls: identity, usage and its rollup, tools, agents, first chunk, content capture. */
class LlmTest : TracedTest() {
    override val settings: Map<String, Any> = mapOf("AGTRACE_CAPTURE_CONTENT" to true)

    @Test
    fun `setLlm and setUsage write the GenAI attributes`() {
        tracer.span("chat gpt-4o", kind = SpanKind.LLM) { s ->
            s.setLlm(provider = "openai", requestModel = "gpt-4o")
            s.setLlm(responseModel = "gpt-4o-2024-08-06", responseId = "chatcmpl-1", finishReasons = listOf("stop", "length"))
            s.setUsage(
                inputTokens = 1000,
                outputTokens = 200,
                cacheReadInputTokens = 300,
                cacheCreationInputTokens = 40,
                reasoningOutputTokens = 50,
            )
        }
        val a = traced.one("chat gpt-4o").attributes
        assertEquals("openai", a["gen_ai.provider.name"])
        assertEquals("gpt-4o", a["gen_ai.request.model"])
        assertEquals("gpt-4o-2024-08-06", a["gen_ai.response.model"])
        assertEquals("chatcmpl-1", a["gen_ai.response.id"])
        assertEquals(listOf("stop", "length"), a["gen_ai.response.finish_reasons"])
        assertEquals("chat", a["gen_ai.operation.name"])
        assertEquals(1000L, a["gen_ai.usage.input_tokens"])
        assertEquals(200L, a["gen_ai.usage.output_tokens"])
        assertEquals(300L, a["gen_ai.usage.cache_read.input_tokens"])
        assertEquals(40L, a["gen_ai.usage.cache_creation.input_tokens"])
        assertEquals(50L, a["gen_ai.usage.reasoning.output_tokens"])
        assertTrue((a["agtrace.cost_usd"] as Double) > 0, "gpt-4o is in the price table")
    }

    @Test
    fun `usage rolls up onto every ancestor`() {
        tracer.span("invoke_agent", kind = SpanKind.AGENT) {
            tracer.span("plan", kind = SpanKind.WORKFLOW) {
                tracer.span("chat small", kind = SpanKind.LLM) { llm ->
                    llm.setLlm(provider = "openai", requestModel = "gpt-4o-mini")
                    llm.setUsage(inputTokens = 100, outputTokens = 10)
                }
                tracer.span("lookup", kind = SpanKind.TOOL) { }
            }
            tracer.span("chat big", kind = SpanKind.LLM) { llm ->
                llm.setLlm(provider = "openai", requestModel = "gpt-4o")
                llm.setUsage(inputTokens = 1000, outputTokens = 200)
            }
        }
        val spans = traced.spans()
        val agent = one(spans, "invoke_agent").attributes
        assertEquals(1100L, agent["agtrace.usage.input_tokens"])
        assertEquals(210L, agent["agtrace.usage.output_tokens"])
        assertEquals(2L, agent["agtrace.usage.llm_calls"])
        assertEquals(1L, agent["agtrace.usage.tool_calls"])
        val plan = one(spans, "plan").attributes
        assertEquals(100L, plan["agtrace.usage.input_tokens"])
        assertEquals(1L, plan["agtrace.usage.llm_calls"])
    }

    @Test
    fun `tools, agents, messages and the first chunk`() {
        tracer.span("invoke_agent travel", kind = SpanKind.AGENT) { agent ->
            agent.setAgent("travel-assistant", id = "agent-1")
            tracer.span("execute_tool get_weather", kind = SpanKind.TOOL) { tool ->
                tool.setTool("get_weather", callId = "call-7")
            }
            tracer.span("chat stream", kind = SpanKind.LLM) { llm ->
                llm.setMessages(
                    input = listOf(mapOf("role" to "user", "content" to "Weather in Oslo?")),
                    output = listOf(mapOf("role" to "assistant", "content" to "Sunny")),
                )
                Thread.sleep(2)
                llm.markFirstChunk()
            }
        }
        val spans = traced.spans()
        val agent = one(spans, "invoke_agent travel").attributes
        assertEquals("travel-assistant", agent["gen_ai.agent.name"])
        assertEquals("agent-1", agent["gen_ai.agent.id"])
        val tool = one(spans, "execute_tool get_weather").attributes
        assertEquals("get_weather", tool["gen_ai.tool.name"])
        assertEquals("call-7", tool["gen_ai.tool.call.id"])
        val llm = one(spans, "chat stream").attributes
        assertTrue((llm["gen_ai.input.messages"] as String).contains("Weather in Oslo?"), llm.toString())
        assertTrue((llm["gen_ai.output.messages"] as String).contains("Sunny"), llm.toString())
        assertTrue((llm["gen_ai.response.time_to_first_chunk"] as Number).toDouble() > 0, llm.toString())
    }
}

/** Without content capture, messages are not recorded. */
class LlmNoCaptureTest : TracedTest() {
    @Test
    fun `messages need content capture`() {
        tracer.span("chat", kind = SpanKind.LLM) { llm ->
            llm.setMessages(input = listOf(mapOf("role" to "user", "content" to "secret question")))
        }
        val a = traced.one("chat").attributes
        assertFalse("gen_ai.input.messages" in a, a.toString())
    }
}
