// Builds span protocol messages (ffi/PROTOCOL.md) for the tests, as a
// binding's encoder does: records with their length prefixes, items, every
// number little-endian. The codes come from the header (AGTRACE_PROTO_*,
// AGTRACE_KIND_*, AGTRACE_STATUS_*), never written out here.
#ifndef AGTRACE_TESTS_PROTOCOL_MESSAGE_HPP
#define AGTRACE_TESTS_PROTOCOL_MESSAGE_HPP

#include <agtrace.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace agtest::proto {

// The time offset meaning "when the core reads it".
constexpr uint64_t kNow = UINT64_MAX;

// A context object as a protocol context handle.
inline uint64_t Handle(const agtrace_context_t* c) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(c)); }

// A BEGIN's parent: the form byte and the fields it needs.
struct Parent {
  uint8_t form = AGTRACE_PROTO_PARENT_ROOT;
  uint8_t trace_id[16] = {};
  uint8_t span_id[8] = {};
  uint8_t flags = 0;
  // CONTEXT's context handle, or INHERIT's.
  uint64_t context = 0;
};

inline Parent Root() { return Parent{}; }

// LOCAL or SPAN (`form`) from ids; INHERIT from `inherit` when it is not 0.
inline Parent Ids(uint8_t form, const uint8_t* trace_id, const uint8_t* span_id, uint8_t flags, uint64_t inherit = 0) {
  Parent p;
  p.form = static_cast<uint8_t>(inherit ? form | AGTRACE_PROTO_PARENT_INHERIT : form);
  std::memcpy(p.trace_id, trace_id, sizeof p.trace_id);
  std::memcpy(p.span_id, span_id, sizeof p.span_id);
  p.flags = flags;
  p.context = inherit;
  return p;
}

// A child of a span this process still records (its rollups count the child).
inline Parent Local(const agtrace_begun_t& b, const agtrace_context_t* inherit = nullptr) {
  return Ids(AGTRACE_PROTO_PARENT_LOCAL, b.trace_id, b.span_id, b.flags, Handle(inherit));
}

// A child of a span known by its ids (ended, or not counted).
inline Parent OfSpan(const agtrace_begun_t& b, const agtrace_context_t* inherit = nullptr) {
  return Ids(AGTRACE_PROTO_PARENT_SPAN, b.trace_id, b.span_id, b.flags, Handle(inherit));
}

inline Parent Context(uint64_t handle) {
  Parent p;
  p.form = AGTRACE_PROTO_PARENT_CONTEXT;
  p.context = handle;
  return p;
}
inline Parent Context(const agtrace_context_t* c) { return Context(Handle(c)); }

// A message under construction. Records are appended in order; items go to
// the record opened last. The open record's length is written whenever the
// bytes are read, so a message is always well framed unless a test cuts it.
class Message {
 public:
  // --- records ---
  Message& begin(uint8_t kind, const Parent& parent, std::string_view name) {
    open(AGTRACE_PROTO_RECORD_BEGIN);
    u8(kind);
    u8(parent.form);
    const uint8_t base = parent.form & static_cast<uint8_t>(~AGTRACE_PROTO_PARENT_INHERIT);
    if (base == AGTRACE_PROTO_PARENT_CONTEXT) {
      u64(parent.context);
    } else if (base == AGTRACE_PROTO_PARENT_LOCAL || base == AGTRACE_PROTO_PARENT_SPAN) {
      bytes_.append(reinterpret_cast<const char*>(parent.trace_id), sizeof parent.trace_id);
      bytes_.append(reinterpret_cast<const char*>(parent.span_id), sizeof parent.span_id);
      u8(parent.flags);
      if (parent.form & AGTRACE_PROTO_PARENT_INHERIT) u64(parent.context);
    }
    return str(name);
  }
  Message& end(uint64_t handle, uint64_t duration_ns = kNow) { return finish(AGTRACE_PROTO_RECORD_END, handle, duration_ns); }
  Message& abandon(uint64_t handle, uint64_t duration_ns = kNow) {
    return finish(AGTRACE_PROTO_RECORD_ABANDON, handle, duration_ns);
  }

  // --- attribute items ---
  Message& string(std::string_view key, std::string_view value) { return attr(AGTRACE_PROTO_ITEM_STRING, key).str(value); }
  Message& integer(std::string_view key, int64_t value) {
    return attr(AGTRACE_PROTO_ITEM_INT, key).u64(static_cast<uint64_t>(value));
  }
  Message& number(std::string_view key, double value) { return attr(AGTRACE_PROTO_ITEM_DOUBLE, key).f64(value); }
  Message& boolean(std::string_view key, bool value) { return attr(AGTRACE_PROTO_ITEM_BOOL, key).u8(value ? 1 : 0); }
  Message& strings(std::string_view key, const std::vector<std::string_view>& values) {
    return attr(AGTRACE_PROTO_ITEM_STRING_ARRAY, key).strs(values);
  }
  Message& integers(std::string_view key, const std::vector<int64_t>& values) {
    attr(AGTRACE_PROTO_ITEM_INT_ARRAY, key).u32(static_cast<uint32_t>(values.size()));
    for (int64_t v : values) u64(static_cast<uint64_t>(v));
    return *this;
  }
  Message& numbers(std::string_view key, const std::vector<double>& values) {
    attr(AGTRACE_PROTO_ITEM_DOUBLE_ARRAY, key).u32(static_cast<uint32_t>(values.size()));
    for (double v : values) f64(v);
    return *this;
  }
  Message& booleans(std::string_view key, const std::vector<bool>& values) {
    attr(AGTRACE_PROTO_ITEM_BOOL_ARRAY, key).u32(static_cast<uint32_t>(values.size()));
    for (bool v : values) u8(v ? 1 : 0);
    return *this;
  }
  Message& json(std::string_view key, std::string_view text) { return attr(AGTRACE_PROTO_ITEM_JSON, key).str(text); }

