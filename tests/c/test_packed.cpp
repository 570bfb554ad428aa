// The packed span path for language bindings (agtrace_span_start_packed,
// _record_packed, _finish_packed, agtrace_span_free_many) and the tracer's
// fork hooks, checked through what the file exporter wrote.
//
// A record is NUL-separated UTF-8 fields: the start record begins with the
// span name; then come key/value pairs, where a key "\x01k" means a JSON-typed
// value and "\x02op" an op. Records are built here from field lists, so the
// NULs and prefix bytes stay visible in the test source.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "support/c_api_helpers.hpp"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define AGTEST_HAVE_VALGRIND_H 1
#endif

using namespace agtest;

namespace {

// --- building records ------------------------------------------------------------

// The fields joined with NULs (no trailing NUL: that would be an empty field).
std::string Rec(std::initializer_list<std::string> fields) {
  std::string out;
  bool first = true;
  for (const auto& f : fields) {
    if (!first) out += '\0';
    out += f;
    first = false;
  }
  return out;
}

// A key whose value is JSON. (Written as a function: in a literal "\x01a"
// would be the single byte 0x1a.)
std::string Typed(const std::string& key) { return "\x01" + key; }
std::string Op(const std::string& op) { return "\x02" + op; }

const uint8_t* Bytes(const std::string& r) { return reinterpret_cast<const uint8_t*>(r.data()); }

// Starts a span from `record`; fails the test (returning NULL) on error.
agtrace_span_t* StartPacked(const FileTracer& t, const std::string& record, agtrace_kind_t kind = AGTRACE_KIND_PLAIN,
                            const agtrace_span_t* parent = nullptr, const agtrace_context_t* remote = nullptr) {
  agtrace_error_t* e = nullptr;
  agtrace_span_t* s = agtrace_span_start_packed(t.get(), parent, remote, kind, Bytes(record), record.size(), &e);
  if (!s) ADD_FAILURE() << "span_start_packed: " << agtrace_error_message(e);
  agtrace_error_free(e);
  return s;
}

// agtrace_span_start_packed as a status, for EXPECT_FAIL: a span it returns
// by mistake is freed (and shows up in the export).
agtrace_status_t StartStatus(const agtrace_tracer_t* t, const uint8_t* record, size_t len, agtrace_error_t** err,
                             agtrace_kind_t kind = AGTRACE_KIND_PLAIN) {
  agtrace_span_t* s = agtrace_span_start_packed(t, nullptr, nullptr, kind, record, len, err);
  if (s) {
    agtrace_span_free(s);
    return AGTRACE_OK;
  }
  return agtrace_error_code(*err);
}
agtrace_status_t StartStatus(const agtrace_tracer_t* t, const std::string& record, agtrace_error_t** err,
                             agtrace_kind_t kind = AGTRACE_KIND_PLAIN) {
  return StartStatus(t, Bytes(record), record.size(), err, kind);
}

agtrace_status_t Record(const agtrace_span_t* s, const std::string& record, agtrace_error_t** err) {
  return agtrace_span_record_packed(s, Bytes(record), record.size(), err);
}

agtrace_status_t Finish(const agtrace_span_t* s, const std::string& record, agtrace_error_t** err) {
  return agtrace_span_finish_packed(s, Bytes(record), record.size(), err);
}

agtrace_context_t* ExtractTraceparent(const FileTracer& t, const char* traceparent) {
  agtrace_headers_t* h = agtrace_headers_new();
  agtrace_headers_set(h, S("traceparent"), S(traceparent), nullptr);
  agtrace_context_t* c = nullptr;
  EXPECT_OK(agtrace_extract(t.get(), h, &c, err));
  agtrace_headers_free(h);
  return c;
}

const char kRemoteTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
const char kRemoteSpanId[] = "00f067aa0ba902b7";
const char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// --- starting ----------------------------------------------------------------------

TEST(PackedStart, StringAndTypedAttributesAreExported) {
  FileTracer t("packed-attrs");
  std::string start = Rec({
      "typed",
      "s.plain", "hello \"quoted\" \xe2\x9c\x93",  // a string value is taken as is, JSON or not
      "s.looks_like_json", "{\"not\": \"parsed\"}",
      "s.empty", "",
      Typed("t.int"), "42",
      Typed("t.negative"), "-9223372036854775808",
      Typed("t.double"), "2.5",
      Typed("t.bool"), "true",
      Typed("t.string"), "\"json string\"",
      Typed("t.ints"), "[1, 2, 3]",
      Typed("t.doubles"), "[1, 2.5]",
      Typed("t.bools"), "[true, false]",
      Typed("t.strings"), "[\"a\", \"b\\u00e9\"]",
      Typed("t.mixed"), "[\"a\", 1]",
      Typed("t.object"), "{\"city\": \"Lisbon\", \"days\": [1, 2]}",
      Typed("t.null"), "null",
      Typed("t.huge"), "18446744073709551615",
  });
  agtrace_span_t* s = StartPacked(t, start, AGTRACE_KIND_TOOL);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(agtrace_span_is_recording(s));
  // Attributes can come with the end too.
  EXPECT_OK(Finish(s, Rec({"f.str", "at the end", Typed("f.int"), "7", Typed("t.int"), "43"}), err));
  EXPECT_FALSE(agtrace_span_is_recording(s));
  agtrace_span_free(s);

  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  const otlp::Span& x = spans[0];
  EXPECT_EQ(x.name, "typed");
  EXPECT_EQ(x.str("agtrace.kind"), "tool");
  EXPECT_EQ(x.str("s.plain"), "hello \"quoted\" \xe2\x9c\x93");
  EXPECT_EQ(x.str("s.looks_like_json"), "{\"not\": \"parsed\"}");
  EXPECT_TRUE(x.has("s.empty"));
  EXPECT_EQ(x.str("s.empty"), "");
  EXPECT_EQ(x.integer("t.int"), 43) << "the later value wins";
  EXPECT_EQ(x.integer("t.negative"), LLONG_MIN);
  EXPECT_DOUBLE_EQ(x.number("t.double"), 2.5);
  EXPECT_TRUE(x.attr("t.bool").has("boolValue"));
  EXPECT_TRUE(x.boolean("t.bool"));
  EXPECT_EQ(x.str("t.string"), "json string");

  auto ints = x.array("t.ints");
  ASSERT_EQ(ints.size(), 3u);
  EXPECT_EQ((*ints[2])["intValue"].str(), "3");
  auto doubles = x.array("t.doubles");
  ASSERT_EQ(doubles.size(), 2u) << "an integer among numbers makes a double array";
  EXPECT_DOUBLE_EQ((*doubles[0])["doubleValue"].number(), 1.0);
  EXPECT_DOUBLE_EQ((*doubles[1])["doubleValue"].number(), 2.5);
  auto bools = x.array("t.bools");
  ASSERT_EQ(bools.size(), 2u);
  EXPECT_TRUE((*bools[0])["boolValue"].boolean);
  EXPECT_FALSE((*bools[1])["boolValue"].boolean);
  auto strings = x.array("t.strings");
  ASSERT_EQ(strings.size(), 2u);
  EXPECT_EQ((*strings[1])["stringValue"].str(), "b\xc3\xa9");

  // Objects, mixed arrays and null are kept as their JSON text.
  mini_json::Value mixed = mini_json::parse(x.str("t.mixed"));
  ASSERT_TRUE(mixed.is_array());
  EXPECT_EQ(mixed[0].str(), "a");
  EXPECT_EQ(mixed[1].integer(), 1);
  mini_json::Value object = mini_json::parse(x.str("t.object"));
  EXPECT_EQ(object["city"].str(), "Lisbon");
  EXPECT_EQ(object["days"].size(), 2u);
  EXPECT_EQ(x.str("t.null"), "null");
  EXPECT_DOUBLE_EQ(x.number("t.huge"), 18446744073709551615.0) << "beyond i64: a double";

  EXPECT_EQ(x.str("f.str"), "at the end");
  EXPECT_EQ(x.integer("f.int"), 7);
  EXPECT_FALSE(x.has("agtrace.abandoned"));
}

TEST(PackedStart, ParentSpanRemoteParentOrANewTrace) {
  FileTracer t("packed-parents");
  agtrace_context_t* remote = ExtractTraceparent(t, kTraceparent);
  ASSERT_NE(remote, nullptr);

  agtrace_span_t* root = StartPacked(t, "root", AGTRACE_KIND_AGENT);
  agtrace_span_t* child = StartPacked(t, "child", AGTRACE_KIND_TOOL, root);
  agtrace_span_t* server = StartPacked(t, "server", AGTRACE_KIND_AGENT, nullptr, remote);
  agtrace_span_t* both = StartPacked(t, "both given", AGTRACE_KIND_PLAIN, root, remote);  // the span wins
  agtrace_span_t* under_server = StartPacked(t, "under server", AGTRACE_KIND_LLM, server);
  // The thread's current span is not consulted: NULL for both is a new trace.
  ASSERT_OK(agtrace_span_enter(root, err));
  agtrace_span_t* other = StartPacked(t, "other root");
  EXPECT_OK(agtrace_span_exit(root, err));
  agtrace_context_free(remote);
  agtrace_span_t* all[] = {child, both, under_server, server, other, root};
  for (auto* s : all) EXPECT_OK(Finish(s, "", err));
  agtrace_span_free_many(all, 6);

  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 6u);
  const otlp::Span* r = otlp::one(spans, "root");
  const otlp::Span* c = otlp::one(spans, "child");
  const otlp::Span* sv = otlp::one(spans, "server");
  const otlp::Span* b = otlp::one(spans, "both given");
  const otlp::Span* us = otlp::one(spans, "under server");
  const otlp::Span* o = otlp::one(spans, "other root");
  ASSERT_TRUE(r && c && sv && b && us && o);
  EXPECT_EQ(r->parent_span_id, "");
  EXPECT_EQ(r->trace_id.size(), 32u);
  EXPECT_NE(r->trace_id, std::string(32, '0'));
  EXPECT_EQ(c->parent_span_id, r->span_id);
  EXPECT_EQ(c->trace_id, r->trace_id);
  EXPECT_EQ(sv->trace_id, kRemoteTraceId);
  EXPECT_EQ(sv->parent_span_id, kRemoteSpanId);
  EXPECT_EQ(b->parent_span_id, r->span_id);
  EXPECT_EQ(b->trace_id, r->trace_id);
  EXPECT_EQ(us->trace_id, kRemoteTraceId);
  EXPECT_EQ(us->parent_span_id, sv->span_id);
  EXPECT_EQ(o->parent_span_id, "");
  EXPECT_NE(o->trace_id, r->trace_id);
  EXPECT_NE(o->trace_id, kRemoteTraceId);
}

