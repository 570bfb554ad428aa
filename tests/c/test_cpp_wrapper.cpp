// The C++17 wrapper (include/agtrace.hpp): RAII, exceptions, attribute
// lists, ScopedSpan, propagation. Read back through the file exporter.
#include <agtrace.hpp>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "support/otlp_file.hpp"

namespace {

using agtrace::Kind;

static_assert(!std::is_copy_constructible_v<agtrace::Tracer> && std::is_nothrow_move_constructible_v<agtrace::Tracer>);
static_assert(!std::is_copy_constructible_v<agtrace::Span> && std::is_nothrow_move_constructible_v<agtrace::Span>);
static_assert(!std::is_copy_constructible_v<agtrace::Context> && std::is_nothrow_move_constructible_v<agtrace::Context>);
static_assert(!std::is_copy_constructible_v<agtrace::Headers> && std::is_nothrow_move_constructible_v<agtrace::Headers>);
static_assert(!std::is_copy_constructible_v<agtrace::Config> && std::is_nothrow_move_constructible_v<agtrace::Config>);
static_assert(!std::is_move_constructible_v<agtrace::ScopedSpan>);
static_assert(std::is_nothrow_destructible_v<agtrace::ScopedSpan> && std::is_nothrow_destructible_v<agtrace::Span>);
static_assert(std::is_base_of_v<std::runtime_error, agtrace::Error>);

// A tracer writing to a fresh temp file; spans() shuts down and reads it.
struct FileTracer {
  explicit FileTracer(const std::string& stem, std::initializer_list<std::pair<std::string_view, std::string_view>> extra = {})
      : path(otlp::temp_path(stem)), tracer(make(path, extra)) {}
  ~FileTracer() { std::remove(path.c_str()); }
  static agtrace::Tracer make(const std::string& path,
                              std::initializer_list<std::pair<std::string_view, std::string_view>> extra) {
    agtrace::Config c{{"AGTRACE_EXPORTERS", "file"}, {"AGTRACE_FILE_PATH", path}};
    c.ignore_env().set("OTEL_SERVICE_NAME", "agtrace-cpp-tests");
    for (const auto& kv : extra) c.set(kv.first, kv.second);
    return agtrace::Tracer(c);
  }
  std::vector<otlp::Span> spans() {
    tracer.shutdown(std::chrono::seconds(10));
    return otlp::read_spans(path);
  }
  std::string path;
  agtrace::Tracer tracer;
};

template <class F>
agtrace_status_t ThrownCode(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const agtrace::Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return AGTRACE_OK;
}

TEST(Wrapper, ConfigErrorsAreExceptionsNamingTheSetting) {
  std::string msg;
  EXPECT_EQ(ThrownCode([] { agtrace::Config().set("NOT_A_SETTING", "1"); }, &msg), AGTRACE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("NOT_A_SETTING"), std::string::npos) << msg;
  agtrace::Config c;
  c.ignore_env().set("OTEL_BSP_SCHEDULE_DELAY", "soon");
  EXPECT_EQ(ThrownCode([&] { agtrace::Tracer t(c); }, &msg), AGTRACE_ERR_INVALID_CONFIG);
  EXPECT_NE(msg.find("OTEL_BSP_SCHEDULE_DELAY"), std::string::npos) << msg;
  EXPECT_EQ(ThrownCode([] { agtrace::Config().set("OTEL_SERVICE_NAME", std::string_view("\xff", 1)); }),
            AGTRACE_ERR_INVALID_UTF8);
  EXPECT_FALSE(agtrace::version().empty());
}

TEST(Wrapper, SpansAttributesAndTheTree) {
  FileTracer f("cpp-tree");
  std::vector<std::string> tags{"a", "b"};
  std::vector<std::string_view> views{"x"};
  std::vector<bool> bools{true, false};
  {
    agtrace::Span root = f.tracer.start_span("root", Kind::Agent, agtrace::Parent::root(),
                                             {{"opt.int", 1}, {"opt.str", "one"}});
    agtrace::Span child = f.tracer.start_span("child", Kind::Llm, root);
    child.set_attribute("k.cstr", "v")
        .set_attribute("k.string", std::string("s"))
        .set_attribute("k.view", std::string_view("sv"))
        .set_attribute("k.bool", true)
        .set_attribute("k.int", 42)
        .set_attribute("k.uint64", static_cast<std::uint64_t>(UINT64_MAX))
        .set_attribute("k.double", 0.25);
    child.set_attributes({{"a.strings", tags},
                          {"a.views", views},
                          {"a.bools", bools},
                          {"a.ints", std::vector<std::int64_t>{1, 2, 3}},
                          {"a.doubles", std::vector<double>{1.5}},
                          {"a.json", agtrace::Json(R"({"city":"Lisbon"})")},
                          {"a.1", 1}, {"a.2", 2}, {"a.3", 3}, {"a.4", 4}, {"a.5", 5}, {"a.6", 6}});  // > 8: heap path
    child.set_llm({"openai", "gpt-4o", "gpt-4o-2024-08-06", "chatcmpl-1", {"stop"}}).set_usage({412, 57});
    agtrace::Usage u(1, 2);
    u.reasoning_output_tokens = 3;
    agtrace::Span other = f.tracer.start_span("other", Kind::Llm, root);
    other.set_usage(u);
    agtrace::TraceMeta meta;
    meta.user_id = "user-7";
    meta.conversation_id = "conv-cpp";
    meta.tags = {"demo"};
    meta.metadata_json = R"({"k":"v"})";
    root.set_trace_meta(meta).set_agent("travel-assistant", "agent-42");
    agtrace::Span tool = f.tracer.start_span("tool", Kind::Tool, root.context());
    tool.set_tool("get_weather", "call_1").add_event("progress", {{"pct", 50}}).set_status(agtrace::StatusCode::Ok);
    EXPECT_TRUE(child.is_recording());
    child.end();
    EXPECT_FALSE(child.is_recording());
  }  // the rest are freed unended: abandoned
  auto spans = f.spans();
  ASSERT_EQ(spans.size(), 4u);
  const otlp::Span* root = otlp::one(spans, "root");
  const otlp::Span* child = otlp::one(spans, "child");
  const otlp::Span* tool = otlp::one(spans, "tool");
  ASSERT_TRUE(root && child && tool);
  EXPECT_EQ(child->parent_span_id, root->span_id);
  EXPECT_EQ(tool->parent_span_id, root->span_id);
  EXPECT_EQ(root->integer("opt.int"), 1);
  EXPECT_EQ(root->str("opt.str"), "one");
  EXPECT_EQ(child->str("k.cstr"), "v");
  EXPECT_EQ(child->str("k.string"), "s");
  EXPECT_EQ(child->str("k.view"), "sv");
  EXPECT_TRUE(child->boolean("k.bool"));
  EXPECT_EQ(child->integer("k.int"), 42);
  EXPECT_EQ(child->integer("k.uint64"), INT64_MAX);
  EXPECT_DOUBLE_EQ(child->number("k.double"), 0.25);
  EXPECT_EQ(child->array("a.strings").size(), 2u);
  EXPECT_EQ((*child->array("a.views")[0])["stringValue"].str(), "x");
  ASSERT_EQ(child->array("a.bools").size(), 2u);
  EXPECT_FALSE((*child->array("a.bools")[1])["boolValue"].boolean);
  EXPECT_EQ(child->array("a.ints").size(), 3u);
  EXPECT_EQ(child->array("a.doubles").size(), 1u);
  EXPECT_EQ(child->str("a.json"), R"({"city":"Lisbon"})");
  EXPECT_EQ(child->integer("a.6"), 6);
  EXPECT_EQ(child->str("gen_ai.response.id"), "chatcmpl-1");
  EXPECT_EQ(child->integer("gen_ai.usage.input_tokens"), 412);
  EXPECT_FALSE(child->has("agtrace.abandoned"));
  EXPECT_TRUE(root->boolean("agtrace.abandoned"));
  EXPECT_EQ(root->str("gen_ai.agent.id"), "agent-42");
  EXPECT_EQ(child->str("gen_ai.conversation.id"), "conv-cpp");
  EXPECT_EQ(root->integer("agtrace.usage.input_tokens"), 413);
  EXPECT_EQ(tool->str("gen_ai.tool.call.id"), "call_1");
  ASSERT_EQ(tool->events.size(), 1u);
  EXPECT_EQ(tool->events[0].attributes.at("pct")["intValue"].str(), "50");
  EXPECT_EQ(tool->status_code, 1);
}

TEST(Wrapper, CErrorsBecomeExceptions) {
  FileTracer f("cpp-errors");
  agtrace::Span s = f.tracer.start_span("s");
  std::string msg;
  EXPECT_EQ(ThrownCode([&] { s.set_attribute("", 1); }), AGTRACE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ThrownCode([&] { s.set_attribute("k", std::string_view("\xc0\xaf", 2)); }), AGTRACE_ERR_INVALID_UTF8);
  EXPECT_EQ(ThrownCode([&] { s.set_attribute("k", agtrace::Json("{")); }, &msg), AGTRACE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("not JSON"), std::string::npos);
  EXPECT_EQ(ThrownCode([&] { s.set_attribute("k", static_cast<const char*>(nullptr)); }), AGTRACE_ERR_NULL_ARGUMENT);
  EXPECT_EQ(ThrownCode([&] { s.set_status(static_cast<agtrace::StatusCode>(9)); }), AGTRACE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ThrownCode([&] { f.tracer.start_span("k", static_cast<Kind>(99)); }), AGTRACE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ThrownCode([&] { f.tracer.set_sampling_rate(7); }) != AGTRACE_OK, true);
  s.end();
  EXPECT_EQ(ThrownCode([&] { s.end(); }), AGTRACE_ERR_ALREADY_ENDED);
  agtrace::Span moved = std::move(s);
  EXPECT_FALSE(static_cast<bool>(s));  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(ThrownCode([&] { s.set_tool("t"); }), AGTRACE_ERR_NULL_ARGUMENT);
  EXPECT_FALSE(s.is_recording());
  agtrace::Context none;
  EXPECT_EQ(ThrownCode([&] { f.tracer.start_span("x", Kind::Plain, none); }), AGTRACE_ERR_NULL_ARGUMENT);
  EXPECT_EQ(ThrownCode([&] { agtrace::Span().end(); }), AGTRACE_ERR_NULL_ARGUMENT);
  f.tracer.shutdown();
  EXPECT_EQ(ThrownCode([&] { f.tracer.start_span("late"); }), AGTRACE_ERR_SHUT_DOWN);
}

TEST(Wrapper, MoveAssignmentFreesTheOldHandle) {
  FileTracer f("cpp-move");
  agtrace::Span a = f.tracer.start_span("first", Kind::Plain, agtrace::Parent::root());
  agtrace::Span b = f.tracer.start_span("second", Kind::Plain, agtrace::Parent::root());
  b.end();
  a = std::move(b);  // "first" is freed (abandoned) here
  auto& self = a;
  a = std::move(self);  // self-move keeps the handle
  EXPECT_TRUE(static_cast<bool>(a));
  agtrace::Tracer t2 = std::move(f.tracer);
  f.tracer = std::move(t2);
  a = agtrace::Span();
  f.tracer.flush();
  EXPECT_EQ(f.tracer.stats().ended, 2u);
  auto spans = f.spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_TRUE(otlp::one(spans, "first")->boolean("agtrace.abandoned"));
}

TEST(Wrapper, ScopedSpanIsCurrentForItsScope) {
  FileTracer f("cpp-scoped");
  {
    agtrace::ScopedSpan agent(f.tracer, "agent", Kind::Agent, agtrace::Parent::root());
    EXPECT_EQ(agtrace::current_context().span_id_hex(), agent.span().context().span_id_hex());
    {
      agtrace::ScopedSpan plan(f.tracer, "plan", Kind::Task);
      f.tracer.start_span("llm", Kind::Llm).end();
      plan->set_attribute("step", 1);
    }
    agtrace::Span sibling = f.tracer.start_span("sibling");
    agent->end();  // ending early is fine: the destructor ignores ALREADY_ENDED
  }
  EXPECT_FALSE(static_cast<bool>(agtrace::current_context()));
  auto spans = f.spans();
  ASSERT_EQ(spans.size(), 4u);
  const otlp::Span* agent = otlp::one(spans, "agent");
  const otlp::Span* plan = otlp::one(spans, "plan");
  ASSERT_TRUE(agent && plan);
  EXPECT_EQ(plan->parent_span_id, agent->span_id);
  EXPECT_EQ(otlp::one(spans, "llm")->parent_span_id, plan->span_id);
  EXPECT_EQ(otlp::one(spans, "sibling")->parent_span_id, agent->span_id);
  EXPECT_EQ(plan->integer("step"), 1);
  for (const auto& s : spans) EXPECT_TRUE(s.events.empty()) << s.name;
  EXPECT_FALSE(plan->has("agtrace.abandoned"));
}

TEST(Wrapper, ScopedSpanLeftByAnExceptionRecordsAnError) {
  FileTracer f("cpp-scoped-throw");
  try {
    agtrace::ScopedSpan s(f.tracer, "failing step", Kind::Task);
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  try {
    agtrace::ScopedSpan s(f.tracer, "caught inside", Kind::Task);
    try {
      throw std::out_of_range("index 7");
    } catch (const std::exception& e) {
      s->record_exception(e);
    }
  } catch (...) {
    ADD_FAILURE() << "nothing escapes";
  }
  {
    agtrace::ScopedSpan s(f.tracer, "catch all", Kind::Task);
    try {
      throw 42;
    } catch (...) {
      s->record_current_exception();
    }
    s->record_current_exception();  // outside a handler: nothing
  }
  // A ScopedSpan destroyed during unwinding whose tracer was shut down: no throw.
  try {
    agtrace::ScopedSpan s(f.tracer, "after shutdown", Kind::Task);
    f.tracer.shutdown();
    throw std::logic_error("late");
  } catch (const std::logic_error&) {
  }
  auto spans = otlp::read_spans(f.path);
  const otlp::Span* a = otlp::one(spans, "failing step");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->events.size(), 1u);
  EXPECT_EQ(a->events[0].name, "exception");
  EXPECT_EQ(a->events[0].attributes.at("exception.type")["stringValue"].str(), "exception");
  EXPECT_EQ(a->events[0].attributes.at("exception.message")["stringValue"].str(), "scope exited by an exception");
  EXPECT_EQ(a->status_code, 2);
  const otlp::Span* b = otlp::one(spans, "caught inside");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->events.size(), 1u);
  EXPECT_EQ(b->events[0].attributes.at("exception.type")["stringValue"].str(), "std::out_of_range");
  EXPECT_EQ(b->events[0].attributes.at("exception.message")["stringValue"].str(), "index 7");
  const otlp::Span* c = otlp::one(spans, "catch all");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->events.size(), 1u);
  EXPECT_EQ(c->events[0].attributes.at("exception.type")["stringValue"].str(), "unknown");
  EXPECT_EQ(otlp::named(spans, "after shutdown").size(), 0u);
}

