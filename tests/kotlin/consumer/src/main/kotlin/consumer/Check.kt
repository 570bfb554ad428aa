package consumer

import org.json.JSONArray
import org.json.JSONObject
import java.io.File
import kotlin.system.exitProcess

/**
 * Checks the trace the README's Kotlin example wrote (OTLP/JSON lines, the
 * file exporter's format): the agent span is the root, the LLM call and
 * both tool calls are its children, the session's user reached every span,
 * and the usage rolled up onto the root. Exits non-zero, saying what was
 * wrong, on any failure.
 */
fun main(args: Array<String>) {
    val file = File(args.single())
    val spans = file.readLines().filter { it.isNotBlank() }.flatMap(::spansOf)
    val problems = ArrayList<String>()
    fun expect(ok: Boolean, what: String) {
        if (!ok) problems += what
    }
    val agent = spans.singleOrNull { it.name == "invoke_agent travel-assistant" }
        ?: fail("no single agent span in $file: ${spans.map { it.name }}")
    expect(agent.parent.isEmpty(), "the agent span is not a root")
    val llm = spans.filter { it.name == "chat gpt-4o" }
    expect(llm.size == 1 && llm[0].parent == agent.id, "the LLM span is not the agent's only LLM child")
    val tools = spans.filter { it.name == "execute_tool get_weather" }
    expect(tools.size == 2 && tools.all { it.parent == agent.id }, "want two tool children of the agent, got ${tools.size}")
    expect(spans.all { it.attributes["user.id"] == "user-7" }, "the session's user id is missing on some span")
    expect(agent.attributes["agtrace.usage.input_tokens"] == "120", "no input-token rollup on the agent span: ${agent.attributes}")
    if (problems.isNotEmpty()) fail(problems.joinToString("; "))
    println("consumer: ${spans.size} spans in $file as the README describes")
}

/** One exported span; attribute values as their OTLP/JSON text (int64 is a string there). */
private class Exported(val name: String, val id: String, val parent: String, val attributes: Map<String, String>)

private fun spansOf(line: String): List<Exported> {
    val out = ArrayList<Exported>()
    for (rs in JSONObject(line).getJSONArray("resourceSpans").objects()) {
        for (ss in rs.getJSONArray("scopeSpans").objects()) {
            for (s in ss.getJSONArray("spans").objects()) {
                val attributes = s.optJSONArray("attributes")?.objects()?.associate { kv ->
                    val value = kv.getJSONObject("value")
                    kv.getString("key") to value.get(value.keys().next()).toString()
                } ?: emptyMap()
                out += Exported(s.getString("name"), s.getString("spanId"), s.optString("parentSpanId", ""), attributes)
            }
        }
    }
    return out
}

private fun JSONArray.objects(): List<JSONObject> = (0 until length()).map(::getJSONObject)

private fun fail(why: String): Nothing {
    System.err.println("consumer: $why")
    exitProcess(1)
}