TEST(PackedStart, NullArgumentsAndBadKind) {
  FileTracer t("packed-null");
  std::string rec = "fine";
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "tracer", StartStatus(nullptr, rec, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "record", StartStatus(t.get(), nullptr, 4, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_ARGUMENT, "kind", StartStatus(t.get(), rec, err, 11));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_ARGUMENT, "kind", StartStatus(t.get(), rec, err, 0xFFFFFFFFu));
  // out_error may be NULL: the failure is then the NULL span alone.
  std::string bad = Rec({"x", "lonely"});
  EXPECT_EQ(agtrace_span_start_packed(t.get(), nullptr, nullptr, AGTRACE_KIND_PLAIN, Bytes(bad), bad.size(), nullptr),
            nullptr);
  EXPECT_EQ(t.stats().started, 0u);
  EXPECT_EQ(t.spans().size(), 0u);
}

// Each bad start record: NULL, an error naming the problem, nothing started.
struct BadRecord {
  const char* what;
  std::string record;
  agtrace_status_t code;
  const char* mention;
};

void ExpectStartRejects(const std::vector<BadRecord>& cases, const char* stem) {
  FileTracer t(stem);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const uint64_t started = t.stats().started;
    // As a binding does: first without an error object, then again for it.
    agtrace_span_t* s = agtrace_span_start_packed(t.get(), nullptr, nullptr, AGTRACE_KIND_PLAIN, Bytes(c.record),
                                                  c.record.size(), nullptr);
    EXPECT_EQ(s, nullptr);
    agtrace_span_free(s);
    EXPECT_FAIL_MENTIONING(c.code, c.mention, StartStatus(t.get(), c.record, err));
    EXPECT_EQ(t.stats().started, started) << "a failed start must start nothing";
  }
  auto spans = t.spans();
  size_t abandoned = 0;
  for (const auto& s : spans) abandoned += s.boolean("agtrace.abandoned");
  EXPECT_EQ(spans.size(), 0u) << "spans exported by failed starts (" << abandoned << " marked abandoned)";
}

