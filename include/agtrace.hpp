// agtrace.hpp: a header-only C++17 wrapper over the C ABI in agtrace.h.
//
// What it adds over the C functions:
// - RAII: Config, Tracer, Span, Context and Headers free their handle in
//   their destructor; they are movable, not copyable. A moved-from object is
//   empty (`explicit operator bool` is false) and using it throws.
// - Exceptions: every failed C call throws agtrace::Error (a
//   std::runtime_error carrying the agtrace_status_t). Destructors never
//   throw: they ignore errors.
// - Attributes as `{key, value}` initializer lists, converted into one C call;
//   values are typed (strings, bool, integers, double, vectors, agtrace::Json).
// - ScopedSpan: a span that is the thread's current span for a C++ scope and
//   records an error when the scope is left by an exception.
//
// Strings are std::string_view (no terminator needed; copied by the library).
// Optional ones (a tool call id, a status description, Llm and TraceMeta
// fields, ...) are "not set" when empty.
//
// Lifetimes: agtrace::Value, agtrace::Attribute and agtrace::Parent are views.
// They borrow the strings, vectors, spans and contexts they were built from,
// so build them in the call that uses them (as in the examples); the library
// copies what it keeps.
//
// Thread-safety and blocking are those of the C functions (see agtrace.h): a
// Tracer and a Span may be used from several threads at once; only flush,
// shutdown and the destruction of the last Tracer handle block. Moving or
// destroying an object is not thread-safe.
//
//   agtrace::Config config;
//   config.set("OTEL_SERVICE_NAME", "my-agent").set("AGTRACE_EXPORTERS", "console");
//   agtrace::Tracer tracer(config);
//   {
//     agtrace::ScopedSpan agent(tracer, "invoke_agent planner", agtrace::Kind::Agent);
//     agtrace::Span llm = tracer.start_span("chat gpt-4o", agtrace::Kind::Llm);  // child of agent
//     llm.set_llm({"openai", "gpt-4o"}).set_usage({120, 40});
//     llm.set_attributes({{"gen_ai.request.temperature", 0.2}, {"gen_ai.request.max_tokens", 512}});
//     llm.end();
//   }
//   tracer.shutdown(std::chrono::seconds(5));

#ifndef AGTRACE_HPP
#define AGTRACE_HPP

#include "agtrace.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#if defined(__has_include)
#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#define AGTRACE_HPP_HAS_CXXABI 1
#endif
#endif

