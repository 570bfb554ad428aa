// The whole C ABI (include/agtrace.h), called directly: every function, its
// NULL handles and NULL out-pointers, bad strings and bad enum values, and
// what reaches the exporter (read back from the file exporter's OTLP/JSON).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/c_api_helpers.hpp"

using namespace agtest;

namespace {

// --- version, errors, strings ------------------------------------------------

TEST(Version, MatchesTheHeader) {
  std::string want = std::to_string(AGTRACE_VERSION_MAJOR) + "." + std::to_string(AGTRACE_VERSION_MINOR) + "." +
                     std::to_string(AGTRACE_VERSION_PATCH);
  ASSERT_NE(agtrace_version(), nullptr);
  EXPECT_EQ(std::string(agtrace_version()), want);
}

TEST(Errors, AccessorsAcceptNull) {
  EXPECT_EQ(agtrace_error_code(nullptr), AGTRACE_OK);
  ASSERT_NE(agtrace_error_message(nullptr), nullptr);
  EXPECT_STREQ(agtrace_error_message(nullptr), "");
  agtrace_error_free(nullptr);
}

TEST(Errors, OutErrorMayBeNull) {
  // Every failure below is reported by status alone, nothing allocated.
  EXPECT_EQ(agtrace_span_end(nullptr, nullptr), AGTRACE_ERR_NULL_ARGUMENT);
  EXPECT_EQ(agtrace_tracer_new(nullptr, nullptr, nullptr), AGTRACE_ERR_NULL_ARGUMENT);
  EXPECT_EQ(agtrace_config_set(nullptr, S("OTEL_SERVICE_NAME"), S("x"), nullptr), AGTRACE_ERR_NULL_ARGUMENT);
}

// The panic guard (a panic becomes AGTRACE_ERR_PANIC and the library stays
// usable) is tested in ffi/src/error.rs: the release library has no function
// that panics on purpose.

TEST(Strings, CstrAndStrN) {
  agtrace_str_t n = agtrace_cstr(nullptr);
  EXPECT_EQ(n.ptr, nullptr);
  EXPECT_EQ(n.len, 0u);
  const char* abc = "abc";
  agtrace_str_t s = agtrace_cstr(abc);
  EXPECT_EQ(s.ptr, abc);
  EXPECT_EQ(s.len, 3u);
  agtrace_str_t e = agtrace_cstr("");
  EXPECT_NE(e.ptr, nullptr);
  EXPECT_EQ(e.len, 0u);
  agtrace_str_t m = agtrace_str_n(abc, 2);
  EXPECT_EQ(m.ptr, abc);
  EXPECT_EQ(m.len, 2u);
  agtrace_string_free(nullptr);
}

// --- configuration -------------------------------------------------------------

TEST(Config, NullHandlesAndBadStrings) {
  agtrace_config_t* cfg = agtrace_config_new();
  ASSERT_NE(cfg, nullptr);
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "config", agtrace_config_set(nullptr, S("OTEL_SERVICE_NAME"), S("x"), err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "name", agtrace_config_set(cfg, kAbsent, S("x"), err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "name", agtrace_config_set(cfg, kNullWithLength, S("x"), err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "value", agtrace_config_set(cfg, S("OTEL_SERVICE_NAME"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_config_set(cfg, S("OTEL_SERVICE_NAME"), kNullWithLength, err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_UTF8, agtrace_config_set(cfg, kBadUtf8, S("x"), err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_UTF8, agtrace_config_set(cfg, S("OTEL_SERVICE_NAME"), kBadUtf8, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_config_ignore_env(nullptr, err));
  EXPECT_OK(agtrace_config_ignore_env(cfg, err));
  agtrace_config_free(cfg);
  agtrace_config_free(nullptr);
}

TEST(Config, UnknownNameFailsAtSet) {
  agtrace_config_t* cfg = agtrace_config_new();
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_ARGUMENT, "OTEL_SERVICE_NAM",
                         agtrace_config_set(cfg, S("OTEL_SERVICE_NAM"), S("x"), err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_ARGUMENT, agtrace_config_set(cfg, S(""), S("x"), err));
  EXPECT_OK(agtrace_config_set(cfg, S("OTEL_SERVICE_NAME"), S("x"), err));
  agtrace_config_free(cfg);
}

TEST(Config, BadValueFailsAtTracerNewNamingTheSetting) {
  // (OTLP settings are only checked when the OTLP exporter is on.)
  const std::pair<const char*, const char*> bad[] = {
      {"OTEL_BSP_MAX_QUEUE_SIZE", "lots"},
      {"AGTRACE_EXPORTERS", "carrier-pigeon"},
      {"AGTRACE_CAPTURE_CONTENT", "maybe"},
      {"OTEL_EXPORTER_OTLP_PROTOCOL", "smoke-signals"},
      {"AGTRACE_METADATA", "[not an object"},
  };
  for (const auto& kv : bad) {
    SCOPED_TRACE(kv.first);
    agtrace_config_t* cfg = agtrace_config_new();
    agtrace_config_ignore_env(cfg, nullptr);
    if (std::string(kv.first).rfind("OTEL_EXPORTER_OTLP", 0) == 0)
      agtrace_config_set(cfg, S("AGTRACE_EXPORTERS"), S("otlp"), nullptr);
    EXPECT_OK(agtrace_config_set(cfg, S(kv.first), S(kv.second), err));  // accepted here...
    agtrace_tracer_t* t = reinterpret_cast<agtrace_tracer_t*>(cfg);        // ...and *out_tracer is reset on failure
    EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_CONFIG, kv.first, agtrace_tracer_new(cfg, &t, err));
    EXPECT_EQ(t, nullptr);
    agtrace_config_free(cfg);
  }
}

TEST(Config, ExporterThatCannotBeCreatedIsReported) {
  agtrace_config_t* cfg = agtrace_config_new();
  agtrace_config_ignore_env(cfg, nullptr);
  agtrace_config_set(cfg, S("AGTRACE_EXPORTERS"), S("file"), nullptr);
  agtrace_config_set(cfg, S("AGTRACE_FILE_PATH"), S("/nonexistent-agtrace-dir/x/traces.jsonl"), nullptr);
  agtrace_tracer_t* t = nullptr;
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_EXPORTER, "/nonexistent-agtrace-dir", agtrace_tracer_new(cfg, &t, err));
  EXPECT_EQ(t, nullptr);
  agtrace_config_free(cfg);
}

TEST(Config, CodeWinsOverTheEnvironmentWhichIgnoreEnvDrops) {
  std::string path = otlp::temp_path("env");
  setenv("OTEL_SERVICE_NAME", "from-env", 1);
  setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.region=env-region", 1);
  auto service_of = [&](bool ignore_env, const char* code_name) {
    agtrace_config_t* cfg = agtrace_config_new();
    if (ignore_env) agtrace_config_ignore_env(cfg, nullptr);
    agtrace_config_set(cfg, S("AGTRACE_EXPORTERS"), S("file"), nullptr);
    agtrace_config_set(cfg, S("AGTRACE_FILE_PATH"), S(path), nullptr);
    if (code_name) agtrace_config_set(cfg, S("OTEL_SERVICE_NAME"), S(code_name), nullptr);
    agtrace_tracer_t* t = nullptr;
    EXPECT_OK(agtrace_tracer_new(cfg, &t, err));
    agtrace_config_free(cfg);
    agtrace_span_options_t o{};
    o.name = S("svc");
    agtrace_span_t* s = nullptr;
    agtrace_span_start(t, &o, &s, nullptr);
    agtrace_span_free(s);
    agtrace_tracer_shutdown(t, 5000, nullptr, nullptr);
    agtrace_tracer_free(t);
    auto spans = otlp::read_spans(path);
    std::remove(path.c_str());
    if (spans.size() != 1) return std::string("<") + std::to_string(spans.size()) + " spans>";
    return spans[0].resource["service.name"]["stringValue"].str() + "|" +
           spans[0].resource["deployment.region"]["stringValue"].str();
  };
  EXPECT_EQ(service_of(false, nullptr), "from-env|env-region");
  EXPECT_EQ(service_of(false, "from-code"), "from-code|env-region");
  EXPECT_EQ(service_of(true, nullptr), "unknown_service|");
  unsetenv("OTEL_SERVICE_NAME");
  unsetenv("OTEL_RESOURCE_ATTRIBUTES");
}

// --- tracer ----------------------------------------------------------------------

TEST(Tracer, NullArguments) {
  FileTracer t("tracer-null");
  agtrace_stats_t st{};
  char* json = nullptr;
  uint64_t undelivered = 42;
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "out_tracer", agtrace_tracer_new(nullptr, nullptr, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_tracer_flush(nullptr, 100, &undelivered, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_tracer_shutdown(nullptr, 100, &undelivered, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_tracer_stats(nullptr, &st, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "out_stats", agtrace_tracer_stats(t.get(), nullptr, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_tracer_stats_json(nullptr, &json, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "out_json", agtrace_tracer_stats_json(t.get(), nullptr, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_tracer_set_sampling_rate(nullptr, 0.5, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_tracer_add_tag(nullptr, S("x"), err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_tracer_add_tag(t.get(), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_tracer_add_tag(t.get(), kNullWithLength, err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_UTF8, agtrace_tracer_add_tag(t.get(), kBadUtf8, err));
  agtrace_tracer_free(nullptr);
}

TEST(Tracer, FromEnvironmentWithNullConfig) {
  setenv("AGTRACE_EXPORTERS", "none", 1);
  agtrace_tracer_t* t = nullptr;
  EXPECT_OK(agtrace_tracer_new(nullptr, &t, err));
  unsetenv("AGTRACE_EXPORTERS");
  ASSERT_NE(t, nullptr);
  EXPECT_OK(agtrace_tracer_shutdown(t, 1000, nullptr, err));
  agtrace_tracer_free(t);
}

TEST(Tracer, SamplingRate) {
  FileTracer t("sampling");
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    agtrace_error_t* e = nullptr;
    agtrace_status_t st = agtrace_tracer_set_sampling_rate(t.get(), bad, &e);
    EXPECT_TRUE(st == AGTRACE_ERR_INVALID_ARGUMENT || st == AGTRACE_ERR_INVALID_CONFIG) << bad << ": " << st;
    EXPECT_NE(e, nullptr);
    EXPECT_STRNE(agtrace_error_message(e), "");
    agtrace_error_free(e);
  }
  EXPECT_OK(agtrace_tracer_set_sampling_rate(t.get(), 0.0, err));
  agtrace_span_t* dropped = t.start("unsampled", AGTRACE_KIND_PLAIN, ParentRoot());
  EXPECT_FALSE(agtrace_span_is_recording(dropped));
  agtrace_context_t* c = nullptr;
  ASSERT_OK(agtrace_span_context(dropped, &c, err));
  bool sampled = true;
  EXPECT_OK(agtrace_context_ids(c, nullptr, nullptr, &sampled, err));
  EXPECT_FALSE(sampled);
  EXPECT_NE(TraceIdHex(c), std::string(32, '0'));  // still a real context for propagation
  agtrace_context_free(c);
  EXPECT_OK(agtrace_span_set_tool(dropped, S("t"), kAbsent, err));  // accepted, not recorded
  EXPECT_OK(agtrace_span_end(dropped, err));
  agtrace_span_free(dropped);

  EXPECT_OK(agtrace_tracer_set_sampling_rate(t.get(), 1.0, err));
  agtrace_span_t* kept = t.start("sampled", AGTRACE_KIND_PLAIN, ParentRoot());
  EXPECT_TRUE(agtrace_span_is_recording(kept));
  agtrace_span_free(kept);
  agtrace_stats_t st = t.stats();
  EXPECT_EQ(st.unsampled, 1u);
  auto spans = t.spans();
  EXPECT_EQ(otlp::named(spans, "unsampled").size(), 0u);
  EXPECT_EQ(otlp::named(spans, "sampled").size(), 1u);
}

TEST(Tracer, AddTagGoesOnLaterSpans) {
  FileTracer t("tags");
  EXPECT_OK(agtrace_tracer_add_tag(t.get(), S("nightly"), err));
  agtrace_span_free(t.start("tagged"));
  auto spans = t.spans();
  const otlp::Span* s = otlp::one(spans, "tagged");
  ASSERT_NE(s, nullptr);
  bool found = false;
  for (const auto* v : s->array("tag.tags")) found |= (*v)["stringValue"].str() == "nightly";
  EXPECT_TRUE(found) << "tag.tags of the span does not hold the tag";
}

TEST(Tracer, StatsJson) {
  FileTracer t("stats-json");
  for (int i = 0; i < 3; ++i) agtrace_span_free(t.start("s"));
  EXPECT_OK(agtrace_tracer_flush(t.get(), 10000, nullptr, err));
  char* json = nullptr;
  ASSERT_OK(agtrace_tracer_stats_json(t.get(), &json, err));
  ASSERT_NE(json, nullptr);
  mini_json::Value v = mini_json::parse(json);
  agtrace_string_free(json);
  EXPECT_EQ(v["started"].integer(), 3);
  EXPECT_EQ(v["ended"].integer(), 3);
  ASSERT_EQ(v["exporters"].size(), 1u);
  EXPECT_EQ(v["exporters"][0]["name"].str(), "file");
  EXPECT_EQ(v["exporters"][0]["exported"].integer(), 3);
  EXPECT_TRUE(v["dropped"].has("queue_full"));
}

// A TCP listener that never accepts: an OTLP exporter pointed at it connects
// and then waits forever for a response.
class HungEndpoint {
 public:
  HungEndpoint() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd_, 64) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      ADD_FAILURE() << "cannot listen on loopback";
    port_ = ntohs(a.sin_port);
  }
  ~HungEndpoint() { close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  int port_ = 0;
};

TEST(Tracer, FlushAndShutdownReturnWithinTheirTimeoutWhenTheExporterHangs) {
  HungEndpoint hung;
  agtrace_config_t* cfg = agtrace_config_new();
  agtrace_config_ignore_env(cfg, nullptr);
  agtrace_config_set(cfg, S("AGTRACE_EXPORTERS"), S("otlp"), nullptr);
  agtrace_config_set(cfg, S("OTEL_EXPORTER_OTLP_ENDPOINT"), S(hung.url()), nullptr);
  agtrace_config_set(cfg, S("OTEL_EXPORTER_OTLP_TIMEOUT"), S("60000"), nullptr);
  agtrace_config_set(cfg, S("AGTRACE_MAX_RETRIES"), S("0"), nullptr);
  agtrace_tracer_t* t = nullptr;
  ASSERT_OK(agtrace_tracer_new(cfg, &t, err));
  agtrace_config_free(cfg);
  agtrace_span_options_t o{};
  o.name = S("never delivered");
  for (int i = 0; i < 5; ++i) {
    agtrace_span_t* s = nullptr;
    agtrace_span_start(t, &o, &s, nullptr);
    agtrace_span_free(s);
  }
  using clock = std::chrono::steady_clock;
  uint64_t undelivered = 0;
  auto t0 = clock::now();
  EXPECT_FAIL(AGTRACE_ERR_TIMEOUT, agtrace_tracer_flush(t, 300, &undelivered, err));
  auto flush_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t0).count();
  EXPECT_GE(flush_ms, 250);
  EXPECT_LT(flush_ms, 5000);  // generous: valgrind runs this too
  EXPECT_EQ(undelivered, 5u);

  undelivered = 0;
  t0 = clock::now();
  EXPECT_FAIL(AGTRACE_ERR_TIMEOUT, agtrace_tracer_shutdown(t, 300, &undelivered, err));
  auto shutdown_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t0).count();
  EXPECT_LT(shutdown_ms, 5000);
  EXPECT_GT(undelivered, 0u);

  // A second shutdown waits again for the export still hanging and reports
  // the same spans, never a clean end; new spans are refused.
  undelivered = 0;
  t0 = clock::now();
  EXPECT_FAIL(AGTRACE_ERR_TIMEOUT, agtrace_tracer_shutdown(t, 300, &undelivered, err));
  EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t0).count(), 250);
  EXPECT_EQ(undelivered, 5u);
  agtrace_span_t* s = reinterpret_cast<agtrace_span_t*>(t);
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_start(t, &o, &s, err));
  EXPECT_EQ(s, nullptr);
  agtrace_stats_t st{};
  EXPECT_OK(agtrace_tracer_stats(t, &st, err));
  EXPECT_EQ(st.ended, st.dispatched + st.dropped_queue_full + st.dropped_queue_bytes + st.dropped_shutdown + st.pending);
  EXPECT_EQ(st.exported, 0u);
  t0 = clock::now();
  agtrace_tracer_free(t);
  auto free_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t0).count();
  EXPECT_LT(free_ms, 6000);
}

TEST(Tracer, FlushSucceedsAndReportsNothingUndelivered) {
  FileTracer t("flush");
  agtrace_span_free(t.start("flushed"));
  uint64_t undelivered = 42;
  EXPECT_OK(agtrace_tracer_flush(t.get(), 10000, &undelivered, err));
  EXPECT_EQ(undelivered, 0u);
  // Flushed means written: the file has the span before shutdown.
  EXPECT_EQ(otlp::named(otlp::read_spans(t.path()), "flushed").size(), 1u);
  EXPECT_OK(agtrace_tracer_flush(t.get(), 0, &undelivered, err));
  EXPECT_EQ(undelivered, 0u);
}

TEST(Tracer, FreeingTheLastHandleExportsWhatEndedAndLaterEndsReportShutDown) {
  std::string path = otlp::temp_path("outlive");
  agtrace_span_t* s = nullptr;
  agtrace_span_t* done = nullptr;
  agtrace_config_t* cfg = agtrace_config_new();
  agtrace_config_ignore_env(cfg, nullptr);
  agtrace_config_set(cfg, S("AGTRACE_EXPORTERS"), S("file"), nullptr);
  agtrace_config_set(cfg, S("AGTRACE_FILE_PATH"), S(path), nullptr);
  agtrace_tracer_t* t = nullptr;
  ASSERT_OK(agtrace_tracer_new(cfg, &t, err));
  agtrace_config_free(cfg);
  agtrace_span_options_t o{};
  o.name = S("ended before the free");
  ASSERT_OK(agtrace_span_start(t, &o, &done, err));
  ASSERT_OK(agtrace_span_end(done, err));
  o.name = S("outlives its tracer handle");
  ASSERT_OK(agtrace_span_start(t, &o, &s, err));
  agtrace_tracer_free(t);  // the last handle: shuts down, exports what ended
  // The live span's handle stays valid; its calls report the shutdown.
  EXPECT_EQ(agtrace_span_set_tool(s, S("late"), kAbsent, nullptr), AGTRACE_ERR_SHUT_DOWN);
  EXPECT_EQ(agtrace_span_end(s, nullptr), AGTRACE_ERR_SHUT_DOWN);
  agtrace_span_free(s);
  agtrace_span_free(done);
  auto spans = otlp::read_spans(path);
  std::remove(path.c_str());
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "ended before the free");
}

// --- starting spans -------------------------------------------------------------

TEST(SpanStart, ArgumentErrors) {
  FileTracer t("start-errors");
  agtrace_span_options_t o{};
  o.name = S("ok");
  agtrace_span_t* sentinel = reinterpret_cast<agtrace_span_t*>(&o);
  agtrace_span_t* s = sentinel;

  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "tracer", agtrace_span_start(nullptr, &o, &s, err));
  EXPECT_EQ(s, nullptr) << "*out_span must be NULL on failure";
  s = sentinel;
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "options", agtrace_span_start(t.get(), nullptr, &s, err));
  EXPECT_EQ(s, nullptr);
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "out_span", agtrace_span_start(t.get(), &o, nullptr, err));

  auto fails = [&](agtrace_status_t code, const char* mention, agtrace_span_options_t opts) {
    agtrace_span_t* out = sentinel;
    EXPECT_FAIL_MENTIONING(code, mention, agtrace_span_start(t.get(), &opts, &out, err));
    EXPECT_EQ(out, nullptr);
  };
  agtrace_span_options_t b = o;
  b.name = kAbsent;
  fails(AGTRACE_ERR_NULL_ARGUMENT, "name", b);
  b.name = kNullWithLength;
  fails(AGTRACE_ERR_NULL_ARGUMENT, "name", b);
  b.name = kBadUtf8;
  fails(AGTRACE_ERR_INVALID_UTF8, "name", b);
  b = o;
  b.kind = 11;
  fails(AGTRACE_ERR_INVALID_ARGUMENT, "kind", b);
  b.kind = 0xFFFFFFFFu;
  fails(AGTRACE_ERR_INVALID_ARGUMENT, "kind", b);
  b = o;
  b.parent.kind = 4;
  fails(AGTRACE_ERR_INVALID_ARGUMENT, "parent", b);
  b.parent.kind = AGTRACE_PARENT_SPAN;
  fails(AGTRACE_ERR_NULL_ARGUMENT, "parent.span", b);
  b.parent.kind = AGTRACE_PARENT_CONTEXT;
  fails(AGTRACE_ERR_NULL_ARGUMENT, "parent.context", b);
  b = o;
  b.attributes = nullptr;
  b.attributes_len = 2;
  fails(AGTRACE_ERR_NULL_ARGUMENT, "attributes", b);
  agtrace_attribute_t bad = Attr("k", IntValue(1));
  bad.value.type = 77;
  b.attributes = &bad;
  b.attributes_len = 1;
  fails(AGTRACE_ERR_INVALID_ARGUMENT, "unknown value type 77", b);

  EXPECT_EQ(t.stats().started, 0u) << "a failed start must not count as started";
  // Zero attributes with a NULL pointer is fine.
  b = o;
  b.attributes = nullptr;
  b.attributes_len = 0;
  s = nullptr;
  EXPECT_OK(agtrace_span_start(t.get(), &b, &s, err));
  agtrace_span_free(s);
  EXPECT_EQ(t.spans().size(), 1u);
}

TEST(SpanStart, EveryKindAndItsOtelKind) {
  FileTracer t("kinds");
  const char* names[] = {"plain", "agent", "workflow", "task", "llm", "embedding",
                         "retriever", "reranker", "tool", "guardrail", "evaluator"};
  for (agtrace_kind_t k = AGTRACE_KIND_PLAIN; k <= AGTRACE_KIND_EVALUATOR; ++k)
    agtrace_span_free(t.start(names[k], k, ParentRoot()));
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 11u);
  for (agtrace_kind_t k = AGTRACE_KIND_PLAIN; k <= AGTRACE_KIND_EVALUATOR; ++k) {
    const otlp::Span* s = otlp::one(spans, names[k]);
    ASSERT_NE(s, nullptr) << names[k];
    bool client = k == AGTRACE_KIND_LLM || k == AGTRACE_KIND_EMBEDDING;
    EXPECT_EQ(s->kind, client ? 3 : 1) << names[k];  // OTLP SpanKind: 3 CLIENT, 1 INTERNAL
    if (k != AGTRACE_KIND_PLAIN) {
      EXPECT_EQ(s->str("agtrace.kind"), names[k]);
    }
  }
  EXPECT_EQ(otlp::one(spans, "llm")->str("gen_ai.operation.name"), "chat");
  EXPECT_EQ(otlp::one(spans, "tool")->str("gen_ai.operation.name"), "execute_tool");
  EXPECT_EQ(otlp::one(spans, "agent")->str("gen_ai.operation.name"), "invoke_agent");
}

TEST(SpanStart, AttributesInTheOptions) {
  FileTracer t("start-attrs");
  agtrace_attribute_t attrs[] = {Attr("a.int", IntValue(7)), Attr("a.str", StrValue(S("seven")))};
  agtrace_span_free(t.start("with attributes", AGTRACE_KIND_TASK, ParentRoot(), attrs, 2));
  auto spans = t.spans();
  const otlp::Span* s = otlp::one(spans, "with attributes");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->integer("a.int"), 7);
  EXPECT_EQ(s->str("a.str"), "seven");
}

// --- attributes -------------------------------------------------------------------

TEST(Attributes, EveryValueType) {
  FileTracer t("attr-types");
  agtrace_span_t* s = t.start("typed");
  agtrace_str_t strs[] = {S("a"), S("b\xc3\xa9")};  // "bé"
  unsigned char bool_bytes[] = {1, 0, 2};             // any non-zero byte is true
  int64_t ints[] = {-1, 0, INT64_MAX};
  double doubles[] = {0.5, -2.25};
  std::vector<agtrace_attribute_t> a;
  agtrace_value_t v{};
  a.push_back(Attr("t.string", StrValue(S("hello \"quoted\" \xe2\x9c\x93"))));
  v = agtrace_value_t{};
  v.type = AGTRACE_VALUE_BOOL;
  v.boolean = true;
  a.push_back(Attr("t.bool", v));
  a.push_back(Attr("t.int", IntValue(INT64_MIN)));
  v = agtrace_value_t{};
  v.type = AGTRACE_VALUE_DOUBLE;
  v.number = 3.25;
  a.push_back(Attr("t.double", v));
  v = agtrace_value_t{};
  v.type = AGTRACE_VALUE_STRING_ARRAY;
  v.array = strs;
  v.array_len = 2;
  a.push_back(Attr("t.strings", v));
  v.type = AGTRACE_VALUE_BOOL_ARRAY;
  v.array = bool_bytes;
  v.array_len = 3;
  a.push_back(Attr("t.bools", v));
  v.type = AGTRACE_VALUE_INT_ARRAY;
  v.array = ints;
  v.array_len = 3;
  a.push_back(Attr("t.ints", v));
  v.type = AGTRACE_VALUE_DOUBLE_ARRAY;
  v.array = doubles;
  v.array_len = 2;
  a.push_back(Attr("t.doubles", v));
  v.type = AGTRACE_VALUE_INT_ARRAY;  // an empty array may have a NULL pointer
  v.array = nullptr;
  v.array_len = 0;
  a.push_back(Attr("t.empty", v));
  a.push_back(Attr("t.json", StrValue(S("{\"city\": \"Lisbon\", \"days\": [1, 2]}"), AGTRACE_VALUE_JSON)));
  a.push_back(Attr("t.empty_string", StrValue(S(""))));
  ASSERT_OK(agtrace_span_set_attributes(s, a.data(), a.size(), err));
  EXPECT_OK(agtrace_span_set_attributes(s, nullptr, 0, err));  // nothing to set
  agtrace_span_free(s);

  auto spans = t.spans();
  const otlp::Span* x = otlp::one(spans, "typed");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->str("t.string"), "hello \"quoted\" \xe2\x9c\x93");
  EXPECT_TRUE(x->boolean("t.bool"));
  EXPECT_EQ(x->integer("t.int"), INT64_MIN);
  EXPECT_DOUBLE_EQ(x->number("t.double"), 3.25);
  auto sa = x->array("t.strings");
  ASSERT_EQ(sa.size(), 2u);
  EXPECT_EQ((*sa[1])["stringValue"].str(), "b\xc3\xa9");
  auto ba = x->array("t.bools");
  ASSERT_EQ(ba.size(), 3u);
  EXPECT_TRUE((*ba[0])["boolValue"].boolean);
  EXPECT_FALSE((*ba[1])["boolValue"].boolean);
  EXPECT_TRUE((*ba[2])["boolValue"].boolean);
  auto ia = x->array("t.ints");
  ASSERT_EQ(ia.size(), 3u);
  EXPECT_EQ(std::stoll((*ia[2])["intValue"].str()), INT64_MAX);
  auto da = x->array("t.doubles");
  ASSERT_EQ(da.size(), 2u);
  EXPECT_DOUBLE_EQ((*da[1])["doubleValue"].number(), -2.25);
  EXPECT_TRUE(x->has("t.empty"));
  // JSON is checked, then stored as a string.
  mini_json::Value j = mini_json::parse(x->str("t.json"));
  EXPECT_EQ(j["city"].str(), "Lisbon");
  EXPECT_EQ(j["days"].size(), 2u);
  EXPECT_TRUE(x->has("t.empty_string"));
  EXPECT_EQ(x->str("t.empty_string"), "");
}

TEST(Attributes, BadInputIsRejectedAllOrNothing) {
  FileTracer t("attr-errors");
  agtrace_span_t* s = t.start("guarded");
  agtrace_attribute_t good = Attr("good", IntValue(1));
  auto rejects = [&](agtrace_status_t code, const char* mention, agtrace_attribute_t bad) {
    agtrace_attribute_t pair[] = {good, bad};
    EXPECT_FAIL_MENTIONING(code, mention, agtrace_span_set_attributes(s, pair, 2, err));
  };
  agtrace_attribute_t b = good;
  b.key = kAbsent;
  rejects(AGTRACE_ERR_NULL_ARGUMENT, "key", b);
  b.key = kNullWithLength;
  rejects(AGTRACE_ERR_NULL_ARGUMENT, "key", b);
  b.key = S("");
  rejects(AGTRACE_ERR_INVALID_ARGUMENT, "key", b);
  b.key = kBadUtf8;
  rejects(AGTRACE_ERR_INVALID_UTF8, "key", b);
  rejects(AGTRACE_ERR_NULL_ARGUMENT, "bad.str", Attr("bad.str", StrValue(kAbsent)));
  rejects(AGTRACE_ERR_NULL_ARGUMENT, "bad.str", Attr("bad.str", StrValue(kNullWithLength)));
  rejects(AGTRACE_ERR_INVALID_UTF8, "bad.str", Attr("bad.str", StrValue(kBadUtf8)));
  rejects(AGTRACE_ERR_INVALID_ARGUMENT, "not JSON", Attr("bad.json", StrValue(S("{\"a\": 1"), AGTRACE_VALUE_JSON)));
  rejects(AGTRACE_ERR_INVALID_ARGUMENT, "not JSON", Attr("bad.json", StrValue(S("{'a': 1}"), AGTRACE_VALUE_JSON)));
  rejects(AGTRACE_ERR_INVALID_UTF8, "bad.json", Attr("bad.json", StrValue(kBadUtf8, AGTRACE_VALUE_JSON)));
  rejects(AGTRACE_ERR_NULL_ARGUMENT, "bad.json", Attr("bad.json", StrValue(kAbsent, AGTRACE_VALUE_JSON)));
  agtrace_value_t v{};
  v.type = 0;
  rejects(AGTRACE_ERR_INVALID_ARGUMENT, "unknown value type 0", Attr("bad.type", v));
  v.type = 10;
  rejects(AGTRACE_ERR_INVALID_ARGUMENT, "unknown value type 10", Attr("bad.type", v));
  for (agtrace_value_type_t ty : {AGTRACE_VALUE_STRING_ARRAY, AGTRACE_VALUE_BOOL_ARRAY, AGTRACE_VALUE_INT_ARRAY,
                                  AGTRACE_VALUE_DOUBLE_ARRAY}) {
    v = agtrace_value_t{};
    v.type = ty;
    v.array = nullptr;
    v.array_len = 3;
    rejects(AGTRACE_ERR_NULL_ARGUMENT, "bad.array", Attr("bad.array", v));
  }
  agtrace_str_t elems[] = {S("fine"), kBadUtf8};
  v = agtrace_value_t{};
  v.type = AGTRACE_VALUE_STRING_ARRAY;
  v.array = elems;
  v.array_len = 2;
  rejects(AGTRACE_ERR_INVALID_UTF8, "bad.elems", Attr("bad.elems", v));
  elems[1] = kNullWithLength;
  rejects(AGTRACE_ERR_NULL_ARGUMENT, "bad.elems", Attr("bad.elems", v));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "attributes", agtrace_span_set_attributes(s, nullptr, 1, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "span", agtrace_span_set_attributes(nullptr, &good, 1, err));

  agtrace_span_free(s);
  auto spans = t.spans();
  const otlp::Span* x = otlp::one(spans, "guarded");
  ASSERT_NE(x, nullptr);
  EXPECT_FALSE(x->has("good")) << "a rejected call must set nothing";
  for (const auto& kv : x->attributes) EXPECT_EQ(kv.first.rfind("bad.", 0), std::string::npos) << kv.first;
}

// --- the span's life: end, free, after shutdown ---------------------------------

TEST(SpanLife, NullSpanEverywhere) {
  agtrace_attribute_t a = Attr("k", IntValue(1));
  agtrace_llm_t llm{};
  agtrace_usage_t usage{};
  agtrace_trace_meta_t meta{};
  agtrace_context_t* c = nullptr;
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "span", agtrace_span_end(nullptr, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_attributes(nullptr, &a, 1, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_add_event(nullptr, S("e"), nullptr, 0, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_record_error(nullptr, S("T"), S("m"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_status(nullptr, AGTRACE_STATUS_OK, kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_llm(nullptr, &llm, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_usage(nullptr, &usage, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_tool(nullptr, S("t"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_agent(nullptr, S("a"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_messages(nullptr, S("[]"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_trace_meta(nullptr, &meta, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_context(nullptr, &c, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_enter(nullptr, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_exit(nullptr, err));
  EXPECT_FALSE(agtrace_span_is_recording(nullptr));
  agtrace_span_free(nullptr);

  // The same with a live span and a NULL struct argument.
  FileTracer t("null-structs");
  agtrace_span_t* s = t.start("s");
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "llm", agtrace_span_set_llm(s, nullptr, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "usage", agtrace_span_set_usage(s, nullptr, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "meta", agtrace_span_set_trace_meta(s, nullptr, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "out_context", agtrace_span_context(s, nullptr, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_add_link(s, nullptr, nullptr, 0, err));
  ASSERT_OK(agtrace_span_context(s, &c, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "span", agtrace_span_add_link(nullptr, c, nullptr, 0, err));
  agtrace_context_free(c);
  agtrace_span_free(s);
}

TEST(SpanLife, EndingTwice) {
  FileTracer t("end-twice");
  agtrace_span_t* s = t.start("ended twice");
  EXPECT_TRUE(agtrace_span_is_recording(s));
  EXPECT_OK(agtrace_span_end(s, err));
  EXPECT_FALSE(agtrace_span_is_recording(s));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_end(s, err));
  // Every recording call now says so, and changes nothing.
  agtrace_attribute_t a = Attr("late", IntValue(1));
  agtrace_llm_t llm{};
  llm.provider = S("late");
  agtrace_usage_t usage{5, 5, 0, 0, 0};
  agtrace_trace_meta_t meta{};
  meta.user_id = S("late");
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_set_attributes(s, &a, 1, err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_add_event(s, S("late"), nullptr, 0, err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_record_error(s, S("T"), S("m"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_set_status(s, AGTRACE_STATUS_ERROR, S("late"), err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_set_llm(s, &llm, err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_set_usage(s, &usage, err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_set_tool(s, S("late"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_set_agent(s, S("late"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_set_messages(s, S("[]"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_set_trace_meta(s, &meta, err));
  // The context is still there, and the span can be freed.
  agtrace_context_t* c = nullptr;
  EXPECT_OK(agtrace_span_context(s, &c, err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_add_link(s, c, nullptr, 0, err));
  agtrace_context_free(c);
  agtrace_span_free(s);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u) << "exported once";
  EXPECT_EQ(spans[0].attributes.count("late"), 0u);
  EXPECT_TRUE(spans[0].events.empty());
  EXPECT_EQ(spans[0].status_code, 0);
  EXPECT_FALSE(spans[0].has("agtrace.abandoned"));
  EXPECT_EQ(t.stats().ended, 1u);
  // The second end and each of the 11 calls after it counted once, as use after end.
  EXPECT_EQ(t.stats().misuse_ended_twice, 12u);
}

TEST(Misuse, ReportedKindsAreCountedApartAndStrictFollowsTheSetting) {
  FileTracer t("misuse");
  EXPECT_FALSE(agtrace_tracer_strict(t.get()));
  agtrace_misuse_report(t.get(), AGTRACE_MISUSE_BAD_NAME, S("attribute name is empty"));
  agtrace_misuse_report(t.get(), AGTRACE_MISUSE_BAD_VALUE, S("value of type Widget dropped"));
  agtrace_misuse_report(t.get(), AGTRACE_MISUSE_BAD_VALUE, kAbsent);
  agtrace_misuse_report(t.get(), AGTRACE_MISUSE_MASK_FAILED, S("mask raised"));
  agtrace_misuse_report(t.get(), 250, S("an unknown kind counts as a bad call"));
  agtrace_misuse_report(nullptr, AGTRACE_MISUSE_BAD_NAME, S("ignored: no tracer"));
  agtrace_stats_t s = t.stats();
  EXPECT_EQ(s.misuse_bad_name, 1u);
  EXPECT_EQ(s.misuse_bad_value, 2u);
  EXPECT_EQ(s.misuse_ended_twice, 0u);
  EXPECT_EQ(s.misuse_bad_call, 1u);
  EXPECT_EQ(s.misuse_mask_failed, 1u);
  char* json = nullptr;
  ASSERT_OK(agtrace_tracer_stats_json(t.get(), &json, err));
  EXPECT_NE(std::string(json).find("\"misuse\":{\"bad_call\":1,\"bad_name\":1,\"bad_value\":2,"), std::string::npos)
      << json;
  agtrace_string_free(json);

  FileTracer strict("misuse-strict", {{"AGTRACE_STRICT", "true"}});
  EXPECT_TRUE(agtrace_tracer_strict(strict.get()));
  EXPECT_FALSE(agtrace_tracer_strict(nullptr));
}

TEST(SpanLife, FreeingAnUnendedSpanEndsItAsAbandoned) {
  FileTracer t("abandoned");
  agtrace_span_free(t.start("abandoned"));
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_TRUE(spans[0].boolean("agtrace.abandoned"));
}

TEST(SpanLife, UseAfterShutdownIsSafeAndCounted) {
  FileTracer t("after-shutdown");
  agtrace_span_t* before = t.start("ended before shutdown");
  agtrace_span_t* open = t.start("still open at shutdown");
  agtrace_span_t* open2 = t.start("freed after shutdown");
  EXPECT_OK(agtrace_span_end(before, err));
  EXPECT_OK(agtrace_tracer_shutdown(t.get(), 10000, nullptr, err));

  agtrace_attribute_t a = Attr("k", IntValue(1));
  agtrace_llm_t llm{};
  agtrace_usage_t usage{};
  agtrace_trace_meta_t meta{};
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_set_attributes(open, &a, 1, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_add_event(open, S("e"), nullptr, 0, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_record_error(open, S("T"), S("m"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_set_status(open, AGTRACE_STATUS_OK, kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_set_llm(open, &llm, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_set_usage(open, &usage, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_set_tool(open, S("t"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_set_agent(open, S("a"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_set_messages(open, S("[]"), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_set_trace_meta(open, &meta, err));
  agtrace_context_t* c = nullptr;
  EXPECT_OK(agtrace_span_context(open, &c, err));  // identity still works, for propagation
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_add_link(open, c, nullptr, 0, err));
  agtrace_span_t* child = nullptr;
  agtrace_span_options_t o{};
  o.name = S("child after shutdown");
  o.parent = ParentContext(c);
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_start(t.get(), &o, &child, err));
  EXPECT_EQ(child, nullptr);
  agtrace_context_free(c);
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_end(open, err));
  agtrace_span_free(open);
  agtrace_span_free(open2);
  agtrace_span_free(before);

  agtrace_stats_t st = t.stats();
  EXPECT_EQ(st.started, 3u);
  EXPECT_EQ(st.ended, 3u);
  EXPECT_EQ(st.dispatched, 1u);
  EXPECT_EQ(st.dropped_shutdown, 2u) << "spans ended after shutdown are counted as dropped";
  EXPECT_EQ(st.ended, st.dispatched + st.dropped_queue_full + st.dropped_queue_bytes + st.dropped_shutdown + st.pending);
  auto spans = otlp::read_spans(t.path());
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "ended before shutdown");
}

// --- recording --------------------------------------------------------------------

TEST(Recording, EventsErrorsAndStatus) {
  FileTracer t("events");
  agtrace_span_t* s = t.start("eventful");
  agtrace_attribute_t ea[] = {Attr("chunk", IntValue(3))};
  EXPECT_OK(agtrace_span_add_event(s, S("first chunk"), ea, 1, err));
  EXPECT_OK(agtrace_span_add_event(s, S("no attributes"), nullptr, 0, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "name", agtrace_span_add_event(s, kAbsent, nullptr, 0, err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_UTF8, agtrace_span_add_event(s, kBadUtf8, nullptr, 0, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_add_event(s, S("e"), nullptr, 1, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "error_type",
                         agtrace_span_record_error(s, kAbsent, S("m"), kAbsent, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "message",
                         agtrace_span_record_error(s, S("T"), kNullWithLength, kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_UTF8, agtrace_span_record_error(s, S("T"), S("m"), kBadUtf8, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_record_error(s, S("T"), S("m"), kNullWithLength, err));
  EXPECT_OK(agtrace_span_record_error(s, S("TimeoutError"), S("the model did not answer"), S("at main.c:12"), err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_ARGUMENT, "status code 3",
                         agtrace_span_set_status(s, 3, kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_UTF8, agtrace_span_set_status(s, AGTRACE_STATUS_ERROR, kBadUtf8, err));
  EXPECT_OK(agtrace_span_set_status(s, AGTRACE_STATUS_ERROR, S("gave up"), err));
  agtrace_span_free(s);

  agtrace_span_t* ok = t.start("ok is final");
  EXPECT_OK(agtrace_span_set_status(ok, AGTRACE_STATUS_OK, kAbsent, err));
  EXPECT_OK(agtrace_span_set_status(ok, AGTRACE_STATUS_ERROR, S("too late"), err));
  agtrace_span_free(ok);
  agtrace_span_t* unset = t.start("unset");
  EXPECT_OK(agtrace_span_set_status(unset, AGTRACE_STATUS_UNSET, kAbsent, err));
  agtrace_span_free(unset);

  auto spans = t.spans();
  const otlp::Span* x = otlp::one(spans, "eventful");
  ASSERT_NE(x, nullptr);
  ASSERT_EQ(x->events.size(), 3u);
  EXPECT_EQ(x->events[0].name, "first chunk");
  EXPECT_EQ(x->events[0].attributes.at("chunk")["intValue"].str(), "3");
  EXPECT_EQ(x->events[1].name, "no attributes");
  EXPECT_EQ(x->events[2].name, "exception");
  EXPECT_EQ(x->events[2].attributes.at("exception.type")["stringValue"].str(), "TimeoutError");
  EXPECT_EQ(x->events[2].attributes.at("exception.message")["stringValue"].str(), "the model did not answer");
  EXPECT_EQ(x->events[2].attributes.at("exception.stacktrace")["stringValue"].str(), "at main.c:12");
  EXPECT_EQ(x->status_code, 2);
  EXPECT_EQ(x->status_message, "gave up");
  EXPECT_EQ(otlp::one(spans, "ok is final")->status_code, 1);
  EXPECT_EQ(otlp::one(spans, "unset")->status_code, 0);
}

TEST(Recording, Links) {
  FileTracer t("links");
  agtrace_span_t* previous = t.start("turn 1", AGTRACE_KIND_AGENT, ParentRoot());
  agtrace_context_t* prev_ctx = nullptr;
  ASSERT_OK(agtrace_span_context(previous, &prev_ctx, err));
  std::string prev_id = SpanIdHex(previous);
  agtrace_span_free(previous);
  agtrace_span_t* s = t.start("turn 2", AGTRACE_KIND_AGENT, ParentRoot());
  agtrace_attribute_t la[] = {Attr("link.reason", StrValue(S("previous turn")))};
  EXPECT_OK(agtrace_span_add_link(s, prev_ctx, la, 1, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_add_link(s, prev_ctx, nullptr, 1, err));
  agtrace_attribute_t bad = Attr("", IntValue(1));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_ARGUMENT, agtrace_span_add_link(s, prev_ctx, &bad, 1, err));
  std::string prev_trace = TraceIdHex(prev_ctx);
  agtrace_context_free(prev_ctx);
  agtrace_span_free(s);
  auto spans = t.spans();
  const otlp::Span* x = otlp::one(spans, "turn 2");
  ASSERT_NE(x, nullptr);
  ASSERT_EQ(x->links.size(), 1u);
  EXPECT_EQ(x->links[0].span_id, prev_id);
  EXPECT_EQ(x->links[0].trace_id, prev_trace);
  EXPECT_NE(x->trace_id, prev_trace);
  EXPECT_EQ(x->links[0].attributes.at("link.reason")["stringValue"].str(), "previous turn");
}

TEST(Recording, GenAiHelpers) {
  FileTracer t("genai");
  agtrace_span_t* llm = t.start("chat gpt-4o", AGTRACE_KIND_LLM, ParentRoot());
  agtrace_str_t reasons[] = {S("stop"), S("length")};
  agtrace_llm_t l{};
  l.provider = S("openai");
  l.request_model = S("gpt-4o");
  l.response_model = S("gpt-4o-2024-08-06");
  l.response_id = S("chatcmpl-1");
  l.finish_reasons = reasons;
  l.finish_reasons_len = 2;
  EXPECT_OK(agtrace_span_set_llm(llm, &l, err));
  agtrace_llm_t partial{};
  partial.response_id = S("chatcmpl-2");  // absent fields are left alone
  EXPECT_OK(agtrace_span_set_llm(llm, &partial, err));
  agtrace_llm_t bad = l;
  bad.finish_reasons = nullptr;
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_llm(llm, &bad, err));
  bad = l;
  bad.provider = kBadUtf8;
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_UTF8, "provider", agtrace_span_set_llm(llm, &bad, err));
  bad = l;
  bad.request_model = kNullWithLength;
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_llm(llm, &bad, err));
  agtrace_usage_t u{412, 57, 100, 20, 7};
  EXPECT_OK(agtrace_span_set_usage(llm, &u, err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_ARGUMENT, agtrace_span_set_messages(llm, S("[{\"role\": "), kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_UTF8, agtrace_span_set_messages(llm, kAbsent, kBadUtf8, err));
  EXPECT_OK(agtrace_span_set_messages(llm, S("[{\"role\": \"user\", \"content\": \"hi\"}]"), kAbsent, err));
  agtrace_span_free(llm);

  agtrace_span_t* tool = t.start("execute_tool get_weather", AGTRACE_KIND_TOOL, ParentRoot());
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "name", agtrace_span_set_tool(tool, kAbsent, kAbsent, err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_UTF8, agtrace_span_set_tool(tool, S("t"), kBadUtf8, err));
  EXPECT_OK(agtrace_span_set_tool(tool, S("get_weather"), S("call_1"), err));
  agtrace_span_free(tool);
  agtrace_span_t* tool2 = t.start("tool without call id", AGTRACE_KIND_TOOL, ParentRoot());
  EXPECT_OK(agtrace_span_set_tool(tool2, S("lookup"), kAbsent, err));
  agtrace_span_free(tool2);
  agtrace_span_t* agent = t.start("invoke_agent a", AGTRACE_KIND_AGENT, ParentRoot());
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "name", agtrace_span_set_agent(agent, kAbsent, S("x"), err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_agent(agent, S("a"), kNullWithLength, err));
  EXPECT_OK(agtrace_span_set_agent(agent, S("travel-assistant"), S("agent-42"), err));
  agtrace_span_free(agent);

  auto spans = t.spans();
  const otlp::Span* x = otlp::one(spans, "chat gpt-4o");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->str("gen_ai.provider.name"), "openai");
  EXPECT_EQ(x->str("gen_ai.request.model"), "gpt-4o");
  EXPECT_EQ(x->str("gen_ai.response.model"), "gpt-4o-2024-08-06");
  EXPECT_EQ(x->str("gen_ai.response.id"), "chatcmpl-2");
  ASSERT_EQ(x->array("gen_ai.response.finish_reasons").size(), 2u);
  EXPECT_EQ((*x->array("gen_ai.response.finish_reasons")[1])["stringValue"].str(), "length");
  EXPECT_EQ(x->integer("gen_ai.usage.input_tokens"), 412);
  EXPECT_EQ(x->integer("gen_ai.usage.output_tokens"), 57);
  EXPECT_FALSE(x->has("gen_ai.input.messages")) << "content capture is off by default";
  const otlp::Span* tl = otlp::one(spans, "execute_tool get_weather");
  ASSERT_NE(tl, nullptr);
  EXPECT_EQ(tl->str("gen_ai.tool.name"), "get_weather");
  EXPECT_EQ(tl->str("gen_ai.tool.call.id"), "call_1");
  EXPECT_FALSE(otlp::one(spans, "tool without call id")->has("gen_ai.tool.call.id"));
  const otlp::Span* ag = otlp::one(spans, "invoke_agent a");
  EXPECT_EQ(ag->str("gen_ai.agent.name"), "travel-assistant");
  EXPECT_EQ(ag->str("gen_ai.agent.id"), "agent-42");
}

TEST(Recording, MessagesWithContentCapture) {
  FileTracer t("capture", {{"AGTRACE_CAPTURE_CONTENT", "true"}});
  agtrace_span_t* llm = t.start("chat", AGTRACE_KIND_LLM, ParentRoot());
  EXPECT_OK(agtrace_span_set_messages(llm, S("[{\"role\": \"user\", \"content\": \"hi\"}]"),
                                      S("[{\"role\": \"assistant\", \"content\": \"hello\"}]"), err));
  agtrace_span_free(llm);
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  mini_json::Value in = mini_json::parse(spans[0].str("gen_ai.input.messages"));
  EXPECT_EQ(in[0]["content"].str(), "hi");
  mini_json::Value out = mini_json::parse(spans[0].str("gen_ai.output.messages"));
  EXPECT_EQ(out[0]["role"].str(), "assistant");
}

TEST(Recording, TraceMetaAppliesToTheWholeTraceAndUsageRollsUp) {
  FileTracer t("trace-meta");
  agtrace_span_t* root = t.start("root", AGTRACE_KIND_AGENT, ParentRoot());
  agtrace_str_t tags[] = {S("demo"), S("c")};
  agtrace_trace_meta_t m{};
  m.user_id = S("user-7");
  m.session_id = S("session-1");
  m.conversation_id = S("conv-1");
  m.environment = S("development");
  m.release = S("1.2.3");
  m.tags = tags;
  m.tags_len = 2;
  m.metadata_json = S("{\"team\": \"search\", \"n\": 1}");
  EXPECT_OK(agtrace_span_set_trace_meta(root, &m, err));
  agtrace_trace_meta_t bad = m;
  bad.metadata_json = S("[1, 2]");
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_ARGUMENT, "metadata_json", agtrace_span_set_trace_meta(root, &bad, err));
  bad.metadata_json = S("{nope");
  EXPECT_FAIL(AGTRACE_ERR_INVALID_ARGUMENT, agtrace_span_set_trace_meta(root, &bad, err));
  bad = m;
  bad.tags = nullptr;
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_span_set_trace_meta(root, &bad, err));
  bad = m;
  bad.user_id = kBadUtf8;
  EXPECT_FAIL(AGTRACE_ERR_INVALID_UTF8, agtrace_span_set_trace_meta(root, &bad, err));
  agtrace_trace_meta_t later{};
  later.session_id = S("session-2");  // absent fields stay as they were
  EXPECT_OK(agtrace_span_set_trace_meta(root, &later, err));

  agtrace_span_t* child = t.start("child", AGTRACE_KIND_LLM, ParentSpan(root));
  agtrace_usage_t u1{100, 10, 0, 0, 0};
  agtrace_span_set_usage(child, &u1, nullptr);
  agtrace_span_t* child2 = t.start("child 2", AGTRACE_KIND_LLM, ParentSpan(root));
  agtrace_usage_t u2{20, 2, 0, 0, 0};
  agtrace_span_set_usage(child2, &u2, nullptr);
  agtrace_span_free(child);
  agtrace_span_free(child2);
  agtrace_span_free(root);

  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 3u);
  for (const auto& s : spans) {
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.str("user.id"), "user-7");
    EXPECT_EQ(s.str("session.id"), "session-2");
    EXPECT_EQ(s.str("gen_ai.conversation.id"), "conv-1");
    EXPECT_EQ(s.str("deployment.environment.name"), "development");
    ASSERT_EQ(s.array("tag.tags").size(), 2u);
  }
  const otlp::Span* r = otlp::one(spans, "root");
  EXPECT_EQ(r->integer("agtrace.usage.input_tokens"), 120);
  EXPECT_EQ(r->integer("agtrace.usage.output_tokens"), 12);
  EXPECT_EQ(r->integer("agtrace.usage.llm_calls"), 2);
}

// --- contexts, parents, the current span -------------------------------------------

TEST(Context, IdsAndLifetime) {
  FileTracer t("context");
  agtrace_span_t* s = t.start("identified", AGTRACE_KIND_PLAIN, ParentRoot());
  agtrace_context_t* c = nullptr;
  ASSERT_OK(agtrace_span_context(s, &c, err));
  agtrace_span_free(s);  // the context outlives the span
  unsigned char trace_id[16], span_id[8];
  bool sampled = false;
  EXPECT_OK(agtrace_context_ids(c, trace_id, span_id, &sampled, err));
  EXPECT_TRUE(sampled);
  EXPECT_OK(agtrace_context_ids(c, nullptr, nullptr, nullptr, err));  // every output is optional
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "context",
                         agtrace_context_ids(nullptr, trace_id, span_id, &sampled, err));
  // A child of the freed span, through its context.
  agtrace_span_t* child = t.start("child of a context", AGTRACE_KIND_PLAIN, ParentContext(c));
  agtrace_span_free(child);
  agtrace_context_free(c);
  agtrace_context_free(nullptr);
  auto spans = t.spans();
  const otlp::Span* p = otlp::one(spans, "identified");
  const otlp::Span* ch = otlp::one(spans, "child of a context");
  ASSERT_TRUE(p && ch);
  EXPECT_EQ(p->trace_id, otlp::hex(trace_id, 16));
  EXPECT_EQ(p->span_id, otlp::hex(span_id, 8));
  EXPECT_EQ(ch->trace_id, p->trace_id);
  EXPECT_EQ(ch->parent_span_id, p->span_id);
}

TEST(Context, ExplicitParentsAndRoots) {
  FileTracer t("parents");
  agtrace_span_t* root = t.start("root", AGTRACE_KIND_AGENT, ParentRoot());
  agtrace_span_t* by_span = t.start("by span", AGTRACE_KIND_TOOL, ParentSpan(root));
  agtrace_span_t* other_root = t.start("other root", AGTRACE_KIND_AGENT, ParentRoot());
  agtrace_span_t* implicit = t.start("no current span");  // PARENT_CURRENT with none: a new trace
  for (auto* s : {by_span, other_root, implicit, root}) agtrace_span_free(s);
  auto spans = t.spans();
  const otlp::Span* r = otlp::one(spans, "root");
  const otlp::Span* b = otlp::one(spans, "by span");
  const otlp::Span* o = otlp::one(spans, "other root");
  const otlp::Span* i = otlp::one(spans, "no current span");
  ASSERT_TRUE(r && b && o && i);
  EXPECT_EQ(r->parent_span_id, "");
  EXPECT_EQ(b->parent_span_id, r->span_id);
  EXPECT_EQ(b->trace_id, r->trace_id);
  EXPECT_NE(o->trace_id, r->trace_id);
  EXPECT_EQ(i->parent_span_id, "");
  EXPECT_NE(i->trace_id, r->trace_id);
}

TEST(Context, EnterExitAndCurrentContext) {
  FileTracer t("current");
  agtrace_context_t* c = reinterpret_cast<agtrace_context_t*>(&t);
  ASSERT_OK(agtrace_current_context(&c, err));
  EXPECT_EQ(c, nullptr) << "no current span yet";
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "out_context", agtrace_current_context(nullptr, err));

  agtrace_span_t* outer = t.start("outer", AGTRACE_KIND_AGENT, ParentRoot());
  agtrace_span_t* inner = t.start("inner", AGTRACE_KIND_TASK, ParentSpan(outer));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_ARGUMENT, "innermost", agtrace_span_exit(outer, err));  // never entered
  ASSERT_OK(agtrace_span_enter(outer, err));
  ASSERT_OK(agtrace_current_context(&c, err));
  ASSERT_NE(c, nullptr);
  unsigned char id[8];
  agtrace_context_ids(c, nullptr, id, nullptr, nullptr);
  EXPECT_EQ(otlp::hex(id, 8), SpanIdHex(outer));
  agtrace_context_free(c);

  agtrace_span_t* child_of_outer = t.start("child of outer");  // PARENT_CURRENT
  ASSERT_OK(agtrace_span_enter(inner, err));
  agtrace_span_t* child_of_inner = t.start("child of inner");
  agtrace_span_t* root_anyway = t.start("root anyway", AGTRACE_KIND_PLAIN, ParentRoot());

  // Exiting out of order fails and changes nothing.
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_ARGUMENT, "innermost", agtrace_span_exit(outer, err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_ARGUMENT, agtrace_span_exit(child_of_outer, err));
  ASSERT_OK(agtrace_current_context(&c, err));
  agtrace_context_ids(c, nullptr, id, nullptr, nullptr);
  EXPECT_EQ(otlp::hex(id, 8), SpanIdHex(inner));
  agtrace_context_free(c);

  // The current span is per thread.
  std::thread([&] {
    agtrace_context_t* other = reinterpret_cast<agtrace_context_t*>(&t);
    EXPECT_OK(agtrace_current_context(&other, err));
    EXPECT_EQ(other, nullptr);
    EXPECT_FAIL(AGTRACE_ERR_INVALID_ARGUMENT, agtrace_span_exit(inner, err));  // entered on another thread
    agtrace_span_free(t.start("other thread"));
  }).join();

  EXPECT_OK(agtrace_span_exit(inner, err));
  EXPECT_OK(agtrace_span_exit(outer, err));
  ASSERT_OK(agtrace_current_context(&c, err));
  EXPECT_EQ(c, nullptr);
  // An ended span can be entered too (its context still parents).
  agtrace_span_end(outer, nullptr);
  EXPECT_OK(agtrace_span_enter(outer, err));
  agtrace_span_t* late = t.start("late child of ended outer");
  EXPECT_OK(agtrace_span_exit(outer, err));
  for (auto* s : {child_of_inner, root_anyway, child_of_outer, late, inner, outer}) agtrace_span_free(s);

  auto spans = t.spans();
  const otlp::Span* o = otlp::one(spans, "outer");
  const otlp::Span* i = otlp::one(spans, "inner");
  ASSERT_TRUE(o && i);
  EXPECT_EQ(otlp::one(spans, "child of outer")->parent_span_id, o->span_id);
  EXPECT_EQ(otlp::one(spans, "child of inner")->parent_span_id, i->span_id);
  EXPECT_EQ(otlp::one(spans, "root anyway")->parent_span_id, "");
  EXPECT_EQ(otlp::one(spans, "other thread")->parent_span_id, "");
  EXPECT_EQ(otlp::one(spans, "late child of ended outer")->parent_span_id, o->span_id);
}

// --- headers and propagation ---------------------------------------------------------

TEST(Headers, SetReplaceCountGet) {
  agtrace_headers_t* h = agtrace_headers_new();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(agtrace_headers_count(h), 0u);
  EXPECT_EQ(agtrace_headers_count(nullptr), 0u);
  EXPECT_OK(agtrace_headers_set(h, S("Content-Type"), S("application/json"), err));
  EXPECT_OK(agtrace_headers_set(h, S("x-a"), S("1"), err));
  EXPECT_OK(agtrace_headers_set(h, S("CONTENT-TYPE"), S("text/plain"), err));  // replaces, ignoring case
  EXPECT_OK(agtrace_headers_set(h, S("x-empty"), S(""), err));
  ASSERT_EQ(agtrace_headers_count(h), 3u);
  bool found = false;
  for (size_t i = 0; i < agtrace_headers_count(h); ++i) {
    agtrace_str_t name{}, value{};
    ASSERT_OK(agtrace_headers_get(h, i, &name, &value, err));
    std::string n(name.ptr, name.len), v(value.ptr, value.len);
    if (n == "CONTENT-TYPE" || n == "Content-Type") {
      EXPECT_EQ(v, "text/plain");
      found = true;
    }
  }
  EXPECT_TRUE(found);
  agtrace_str_t name{}, value{};
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_INVALID_ARGUMENT, "index", agtrace_headers_get(h, 3, &name, &value, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_headers_get(h, 0, nullptr, &value, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_headers_get(h, 0, &name, nullptr, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_headers_get(nullptr, 0, &name, &value, err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_headers_set(nullptr, S("a"), S("b"), err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_headers_set(h, kAbsent, S("b"), err));
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_headers_set(h, S("a"), kNullWithLength, err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_UTF8, agtrace_headers_set(h, S("a"), kBadUtf8, err));
  EXPECT_FAIL(AGTRACE_ERR_INVALID_UTF8, agtrace_headers_set(h, kBadUtf8, S("b"), err));
  EXPECT_EQ(agtrace_headers_count(h), 3u);
  agtrace_headers_free(h);
  agtrace_headers_free(nullptr);
}

TEST(Propagation, ContinuesAW3CTraceparentAndInjectsIt) {
  FileTracer t("w3c");
  agtrace_headers_t* in = agtrace_headers_new();
  agtrace_headers_set(in, S("TraceParent"), S("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), nullptr);
  agtrace_headers_set(in, S("tracestate"), S("vendor=opaque"), nullptr);
  agtrace_context_t* remote = nullptr;
  ASSERT_OK(agtrace_extract(t.get(), in, &remote, err));
  ASSERT_NE(remote, nullptr);
  unsigned char tid[16], sid[8];
  bool sampled = false;
  EXPECT_OK(agtrace_context_ids(remote, tid, sid, &sampled, err));
  EXPECT_EQ(otlp::hex(tid, 16), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(otlp::hex(sid, 8), "00f067aa0ba902b7");
  EXPECT_TRUE(sampled);

  agtrace_span_t* server = t.start("handle request", AGTRACE_KIND_AGENT, ParentContext(remote));
  agtrace_context_free(remote);
  agtrace_context_t* mine = nullptr;
  ASSERT_OK(agtrace_span_context(server, &mine, err));
  agtrace_headers_t* out = agtrace_headers_new();
  ASSERT_OK(agtrace_inject(t.get(), mine, out, err));
  std::string server_id = SpanIdHex(server);
  EXPECT_EQ(HeaderValue(out, "traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-" + server_id + "-01");
  EXPECT_EQ(HeaderValue(out, "tracestate"), "vendor=opaque");
  agtrace_context_free(mine);
  agtrace_headers_free(out);
  agtrace_headers_free(in);
  agtrace_span_free(server);

  auto spans = t.spans();
  const otlp::Span* s = otlp::one(spans, "handle request");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s->parent_span_id, "00f067aa0ba902b7");
}

TEST(Propagation, UnsampledParentIsHonoured) {
  FileTracer t("w3c-unsampled");
  agtrace_headers_t* in = agtrace_headers_new();
  agtrace_headers_set(in, S("traceparent"), S("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"), nullptr);
  agtrace_context_t* remote = nullptr;
  ASSERT_OK(agtrace_extract(t.get(), in, &remote, err));
  ASSERT_NE(remote, nullptr);
  bool sampled = true;
  agtrace_context_ids(remote, nullptr, nullptr, &sampled, nullptr);
  EXPECT_FALSE(sampled);
  agtrace_span_t* s = t.start("not sampled", AGTRACE_KIND_PLAIN, ParentContext(remote));
  EXPECT_FALSE(agtrace_span_is_recording(s));
  agtrace_context_t* c = nullptr;
  agtrace_span_context(s, &c, nullptr);
  agtrace_headers_t* out = agtrace_headers_new();
  EXPECT_OK(agtrace_inject(t.get(), c, out, err));
  std::string tp = HeaderValue(out, "traceparent");
  EXPECT_EQ(tp.substr(0, 36), "00-4bf92f3577b34da6a3ce929d0e0e4736-");
  EXPECT_EQ(tp.substr(tp.size() - 3), "-00");
  agtrace_headers_free(out);
  agtrace_context_free(c);
  agtrace_context_free(remote);
  agtrace_headers_free(in);
  agtrace_span_free(s);
  EXPECT_EQ(t.spans().size(), 0u);
}

TEST(Propagation, BaggageRoundTrip) {
  FileTracer t("baggage");
  agtrace_headers_t* in = agtrace_headers_new();
  agtrace_headers_set(in, S("baggage"), S("tenant=acme,plan=pro"), nullptr);
  agtrace_context_t* remote = nullptr;
  ASSERT_OK(agtrace_extract(t.get(), in, &remote, err));
  ASSERT_NE(remote, nullptr) << "baggage alone is a context";
  unsigned char tid[16];
  agtrace_context_ids(remote, tid, nullptr, nullptr, nullptr);
  EXPECT_EQ(otlp::hex(tid, 16), std::string(32, '0')) << "no ids: zeros";
  agtrace_span_t* s = t.start("with baggage", AGTRACE_KIND_PLAIN, ParentContext(remote));
  agtrace_context_t* c = nullptr;
  agtrace_span_context(s, &c, nullptr);
  agtrace_headers_t* out = agtrace_headers_new();
  EXPECT_OK(agtrace_inject(t.get(), c, out, err));
  std::string baggage = HeaderValue(out, "baggage");
  EXPECT_NE(baggage.find("tenant=acme"), std::string::npos) << baggage;
  EXPECT_NE(baggage.find("plan=pro"), std::string::npos) << baggage;
  EXPECT_EQ(HeaderValue(out, "traceparent").substr(0, 3), "00-");
  agtrace_headers_free(out);
  agtrace_context_free(c);
  agtrace_context_free(remote);
  agtrace_headers_free(in);
  agtrace_span_free(s);
}

TEST(Propagation, NothingOrGarbageExtractsNothing) {
  FileTracer t("extract-nothing");
  const char* garbage[] = {"", "00-xyz", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
  agtrace_headers_t* empty = agtrace_headers_new();
  agtrace_context_t* c = reinterpret_cast<agtrace_context_t*>(&t);
  EXPECT_OK(agtrace_extract(t.get(), empty, &c, err));
  EXPECT_EQ(c, nullptr);
  agtrace_headers_free(empty);
  for (const char* g : garbage) {
    SCOPED_TRACE(g);
    agtrace_headers_t* h = agtrace_headers_new();
    agtrace_headers_set(h, S("traceparent"), S(g), nullptr);
    c = reinterpret_cast<agtrace_context_t*>(&t);
    EXPECT_OK(agtrace_extract(t.get(), h, &c, err));
    EXPECT_EQ(c, nullptr);
    agtrace_context_free(c);
    agtrace_headers_free(h);
  }
}

TEST(Propagation, LocalRoundTripAndNullArguments) {
  FileTracer t("roundtrip");
  agtrace_span_t* s = t.start("local", AGTRACE_KIND_PLAIN, ParentRoot());
  agtrace_context_t* c = nullptr;
  agtrace_span_context(s, &c, nullptr);
  agtrace_headers_t* h = agtrace_headers_new();
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_inject(nullptr, c, h, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "context", agtrace_inject(t.get(), nullptr, h, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "headers", agtrace_inject(t.get(), c, nullptr, err));
  ASSERT_OK(agtrace_inject(t.get(), c, h, err));
  agtrace_context_t* back = nullptr;
  EXPECT_FAIL(AGTRACE_ERR_NULL_ARGUMENT, agtrace_extract(nullptr, h, &back, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "headers", agtrace_extract(t.get(), nullptr, &back, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "out_context", agtrace_extract(t.get(), h, nullptr, err));
  ASSERT_OK(agtrace_extract(t.get(), h, &back, err));
  ASSERT_NE(back, nullptr);
  unsigned char a[16], b[16], sa[8], sb[8];
  agtrace_context_ids(c, a, sa, nullptr, nullptr);
  agtrace_context_ids(back, b, sb, nullptr, nullptr);
  EXPECT_EQ(otlp::hex(a, 16), otlp::hex(b, 16));
  EXPECT_EQ(otlp::hex(sa, 8), otlp::hex(sb, 8));
  agtrace_context_free(back);
  agtrace_context_free(c);
  agtrace_headers_free(h);
  agtrace_span_free(s);
}

// --- accounting ----------------------------------------------------------------------

TEST(Stats, InvariantHoldsThroughoutAndEverySpanIsExported) {
  FileTracer t("stats");
  auto check = [&](const char* when) {
    agtrace_stats_t s = t.stats();
    EXPECT_EQ(s.ended, s.dispatched + s.dropped_queue_full + s.dropped_queue_bytes + s.dropped_shutdown + s.pending)
        << when;
    EXPECT_LE(s.ended, s.started) << when;
    return s;
  };
  check("fresh");
  std::vector<agtrace_span_t*> open;
  for (int i = 0; i < 200; ++i) open.push_back(t.start("s"));
  EXPECT_EQ(check("200 open").started, 200u);
  for (int i = 0; i < 150; ++i) {
    agtrace_span_end(open[i], nullptr);
    if (i % 50 == 0) check("ending");
  }
  EXPECT_EQ(check("150 ended").ended, 150u);
  for (auto* s : open) agtrace_span_free(s);
  EXPECT_OK(agtrace_tracer_flush(t.get(), 10000, nullptr, err));
  agtrace_stats_t s = check("flushed");
  EXPECT_EQ(s.ended, 200u);
  EXPECT_EQ(s.dispatched, 200u);
  EXPECT_EQ(s.exported, 200u);
  EXPECT_EQ(s.export_dropped, 0u);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_EQ(t.spans().size(), 200u);
}

}  // namespace

// Contract points found by this suite and fixed in the library.
namespace {

// agtrace.h, agtrace_tracer_shutdown: "Afterwards spans can still be used
// safely but are not exported, and span calls return AGTRACE_ERR_SHUT_DOWN."
// agtrace_span_end returns AGTRACE_OK there (the span is counted as
// dropped_shutdown), unlike every other span call.
TEST(ContractFixes, SpanEndAfterShutdownReturnsShutDown) {
  FileTracer t("known-end-after-shutdown");
  agtrace_span_t* s = t.start("open at shutdown");
  EXPECT_OK(agtrace_tracer_shutdown(t.get(), 5000, nullptr, err));
  EXPECT_FAIL(AGTRACE_ERR_SHUT_DOWN, agtrace_span_end(s, err));
  EXPECT_FAIL(AGTRACE_ERR_ALREADY_ENDED, agtrace_span_end(s, err));
  agtrace_span_free(s);
  EXPECT_EQ(t.stats().dropped_shutdown, 1u);
}

// agtrace_tracer_flush (and agtrace_tracer_shutdown) with timeout_ms = 0 when
// every span was already delivered return AGTRACE_ERR_TIMEOUT ("flush timed
// out with 0 span(s) not yet handed to the exporters") instead of AGTRACE_OK:
// the deadline is checked before the (already true) completion condition.
TEST(ContractFixes, FlushWithZeroTimeoutAndNothingPending) {
  FileTracer t("known-flush-zero");
  agtrace_span_free(t.start("delivered"));
  EXPECT_OK(agtrace_tracer_flush(t.get(), 10000, nullptr, err));
  uint64_t undelivered = 42;
  EXPECT_OK(agtrace_tracer_flush(t.get(), 0, &undelivered, err));
  EXPECT_EQ(undelivered, 0u);
  EXPECT_OK(agtrace_tracer_shutdown(t.get(), 0, &undelivered, err));
}

// agtrace_span_enter/agtrace_span_exit key the thread's stack of entered
// spans by the handle's address. A span freed while entered stays the
// thread's current span, and a later span that happens to get the same
// address can "exit" without having been entered (AGTRACE_OK, popping the
// stale entry) instead of failing with AGTRACE_ERR_INVALID_ARGUMENT.
TEST(ContractFixes, ExitOfASpanNeverEnteredFailsEvenAtAReusedAddress) {
  FileTracer t("known-enter-free");
  agtrace_span_t* a = t.start("entered then freed");
  ASSERT_OK(agtrace_span_enter(a, err));
  const void* a_address = a;
  agtrace_span_free(a);
  // Start spans (keeping them) until one lands at the freed address.
  std::vector<agtrace_span_t*> spans;
  agtrace_span_t* b = nullptr;
  for (int i = 0; i < 256 && !b; ++i) {
    spans.push_back(t.start("never entered"));
    if (static_cast<const void*>(spans.back()) == a_address) b = spans.back();
  }
  if (b) {
    EXPECT_FAIL(AGTRACE_ERR_INVALID_ARGUMENT, agtrace_span_exit(b, err));
  }
  for (auto* s : spans) agtrace_span_free(s);
  if (!b) GTEST_SKIP() << "the allocator did not reuse the address";
}

}  // namespace