// Not UTF-8 is reported as INVALID_ARGUMENT by the packed path, where the rest
// of the ABI says INVALID_UTF8; either is accepted here, the message must say.
TEST(PackedStart, InvalidUtf8StartsNothing) {
  FileTracer t("packed-utf8");
  const std::string records[] = {
      std::string("name \x80 bad"),
      Rec({"ok name", "key", "value \xc0\xaf"}),
      Rec({"ok name", "k\xff", "v"}),
  };
  for (const auto& r : records) {
    agtrace_error_t* e = nullptr;
    agtrace_span_t* s =
        agtrace_span_start_packed(t.get(), nullptr, nullptr, AGTRACE_KIND_PLAIN, Bytes(r), r.size(), &e);
    EXPECT_EQ(s, nullptr);
    agtrace_span_free(s);
    agtrace_status_t code = agtrace_error_code(e);
    EXPECT_TRUE(code == AGTRACE_ERR_INVALID_UTF8 || code == AGTRACE_ERR_INVALID_ARGUMENT) << code;
    std::string msg = agtrace_error_message(e);
    EXPECT_NE(msg.find("UTF-8"), std::string::npos) << msg;
    agtrace_error_free(e);
  }
  EXPECT_EQ(t.stats().started, 0u);
  EXPECT_EQ(t.spans().size(), 0u);
}

TEST(PackedStart, BadFieldsStartNothing) {
  ExpectStartRejects(
      {
          {"empty name", Rec({"", "k", "v"}), AGTRACE_ERR_INVALID_ARGUMENT, "span name is empty"},
          {"empty record", "", AGTRACE_ERR_INVALID_ARGUMENT, "span name is empty"},
          {"key without value", Rec({"n", "good", "1", "lonely"}), AGTRACE_ERR_INVALID_ARGUMENT,
           "`lonely` has no value"},
          {"trailing NUL", Rec({"n", "good", "1", ""}), AGTRACE_ERR_INVALID_ARGUMENT, "has no value"},
          {"control character in a key", Rec({"n", "a\x07" "b", "v"}), AGTRACE_ERR_INVALID_ARGUMENT,
           "control character"},
          {"control character in a typed key", Rec({"n", Typed("a\nb"), "1"}), AGTRACE_ERR_INVALID_ARGUMENT,
           "control character"},
          {"empty key", Rec({"n", "", "v"}), AGTRACE_ERR_INVALID_ARGUMENT, "attribute key"},
          {"bad JSON after \\x01", Rec({"n", Typed("k"), "{bad"}), AGTRACE_ERR_INVALID_ARGUMENT, "attribute k"},
          {"empty JSON after \\x01", Rec({"n", Typed("j"), ""}), AGTRACE_ERR_INVALID_ARGUMENT, "not JSON"},
          {"bad pair among good ones", Rec({"n", "ok", "1", Typed("bad.json"), "[1,", "ok2", "2"}),
           AGTRACE_ERR_INVALID_ARGUMENT, "bad.json"},
      },
      "packed-bad-fields");
}

