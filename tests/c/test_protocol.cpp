// The span protocol (ffi/PROTOCOL.md) from C: messages built with
// support/protocol_message.hpp, applied with agtrace_spans_apply, checked
// through what the file exporter wrote; and the builder against the shared
// test vectors (ffi/protocol/vectors.json), so it encodes as every binding.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "support/c_api_helpers.hpp"
#include "support/protocol_message.hpp"

using namespace agtest;
using proto::kNow;
using proto::Message;

namespace {

// What one agtrace_spans_apply call gave.
struct Applied {
  agtrace_status_t status;
  std::string message;  // the error's, or empty
  agtrace_begun_t begun;
};

// Applies `m` and empties it, as a binding does after a crossing. `begun`
// starts as all 0xAB bytes, so a call that writes nothing shows.
Applied Apply(const agtrace_tracer_t* t, Message& m) {
  Applied a{};
  std::memset(&a.begun, 0xAB, sizeof a.begun);
  agtrace_error_t* e = nullptr;
  a.status = agtrace_spans_apply(t, m.data(), m.size(), &a.begun, &e);
  if (e) a.message = agtrace_error_message(e);
  EXPECT_EQ(agtrace_error_code(e), a.status) << "the error object's code is the status";
  agtrace_error_free(e);
  m.clear();
  return a;
}

// Applies a message ending in a BEGIN that must succeed; its span.
agtrace_begun_t Begin(const agtrace_tracer_t* t, Message& m) {
  Applied a = Apply(t, m);
  EXPECT_EQ(a.status, AGTRACE_OK) << a.message;
  EXPECT_NE(a.begun.handle, 0u);
  return a.begun;
}

agtrace_begun_t BeginRoot(const agtrace_tracer_t* t, const char* name, uint8_t kind = AGTRACE_KIND_PLAIN) {
  Message m;
  m.begin(kind, proto::Root(), name);
  return Begin(t, m);
}

// Ends `handle` now, with no items, in a call of its own.
void EndNow(const agtrace_tracer_t* t, uint64_t handle) {
  Message m;
  m.end(handle);
  Applied a = Apply(t, m);
  EXPECT_EQ(a.status, AGTRACE_OK) << a.message;
}

std::string TraceHex(const agtrace_begun_t& b) { return otlp::hex(b.trace_id, 16); }
std::string SpanHex(const agtrace_begun_t& b) { return otlp::hex(b.span_id, 8); }

agtrace_context_t* Extract(const FileTracer& t, std::vector<std::pair<const char*, const char*>> headers) {
  agtrace_headers_t* h = agtrace_headers_new();
  for (const auto& kv : headers) agtrace_headers_set(h, S(kv.first), S(kv.second), nullptr);
  agtrace_context_t* c = nullptr;
  EXPECT_OK(agtrace_extract(t.get(), h, &c, err));
  agtrace_headers_free(h);
  return c;
}

agtrace_headers_t* Inject(const FileTracer& t, const agtrace_context_t* c) {
  agtrace_headers_t* h = agtrace_headers_new();
  EXPECT_OK(agtrace_inject(t.get(), c, h, err));
  return h;
}

const char kRemoteTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
const char kRemoteSpanId[] = "00f067aa0ba902b7";
const char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// --- the version and the shared vectors -------------------------------------------

TEST(Protocol, VersionMatchesTheHeader) { EXPECT_EQ(agtrace_protocol_version(), AGTRACE_PROTOCOL_VERSION); }

uint8_t KindCode(const std::string& name) {
  static const std::pair<const char*, uint8_t> kinds[] = {
      {"plain", AGTRACE_KIND_PLAIN},         {"agent", AGTRACE_KIND_AGENT},         {"workflow", AGTRACE_KIND_WORKFLOW},
      {"task", AGTRACE_KIND_TASK},           {"llm", AGTRACE_KIND_LLM},             {"embedding", AGTRACE_KIND_EMBEDDING},
      {"retriever", AGTRACE_KIND_RETRIEVER}, {"reranker", AGTRACE_KIND_RERANKER},   {"tool", AGTRACE_KIND_TOOL},
      {"guardrail", AGTRACE_KIND_GUARDRAIL}, {"evaluator", AGTRACE_KIND_EVALUATOR},
  };
  for (const auto& k : kinds)
    if (name == k.first) return k.second;
  ADD_FAILURE() << "unknown kind in vectors.json: " << name;
  return 0;
}

uint8_t StatusCode(const std::string& name) {
  if (name == "ok") return AGTRACE_STATUS_OK;
  if (name == "error") return AGTRACE_STATUS_ERROR;
  EXPECT_EQ(name, "unset");
  return AGTRACE_STATUS_UNSET;
}

std::vector<uint8_t> Unhex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
  return out;
}

// A vectors.json offset: a number, or null for NOW.
uint64_t Offset(const mini_json::Value& v) { return v.is_null() ? kNow : std::strtoull(v.str().c_str(), nullptr, 10); }

std::vector<std::string_view> Strs(const mini_json::Value& v) {
  std::vector<std::string_view> out;
  for (const auto& s : v.items) out.push_back(s.str());
  return out;
}