namespace agtrace {

// A failed C call: the status code and the library's message.
class Error : public std::runtime_error {
 public:
  Error(agtrace_status_t code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  agtrace_status_t code() const noexcept { return code_; }

 private:
  agtrace_status_t code_;
};

// The library's version, "MAJOR.MINOR.PATCH".
inline std::string_view version() noexcept { return agtrace_version(); }

enum class Kind : agtrace_kind_t {
  Plain = AGTRACE_KIND_PLAIN,
  Agent = AGTRACE_KIND_AGENT,
  Workflow = AGTRACE_KIND_WORKFLOW,
  Task = AGTRACE_KIND_TASK,
  Llm = AGTRACE_KIND_LLM,
  Embedding = AGTRACE_KIND_EMBEDDING,
  Retriever = AGTRACE_KIND_RETRIEVER,
  Reranker = AGTRACE_KIND_RERANKER,
  Tool = AGTRACE_KIND_TOOL,
  Guardrail = AGTRACE_KIND_GUARDRAIL,
  Evaluator = AGTRACE_KIND_EVALUATOR,
};

enum class StatusCode : agtrace_status_code_t {
  Unset = AGTRACE_STATUS_UNSET,
  Ok = AGTRACE_STATUS_OK,
  Error = AGTRACE_STATUS_ERROR,
};

using Stats = agtrace_stats_t;

// Token usage of a model call (`agtrace_span_set_usage`); zero means not
// reported. `Usage{412, 57}`, then set the other counters by name if needed.
struct Usage {
  Usage(std::uint64_t input = 0, std::uint64_t output = 0) noexcept : input_tokens(input), output_tokens(output) {}
  std::uint64_t input_tokens;
  std::uint64_t output_tokens;
  std::uint64_t cache_read_input_tokens = 0;
  std::uint64_t cache_creation_input_tokens = 0;
  std::uint64_t reasoning_output_tokens = 0;
};

namespace detail {

// A required string. A default-constructed string_view (NULL data) stays
// NULL, which the library rejects with AGTRACE_ERR_NULL_ARGUMENT.
inline agtrace_str_t str(std::string_view s) noexcept {
  agtrace_str_t r;
  r.ptr = s.data();
  r.len = s.size();
  return r;
}

// An optional string: empty means absent ({NULL, 0}: "not set").
inline agtrace_str_t opt(std::string_view s) noexcept {
  agtrace_str_t r;
  r.ptr = s.empty() ? nullptr : s.data();
  r.len = s.size();
  return r;
}

inline std::string_view view(agtrace_str_t s) noexcept {
  return s.ptr ? std::string_view(s.ptr, s.len) : std::string_view();
}

[[noreturn]] inline void raise(agtrace_status_t code, agtrace_error_t* error) {
  std::string message = error ? agtrace_error_message(error) : "";
  agtrace_error_free(error);
  if (message.empty()) message = "agtrace: error " + std::to_string(static_cast<int>(code));
  throw Error(code, message);
}

// Calls `f(&error)` and throws agtrace::Error when it does not return OK.
template <class F>
void call(F&& f) {
  agtrace_error_t* error = nullptr;
  agtrace_status_t code = std::forward<F>(f)(&error);
  if (code != AGTRACE_OK) raise(code, error);
  agtrace_error_free(error);  // NULL on success; defensive
}

inline std::uint32_t millis(std::chrono::milliseconds timeout) noexcept {
  auto ms = timeout.count();
  if (ms < 0) return 0;
  if (static_cast<unsigned long long>(ms) > UINT32_MAX) return UINT32_MAX;
  return static_cast<std::uint32_t>(ms);
}

inline std::vector<agtrace_str_t> strs(const std::vector<std::string_view>& v) {
  std::vector<agtrace_str_t> out;
  out.reserve(v.size());
  for (std::string_view s : v) out.push_back(str(s));
  return out;
}

class AttributeBuffer;

}  // namespace detail

// JSON text for an attribute (AGTRACE_VALUE_JSON): checked by the library and
// stored as a string. Borrowed, like every Value.
struct Json {
  explicit Json(std::string_view json) noexcept : text(json) {}
  std::string_view text;
};

// A typed attribute value. A view: it borrows strings and vectors.
class Value {
 public:
  Value(std::string_view v) noexcept : Value(Type{AGTRACE_VALUE_STRING}) { v_.string = detail::str(v.data() ? v : ""); }
  Value(const char* v) noexcept : Value(Type{AGTRACE_VALUE_STRING}) { v_.string = agtrace_cstr(v); }
  Value(const std::string& v) noexcept : Value(std::string_view(v)) {}
  Value(bool v) noexcept : Value(Type{AGTRACE_VALUE_BOOL}) { v_.boolean = v; }
  // Every integer type but bool; unsigned values above INT64_MAX are clamped.
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Value(T v) noexcept : Value(Type{AGTRACE_VALUE_INT}) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      v_.integer = v > static_cast<T>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(v);
    } else {
      v_.integer = static_cast<std::int64_t>(v);
    }
  }
  Value(double v) noexcept : Value(Type{AGTRACE_VALUE_DOUBLE}) { v_.number = v; }
  Value(Json v) noexcept : Value(Type{AGTRACE_VALUE_JSON}) { v_.string = detail::str(v.text); }
  Value(const std::vector<std::int64_t>& v) noexcept : Value(Type{AGTRACE_VALUE_INT_ARRAY}) {
    v_.array = v.data();
    v_.array_len = v.size();
  }
  Value(const std::vector<double>& v) noexcept : Value(Type{AGTRACE_VALUE_DOUBLE_ARRAY}) {
    v_.array = v.data();
    v_.array_len = v.size();
  }
  // vector<bool> and string vectors are converted in the call that uses them.
  Value(const std::vector<bool>& v) noexcept : Value(Type{AGTRACE_VALUE_BOOL_ARRAY}) {
    source_ = Source::Bools;
    from_ = &v;
  }
  Value(const std::vector<std::string>& v) noexcept : Value(Type{AGTRACE_VALUE_STRING_ARRAY}) {
    source_ = Source::Strings;
    from_ = &v;
  }
  Value(const std::vector<std::string_view>& v) noexcept : Value(Type{AGTRACE_VALUE_STRING_ARRAY}) {
    source_ = Source::Views;
    from_ = &v;
  }