// An op that fails at start must not leave a started (then abandoned) span:
// the header promises a failed call has no effect, and bindings call again
// with an error object to learn why.
TEST(PackedStart, BadOpsStartNothing) {
  ExpectStartRejects(
      {
          {"unknown op", Rec({"n", Op("bogus"), "x"}), AGTRACE_ERR_INVALID_ARGUMENT, "unknown op `bogus`"},
          {"bad status", Rec({"n", Op("status"), "3"}), AGTRACE_ERR_INVALID_ARGUMENT, "status"},
          {"bad usage", Rec({"n", Op("usage"), "1,2"}), AGTRACE_ERR_INVALID_ARGUMENT, "usage"},
          {"usage not a count", Rec({"n", Op("usage"), "1,x,,,"}), AGTRACE_ERR_INVALID_ARGUMENT, "`x`"},
          {"llm not JSON", Rec({"n", Op("llm"), "{"}), AGTRACE_ERR_INVALID_ARGUMENT, "llm"},
          {"llm not an object", Rec({"n", Op("llm"), "[]"}), AGTRACE_ERR_INVALID_ARGUMENT, "not a JSON object"},
          {"tool without name", Rec({"n", Op("tool"), "{}"}), AGTRACE_ERR_INVALID_ARGUMENT, "tool.name"},
          {"event without name", Rec({"n", Op("event"), "{\"attributes\": {}}"}), AGTRACE_ERR_INVALID_ARGUMENT,
           "event.name"},
      },
      "packed-bad-ops");
}

TEST(PackedStart, AfterShutdownReturnsNullWithShutDown) {
  FileTracer t("packed-shutdown-start");
  EXPECT_OK(agtrace_tracer_shutdown(t.get(), 5000, nullptr, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, StartStatus(t.get(), "too late", err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, StartStatus(t.get(), Rec({"too late", "k", "v"}), err));
  EXPECT_EQ(t.stats().started, 0u);
  EXPECT_EQ(otlp::read_spans(t.path()).size(), 0u);
}

// --- ops -------------------------------------------------------------------------------

TEST(PackedOps, ShowUpInTheExport) {
  FileTracer t("packed-ops");
  agtrace_span_t* llm = StartPacked(
      t,
      Rec({"chat", Op("llm"), "{\"provider\": \"openai\", \"request_model\": \"gpt-4o\", \"finish_reasons\": [\"stop\"]}"}),
      AGTRACE_KIND_LLM);
  ASSERT_NE(llm, nullptr);
  EXPECT_OK(Record(llm, Rec({Op("event"), "{\"name\": \"retry\", \"attributes\": {\"attempt\": 2, \"why\": \"rate limit\"}}",
                             Op("first_chunk"), ""}),
                   err));
  EXPECT_OK(Record(llm, "", err));  // an empty record is fine
  EXPECT_OK(agtrace_span_record_packed(llm, nullptr, 0, err));
  EXPECT_TRUE(agtrace_span_is_recording(llm)) << "record_packed does not end the span";
  EXPECT_OK(Finish(llm,
                   Rec({Op("usage"), "412,57,100,,7",
                        Op("llm"), "{\"response_model\": \"gpt-4o-2024-08-06\", \"response_id\": \"chatcmpl-1\"}",
                        Op("name"), "chat gpt-4o", Op("status"), "2model refused"}),
                   err));

  agtrace_span_t* tool = StartPacked(t, Rec({"tool", Op("tool"), "{\"name\": \"get_weather\", \"call_id\": \"call_1\"}"}),
                                     AGTRACE_KIND_TOOL);
  EXPECT_OK(Finish(tool, Rec({Op("error"), "{\"type\": \"TimeoutError\", \"message\": \"no answer\", \"stacktrace\": \"at x\"}"}),
                   err));
  agtrace_span_t* agent =
      StartPacked(t, Rec({"agent", Op("agent"), "{\"name\": \"travel-assistant\", \"id\": \"agent-42\"}"}), AGTRACE_KIND_AGENT);
  EXPECT_OK(Finish(agent,
                   Rec({Op("trace"),
                        "{\"user_id\": \"user-7\", \"session_id\": \"s-1\", \"tags\": [\"a\", \"b\"], \"metadata\": {\"team\": \"search\"}}",
                        Op("status"), "1", Op("status"), "2too late: ok is final"}),
                   err));
  agtrace_span_t* unset = StartPacked(t, Rec({"unset", Op("status"), "2first"}));
  EXPECT_OK(Finish(unset, Rec({Op("status"), "0"}), err));
  agtrace_span_t* all[] = {llm, tool, agent, unset};
  agtrace_span_free_many(all, 4);

  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(otlp::one(spans, "chat"), nullptr) << "renamed";
  const otlp::Span* x = otlp::one(spans, "chat gpt-4o");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->str("gen_ai.provider.name"), "openai");
  EXPECT_EQ(x->str("gen_ai.request.model"), "gpt-4o");
  EXPECT_EQ(x->str("gen_ai.response.model"), "gpt-4o-2024-08-06");
  EXPECT_EQ(x->str("gen_ai.response.id"), "chatcmpl-1");
  ASSERT_EQ(x->array("gen_ai.response.finish_reasons").size(), 1u);
  EXPECT_EQ((*x->array("gen_ai.response.finish_reasons")[0])["stringValue"].str(), "stop");
  EXPECT_EQ(x->integer("gen_ai.usage.input_tokens"), 412);
  EXPECT_EQ(x->integer("gen_ai.usage.output_tokens"), 57);
  EXPECT_EQ(x->integer("gen_ai.usage.cache_read.input_tokens"), 100);
  EXPECT_FALSE(x->has("gen_ai.usage.cache_creation.input_tokens")) << "empty means zero, which is omitted";
  EXPECT_EQ(x->integer("gen_ai.usage.reasoning.output_tokens"), 7);
  EXPECT_TRUE(x->has("gen_ai.response.time_to_first_chunk"));
  EXPECT_GE(x->number("gen_ai.response.time_to_first_chunk"), 0.0);
  ASSERT_EQ(x->events.size(), 1u);
  EXPECT_EQ(x->events[0].name, "retry");
  EXPECT_EQ(x->events[0].attributes.at("attempt")["intValue"].str(), "2");
  EXPECT_EQ(x->events[0].attributes.at("why")["stringValue"].str(), "rate limit");
  EXPECT_EQ(x->status_code, 2);
  EXPECT_EQ(x->status_message, "model refused");

  const otlp::Span* tl = otlp::one(spans, "tool");
  ASSERT_NE(tl, nullptr);
  EXPECT_EQ(tl->str("gen_ai.tool.name"), "get_weather");
  EXPECT_EQ(tl->str("gen_ai.tool.call.id"), "call_1");
  ASSERT_EQ(tl->events.size(), 1u);
  EXPECT_EQ(tl->events[0].name, "exception");
  EXPECT_EQ(tl->events[0].attributes.at("exception.type")["stringValue"].str(), "TimeoutError");
  EXPECT_EQ(tl->events[0].attributes.at("exception.message")["stringValue"].str(), "no answer");
  EXPECT_EQ(tl->events[0].attributes.at("exception.stacktrace")["stringValue"].str(), "at x");
  EXPECT_EQ(tl->status_code, 2);
  EXPECT_EQ(tl->status_message, "no answer");

  const otlp::Span* ag = otlp::one(spans, "agent");
  ASSERT_NE(ag, nullptr);
  EXPECT_EQ(ag->str("gen_ai.agent.name"), "travel-assistant");
  EXPECT_EQ(ag->str("gen_ai.agent.id"), "agent-42");
  EXPECT_EQ(ag->str("user.id"), "user-7");
  EXPECT_EQ(ag->str("session.id"), "s-1");
  EXPECT_EQ(ag->array("tag.tags").size(), 2u);
  EXPECT_EQ(ag->status_code, 1) << "ok is final";
  EXPECT_EQ(otlp::one(spans, "unset")->status_code, 0);
}

TEST(PackedOps, MessagesOnlyWithContentCapture) {
  const std::string messages =
      "{\"input\": [{\"role\": \"user\", \"content\": \"hi\"}], \"output\": [{\"role\": \"assistant\", \"content\": \"hello\"}]}";
  {
    FileTracer t("packed-messages-off");
    agtrace_span_t* s = StartPacked(t, Rec({"chat", Op("messages"), messages}), AGTRACE_KIND_LLM);
    EXPECT_OK(Finish(s, "", err));
    agtrace_span_free(s);
    auto spans = t.spans();
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_FALSE(spans[0].has("gen_ai.input.messages"));
    EXPECT_FALSE(spans[0].has("gen_ai.output.messages"));
  }
  FileTracer t("packed-messages-on", {{"AGTRACE_CAPTURE_CONTENT", "true"}});
  agtrace_span_t* s = StartPacked(t, "chat", AGTRACE_KIND_LLM);
  EXPECT_OK(Finish(s, Rec({Op("messages"), messages}), err));
  agtrace_span_free(s);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(mini_json::parse(spans[0].str("gen_ai.input.messages"))[0]["content"].str(), "hi");
  EXPECT_EQ(mini_json::parse(spans[0].str("gen_ai.output.messages"))[0]["role"].str(), "assistant");
}

TEST(PackedRecord, BadPairIsReportedTheOthersApplyAndTheSpanStaysLive) {
  FileTracer t("packed-record");
  agtrace_span_t* s = StartPacked(t, "recorded");
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_ARGUMENT, "unknown op `nope`",
                         Record(s, Rec({"before", "1", Op("nope"), "", "after", "2"}), err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_ARGUMENT, "attribute j",
                         Record(s, Rec({Typed("j"), "{", "after.json", "3"}), err));
  EXPECT_TRUE(agtrace_span_is_recording(s));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_record_packed(s, nullptr, 3, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "span", Record(nullptr, Rec({"k", "v"}), err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "span", Finish(nullptr, Rec({"k", "v"}), err));
  EXPECT_OK(Finish(s, "", err));
  agtrace_span_free(s);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].str("before"), "1");
  EXPECT_EQ(spans[0].str("after"), "2");
  EXPECT_EQ(spans[0].str("after.json"), "3");
  EXPECT_FALSE(spans[0].has("j"));
}