proto::Parent ParentOf(const mini_json::Value& p) {
  if (p.is_string()) {
    EXPECT_EQ(p.str(), "root");
    return proto::Root();
  }
  if (p.has("context")) return proto::Context(std::strtoull(p["context"].str().c_str(), nullptr, 10));
  const bool local = p.has("local");
  const mini_json::Value& ids = local ? p["local"] : p["span"];
  std::vector<uint8_t> trace = Unhex(ids["trace_id"].str()), span = Unhex(ids["span_id"].str());
  EXPECT_EQ(trace.size(), 16u);
  EXPECT_EQ(span.size(), 8u);
  uint64_t inherit = ids.has("inherit") ? std::strtoull(ids["inherit"].str().c_str(), nullptr, 10) : 0;
  return proto::Ids(local ? AGTRACE_PROTO_PARENT_LOCAL : AGTRACE_PROTO_PARENT_SPAN, trace.data(), span.data(),
                    static_cast<uint8_t>(ids["flags"].integer()), inherit);
}

// Appends an attribute item ({"<type>": [key, value]}); false when `type` names no attribute type.
bool PutAttribute(Message& m, const std::string& type, const mini_json::Value& v) {
  const std::string& key = v[0].str();
  const mini_json::Value& x = v[1];
  if (type == "string") {
    m.string(key, x.str());
  } else if (type == "int") {
    m.integer(key, x.integer());
  } else if (type == "double") {
    m.number(key, x.number());
  } else if (type == "bool") {
    m.boolean(key, x.boolean);
  } else if (type == "string_array") {
    m.strings(key, Strs(x));
  } else if (type == "int_array") {
    std::vector<int64_t> xs;
    for (const auto& i : x.items) xs.push_back(i.integer());
    m.integers(key, xs);
  } else if (type == "double_array") {
    std::vector<double> xs;
    for (const auto& d : x.items) xs.push_back(d.number());
    m.numbers(key, xs);
  } else if (type == "bool_array") {
    std::vector<bool> xs;
    for (const auto& b : x.items) xs.push_back(b.boolean);
    m.booleans(key, xs);
  } else if (type == "json") {
    m.json(key, x.str());
  } else {
    return false;
  }
  return true;
}

void PutItem(Message& m, const mini_json::Value& item) {
  ASSERT_EQ(item.members.size(), 1u);
  const std::string& type = item.members[0].first;
  const mini_json::Value& v = item.members[0].second;
  if (PutAttribute(m, type, v)) return;
  if (type == "status") {
    m.status(StatusCode(v[0].str()), v[1].str());
  } else if (type == "error") {
    m.error(v[0].str(), v[1].str(), v[2].str());
  } else if (type == "usage") {
    m.usage(std::strtoull(v[0].str().c_str(), nullptr, 10), std::strtoull(v[1].str().c_str(), nullptr, 10),
            std::strtoull(v[2].str().c_str(), nullptr, 10), std::strtoull(v[3].str().c_str(), nullptr, 10),
            std::strtoull(v[4].str().c_str(), nullptr, 10));
  } else if (type == "llm") {
    m.llm(v["provider"].str(), v["request_model"].str(), v["response_model"].str(), v["response_id"].str(),
          Strs(v["finish_reasons"]));
  } else if (type == "tool") {
    m.tool(v[0].str(), v[1].str());
  } else if (type == "agent") {
    m.agent(v[0].str(), v[1].str());
  } else if (type == "messages") {
    m.messages(v[0].str(), v[1].str());
  } else if (type == "trace") {
    m.trace({v["user_id"].str(), v["session_id"].str(), v["conversation_id"].str(), v["environment"].str(),
             v["release"].str(), Strs(v["tags"]), v["metadata"].str()});
  } else if (type == "event" || type == "link") {
    const auto& attrs = v["attributes"].items;
    const auto count = static_cast<uint32_t>(attrs.size());
    if (type == "event") {
      m.event(v["name"].str(), Offset(v["offset_ns"]), count);
    } else {
      std::vector<uint8_t> trace = Unhex(v["trace_id"].str()), span = Unhex(v["span_id"].str());
      ASSERT_EQ(trace.size(), 16u);
      ASSERT_EQ(span.size(), 8u);
      m.link(trace.data(), span.data(), static_cast<uint8_t>(v["flags"].integer()), v["trace_state"].str(), count);
    }
    for (const auto& a : attrs) {
      ASSERT_EQ(a.members.size(), 1u);
      EXPECT_TRUE(PutAttribute(m, a.members[0].first, a.members[0].second)) << a.members[0].first;
    }
  } else if (type == "first_chunk") {
    m.first_chunk(Offset(v));
  } else if (type == "name") {
    m.name(v.str());
  } else {
    ADD_FAILURE() << "unknown item in vectors.json: " << type;
  }
}

void PutRecord(Message& m, const mini_json::Value& record) {
  ASSERT_EQ(record.members.size(), 1u);
  const std::string& type = record.members[0].first;
  const mini_json::Value& r = record.members[0].second;
  if (type == "begin") {
    m.begin(KindCode(r["kind"].str()), ParentOf(r["parent"]), r["name"].str());
  } else if (type == "end" || type == "abandon") {
    uint64_t handle = std::strtoull(r["handle"].str().c_str(), nullptr, 10);
    uint64_t duration = Offset(r["duration_ns"]);
    type == "end" ? m.end(handle, duration) : m.abandon(handle, duration);
  } else {
    FAIL() << "unknown record in vectors.json: " << type;
  }
  for (const auto& item : r["items"].items) PutItem(m, item);
}