  // --- the other items ---
  Message& status(uint8_t code, std::string_view description = "") {
    return u8(AGTRACE_PROTO_ITEM_STATUS).u8(code).str(description);
  }
  Message& error(std::string_view type, std::string_view message, std::string_view stacktrace = "") {
    return u8(AGTRACE_PROTO_ITEM_ERROR).str(type).str(message).str(stacktrace);
  }
  Message& usage(uint64_t input, uint64_t output, uint64_t cache_read = 0, uint64_t cache_creation = 0,
                 uint64_t reasoning = 0) {
    return u8(AGTRACE_PROTO_ITEM_USAGE).u64(input).u64(output).u64(cache_read).u64(cache_creation).u64(reasoning);
  }
  Message& llm(std::string_view provider, std::string_view request_model, std::string_view response_model = "",
               std::string_view response_id = "", const std::vector<std::string_view>& finish_reasons = {}) {
    return u8(AGTRACE_PROTO_ITEM_LLM)
        .str(provider)
        .str(request_model)
        .str(response_model)
        .str(response_id)
        .strs(finish_reasons);
  }
  Message& tool(std::string_view name, std::string_view call_id = "") {
    return u8(AGTRACE_PROTO_ITEM_TOOL).str(name).str(call_id);
  }
  Message& agent(std::string_view name, std::string_view id = "") {
    return u8(AGTRACE_PROTO_ITEM_AGENT).str(name).str(id);
  }
  Message& messages(std::string_view input_json, std::string_view output_json) {
    return u8(AGTRACE_PROTO_ITEM_MESSAGES).str(input_json).str(output_json);
  }
  // Trace-level context; empty strings and no tags leave things unchanged.
  struct Trace {
    std::string_view user_id, session_id, conversation_id, environment, release;
    std::vector<std::string_view> tags;
    std::string_view metadata_json;
  };
  Message& trace(const Trace& t) {
    return u8(AGTRACE_PROTO_ITEM_TRACE)
        .str(t.user_id)
        .str(t.session_id)
        .str(t.conversation_id)
        .str(t.environment)
        .str(t.release)
        .strs(t.tags)
        .str(t.metadata_json);
  }
  // An event of `attributes` attribute items, which the caller appends next.
  Message& event(std::string_view name, uint64_t offset_ns, uint32_t attributes) {
    return u8(AGTRACE_PROTO_ITEM_EVENT).str(name).u64(offset_ns).u32(attributes);
  }
  // A link to `trace_id`/`span_id` (16 and 8 bytes) with `attributes` attribute items, which the
  // caller appends next.
  Message& link(const uint8_t* trace_id, const uint8_t* span_id, uint8_t flags, std::string_view trace_state,
                uint32_t attributes) {
    u8(AGTRACE_PROTO_ITEM_LINK);
    bytes_.append(reinterpret_cast<const char*>(trace_id), 16);
    bytes_.append(reinterpret_cast<const char*>(span_id), 8);
    return u8(flags).str(trace_state).u32(attributes);
  }
  Message& first_chunk(uint64_t offset_ns) { return u8(AGTRACE_PROTO_ITEM_FIRST_CHUNK).u64(offset_ns); }
  Message& name(std::string_view name) { return u8(AGTRACE_PROTO_ITEM_NAME).str(name); }

  // --- raw fields, for malformed messages ---
  Message& u8(uint8_t v) {
    bytes_.push_back(static_cast<char>(v));
    return *this;
  }
  Message& u32(uint32_t v) { return le(v, 4); }
  Message& u64(uint64_t v) { return le(v, 8); }
  Message& f64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return u64(bits);
  }
  // A length-prefixed string.
  Message& str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    bytes_.append(s.data(), s.size());
    return *this;
  }
  Message& strs(const std::vector<std::string_view>& values) {
    u32(static_cast<uint32_t>(values.size()));
    for (auto v : values) str(v);
    return *this;
  }

  // --- the bytes ---
  const std::string& bytes() {
    if (open_ != std::string::npos) put_le(open_, bytes_.size() - open_ - 4, 4);
    return bytes_;
  }
  const uint8_t* data() { return reinterpret_cast<const uint8_t*>(bytes().data()); }
  // Also the offset in the message of the next byte written.
  size_t size() const { return bytes_.size(); }
  std::string hex() {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes()) {
      out += digits[c >> 4];
      out += digits[c & 15];
    }
    return out;
  }
  // Empties the message (as a binding does once it has sent its bytes).
  void clear() {
    bytes_.clear();
    open_ = std::string::npos;
  }

 private:
  void open(uint8_t code) {
    bytes();  // close the previous record
    u8(code);
    open_ = bytes_.size();
    u32(0);
  }
  Message& finish(uint8_t code, uint64_t handle, uint64_t duration_ns) {
    open(code);
    return u64(handle).u64(duration_ns);
  }
  Message& attr(uint8_t code, std::string_view key) { return u8(code).str(key); }
  Message& le(uint64_t v, int n) {
    bytes_.append(static_cast<size_t>(n), '\0');
    put_le(bytes_.size() - static_cast<size_t>(n), v, n);
    return *this;
  }
  void put_le(size_t at, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  }

  std::string bytes_;
  // Where the open record's length goes.
  size_t open_ = std::string::npos;
};

}  // namespace agtest::proto

#endif
