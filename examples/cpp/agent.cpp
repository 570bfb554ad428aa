// The agtrace demo in C++: the travel-assistant agent of
// core/examples/demo.rs through agtrace.hpp (the header-only C++17 wrapper of
// the C ABI). It plans with an LLM, runs two tools in parallel on threads,
// retrieves documents and answers. The "LLM" and tools are simulated (sleeps
// and realistic token counts), so it needs no server and no network.
//
// Prints the trace tree to the console and writes agtrace-demo.jsonl
// (OTLP/JSON lines). With OTEL_EXPORTER_OTLP_ENDPOINT (or the traces
// endpoint) set, it also exports over OTLP. AGTRACE_DEMO_CONVERSATION sets
// the conversation id.
//
// Build:
//   export PKG_CONFIG_PATH=$PWD/dist/c/lib/pkgconfig
//   g++ -std=c++17 examples/cpp/agent.cpp $(pkg-config --cflags --libs agtrace) -pthread -Wl,-rpath,$PWD/dist/c/lib -o agent
// or with CMake: examples/cpp/CMakeLists.txt (find_package(agtrace)).
#include <agtrace.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using agtrace::Kind;
using namespace std::chrono_literals;

namespace {

// A JSON string literal (with quotes).
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static const char digits[] = "0123456789abcdef";
      out += "\\u00";
      out += digits[(c >> 4) & 15];
      out += digits[c & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A simulated chat completion under the thread's current span.
std::string chat(const agtrace::Tracer& tracer, const std::string& model, const std::string& prompt,
                 agtrace::Usage usage, std::chrono::milliseconds latency) {
  agtrace::Span llm = tracer.start_span("chat " + model, Kind::Llm);
  llm.set_llm({"openai", model});
  llm.set_attributes({{"gen_ai.request.temperature", 0.2}, {"gen_ai.request.max_tokens", 512}});
  // Recorded only when content capture is on (AGTRACE_CAPTURE_CONTENT=true).
  llm.set_messages(R"([{"role":"user","content":)" + json_string(prompt) + "}]");
  std::this_thread::sleep_for(latency);
  std::string text = "(" + model + ") a plan for: " + prompt;
  agtrace::Llm response;
  const std::string response_model = model + "-2024-08-06";
  const std::string response_id = "chatcmpl-" + llm.context().span_id_hex();
  response.response_model = response_model;
  response.response_id = response_id;
  response.finish_reasons = {"stop"};
  llm.set_llm(response).set_usage(usage);
  llm.end();
  return text;
}

std::string run_agent(const agtrace::Tracer& tracer, const std::string& conversation, const std::string& question) {
  // Started, and the thread's current span, until the end of this function;
  // an exception leaving it is recorded on the span.
  agtrace::ScopedSpan agent(tracer, "invoke_agent travel-assistant", Kind::Agent, agtrace::Parent::root());
  agent->set_agent("travel-assistant", "agent-42");
  agtrace::TraceMeta meta;  // trace-level context: applied to every span of this trace
  meta.conversation_id = conversation;
  meta.user_id = "user-7";
  meta.tags = {"demo"};
  meta.environment = "development";
  agent->set_trace_meta(meta);

  // Plan: a task span with one model call under it.
  std::string plan_text;
  {
    agtrace::ScopedSpan plan(tracer, "plan", Kind::Task);
    plan_text = chat(tracer, "gpt-4o-mini", question, {412, 57}, 30ms);
  }

  // Act: two tools in parallel, each on its own thread with an explicit parent.
  const agtrace::Context parent = agent->context();  // immutable: safe to share between threads
  struct Call {
    const char* name;
    const char* arguments;
    std::chrono::milliseconds latency;
  };
  std::vector<std::thread> tools;
  for (Call call : {Call{"get_weather", R"({"city":"Lisbon"})", 40ms},
                    Call{"search_flights", R"({"days":2,"to":"LIS"})", 55ms}}) {
    tools.emplace_back([&tracer, &parent, call] {
      try {
        agtrace::Span tool = tracer.start_span(std::string("execute_tool ") + call.name, Kind::Tool, parent);
        tool.set_tool(call.name, std::string("call_") + call.name);
        tool.set_attribute("gen_ai.tool.call.arguments", agtrace::Json(call.arguments));
        std::this_thread::sleep_for(call.latency);
        const std::string result = std::string(R"({"ok":true,"tool":")") + call.name + "\"}";
        tool.set_attribute("gen_ai.tool.call.result", agtrace::Json(result));
        tool.end();
      } catch (const agtrace::Error& e) {  // tracing problems never stop the tool
        std::cerr << "agtrace: " << e.what() << "\n";
      }
    });
  }
  for (auto& t : tools) t.join();

  // Retrieve context, then answer.
  agtrace::Span retrieve = tracer.start_span("retrieve travel-docs", Kind::Retriever);
  retrieve.set_attribute("retrieval.documents.count", 3);
  std::this_thread::sleep_for(15ms);
  retrieve.end();

  std::string answer = chat(tracer, "gpt-4o", plan_text, {1290, 221}, 80ms);
  agent->end();
  return answer;
}

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

}  // namespace

int main() {
  try {
    const bool otlp = env_set("OTEL_EXPORTER_OTLP_ENDPOINT") || env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    // Settings by name; given here they win over the environment. A bad value
    // throws agtrace::Error from the Tracer constructor, naming the setting.
    agtrace::Config config{{"OTEL_SERVICE_NAME", "agtrace-demo"},
                           {"AGTRACE_EXPORTERS", otlp ? "console,file,otlp" : "console,file"},
                           {"AGTRACE_FILE_PATH", "agtrace-demo.jsonl"}};
    agtrace::Tracer tracer(config);
    const char* conversation = std::getenv("AGTRACE_DEMO_CONVERSATION");

    std::string answer = run_agent(tracer, conversation && *conversation ? conversation : "demo-conversation-1",
                                   "Plan a weekend in Lisbon");
    std::cout << "agent answered: " << answer << "\n" << std::endl;

    tracer.shutdown(10s);
    agtrace::Stats stats = tracer.stats();
    std::cout << "spans: " << stats.started << " started, " << stats.dispatched << " handed to exporters, "
              << stats.dropped_queue_full + stats.dropped_queue_bytes + stats.dropped_shutdown
              << " dropped; wrote agtrace-demo.jsonl" << std::endl;
    if (stats.export_dropped > 0) {
      std::cerr << "exporters did not deliver everything: " << tracer.stats_json() << "\n";
      return 1;
    }
    return 0;
  } catch (const agtrace::Error& e) {
    std::cerr << "agtrace error " << e.code() << ": " << e.what() << "\n";
    return 1;
  }
}