// The builder writes exactly each encodable vector's bytes (those marked
// "encode": false are malformed on purpose: the decoder's tests use them).
TEST(ProtocolVectors, TheBuilderWritesEachVectorsBytes) {
  const std::string text = otlp::read_file(AGTRACE_PROTOCOL_VECTORS);
  ASSERT_FALSE(text.empty()) << "cannot read " << AGTRACE_PROTOCOL_VECTORS;
  const mini_json::Value doc = mini_json::parse(text);
  EXPECT_EQ(doc["version"].integer(), AGTRACE_PROTOCOL_VERSION);
  size_t checked = 0;
  for (const auto& v : doc["vectors"].items) {
    if (v.has("encode") && !v["encode"].boolean) continue;
    SCOPED_TRACE(v["name"].str());
    Message m;
    for (const auto& r : v["records"].items) PutRecord(m, r);
    EXPECT_EQ(m.hex(), v["hex"].str());
    ++checked;
  }
  EXPECT_GE(checked, 9u) << "the encodable vectors were not all found";
}

// --- BEGIN and END ------------------------------------------------------------------

TEST(ProtocolBegin, GivesIdsFlagsAndAHandleAndTheEndSetsTheDuration) {
  FileTracer t("proto-begin");
  Message m;
  m.begin(AGTRACE_KIND_AGENT, proto::Root(), "planned").string("at.start", "yes");
  agtrace_begun_t b = Begin(t.get(), m);
  EXPECT_EQ(b.flags & 1, 1) << "sampled";
  EXPECT_NE(TraceHex(b), std::string(32, '0'));
  EXPECT_NE(SpanHex(b), std::string(16, '0'));
  EXPECT_EQ(t.stats().started, 1u);

  const uint64_t duration = 1234567891;  // about 1.23 s, recorded without waiting
  m.end(b.handle, duration).string("at.end", "too");
  Applied a = Apply(t.get(), m);
  EXPECT_EQ(a.status, AGTRACE_OK) << a.message;
  EXPECT_TRUE(a.message.empty());
  EXPECT_EQ(a.begun.handle, 0u) << "without a BEGIN, out is zeroed";
  EXPECT_EQ(t.stats().ended, 1u);

  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  const otlp::Span& x = spans[0];
  EXPECT_EQ(x.name, "planned");
  EXPECT_EQ(x.trace_id, TraceHex(b));
  EXPECT_EQ(x.span_id, SpanHex(b));
  EXPECT_EQ(x.parent_span_id, "");
  EXPECT_EQ(x.str("agtrace.kind"), "agent");
  EXPECT_EQ(x.str("at.start"), "yes");
  EXPECT_EQ(x.str("at.end"), "too");
  EXPECT_FALSE(x.has("agtrace.abandoned"));
  ASSERT_GT(x.end_ns, x.start_ns);
  EXPECT_NEAR(static_cast<double>(x.end_ns - x.start_ns), static_cast<double>(duration), 1000.0)
      << "end - start is the END's duration, to a microsecond";
}

TEST(ProtocolBegin, AnUnsampledSpanHasHandleZeroAndItsEndIsAccepted) {
  FileTracer t("proto-unsampled");
  ASSERT_OK(agtrace_tracer_set_sampling_rate(t.get(), 0.0, err));
  Message m;
  m.begin(AGTRACE_KIND_PLAIN, proto::Root(), "not sampled");
  Applied a = Apply(t.get(), m);
  EXPECT_EQ(a.status, AGTRACE_OK) << a.message;
  EXPECT_EQ(a.begun.handle, 0u);
  EXPECT_EQ(a.begun.flags & 1, 0) << "not sampled";
  m.end(0).string("k", "v");
  a = Apply(t.get(), m);
  EXPECT_EQ(a.status, AGTRACE_OK) << a.message;
  EXPECT_EQ(t.stats().unsampled, 1u);
  EXPECT_EQ(t.spans().size(), 0u);
}

TEST(ProtocolBegin, PendingEndsAndABeginGoInOneCall) {
  FileTracer t("proto-one-crossing");
  agtrace_begun_t first = BeginRoot(t.get(), "first");
  agtrace_begun_t second = BeginRoot(t.get(), "second");
  Message m;
  m.end(first.handle, 1000).integer("order", 1);
  m.end(second.handle, 2000).integer("order", 2);
  m.begin(AGTRACE_KIND_TOOL, proto::Root(), "third").integer("order", 3);
  Applied a = Apply(t.get(), m);
  ASSERT_EQ(a.status, AGTRACE_OK) << a.message;
  ASSERT_NE(a.begun.handle, 0u);
  agtrace_stats_t st = t.stats();
  EXPECT_EQ(st.started, 3u);
  EXPECT_EQ(st.ended, 2u) << "both ENDs applied before the BEGIN";
  EndNow(t.get(), a.begun.handle);

  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 3u);
  for (auto [name, order] : {std::pair<const char*, int>{"first", 1}, {"second", 2}, {"third", 3}}) {
    const otlp::Span* s = otlp::one(spans, name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->integer("order"), order);
  }
  EXPECT_EQ(otlp::one(spans, "third")->span_id, SpanHex(a.begun));
  const otlp::Span* s2 = otlp::one(spans, "second");
  EXPECT_NEAR(static_cast<double>(s2->end_ns - s2->start_ns), 2000.0, 1000.0);
}

// --- items ----------------------------------------------------------------------------