 private:
  friend class detail::AttributeBuffer;
  enum class Source : unsigned char { Direct, Bools, Strings, Views };
  struct Type {
    agtrace_value_type_t type;
  };
  explicit Value(Type t) noexcept : v_() { v_.type = t.type; }

  agtrace_value_t v_;
  Source source_ = Source::Direct;
  const void* from_ = nullptr;
};

// A key and a typed value; `{"gen_ai.request.max_tokens", 512}`.
struct Attribute {
  Attribute(std::string_view k, Value v) noexcept : key(k), value(v) {}
  std::string_view key;
  Value value;
};

namespace detail {

// The C array for a list of attributes, with the storage the conversions
// need; lives for one call. Small lists stay on the stack.
class AttributeBuffer {
 public:
  AttributeBuffer(const Attribute* attrs, std::size_t len) : len_(len) {
    if (len > kInline) heap_.resize(len);
    agtrace_attribute_t* out = data_mut();
    for (std::size_t i = 0; i < len; ++i) {
      out[i].key = str(attrs[i].key);
      out[i].value = convert(attrs[i].value);
    }
  }
  AttributeBuffer(const AttributeBuffer&) = delete;
  AttributeBuffer& operator=(const AttributeBuffer&) = delete;

  const agtrace_attribute_t* data() const noexcept {
    return len_ == 0 ? nullptr : len_ > kInline ? heap_.data() : inline_;
  }
  std::size_t size() const noexcept { return len_; }

 private:
  static constexpr std::size_t kInline = 8;
  agtrace_attribute_t* data_mut() noexcept { return len_ > kInline ? heap_.data() : inline_; }

  agtrace_value_t convert(const Value& value) {
    agtrace_value_t v = value.v_;
    switch (value.source_) {
      case Value::Source::Direct:
        break;
      case Value::Source::Bools: {
        const auto& src = *static_cast<const std::vector<bool>*>(value.from_);
        std::unique_ptr<bool[]> b(new bool[src.size() ? src.size() : 1]);
        for (std::size_t i = 0; i < src.size(); ++i) b[i] = src[i];
        v.array = b.get();
        v.array_len = src.size();
        bools_.push_back(std::move(b));
        break;
      }
      case Value::Source::Strings: {
        const auto& src = *static_cast<const std::vector<std::string>*>(value.from_);
        std::vector<agtrace_str_t> s;
        s.reserve(src.size());
        for (const std::string& e : src) s.push_back(str(e));
        v.array = s.data();  // the heap buffer survives the move below
        v.array_len = s.size();
        strings_.push_back(std::move(s));
        break;
      }
      case Value::Source::Views: {
        std::vector<agtrace_str_t> s = strs(*static_cast<const std::vector<std::string_view>*>(value.from_));
        v.array = s.data();
        v.array_len = s.size();
        strings_.push_back(std::move(s));
        break;
      }
    }
    return v;
  }

  std::size_t len_;
  agtrace_attribute_t inline_[kInline] = {};
  std::vector<agtrace_attribute_t> heap_;
  std::vector<std::vector<agtrace_str_t>> strings_;
  std::vector<std::unique_ptr<bool[]>> bools_;
};

}  // namespace detail

using Attributes = std::initializer_list<Attribute>;

// A span's identity, usable after the span is gone: a parent, a link target,
// or what `Tracer::inject` writes. Movable; empty when moved from, or when
// `Tracer::extract` / `current_context` found nothing.
class Context {
 public:
  struct Ids {
    std::uint8_t trace_id[16];
    std::uint8_t span_id[8];
    bool sampled;
  };

