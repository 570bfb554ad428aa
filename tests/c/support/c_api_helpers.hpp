// Helpers for the GoogleTest suites that call the C ABI directly.
#ifndef AGTRACE_TESTS_C_API_HELPERS_HPP
#define AGTRACE_TESTS_C_API_HELPERS_HPP

#include <agtrace.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "otlp_file.hpp"

namespace agtest {

inline agtrace_str_t S(std::string_view s) { return agtrace_str_n(s.data(), s.size()); }
inline const agtrace_str_t kAbsent = {nullptr, 0};
inline const agtrace_str_t kNullWithLength = {nullptr, 5};
// Not UTF-8: a lone continuation byte and an overlong encoding.
inline const char kBadUtf8Bytes[] = "ok\x80\xc0\xaf";
inline const agtrace_str_t kBadUtf8 = {kBadUtf8Bytes, sizeof(kBadUtf8Bytes) - 1};

// What a failed call must give: the status, an error object with the same
// code, a non-empty message (mentioning `mention` when given). The error is
// freed here, so a leak of it shows up under valgrind/ASan.
template <class F>
::testing::AssertionResult Fails(agtrace_status_t want, const char* mention, F&& f) {
  agtrace_error_t* e = nullptr;
  agtrace_status_t got = f(&e);
  std::string msg = e ? agtrace_error_message(e) : "<no error object>";
  agtrace_status_t code = agtrace_error_code(e);
  agtrace_error_free(e);
  if (got != want)
    return ::testing::AssertionFailure() << "status " << got << ", want " << want << " (message: " << msg << ")";
  if (!e) return ::testing::AssertionFailure() << "status " << got << " but no error object";
  if (code != want) return ::testing::AssertionFailure() << "error object code " << code << ", want " << want;
  if (msg.empty()) return ::testing::AssertionFailure() << "empty error message";
  if (mention && msg.find(mention) == std::string::npos)
    return ::testing::AssertionFailure() << "message \"" << msg << "\" does not mention \"" << mention << "\"";
  return ::testing::AssertionSuccess() << msg;
}

// A successful call leaves *out_error NULL (it starts as a non-NULL sentinel).
template <class F>
::testing::AssertionResult Succeeds(F&& f) {
  static char sentinel;
  agtrace_error_t* e = reinterpret_cast<agtrace_error_t*>(&sentinel);
  agtrace_status_t got = f(&e);
  if (got != AGTRACE_OK) {
    std::string msg = e && e != reinterpret_cast<agtrace_error_t*>(&sentinel) ? agtrace_error_message(e) : "";
    if (e != reinterpret_cast<agtrace_error_t*>(&sentinel)) agtrace_error_free(e);
    return ::testing::AssertionFailure() << "status " << got << ": " << msg;
  }
  if (e != nullptr) return ::testing::AssertionFailure() << "success left *out_error non-NULL";
  return ::testing::AssertionSuccess();
}

}  // namespace agtest

#define EXPECT_FAIL(code, expr) EXPECT_TRUE(::agtest::Fails(code, nullptr, [&](agtrace_error_t** err) { return (expr); }))
#define EXPECT_FAIL_MENTIONING(code, mention, expr) \
  EXPECT_TRUE(::agtest::Fails(code, mention, [&](agtrace_error_t** err) { return (expr); }))
#define EXPECT_OK(expr) EXPECT_TRUE(::agtest::Succeeds([&](agtrace_error_t** err) { return (expr); }))
#define ASSERT_OK(expr) ASSERT_TRUE(::agtest::Succeeds([&](agtrace_error_t** err) { return (expr); }))

namespace agtest {

// A tracer writing OTLP/JSON lines to a fresh temp file, ignoring the
// environment. `spans()` shuts it down and reads the file back.
class FileTracer {
 public:
  explicit FileTracer(const std::string& stem, std::vector<std::pair<std::string, std::string>> extra = {})
      : path_(otlp::temp_path(stem)) {
    agtrace_config_t* cfg = agtrace_config_new();
    std::vector<std::pair<std::string, std::string>> settings = {
        {"AGTRACE_EXPORTERS", "file"}, {"AGTRACE_FILE_PATH", path_}, {"OTEL_SERVICE_NAME", "agtrace-c-tests"}};
    settings.insert(settings.end(), extra.begin(), extra.end());
    agtrace_config_ignore_env(cfg, nullptr);
    for (const auto& kv : settings) {
      agtrace_error_t* e = nullptr;
      if (agtrace_config_set(cfg, S(kv.first), S(kv.second), &e) != AGTRACE_OK) {
        ADD_FAILURE() << "config_set " << kv.first << ": " << agtrace_error_message(e);
        agtrace_error_free(e);
      }
    }
    agtrace_error_t* e = nullptr;
    if (agtrace_tracer_new(cfg, &tracer_, &e) != AGTRACE_OK) {
      ADD_FAILURE() << "tracer_new: " << agtrace_error_message(e);
      agtrace_error_free(e);
    }
    agtrace_config_free(cfg);
  }
  ~FileTracer() {
    agtrace_tracer_free(tracer_);
    std::remove(path_.c_str());
  }
  FileTracer(const FileTracer&) = delete;
  FileTracer& operator=(const FileTracer&) = delete;