TEST(ProtocolItems, EveryAttributeTypeIsExported) {
  FileTracer t("proto-attributes");
  Message m;
  m.begin(AGTRACE_KIND_TOOL, proto::Root(), "typed")
      .string("s", "caf\xc3\xa9 \"quoted\"")
      .string("s.empty", "")
      .integer("i", INT64_MIN)
      .number("d", 2.5)
      .boolean("b", true)
      .boolean("b.false", false)
      .strings("sa", {"a", "", "\xc3\xbc"})
      .integers("ia", {1, -2, 3})
      .numbers("da", {0.5, -1.25})
      .booleans("ba", {true, false})
      .json("j.int", "42")
      .json("j.ints", "[1, 2]")
      .json("j.mixed", "[\"a\", 1]")
      .json("j.object", "{\"city\": \"Lisbon\"}")
      .json("j.not_json", "{nope")
      .integer("replaced", 1);
  agtrace_begun_t b = Begin(t.get(), m);
  m.end(b.handle).integer("replaced", 2).string("at.end", "yes");
  EXPECT_EQ(Apply(t.get(), m).status, AGTRACE_OK);

  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  const otlp::Span& x = spans[0];
  EXPECT_EQ(x.str("s"), "caf\xc3\xa9 \"quoted\"");
  EXPECT_TRUE(x.has("s.empty"));
  EXPECT_EQ(x.str("s.empty"), "");
  EXPECT_EQ(x.integer("i"), INT64_MIN);
  EXPECT_DOUBLE_EQ(x.number("d"), 2.5);
  EXPECT_TRUE(x.boolean("b"));
  EXPECT_TRUE(x.attr("b.false").has("boolValue"));
  EXPECT_FALSE(x.boolean("b.false"));
  auto sa = x.array("sa");
  ASSERT_EQ(sa.size(), 3u);
  EXPECT_EQ((*sa[1])["stringValue"].str(), "");
  EXPECT_EQ((*sa[2])["stringValue"].str(), "\xc3\xbc");
  auto ia = x.array("ia");
  ASSERT_EQ(ia.size(), 3u);
  EXPECT_EQ((*ia[1])["intValue"].str(), "-2");
  auto da = x.array("da");
  ASSERT_EQ(da.size(), 2u);
  EXPECT_DOUBLE_EQ((*da[1])["doubleValue"].number(), -1.25);
  auto ba = x.array("ba");
  ASSERT_EQ(ba.size(), 2u);
  EXPECT_TRUE((*ba[0])["boolValue"].boolean);
  EXPECT_FALSE((*ba[1])["boolValue"].boolean);
  // JSON: scalars and uniform arrays become typed values, the rest its text.
  EXPECT_EQ(x.integer("j.int"), 42);
  EXPECT_EQ(x.array("j.ints").size(), 2u);
  EXPECT_EQ(mini_json::parse(x.str("j.mixed"))[1].integer(), 1);
  EXPECT_EQ(mini_json::parse(x.str("j.object"))["city"].str(), "Lisbon");
  EXPECT_EQ(x.str("j.not_json"), "{nope");
  EXPECT_EQ(x.integer("replaced"), 2) << "a later value replaces an earlier one";
  EXPECT_EQ(x.str("at.end"), "yes");
}

TEST(ProtocolItems, EveryOtherItemIsExported) {
  FileTracer t("proto-items");
  Message m;
  m.begin(AGTRACE_KIND_LLM, proto::Root(), "chat").llm("openai", "gpt-4o");
  agtrace_begun_t chat = Begin(t.get(), m);
  m.begin(AGTRACE_KIND_TOOL, proto::Root(), "tool").tool("get_weather", "call_1");
  agtrace_begun_t tool = Begin(t.get(), m);
  m.begin(AGTRACE_KIND_AGENT, proto::Root(), "agent").agent("travel-assistant", "agent-42");
  agtrace_begun_t agent = Begin(t.get(), m);
  m.begin(AGTRACE_KIND_PLAIN, proto::Root(), "unset").status(AGTRACE_STATUS_ERROR, "first");
  agtrace_begun_t unset = Begin(t.get(), m);

  m.end(chat.handle, 2000000)
      .usage(412, 57, 100, 0, 7)
      .llm("", "", "gpt-4o-2024-08-06", "chatcmpl-1", {"stop"})
      .event("retry", 250000, 2)
      .integer("attempt", 2)
      .string("why", "rate limit")
      .first_chunk(300000)
      .name("chat gpt-4o")
      .status(AGTRACE_STATUS_ERROR, "model refused");
  m.end(tool.handle).error("TimeoutError", "no answer", "at x");
  m.end(agent.handle)
      .trace({"user-7", "s-1", "conv-1", "development", "1.2.3", {"a", "b"}, "{\"team\": \"search\"}"})
      .status(AGTRACE_STATUS_OK)
      .status(AGTRACE_STATUS_ERROR, "too late: ok is final");
  m.end(unset.handle).status(AGTRACE_STATUS_UNSET);
  Applied a = Apply(t.get(), m);
  EXPECT_EQ(a.status, AGTRACE_OK) << a.message;

  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(otlp::one(spans, "chat"), nullptr) << "renamed";
  const otlp::Span* x = otlp::one(spans, "chat gpt-4o");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->str("gen_ai.provider.name"), "openai");
  EXPECT_EQ(x->str("gen_ai.request.model"), "gpt-4o") << "an empty string leaves it set";
  EXPECT_EQ(x->str("gen_ai.response.model"), "gpt-4o-2024-08-06");
  EXPECT_EQ(x->str("gen_ai.response.id"), "chatcmpl-1");
  ASSERT_EQ(x->array("gen_ai.response.finish_reasons").size(), 1u);
  EXPECT_EQ((*x->array("gen_ai.response.finish_reasons")[0])["stringValue"].str(), "stop");
  EXPECT_EQ(x->integer("gen_ai.usage.input_tokens"), 412);
  EXPECT_EQ(x->integer("gen_ai.usage.output_tokens"), 57);
  EXPECT_EQ(x->integer("gen_ai.usage.cache_read.input_tokens"), 100);
  EXPECT_FALSE(x->has("gen_ai.usage.cache_creation.input_tokens")) << "zero is omitted";
  EXPECT_EQ(x->integer("gen_ai.usage.reasoning.output_tokens"), 7);
  EXPECT_NEAR(x->number("gen_ai.response.time_to_first_chunk"), 0.0003, 1e-6) << "the offset, in seconds";
  ASSERT_EQ(x->events.size(), 1u);
  EXPECT_EQ(x->events[0].name, "retry");
  EXPECT_EQ(x->events[0].attributes.at("attempt")["intValue"].str(), "2");
  EXPECT_EQ(x->events[0].attributes.at("why")["stringValue"].str(), "rate limit");
  EXPECT_NEAR(static_cast<double>(x->events[0].time_ns - x->start_ns), 250000.0, 1000.0)
      << "the event's offset from the start";
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
  EXPECT_EQ(ag->str("gen_ai.conversation.id"), "conv-1");
  EXPECT_EQ(ag->str("deployment.environment.name"), "development");
  EXPECT_EQ(ag->str("agtrace.release"), "1.2.3");
  EXPECT_EQ(ag->array("tag.tags").size(), 2u);
  EXPECT_NE(ag->str("metadata").find("search"), std::string::npos) << ag->str("metadata");
  EXPECT_EQ(ag->status_code, 1) << "ok is final";
  EXPECT_EQ(otlp::one(spans, "unset")->status_code, 0) << "a later status replaces an error";
}