// --- finishing ---------------------------------------------------------------------------

// A bad finish record: the error is returned, yet the span is ended (not
// abandoned) and exported once with the record's good pairs.
TEST(PackedFinish, BadRecordStillEndsTheSpanWithTheGoodPairs) {
  struct Case {
    const char* name;
    std::string record;
    agtrace_status_t code;
    const char* mention;
    bool good_after;  // the pair after the bad one is applied too
  };
  const Case cases[] = {
      {"control char key", Rec({"good.before", "1", "a\x01" "b", "v", "good.after", "2"}),
       AGTRACE_ERR_INVALID_ARGUMENT, "control character", true},
      {"bad json", Rec({"good.before", "1", Typed("k"), "{bad", "good.after", "2"}), AGTRACE_ERR_INVALID_ARGUMENT,
       "attribute k", true},
      {"unknown op", Rec({"good.before", "1", Op("bogus"), "x", "good.after", "2"}), AGTRACE_ERR_INVALID_ARGUMENT,
       "unknown op `bogus`", true},
      {"bad usage", Rec({"good.before", "1", Op("usage"), "lots", "good.after", "2"}), AGTRACE_ERR_INVALID_ARGUMENT,
       "usage", true},
      {"key without value", Rec({"good.before", "1", "lonely"}), AGTRACE_ERR_INVALID_ARGUMENT,
       "`lonely` has no value", false},
  };
  FileTracer t("packed-finish-bad");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    agtrace_span_t* s = StartPacked(t, c.name);
    EXPECT_FAIL_MENTIONING(c.code, c.mention, Finish(s, c.record, err));
    EXPECT_FALSE(agtrace_span_is_recording(s)) << "ended despite the error";
    EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, Finish(s, "", err));
    agtrace_span_free(s);
  }
  // Not UTF-8: nothing of the record applies, the span still ends.
  agtrace_span_t* s = StartPacked(t, "not utf-8");
  std::string bad = Rec({"good.before", "1", "k", "v\xff"});
  agtrace_error_t* e = nullptr;
  agtrace_status_t st = Finish(s, bad, &e);
  EXPECT_TRUE(st == AGTRACE_ERR_INVALID_UTF8 || st == AGTRACE_ERR_INVALID_ARGUMENT) << st;
  EXPECT_NE(std::string(agtrace_error_message(e)).find("UTF-8"), std::string::npos) << agtrace_error_message(e);
  agtrace_error_free(e);
  EXPECT_FALSE(agtrace_span_is_recording(s));
  agtrace_span_free(s);

  auto spans = t.spans();
  ASSERT_EQ(spans.size(), std::size(cases) + 1);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const otlp::Span* x = otlp::one(spans, c.name);
    ASSERT_NE(x, nullptr) << "exported once";
    EXPECT_FALSE(x->has("agtrace.abandoned"));
    EXPECT_EQ(x->str("good.before"), "1");
    if (c.good_after) {
      EXPECT_EQ(x->str("good.after"), "2");
    }
    for (const auto& kv : x->attributes) {
      EXPECT_EQ(kv.first.find("\x01"), std::string::npos) << "a bad key was recorded";
      EXPECT_NE(kv.first, "k");
      EXPECT_NE(kv.first, "lonely");
    }
  }
  const otlp::Span* u = otlp::one(spans, "not utf-8");
  ASSERT_NE(u, nullptr);
  EXPECT_FALSE(u->has("agtrace.abandoned"));
  EXPECT_FALSE(u->has("good.before"));
  EXPECT_EQ(t.stats().ended, std::size(cases) + 1);
}