  agtrace_tracer_t* get() const { return tracer_; }
  const std::string& path() const { return path_; }

  // Starts a span; fails the test (returns NULL) on error.
  agtrace_span_t* start(std::string_view name, agtrace_kind_t kind = AGTRACE_KIND_PLAIN,
                        agtrace_parent_t parent = agtrace_parent_t{AGTRACE_PARENT_CURRENT, nullptr, nullptr},
                        const agtrace_attribute_t* attrs = nullptr, std::size_t len = 0) const {
    agtrace_span_options_t o{};
    o.name = S(name);
    o.kind = kind;
    o.parent = parent;
    o.attributes = attrs;
    o.attributes_len = len;
    agtrace_span_t* s = nullptr;
    agtrace_error_t* e = nullptr;
    if (agtrace_span_start(tracer_, &o, &s, &e) != AGTRACE_OK) {
      ADD_FAILURE() << "span_start " << name << ": " << agtrace_error_message(e);
      agtrace_error_free(e);
    }
    return s;
  }

  agtrace_stats_t stats() const {
    agtrace_stats_t s{};
    EXPECT_OK(agtrace_tracer_stats(tracer_, &s, err));
    return s;
  }

  // Shuts the tracer down (flushing the file) and reads every exported span.
  std::vector<otlp::Span> spans() const {
    EXPECT_OK(agtrace_tracer_shutdown(tracer_, 10000, nullptr, err));
    return otlp::read_spans(path_);
  }

 private:
  std::string path_;
  agtrace_tracer_t* tracer_ = nullptr;
};

inline agtrace_parent_t ParentSpan(const agtrace_span_t* s) { return {AGTRACE_PARENT_SPAN, s, nullptr}; }
inline agtrace_parent_t ParentContext(const agtrace_context_t* c) { return {AGTRACE_PARENT_CONTEXT, nullptr, c}; }
inline agtrace_parent_t ParentRoot() { return {AGTRACE_PARENT_ROOT, nullptr, nullptr}; }

inline std::string SpanIdHex(const agtrace_span_t* s) {
  agtrace_context_t* c = nullptr;
  agtrace_span_context(s, &c, nullptr);
  unsigned char id[8] = {0};
  agtrace_context_ids(c, nullptr, id, nullptr, nullptr);
  agtrace_context_free(c);
  return otlp::hex(id, 8);
}

inline std::string TraceIdHex(const agtrace_context_t* c) {
  unsigned char id[16] = {0};
  agtrace_context_ids(c, id, nullptr, nullptr, nullptr);
  return otlp::hex(id, 16);
}

// The value of header `want` (lower case; names compare ignoring case), or
// "<absent>".
inline std::string HeaderValue(const agtrace_headers_t* h, const std::string& want) {
  for (size_t i = 0; i < agtrace_headers_count(h); ++i) {
    agtrace_str_t n{}, v{};
    agtrace_headers_get(h, i, &n, &v, nullptr);
    std::string name(n.ptr, n.len);
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (name == want) return std::string(v.ptr, v.len);
  }
  return "<absent>";
}

inline agtrace_value_t IntValue(int64_t v) {
  agtrace_value_t x{};
  x.type = AGTRACE_VALUE_INT;
  x.integer = v;
  return x;
}
inline agtrace_value_t StrValue(agtrace_str_t s, agtrace_value_type_t type = AGTRACE_VALUE_STRING) {
  agtrace_value_t x{};
  x.type = type;
  x.string = s;
  return x;
}
inline agtrace_attribute_t Attr(std::string_view key, agtrace_value_t v) { return {S(key), v}; }

// The span count of the stress test: AGTRACE_TEST_SPANS_PER_THREAD, or `dflt`.
inline long SpansPerThread(long dflt) {
  const char* v = std::getenv("AGTRACE_TEST_SPANS_PER_THREAD");
  return v && *v ? std::atol(v) : dflt;
}

}  // namespace agtest

#endif