TEST(ProtocolItems, MessagesOnlyWithContentCapture) {
  const std::string input = "[{\"role\": \"user\", \"content\": \"hi\"}]";
  const std::string output = "[{\"role\": \"assistant\", \"content\": \"hello\"}]";
  {
    FileTracer t("proto-messages-off");
    Message m;
    m.begin(AGTRACE_KIND_LLM, proto::Root(), "chat").messages(input, output);
    agtrace_begun_t b = Begin(t.get(), m);
    EndNow(t.get(), b.handle);
    auto spans = t.spans();
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_FALSE(spans[0].has("gen_ai.input.messages"));
    EXPECT_FALSE(spans[0].has("gen_ai.output.messages"));
  }
  FileTracer t("proto-messages-on", {{"AGTRACE_CAPTURE_CONTENT", "true"}});
  agtrace_begun_t b = BeginRoot(t.get(), "chat", AGTRACE_KIND_LLM);
  Message m;
  m.end(b.handle).messages(input, "").messages("", output);  // an empty side is left as it was
  EXPECT_EQ(Apply(t.get(), m).status, AGTRACE_OK);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(mini_json::parse(spans[0].str("gen_ai.input.messages"))[0]["content"].str(), "hi");
  EXPECT_EQ(mini_json::parse(spans[0].str("gen_ai.output.messages"))[0]["role"].str(), "assistant");
}

// --- parents ----------------------------------------------------------------------------

TEST(ProtocolItems, LinksAtBeginAndAtEndAreExported) {
  FileTracer t("proto-links");
  const std::vector<uint8_t> trace = Unhex(kRemoteTraceId), span = Unhex(kRemoteSpanId);
  Message m;
  m.begin(AGTRACE_KIND_AGENT, proto::Root(), "turn 2")
      .link(trace.data(), span.data(), 1, "vendor=x", 1)
      .string("link.kind", "previous_turn");
  Applied a = Apply(t.get(), m);
  ASSERT_EQ(a.status, AGTRACE_OK) << a.message;
  Message end;
  const uint8_t other_span[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  end.end(a.begun.handle).link(trace.data(), other_span, 0, "", 0);
  ASSERT_EQ(Apply(t.get(), end).status, AGTRACE_OK);
  auto spans = t.spans();
  const otlp::Span* x = otlp::one(spans, "turn 2");
  ASSERT_NE(x, nullptr);
  ASSERT_EQ(x->links.size(), 2u);
  EXPECT_EQ(x->links[0].trace_id, kRemoteTraceId);
  EXPECT_EQ(x->links[0].span_id, kRemoteSpanId);
  EXPECT_EQ(x->links[0].attributes.at("link.kind").text, "previous_turn");
  EXPECT_EQ(x->links[1].span_id, "0102030405060708");
  EXPECT_TRUE(x->links[1].attributes.empty());
}

TEST(ProtocolParents, RootLocalSpanAndContext) {
  FileTracer t("proto-parents");
  agtrace_context_t* remote = Extract(t, {{"traceparent", kTraceparent}});
  ASSERT_NE(remote, nullptr);

  agtrace_begun_t root = BeginRoot(t.get(), "root", AGTRACE_KIND_AGENT);
  Message m;
  m.begin(AGTRACE_KIND_LLM, proto::Local(root), "local child");
  agtrace_begun_t local = Begin(t.get(), m);
  // The parent ends first: LOCAL made the core wait for its child's usage.
  m.end(root.handle);
  EXPECT_EQ(Apply(t.get(), m).status, AGTRACE_OK);
  m.end(local.handle).usage(100, 10);
  m.begin(AGTRACE_KIND_TOOL, proto::OfSpan(root), "late child");
  agtrace_begun_t late = Begin(t.get(), m);
  m.end(late.handle);
  m.begin(AGTRACE_KIND_AGENT, proto::Context(remote), "server");
  agtrace_begun_t server = Begin(t.get(), m);
  agtrace_context_free(remote);  // only needed while the BEGIN is applied
  EndNow(t.get(), server.handle);

  EXPECT_EQ(TraceHex(local), TraceHex(root));
  EXPECT_EQ(TraceHex(late), TraceHex(root));
  EXPECT_EQ(TraceHex(server), kRemoteTraceId);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 4u);
  const otlp::Span* r = otlp::one(spans, "root");
  const otlp::Span* l = otlp::one(spans, "local child");
  const otlp::Span* s = otlp::one(spans, "late child");
  const otlp::Span* sv = otlp::one(spans, "server");
  ASSERT_TRUE(r && l && s && sv);
  EXPECT_EQ(r->parent_span_id, "");
  EXPECT_EQ(l->trace_id, r->trace_id);
  EXPECT_EQ(l->parent_span_id, r->span_id);
  EXPECT_EQ(s->trace_id, r->trace_id);
  EXPECT_EQ(s->parent_span_id, r->span_id);
  EXPECT_EQ(sv->trace_id, kRemoteTraceId);
  EXPECT_EQ(sv->parent_span_id, kRemoteSpanId);
  EXPECT_EQ(r->integer("agtrace.usage.input_tokens"), 100) << "the LOCAL child's usage rolls up";
  EXPECT_EQ(r->integer("agtrace.usage.output_tokens"), 10);
  EXPECT_FALSE(r->has("agtrace.usage.incomplete"));
}