TEST(PackedFinish, FinishingTwiceIsAlreadyEndedAndChangesNothing) {
  FileTracer t("packed-finish-twice");
  agtrace_span_t* s = StartPacked(t, "finished twice");
  EXPECT_OK(Finish(s, Rec({"first", "yes"}), err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, Finish(s, "", err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, Finish(s, Rec({"late", "1", Op("status"), "2late"}), err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, Record(s, Rec({"late", "1"}), err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_end(s, err));
  agtrace_span_free(s);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u) << "exported once";
  EXPECT_EQ(spans[0].str("first"), "yes");
  EXPECT_FALSE(spans[0].has("late"));
  EXPECT_EQ(spans[0].status_code, 0);
  EXPECT_FALSE(spans[0].has("agtrace.abandoned"));
}

TEST(PackedFinish, AfterShutdownIsShutDownAndNotExported) {
  FileTracer t("packed-finish-shutdown");
  agtrace_span_t* done = StartPacked(t, "finished before shutdown");
  agtrace_span_t* open = StartPacked(t, "open at shutdown");
  agtrace_span_t* open2 = StartPacked(t, "open at shutdown, empty record");
  EXPECT_OK(Finish(done, "", err));
  EXPECT_OK(agtrace_tracer_shutdown(t.get(), 10000, nullptr, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, Record(open, Rec({"k", "v"}), err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, Finish(open, Rec({"k", "v"}), err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, Finish(open2, "", err));
  EXPECT_FALSE(agtrace_span_is_recording(open));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, Finish(open, "", err));
  agtrace_span_t* all[] = {done, open, open2};
  agtrace_span_free_many(all, 3);
  agtrace_stats_t st = t.stats();
  EXPECT_EQ(st.ended, 3u);
  EXPECT_EQ(st.dropped_shutdown, 2u);
  auto spans = otlp::read_spans(t.path());
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "finished before shutdown");
}

TEST(PackedFinish, AFinishedSpanStillParentsLaterChildren) {
  FileTracer t("packed-finished-parent");
  agtrace_span_t* parent = StartPacked(t, "parent", AGTRACE_KIND_AGENT);
  EXPECT_OK(Finish(parent, "", err));
  agtrace_span_t* child = StartPacked(t, "late child", AGTRACE_KIND_TOOL, parent);
  ASSERT_NE(child, nullptr);
  agtrace_span_t* grandchild = StartPacked(t, "late grandchild", AGTRACE_KIND_LLM, child);
  agtrace_span_free(parent);  // the children keep what they need
  EXPECT_OK(Finish(grandchild, "", err));
  EXPECT_OK(Finish(child, "", err));
  agtrace_span_t* rest[] = {grandchild, child};
  agtrace_span_free_many(rest, 2);
  auto spans = t.spans();
  const otlp::Span* p = otlp::one(spans, "parent");
  const otlp::Span* c = otlp::one(spans, "late child");
  const otlp::Span* g = otlp::one(spans, "late grandchild");
  ASSERT_TRUE(p && c && g);
  EXPECT_EQ(c->parent_span_id, p->span_id);
  EXPECT_EQ(c->trace_id, p->trace_id);
  EXPECT_EQ(g->parent_span_id, c->span_id);
  EXPECT_EQ(g->trace_id, p->trace_id);
}

// --- freeing ----------------------------------------------------------------------------------

TEST(PackedFree, FreeManySkipsNullAndEndsUnendedSpansAsAbandoned) {
  FileTracer t("packed-free-many");
  agtrace_span_t* finished = StartPacked(t, "finished");
  agtrace_span_t* open1 = StartPacked(t, "never ended 1");
  agtrace_span_t* open2 = StartPacked(t, "never ended 2", AGTRACE_KIND_TOOL, finished);
  EXPECT_OK(Finish(finished, "", err));
  agtrace_span_free_many(nullptr, 0);
  agtrace_span_t* nulls[] = {nullptr, nullptr};
  agtrace_span_free_many(nulls, 2);
  agtrace_span_free_many(&open1, 0);  // zero handles: nothing is freed
  agtrace_span_t* batch[] = {nullptr, finished, open1, nullptr, open2};
  agtrace_span_free_many(batch, 5);

  agtrace_stats_t st = t.stats();
  EXPECT_EQ(st.started, 3u);
  EXPECT_EQ(st.ended, 3u);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 3u);
  const otlp::Span* f = otlp::one(spans, "finished");
  const otlp::Span* a = otlp::one(spans, "never ended 1");
  const otlp::Span* b = otlp::one(spans, "never ended 2");
  ASSERT_TRUE(f && a && b);
  EXPECT_FALSE(f->has("agtrace.abandoned"));
  EXPECT_TRUE(a->boolean("agtrace.abandoned"));
  EXPECT_TRUE(b->boolean("agtrace.abandoned"));
  EXPECT_EQ(b->parent_span_id, f->span_id);
}

// --- fork hooks -------------------------------------------------------------------------------

TEST(ForkHooks, NullTracerAndTheChildHookInTheOriginalProcess) {
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "tracer", agtrace_tracer_fork_prepare(nullptr, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "tracer", agtrace_tracer_fork_parent(nullptr, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "tracer", agtrace_tracer_fork_child(nullptr, err));

  FileTracer t("fork-noop");
  agtrace_span_t* before = StartPacked(t, "before");
  EXPECT_OK(Finish(before, "", err));
  agtrace_span_free(before);
  // Prepare and parent without a fork (as when fork() fails), nested.
  EXPECT_OK(agtrace_tracer_fork_prepare(t.get(), err));
  EXPECT_OK(agtrace_tracer_fork_prepare(t.get(), err));
  EXPECT_OK(agtrace_tracer_fork_parent(t.get(), err));
  EXPECT_OK(agtrace_tracer_fork_parent(t.get(), err));
  // In the process that made the tracer the child hook does nothing:
  // counters go on, and the exporter is the same.
  EXPECT_OK(agtrace_tracer_fork_child(t.get(), err));
  agtrace_span_t* after = StartPacked(t, "after");
  EXPECT_OK(Finish(after, "", err));
  agtrace_span_free(after);
  EXPECT_OK(agtrace_tracer_flush(t.get(), 10000, nullptr, err));
  agtrace_stats_t st = t.stats();
  EXPECT_EQ(st.started, 2u);
  EXPECT_EQ(st.exported, 2u);
  auto spans = t.spans();
  EXPECT_EQ(otlp::named(spans, "before").size(), 1u);
  EXPECT_EQ(otlp::named(spans, "after").size(), 1u);
  // Shut down: the hooks do nothing and succeed.
  EXPECT_OK(agtrace_tracer_fork_prepare(t.get(), err));
  EXPECT_OK(agtrace_tracer_fork_parent(t.get(), err));
  EXPECT_OK(agtrace_tracer_fork_child(t.get(), err));
}

// Whether this process runs under valgrind (whose LD_PRELOAD names its
// preload libraries, when valgrind.h is not installed).
bool UnderValgrind() {
#ifdef AGTEST_HAVE_VALGRIND_H
  return RUNNING_ON_VALGRIND != 0;
#else
  const char* preload = std::getenv("LD_PRELOAD");
  return preload && std::strstr(preload, "vgpreload");
#endif
}

// What the forked child checks. It may not use GoogleTest (its results would
// die with it), so each failed check writes its reason to stderr and returns
// its own code; 0 means every check passed. (Codes start at 10: valgrind's
// --error-exitcode is 1.)
int ChildChecks(const FileTracer& t, agtrace_span_t* open_across_fork) {
  auto fail = [](int code, const std::string& why) {
    std::fprintf(stderr, "forked child: %s\n", why.c_str());
    return code;
  };
  if (agtrace_tracer_fork_child(t.get(), nullptr) != AGTRACE_OK) return fail(10, "fork_child failed");
  agtrace_stats_t st{};
  agtrace_tracer_stats(t.get(), &st, nullptr);
  if (st.started != 0 || st.ended != 0 || st.exported != 0)
    return fail(11, "the child's counters did not restart at zero: started " + std::to_string(st.started));
  // Ended in the child, a span from before the fork is dropped silently.
  agtrace_span_finish_packed(open_across_fork, nullptr, 0, nullptr);

  std::string rec = Rec({"made-in-child", "pid", std::to_string(static_cast<long>(getpid()))});
  agtrace_span_t* child = agtrace_span_start_packed(t.get(), open_across_fork, nullptr, AGTRACE_KIND_TASK, Bytes(rec),
                                                    rec.size(), nullptr);
  if (!child) return fail(12, "start_packed failed in the child");
  if (agtrace_span_finish_packed(child, nullptr, 0, nullptr) != AGTRACE_OK) return fail(13, "finish_packed failed");
  agtrace_span_free(child);
  uint64_t undelivered = 1;
  if (agtrace_tracer_flush(t.get(), 20000, &undelivered, nullptr) != AGTRACE_OK)
    return fail(14, "flush failed in the child, undelivered " + std::to_string(undelivered));
  agtrace_tracer_stats(t.get(), &st, nullptr);
  if (st.started != 1 || st.ended != 1 || st.exported != 1)
    return fail(15, "child stats: started " + std::to_string(st.started) + ", ended " + std::to_string(st.ended) +
                        ", exported " + std::to_string(st.exported) + " (want 1, 1, 1)");
  // The file is shared with the parent (same settings): count by name.
  auto spans = otlp::read_spans(t.path());
  auto mine = otlp::named(spans, "made-in-child");
  if (mine.size() != 1) return fail(16, "made-in-child is in the file " + std::to_string(mine.size()) + " times");
  if (mine[0]->str("pid") != std::to_string(static_cast<long>(getpid()))) return fail(17, "made-in-child: wrong pid");
  agtrace_tracer_shutdown(t.get(), 10000, nullptr, nullptr);
#ifdef AGTEST_HAVE_VALGRIND_H
  // Memory errors in the child; its exit code cannot say (see below).
  if (VALGRIND_COUNT_ERRORS > 0) return fail(18, "memcheck found errors in the child (above)");
#endif
  return 0;
}

// The child's exit code, or -1 (after a test failure) when it died or hung.
int WaitForChild(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) {
      ADD_FAILURE() << "waitpid: " << std::strerror(errno);
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "the forked child hung (a deadlock on a lock inherited from the parent?)";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!WIFEXITED(status)) {
    ADD_FAILURE() << "the forked child died: status " << status;
    return -1;
  }
  return WEXITSTATUS(status);
}

// With the three hooks called around fork(), the child gets a pipeline and a
// file exporter of its own and exports only its spans, each once; the parent
// goes on exporting its own, each once. Both write to the same file (the
// child's exporter is built from the same settings), so spans are told apart
// by name.
TEST(ForkHooks, ChildExportsOnlyItsOwnSpansAndTheParentGoesOn) {
  FileTracer t("fork");
  agtrace_span_t* open_across_fork = StartPacked(t, "open-across-fork", AGTRACE_KIND_AGENT);
  // Ended just before the fork: possibly still in the parent's queue, which
  // the child inherits and must not export.
  agtrace_span_t* before = StartPacked(t, "parent-before-fork");
  EXPECT_OK(Finish(before, "", err));
  agtrace_span_free(before);

  // The child reports through a pipe as well as its exit code: under
  // valgrind its exit code is 1 whatever it found, because at its exit
  // memcheck counts the parent's pipeline, which the child inherits and never
  // touches (by design), as definitely lost.
  int report[2];
  ASSERT_EQ(pipe(report), 0) << std::strerror(errno);
  ASSERT_OK(agtrace_tracer_fork_prepare(t.get(), err));
  std::fflush(nullptr);  // nothing buffered is written twice
  pid_t pid = fork();
  if (pid == 0) {
    close(report[0]);
    int code = ChildChecks(t, open_across_fork);
    ssize_t written = write(report[1], &code, sizeof code);
    _exit(written == static_cast<ssize_t>(sizeof code) ? code : 19);
  }
  EXPECT_OK(agtrace_tracer_fork_parent(t.get(), err));
  close(report[1]);
  ASSERT_GT(pid, 0) << "fork: " << std::strerror(errno);
  int exit_code = WaitForChild(pid);
  int reported = -1;
  EXPECT_EQ(read(report[0], &reported, sizeof reported), static_cast<ssize_t>(sizeof reported))
      << "the child ended before reporting";
  close(report[0]);
  EXPECT_EQ(reported, 0) << "the child's reason is on stderr";
  if (UnderValgrind()) {
    EXPECT_TRUE(exit_code == reported || exit_code == 1) << exit_code;
  } else {
    EXPECT_EQ(exit_code, reported);
  }

  agtrace_span_t* after = StartPacked(t, "parent-after-fork", AGTRACE_KIND_PLAIN, open_across_fork);
  EXPECT_OK(Finish(after, "", err));
  EXPECT_OK(Finish(open_across_fork, "", err));
  agtrace_span_t* rest[] = {after, open_across_fork};
  agtrace_span_free_many(rest, 2);
  EXPECT_OK(agtrace_tracer_flush(t.get(), 10000, nullptr, err));
  agtrace_stats_t st = t.stats();
  EXPECT_EQ(st.started, 3u) << "the child's spans are not the parent's";
  EXPECT_EQ(st.ended, 3u);
  EXPECT_EQ(st.exported, 3u);

  auto spans = t.spans();
  for (const char* name : {"open-across-fork", "parent-before-fork", "parent-after-fork", "made-in-child"})
    EXPECT_EQ(otlp::named(spans, name).size(), 1u) << name << " must be exported exactly once";
  const otlp::Span* open = otlp::one(spans, "open-across-fork");
  const otlp::Span* child = otlp::one(spans, "made-in-child");
  ASSERT_TRUE(open && child);
  EXPECT_FALSE(open->has("agtrace.abandoned"));
  EXPECT_EQ(child->trace_id, open->trace_id) << "a span the child starts under an inherited one keeps its trace";
  EXPECT_EQ(child->parent_span_id, open->span_id);
  EXPECT_EQ(child->str("pid"), std::to_string(static_cast<long>(pid)));
  EXPECT_NE(child->span_id, otlp::one(spans, "parent-after-fork")->span_id);
}

}  // namespace