  Context() noexcept = default;
  explicit Context(agtrace_context_t* adopt) noexcept : h_(adopt) {}
  Context(Context&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Context& operator=(Context&& o) noexcept {
    if (this != &o) {
      agtrace_context_free(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() { agtrace_context_free(h_); }

  explicit operator bool() const noexcept { return h_ != nullptr; }
  const agtrace_context_t* get() const noexcept { return h_; }
  agtrace_context_t* release() noexcept { return std::exchange(h_, nullptr); }

  Ids ids() const {
    Ids ids{};
    detail::call([&](agtrace_error_t** e) {
      return agtrace_context_ids(h_, ids.trace_id, ids.span_id, &ids.sampled, e);
    });
    return ids;
  }
  // Lowercase hex, as in a W3C traceparent.
  std::string trace_id_hex() const {
    Ids i = ids();
    return hex(i.trace_id, 16);
  }
  std::string span_id_hex() const {
    Ids i = ids();
    return hex(i.span_id, 8);
  }

 private:
  static std::string hex(const std::uint8_t* p, std::size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string s(n * 2, '0');
    for (std::size_t i = 0; i < n; ++i) {
      s[2 * i] = digits[p[i] >> 4];
      s[2 * i + 1] = digits[p[i] & 15];
    }
    return s;
  }
  agtrace_context_t* h_ = nullptr;
};

// The calling thread's current span's context (empty when there is none).
inline Context current_context() {
  agtrace_context_t* c = nullptr;
  detail::call([&](agtrace_error_t** e) { return agtrace_current_context(&c, e); });
  return Context(c);
}

class Span;

// Where a new span sits: `Parent::current()` (the default: the thread's
// current span, or a new trace), `Parent::root()`, a Span or a Context
// (both convert implicitly). A view: it borrows the span or context.
class Parent {
 public:
  Parent() noexcept : p_() { p_.kind = AGTRACE_PARENT_CURRENT; }
  Parent(const Span& span) noexcept;
  Parent(const Context& context) noexcept : p_() {
    p_.kind = AGTRACE_PARENT_CONTEXT;
    p_.context = context.get();
  }
  static Parent current() noexcept { return Parent(); }
  static Parent root() noexcept {
    Parent p;
    p.p_.kind = AGTRACE_PARENT_ROOT;
    return p;
  }
  const agtrace_parent_t& c() const noexcept { return p_; }

 private:
  agtrace_parent_t p_;
};

// A model call's identity (`agtrace_span_set_llm`); empty fields are not set.
struct Llm {
  Llm(std::string_view provider_ = {}, std::string_view request_model_ = {}, std::string_view response_model_ = {},
      std::string_view response_id_ = {}, std::vector<std::string_view> finish_reasons_ = {})
      : provider(provider_),
        request_model(request_model_),
        response_model(response_model_),
        response_id(response_id_),
        finish_reasons(std::move(finish_reasons_)) {}
  std::string_view provider;
  std::string_view request_model;
  std::string_view response_model;
  std::string_view response_id;
  std::vector<std::string_view> finish_reasons;
};

// Trace-level context (`agtrace_span_set_trace_meta`): empty fields are left
// unchanged; non-empty `tags` replace the trace's tags; `metadata_json` is a
// JSON object merged into the trace's metadata. Set the fields by name:
//   agtrace::TraceMeta meta;
//   meta.user_id = "user-7";
//   span.set_trace_meta(meta);
struct TraceMeta {
  std::string_view user_id;
  std::string_view session_id;
  std::string_view conversation_id;
  std::string_view environment;
  std::string_view release;
  std::vector<std::string_view> tags;
  std::string_view metadata_json;
};

// Undoes `Span::enter` when destroyed (or at `exit()`); same thread only.
class [[nodiscard]] EnterGuard {
 public:
  explicit EnterGuard(const agtrace_span_t* span) : span_(span) {
    detail::call([&](agtrace_error_t** e) { return agtrace_span_enter(span_, e); });
  }
  EnterGuard(EnterGuard&& o) noexcept : span_(std::exchange(o.span_, nullptr)) {}
  EnterGuard& operator=(EnterGuard&&) = delete;
  EnterGuard(const EnterGuard&) = delete;
  EnterGuard& operator=(const EnterGuard&) = delete;
  ~EnterGuard() {
    if (span_) agtrace_span_exit(span_, nullptr);
  }
  // Exits now; throws when this span is not the thread's innermost entered span.
  void exit() {
    if (!span_) return;
    detail::call([&](agtrace_error_t** e) { return agtrace_span_exit(span_, e); });
    span_ = nullptr;
  }

 private:
  const agtrace_span_t* span_;
};

// A span. Movable; the destructor frees the handle, and a span not ended by
// then is ended and exported marked `agtrace.abandoned = true`. Setters
// return the span, so they chain; every failure throws agtrace::Error (for
// example AGTRACE_ERR_ALREADY_ENDED after `end()`, AGTRACE_ERR_SHUT_DOWN after
// the tracer's shutdown).
class Span {
 public:
  Span() noexcept = default;
  explicit Span(agtrace_span_t* adopt) noexcept : h_(adopt) {}
  Span(Span&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Span& operator=(Span&& o) noexcept {
    if (this != &o) {
      agtrace_span_free(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { agtrace_span_free(h_); }

  explicit operator bool() const noexcept { return h_ != nullptr; }
  agtrace_span_t* get() const noexcept { return h_; }
  agtrace_span_t* release() noexcept { return std::exchange(h_, nullptr); }

  // Ends the span (queues it for export; never blocks). Ending twice throws
  // AGTRACE_ERR_ALREADY_ENDED.
  void end() {
    detail::call([&](agtrace_error_t** e) { return agtrace_span_end(h_, e); });
  }
  bool is_recording() const noexcept { return agtrace_span_is_recording(h_); }
  Context context() const {
    agtrace_context_t* c = nullptr;
    detail::call([&](agtrace_error_t** e) { return agtrace_span_context(h_, &c, e); });
    return Context(c);
  }
  // Makes this span the thread's current span until the guard is destroyed.
  EnterGuard enter() const { return EnterGuard(h_); }

  Span& set_attribute(std::string_view key, const Value& value) {
    const Attribute a(key, value);
    return set_attributes(&a, 1);
  }
  // All in one C call, all or nothing.
  Span& set_attributes(Attributes attrs) { return set_attributes(attrs.begin(), attrs.size()); }
  Span& set_attributes(const std::vector<Attribute>& attrs) { return set_attributes(attrs.data(), attrs.size()); }
  Span& set_attributes(const Attribute* attrs, std::size_t len) {
    detail::AttributeBuffer b(attrs, len);
    detail::call([&](agtrace_error_t** e) { return agtrace_span_set_attributes(h_, b.data(), b.size(), e); });
    return *this;
  }
  Span& add_event(std::string_view name, Attributes attrs = {}) {
    detail::AttributeBuffer b(attrs.begin(), attrs.size());
    detail::call([&](agtrace_error_t** e) {
      return agtrace_span_add_event(h_, detail::str(name), b.data(), b.size(), e);
    });
    return *this;
  }
  Span& add_link(const Context& target, Attributes attrs = {}) {
    detail::AttributeBuffer b(attrs.begin(), attrs.size());
    detail::call([&](agtrace_error_t** e) { return agtrace_span_add_link(h_, target.get(), b.data(), b.size(), e); });
    return *this;
  }
  // An OpenTelemetry `exception` event; sets the status to error.
  Span& record_error(std::string_view type, std::string_view message, std::string_view stacktrace = {}) {
    detail::call([&](agtrace_error_t** e) {
      return agtrace_span_record_error(h_, detail::str(type), detail::str(message), detail::opt(stacktrace), e);
    });
    return *this;
  }
  // record_error with the exception's dynamic type (demangled) and what().
  Span& record_exception(const std::exception& ex) { return record_error(type_name(typeid(ex)), ex.what()); }
  // For `catch (...)`: records the exception being handled (type "unknown"
  // when it is not a std::exception). Does nothing outside a handler.
  Span& record_current_exception() {
    std::exception_ptr p = std::current_exception();
    if (!p) return *this;
    try {
      std::rethrow_exception(p);
    } catch (const std::exception& ex) {
      return record_exception(ex);
    } catch (...) {
      return record_error("unknown", "a non-standard exception was thrown");
    }
  }
  Span& set_status(StatusCode code, std::string_view description = {}) {
    detail::call([&](agtrace_error_t** e) {
      return agtrace_span_set_status(h_, static_cast<agtrace_status_code_t>(code), detail::opt(description), e);
    });
    return *this;
  }
  Span& set_llm(const Llm& llm) {
    std::vector<agtrace_str_t> reasons = detail::strs(llm.finish_reasons);
    agtrace_llm_t l{};
    l.provider = detail::opt(llm.provider);
    l.request_model = detail::opt(llm.request_model);
    l.response_model = detail::opt(llm.response_model);
    l.response_id = detail::opt(llm.response_id);
    l.finish_reasons = reasons.data();
    l.finish_reasons_len = reasons.size();
    detail::call([&](agtrace_error_t** e) { return agtrace_span_set_llm(h_, &l, e); });
    return *this;
  }
  Span& set_usage(const Usage& usage) {
    agtrace_usage_t u{};
    u.input_tokens = usage.input_tokens;
    u.output_tokens = usage.output_tokens;
    u.cache_read_input_tokens = usage.cache_read_input_tokens;
    u.cache_creation_input_tokens = usage.cache_creation_input_tokens;
    u.reasoning_output_tokens = usage.reasoning_output_tokens;
    detail::call([&](agtrace_error_t** e) { return agtrace_span_set_usage(h_, &u, e); });
    return *this;
  }
  Span& set_tool(std::string_view name, std::string_view call_id = {}) {
    detail::call([&](agtrace_error_t** e) {
      return agtrace_span_set_tool(h_, detail::str(name), detail::opt(call_id), e);
    });
    return *this;
  }
  Span& set_agent(std::string_view name, std::string_view id = {}) {
    detail::call([&](agtrace_error_t** e) {
      return agtrace_span_set_agent(h_, detail::str(name), detail::opt(id), e);
    });
    return *this;
  }
  // JSON arrays; recorded only with content capture on (AGTRACE_CAPTURE_CONTENT).
  Span& set_messages(std::string_view input_json, std::string_view output_json = {}) {
    detail::call([&](agtrace_error_t** e) {
      return agtrace_span_set_messages(h_, detail::opt(input_json), detail::opt(output_json), e);
    });
    return *this;
  }
  Span& set_trace_meta(const TraceMeta& meta) {
    std::vector<agtrace_str_t> tags = detail::strs(meta.tags);
    agtrace_trace_meta_t m{};
    m.user_id = detail::opt(meta.user_id);
    m.session_id = detail::opt(meta.session_id);
    m.conversation_id = detail::opt(meta.conversation_id);
    m.environment = detail::opt(meta.environment);
    m.release = detail::opt(meta.release);
    m.tags = tags.data();
    m.tags_len = tags.size();
    m.metadata_json = detail::opt(meta.metadata_json);
    detail::call([&](agtrace_error_t** e) { return agtrace_span_set_trace_meta(h_, &m, e); });
    return *this;
  }

  static std::string type_name(const std::type_info& type) {
#ifdef AGTRACE_HPP_HAS_CXXABI
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                std::free);
    if (status == 0 && name) return name.get();
#endif
    return type.name();
  }

 private:
  agtrace_span_t* h_ = nullptr;
};

inline Parent::Parent(const Span& span) noexcept : p_() {
  p_.kind = AGTRACE_PARENT_SPAN;
  p_.span = span.get();
}

// Settings by name: the environment variables of the README's table.
class Config {
 public:
  Config() : h_(agtrace_config_new()) {}
  Config(std::initializer_list<std::pair<std::string_view, std::string_view>> settings) : Config() {
    for (const auto& s : settings) set(s.first, s.second);
  }
  Config(Config&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Config& operator=(Config&& o) noexcept {
    if (this != &o) {
      agtrace_config_free(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;
  ~Config() { agtrace_config_free(h_); }

  // Throws AGTRACE_ERR_INVALID_ARGUMENT for an unknown name; a bad value
  // throws from the Tracer constructor instead, naming the setting.
  Config& set(std::string_view name, std::string_view value) {
    detail::call([&](agtrace_error_t** e) { return agtrace_config_set(h_, detail::str(name), detail::str(value), e); });
    return *this;
  }
  // Only settings given here and defaults apply, not the environment.
  Config& ignore_env() {
    detail::call([&](agtrace_error_t** e) { return agtrace_config_ignore_env(h_, e); });
    return *this;
  }
  const agtrace_config_t* get() const noexcept { return h_; }

 private:
  agtrace_config_t* h_;
};

// Propagation headers (HTTP headers, gRPC metadata); names ignore case.
class Headers {
 public:
  Headers() : h_(agtrace_headers_new()) {}
  Headers(std::initializer_list<std::pair<std::string_view, std::string_view>> headers) : Headers() {
    for (const auto& h : headers) set(h.first, h.second);
  }
  Headers(Headers&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Headers& operator=(Headers&& o) noexcept {
    if (this != &o) {
      agtrace_headers_free(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Headers(const Headers&) = delete;
  Headers& operator=(const Headers&) = delete;
  ~Headers() { agtrace_headers_free(h_); }

  // Replaces any header of the same name (ignoring case).
  Headers& set(std::string_view name, std::string_view value) {
    detail::call([&](agtrace_error_t** e) {
      return agtrace_headers_set(h_, detail::str(name), detail::str(value), e);
    });
    return *this;
  }
  std::size_t size() const noexcept { return agtrace_headers_count(h_); }
  // Header `index`: name and value, borrowed until the list changes.
  std::pair<std::string_view, std::string_view> at(std::size_t index) const {
    agtrace_str_t name{}, value{};
    detail::call([&](agtrace_error_t** e) { return agtrace_headers_get(h_, index, &name, &value, e); });
    return {detail::view(name), detail::view(value)};
  }
  // The value of `name` (ignoring ASCII case), or `fallback`.
  std::string_view get(std::string_view name, std::string_view fallback = {}) const {
    for (std::size_t i = 0, n = size(); i < n; ++i) {
      auto kv = at(i);
      if (iequals(kv.first, name)) return kv.second;
    }
    return fallback;
  }
  const agtrace_headers_t* get() const noexcept { return h_; }
  agtrace_headers_t* get() noexcept { return h_; }

 private:
  static bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char x = a[i], y = b[i];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  }
  agtrace_headers_t* h_;
};

// A tracer. Movable; thread-safe. The destructor releases this handle: when
// it is the last one and no span remains, the tracer shuts down, waiting up to
// 5 s for the final export; call `shutdown(timeout)` first to choose.
class Tracer {
 public:
  // From the environment and defaults.
  Tracer() : Tracer(nullptr) {}
  // From `config` (which wins over the environment). Throws
  // AGTRACE_ERR_INVALID_CONFIG naming a bad setting.
  explicit Tracer(const Config& config) : Tracer(config.get()) {}
  explicit Tracer(const agtrace_config_t* config) {
    detail::call([&](agtrace_error_t** e) { return agtrace_tracer_new(config, &h_, e); });
  }
  Tracer(Tracer&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Tracer& operator=(Tracer&& o) noexcept {
    if (this != &o) {
      agtrace_tracer_free(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;
  ~Tracer() { agtrace_tracer_free(h_); }

  explicit operator bool() const noexcept { return h_ != nullptr; }
  const agtrace_tracer_t* get() const noexcept { return h_; }

  // Starts a span (never blocks). Throws AGTRACE_ERR_SHUT_DOWN after shutdown.
  Span start_span(std::string_view name, Kind kind = Kind::Plain, const Parent& parent = Parent(),
                  Attributes attrs = {}) const {
    return start_span(name, kind, parent, attrs.begin(), attrs.size());
  }
  Span start_span(std::string_view name, Kind kind, const Parent& parent, const std::vector<Attribute>& attrs) const {
    return start_span(name, kind, parent, attrs.data(), attrs.size());
  }
  Span start_span(std::string_view name, Kind kind, const Parent& parent, const Attribute* attrs,
                  std::size_t len) const {
    detail::AttributeBuffer b(attrs, len);
    agtrace_span_options_t o{};
    o.name = detail::str(name);
    o.kind = static_cast<agtrace_kind_t>(kind);
    o.parent = parent.c();
    o.attributes = b.data();
    o.attributes_len = b.size();
    agtrace_span_t* s = nullptr;
    detail::call([&](agtrace_error_t** e) { return agtrace_span_start(h_, &o, &s, e); });
    return Span(s);
  }

  // Blocks until every span ended so far is delivered, or throws
  // AGTRACE_ERR_TIMEOUT (its message gives the undelivered count).
  void flush(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    detail::call([&](agtrace_error_t** e) { return agtrace_tracer_flush(h_, detail::millis(timeout), nullptr, e); });
  }
  // Flushes and stops exporting; idempotent; returns within `timeout` (or throws
  // AGTRACE_ERR_TIMEOUT). Span calls throw AGTRACE_ERR_SHUT_DOWN afterwards.
  void shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    detail::call([&](agtrace_error_t** e) { return agtrace_tracer_shutdown(h_, detail::millis(timeout), nullptr, e); });
  }
  Stats stats() const {
    Stats s{};
    detail::call([&](agtrace_error_t** e) { return agtrace_tracer_stats(h_, &s, e); });
    return s;
  }
  // Every counter, per exporter included, as a JSON object.
  std::string stats_json() const {
    char* json = nullptr;
    detail::call([&](agtrace_error_t** e) { return agtrace_tracer_stats_json(h_, &json, e); });
    std::unique_ptr<char, void (*)(char*)> owned(json, agtrace_string_free);
    return json ? std::string(json) : std::string();
  }
  void set_sampling_rate(double rate) const {
    detail::call([&](agtrace_error_t** e) { return agtrace_tracer_set_sampling_rate(h_, rate, e); });
  }
  void add_tag(std::string_view tag) const {
    detail::call([&](agtrace_error_t** e) { return agtrace_tracer_add_tag(h_, detail::str(tag), e); });
  }

  // Writes propagation headers (traceparent, tracestate, baggage, or B3 per
  // OTEL_PROPAGATORS) for `context`.
  void inject(const Context& context, Headers& headers) const {
    detail::call([&](agtrace_error_t** e) { return agtrace_inject(h_, context.get(), headers.get(), e); });
  }
  void inject(const Span& span, Headers& headers) const { inject(span.context(), headers); }
  // The remote parent in `headers`, or an empty Context.
  Context extract(const Headers& headers) const {
    agtrace_context_t* c = nullptr;
    detail::call([&](agtrace_error_t** e) { return agtrace_extract(h_, headers.get(), &c, e); });
    return Context(c);
  }

 private:
  agtrace_tracer_t* h_ = nullptr;
};

// A span that is the thread's current span for a C++ scope: started and
// entered by the constructor; the destructor exits it, ends it and frees it,
// never throwing. When the scope is left by an exception the destructor
// records an error first (type "exception", message "scope exited by an
// exception": the exception object is not visible there; catch it and call
// `span().record_exception(e)` for its real type and message). Neither
// copyable nor movable (entering is bound to this thread and scope).
class ScopedSpan {
 public:
  ScopedSpan(const Tracer& tracer, std::string_view name, Kind kind = Kind::Plain, const Parent& parent = Parent(),
             Attributes attrs = {})
      : ScopedSpan(tracer.start_span(name, kind, parent, attrs)) {}
  // Takes over a started span and enters it.
  explicit ScopedSpan(Span&& span) : span_(std::move(span)), exceptions_(std::uncaught_exceptions()) {
    detail::call([&](agtrace_error_t** e) { return agtrace_span_enter(span_.get(), e); });
  }
  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;
  ScopedSpan(ScopedSpan&&) = delete;
  ScopedSpan& operator=(ScopedSpan&&) = delete;
  ~ScopedSpan() {
    agtrace_span_t* s = span_.get();
    agtrace_span_exit(s, nullptr);
    if (std::uncaught_exceptions() > exceptions_) {
      agtrace_span_record_error(s, detail::str("exception"), detail::str("scope exited by an exception"),
                                agtrace_str_t{nullptr, 0}, nullptr);
    }
    agtrace_span_end(s, nullptr);  // AGTRACE_ERR_ALREADY_ENDED is fine
  }  // span_'s destructor frees the handle

  Span& span() noexcept { return span_; }
  const Span& span() const noexcept { return span_; }
  Span* operator->() noexcept { return &span_; }
  const Span* operator->() const noexcept { return &span_; }

 private:
  Span span_;
  int exceptions_;
};

}  // namespace agtrace

#endif  // AGTRACE_HPP