// Descendants of a span under a remote context with trace state and baggage
// name that context with INHERIT: the trace state is exported on them, and
// a context made from their ids with agtrace_context_new(..., inherit)
// injects both downstream.
TEST(ProtocolParents, InheritKeepsTraceStateAndBaggage) {
  FileTracer t("proto-inherit");
  agtrace_context_t* remote =
      Extract(t, {{"traceparent", kTraceparent}, {"tracestate", "vendor=opaque"}, {"baggage", "tenant=acme"}});
  ASSERT_NE(remote, nullptr);
  Message m;
  m.begin(AGTRACE_KIND_AGENT, proto::Context(remote), "server");
  agtrace_begun_t server = Begin(t.get(), m);
  m.begin(AGTRACE_KIND_TOOL, proto::Local(server, remote), "inheriting");
  agtrace_begun_t inheriting = Begin(t.get(), m);
  m.begin(AGTRACE_KIND_TOOL, proto::Local(server), "not inheriting");
  agtrace_begun_t plain = Begin(t.get(), m);

  agtrace_context_t* with = nullptr;
  agtrace_context_t* without = nullptr;
  ASSERT_OK(agtrace_context_new(inheriting.trace_id, inheriting.span_id, inheriting.flags, remote, &with, err));
  ASSERT_OK(agtrace_context_new(plain.trace_id, plain.span_id, plain.flags, nullptr, &without, err));
  uint8_t span_id[8];
  EXPECT_OK(agtrace_context_ids(with, nullptr, span_id, nullptr, err));
  EXPECT_EQ(otlp::hex(span_id, 8), SpanHex(inheriting));
  agtrace_headers_t* h1 = Inject(t, with);
  agtrace_headers_t* h2 = Inject(t, without);
  EXPECT_EQ(HeaderValue(h1, "traceparent"), "00-" + std::string(kRemoteTraceId) + "-" + SpanHex(inheriting) + "-01");
  EXPECT_EQ(HeaderValue(h1, "tracestate"), "vendor=opaque");
  EXPECT_NE(HeaderValue(h1, "baggage").find("tenant=acme"), std::string::npos) << HeaderValue(h1, "baggage");
  EXPECT_EQ(HeaderValue(h2, "traceparent"), "00-" + std::string(kRemoteTraceId) + "-" + SpanHex(plain) + "-01");
  EXPECT_EQ(HeaderValue(h2, "tracestate"), "<absent>");
  EXPECT_EQ(HeaderValue(h2, "baggage"), "<absent>");
  agtrace_headers_free(h1);
  agtrace_headers_free(h2);
  agtrace_context_free(with);
  agtrace_context_free(without);

  m.end(plain.handle).end(inheriting.handle).end(server.handle);
  EXPECT_EQ(Apply(t.get(), m).status, AGTRACE_OK);
  agtrace_context_free(remote);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(otlp::one(spans, "server")->trace_state, "vendor=opaque");
  EXPECT_EQ(otlp::one(spans, "inheriting")->trace_state, "vendor=opaque");
  EXPECT_EQ(otlp::one(spans, "not inheriting")->trace_state, "");
}