TEST(Wrapper, EnterGuard) {
  FileTracer f("cpp-enter");
  agtrace::Span outer = f.tracer.start_span("outer", Kind::Agent, agtrace::Parent::root());
  agtrace::Span inner = f.tracer.start_span("inner", Kind::Task, outer);
  {
    auto g1 = outer.enter();
    auto g2 = inner.enter();
    std::string code_msg;
    EXPECT_EQ(ThrownCode([&] { g1.exit(); }, &code_msg), AGTRACE_ERR_INVALID_ARGUMENT);  // not innermost
    g2.exit();
    g2.exit();  // already exited: nothing
    EXPECT_EQ(agtrace::current_context().span_id_hex(), outer.context().span_id_hex());
  }
  EXPECT_FALSE(static_cast<bool>(agtrace::current_context()));
}

TEST(Wrapper, HeadersInjectExtract) {
  FileTracer f("cpp-propagation");
  agtrace::Headers in{{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                      {"baggage", "tenant=acme"}};
  EXPECT_EQ(in.size(), 2u);
  EXPECT_EQ(in.get("TRACEPARENT").substr(0, 2), "00");
  EXPECT_EQ(in.get("missing", "fallback"), "fallback");
  EXPECT_EQ(ThrownCode([&] { in.at(5); }), AGTRACE_ERR_INVALID_ARGUMENT);
  agtrace::Context remote = f.tracer.extract(in);
  ASSERT_TRUE(static_cast<bool>(remote));
  EXPECT_EQ(remote.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(remote.span_id_hex(), "00f067aa0ba902b7");
  EXPECT_TRUE(remote.ids().sampled);
  agtrace::Span server = f.tracer.start_span("server", Kind::Agent, remote);
  agtrace::Headers out;
  f.tracer.inject(server, out);
  EXPECT_EQ(std::string(out.get("traceparent")),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-" + server.context().span_id_hex() + "-01");
  EXPECT_NE(out.get("baggage").find("tenant=acme"), std::string_view::npos);
  EXPECT_FALSE(static_cast<bool>(f.tracer.extract(agtrace::Headers{})));
  server.end();
  auto spans = f.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].parent_span_id, "00f067aa0ba902b7");
}

TEST(Wrapper, StatsFlushAndParentsAcrossThreads) {
  FileTracer f("cpp-threads");
  agtrace::Span root = f.tracer.start_span("root", Kind::Agent, agtrace::Parent::root());
  agtrace::Context parent = root.context();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      agtrace::ScopedSpan t(f.tracer, "worker", Kind::Tool, parent, {{"worker.index", i}});
      f.tracer.start_span("leaf").end();  // child of the thread's ScopedSpan
    });
  for (auto& t : threads) t.join();
  root.end();
  f.tracer.flush(std::chrono::seconds(10));
  agtrace::Stats st = f.tracer.stats();
  EXPECT_EQ(st.ended, 9u);
  EXPECT_EQ(st.exported, 9u);
  EXPECT_NE(f.tracer.stats_json().find("\"exporters\""), std::string::npos);
  auto spans = f.spans();
  const otlp::Span* r = otlp::one(spans, "root");
  ASSERT_NE(r, nullptr);
  for (const otlp::Span* w : otlp::named(spans, "worker")) EXPECT_EQ(w->parent_span_id, r->span_id);
  for (const otlp::Span* l : otlp::named(spans, "leaf")) {
    bool under_worker = false;
    for (const otlp::Span* w : otlp::named(spans, "worker")) under_worker |= l->parent_span_id == w->span_id;
    EXPECT_TRUE(under_worker);
  }
}

TEST(Wrapper, TracerFromEnvironment) {
  setenv("AGTRACE_EXPORTERS", "none", 1);
  agtrace::Tracer t;
  unsetenv("AGTRACE_EXPORTERS");
  EXPECT_TRUE(static_cast<bool>(t));
  t.start_span("x").end();
  t.shutdown(std::chrono::milliseconds(2000));
  EXPECT_EQ(t.stats().ended, 1u);
}

}  // namespace