TEST(ProtocolParents, ContextNewChecksItsArguments) {
  uint8_t trace_id[16] = {1}, span_id[8] = {2};
  agtrace_context_t* c = nullptr;
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "trace_id",
                         agtrace_context_new(nullptr, span_id, 1, nullptr, &c, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "span_id",
                         agtrace_context_new(trace_id, nullptr, 1, nullptr, &c, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_context_new(trace_id, span_id, 1, nullptr, nullptr, err));
  ASSERT_OK(agtrace_context_new(trace_id, span_id, 0, nullptr, &c, err));
  uint8_t got[8];
  bool sampled = true;
  EXPECT_OK(agtrace_context_ids(c, nullptr, got, &sampled, err));
  EXPECT_EQ(got[0], 2);
  EXPECT_FALSE(sampled);
  agtrace_context_free(c);
}

// --- abandoned spans -----------------------------------------------------------------------

TEST(ProtocolAbandon, TheSpanIsExportedMarkedWithWhatTheRecordCarried) {
  FileTracer t("proto-abandon");
  Message m;
  m.begin(AGTRACE_KIND_LLM, proto::Root(), "dropped by hand").string("a", "1");
  agtrace_begun_t b = Begin(t.get(), m);
  m.abandon(b.handle, 5000)
      .string("b", "2")
      .llm("openai", "gpt-4o")
      .usage(10, 5)
      .status(AGTRACE_STATUS_ERROR, "never ended");
  EXPECT_EQ(Apply(t.get(), m).status, AGTRACE_OK);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  const otlp::Span& x = spans[0];
  EXPECT_TRUE(x.boolean("agtrace.abandoned"));
  EXPECT_EQ(x.str("a"), "1");
  EXPECT_EQ(x.str("b"), "2");
  EXPECT_EQ(x.str("gen_ai.provider.name"), "openai");
  EXPECT_EQ(x.str("gen_ai.request.model"), "gpt-4o");
  EXPECT_EQ(x.integer("gen_ai.usage.input_tokens"), 10);
  EXPECT_EQ(x.status_message, "never ended");
  EXPECT_NEAR(static_cast<double>(x.end_ns - x.start_ns), 5000.0, 1000.0) << "the record's duration";
}

// --- faults ------------------------------------------------------------------------------

TEST(ProtocolFaults, ABadUtf8ItemIsSkippedAndTheOthersApply) {
  FileTracer t("proto-utf8");
  agtrace_begun_t b = BeginRoot(t.get(), "with a bad value");
  Message m;
  m.end(b.handle).string("a", "1");
  const size_t at = m.size() + 1 + 4 + 1;  // the value's length prefix: after the code and the key "b"
  m.string("b", "ok\x80\xc0\xaf").string("c", "3");
  m.begin(AGTRACE_KIND_PLAIN, proto::Root(), "after it").string("k\xff", "v").string("d", "4");
  Applied a = Apply(t.get(), m);
  EXPECT_EQ(a.status, AGTRACE_ERR_INVALID_UTF8);
  EXPECT_NE(a.message.find("attribute b: not UTF-8"), std::string::npos) << a.message;
  EXPECT_NE(a.message.find("(byte " + std::to_string(at) + ")"), std::string::npos) << a.message;
  ASSERT_NE(a.begun.handle, 0u) << "the BEGIN after the fault still starts its span";
  EndNow(t.get(), a.begun.handle);

  // Each record's fault counted by what was wrong: a value, then a key.
  EXPECT_EQ(t.stats().misuse_bad_value, 1u);
  EXPECT_EQ(t.stats().misuse_bad_name, 1u);

  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 2u);
  const otlp::Span* x = otlp::one(spans, "with a bad value");
  ASSERT_NE(x, nullptr);
  EXPECT_FALSE(x->has("agtrace.abandoned"));
  EXPECT_EQ(x->str("a"), "1");
  EXPECT_FALSE(x->has("b"));
  EXPECT_EQ(x->str("c"), "3");
  const otlp::Span* y = otlp::one(spans, "after it");
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->str("d"), "4");
  EXPECT_EQ(y->attributes.count("k\xff"), 0u);
}

TEST(ProtocolFaults, AnUnknownItemCodeSkipsTheRestOfItsRecord) {
  FileTracer t("proto-unknown-item");
  agtrace_begun_t first = BeginRoot(t.get(), "first");
  agtrace_begun_t second = BeginRoot(t.get(), "second");
  Message m;
  m.end(first.handle).string("x", "1").u8(99).string("y", "2");
  m.end(second.handle).string("z", "3");
  Applied a = Apply(t.get(), m);
  EXPECT_EQ(a.status, AGTRACE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(a.message.find("unknown item 99"), std::string::npos) << a.message;
  EXPECT_EQ(t.stats().ended, 2u);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 2u);
  const otlp::Span* f = otlp::one(spans, "first");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->str("x"), "1");
  EXPECT_FALSE(f->has("y")) << "where the next item starts is unknown";
  EXPECT_FALSE(f->has("agtrace.abandoned"));
  EXPECT_EQ(otlp::one(spans, "second")->str("z"), "3");
}

TEST(ProtocolFaults, ATruncatedRecordEndsTheMessageAndATruncatedFieldItsRecord) {
  FileTracer t("proto-truncated");
  agtrace_begun_t a1 = BeginRoot(t.get(), "applied");
  agtrace_begun_t a2 = BeginRoot(t.get(), "cut off");
  agtrace_begun_t a3 = BeginRoot(t.get(), "short field");
  Message m;
  m.end(a1.handle).string("k", "v");
  m.end(a2.handle).string("lost", "yes");
  std::string cut = m.bytes().substr(0, m.size() - 3);  // the second record's length runs past the end
  agtrace_begun_t out{};
  agtrace_error_t* e = nullptr;
  EXPECT_EQ(agtrace_spans_apply(t.get(), reinterpret_cast<const uint8_t*>(cut.data()), cut.size(), &out, &e),
            AGTRACE_ERR_INVALID_ARGUMENT);
  std::string msg = agtrace_error_message(e);
  EXPECT_NE(msg.find("record"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  agtrace_error_free(e);
  EXPECT_EQ(t.stats().ended, 1u) << "the cut record was not applied: its span is still open";
  m.clear();

  // A string whose length runs past its record: that record's items stop,
  // its span ends, and the next record applies.
  m.end(a3.handle).string("before", "1").u8(AGTRACE_PROTO_ITEM_STRING).str("key").u32(100).u8('x');
  m.end(a2.handle).string("later", "yes");
  Applied r = Apply(t.get(), m);
  EXPECT_EQ(r.status, AGTRACE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(r.message.find("attribute key"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("truncated"), std::string::npos) << r.message;
  EXPECT_EQ(t.stats().ended, 3u);

  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(otlp::one(spans, "applied")->str("k"), "v");
  const otlp::Span* c = otlp::one(spans, "cut off");
  ASSERT_NE(c, nullptr) << "exported once, by its later END";
  EXPECT_FALSE(c->has("lost"));
  EXPECT_EQ(c->str("later"), "yes");
  const otlp::Span* s = otlp::one(spans, "short field");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->str("before"), "1");
  EXPECT_FALSE(s->has("key"));
}

TEST(ProtocolFaults, ABeginNotLastOrMalformedStartsNothing) {
  FileTracer t("proto-bad-begin");
  agtrace_begun_t b = BeginRoot(t.get(), "ended anyway");
  Message m;
  m.begin(AGTRACE_KIND_PLAIN, proto::Root(), "not last").end(b.handle);
  Applied a = Apply(t.get(), m);
  EXPECT_EQ(a.status, AGTRACE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(a.message.find("BEGIN must be the message's last record"), std::string::npos) << a.message;
  EXPECT_EQ(a.begun.handle, 0u) << "a BEGIN that starts nothing zeroes out";

  struct Case {
    const char* what;
    uint8_t kind;
    proto::Parent parent;
    std::string name;
    const char* mention;
  };
  proto::Parent bad_form;
  bad_form.form = 7;
  const Case cases[] = {
      {"unknown kind", 200, proto::Root(), "n", "unknown span kind 200"},
      {"empty name", AGTRACE_KIND_PLAIN, proto::Root(), "", "name: empty"},
      {"name not UTF-8", AGTRACE_KIND_PLAIN, proto::Root(), "n\xff", "name: not UTF-8"},
      {"unknown parent form", AGTRACE_KIND_PLAIN, bad_form, "n", "unknown parent form 7"},
      {"context handle 0", AGTRACE_KIND_PLAIN, proto::Context(uint64_t{0}), "n", "context handle 0x0 is unusable"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    m.begin(c.kind, c.parent, c.name);
    a = Apply(t.get(), m);
    EXPECT_NE(a.status, AGTRACE_OK);
    EXPECT_NE(a.message.find(c.mention), std::string::npos) << a.message;
    EXPECT_EQ(a.begun.handle, 0u);
  }
  agtrace_stats_t st = t.stats();
  EXPECT_EQ(st.started, 1u);
  EXPECT_EQ(st.ended, 1u);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "ended anyway");
}

TEST(ProtocolFaults, NullTracerOrMessage) {
  FileTracer t("proto-null");
  Message m;
  m.begin(AGTRACE_KIND_PLAIN, proto::Root(), "never");
  agtrace_begun_t out{};
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "tracer", agtrace_spans_apply(nullptr, m.data(), m.size(), &out, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "msg", agtrace_spans_apply(t.get(), nullptr, 4, &out, err));
  EXPECT_EQ(agtrace_spans_apply(t.get(), nullptr, 4, &out, nullptr), AGTRACE_ERR_NULL_ARGUMENT);
  EXPECT_OK(agtrace_spans_apply(t.get(), nullptr, 0, nullptr, err)) << "an empty message is nothing to do";
  EXPECT_EQ(out.handle, 0u);
  EXPECT_EQ(t.stats().started, 0u);
  EXPECT_EQ(t.spans().size(), 0u);
}

TEST(ProtocolShutdown, RecordsStillApplyButNothingIsExported) {
  FileTracer t("proto-shutdown");
  agtrace_begun_t open = BeginRoot(t.get(), "open at shutdown");
  ASSERT_OK(agtrace_tracer_shutdown(t.get(), 10000, nullptr, err));
  Message m;
  m.end(open.handle).string("k", "v");
  m.begin(AGTRACE_KIND_PLAIN, proto::Root(), "too late");
  Applied a = Apply(t.get(), m);
  EXPECT_EQ(a.status, AGTRACE_ERR_SHUT_DOWN) << a.message;
  agtrace_stats_t st = t.stats();
  EXPECT_EQ(st.ended, 1u);
  EXPECT_EQ(st.dropped_shutdown, 1u);
  // A span begun after shutdown is ended like any other when it has a handle.
  if (a.begun.handle != 0) {
    m.end(a.begun.handle);
    EXPECT_EQ(Apply(t.get(), m).status, AGTRACE_ERR_SHUT_DOWN);
  }
  st = t.stats();
  EXPECT_EQ(st.ended, st.started);
  EXPECT_EQ(st.dropped_shutdown, st.ended);
  EXPECT_EQ(otlp::read_spans(t.path()).size(), 0u);
}

}  // namespace
