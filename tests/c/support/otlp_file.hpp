// Reads what the file exporter wrote (one OTLP/JSON ExportTraceServiceRequest
// per line) into flat span records, and helpers shared by the test files.
#ifndef AGTRACE_TESTS_OTLP_FILE_HPP
#define AGTRACE_TESTS_OTLP_FILE_HPP

#include "mini_json.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace otlp {

// An OTLP AnyValue decoded to a JSON-like value: strings, bools, ints (from
// their string form), doubles, arrays.
using Any = mini_json::Value;
using Attrs = std::map<std::string, Any>;

inline Attrs attrs(const mini_json::Value& key_values) {
  Attrs out;
  for (const auto& kv : key_values.items) out[kv["key"].str()] = kv["value"];
  return out;
}

struct Event {
  std::string name;
  Attrs attributes;
  unsigned long long time_ns = 0;
};

struct Link {
  std::string trace_id, span_id;
  Attrs attributes;
};

struct Span {
  std::string trace_id, span_id, parent_span_id, trace_state, name;
  unsigned long long start_ns = 0, end_ns = 0;  // Unix time
  int kind = 0;
  int status_code = 0;
  std::string status_message;
  Attrs attributes;
  Attrs resource;
  std::vector<Event> events;
  std::vector<Link> links;

  bool has(const std::string& key) const { return attributes.count(key) != 0; }
  const Any& attr(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? Any::null() : it->second;
  }
  std::string str(const std::string& key) const { return attr(key)["stringValue"].str(); }
  long long integer(const std::string& key) const {
    const Any& v = attr(key)["intValue"];
    return v.is_string() ? std::stoll(v.str()) : v.integer();
  }
  double number(const std::string& key) const { return attr(key)["doubleValue"].number(); }
  bool boolean(const std::string& key) const { return attr(key)["boolValue"].boolean; }
  std::vector<const Any*> array(const std::string& key) const {
    std::vector<const Any*> out;
    for (const auto& v : attr(key)["arrayValue"]["values"].items) out.push_back(&v);
    return out;
  }
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A time in nanoseconds, written as a string (OTLP/JSON's 64-bit integers).
inline unsigned long long unix_nanos(const mini_json::Value& v) { return std::strtoull(v.str().c_str(), nullptr, 10); }

// Every span in the file, in file order. Throws on a line that is not JSON.
inline std::vector<Span> read_spans(const std::string& path) {
  std::vector<Span> out;
  std::istringstream lines(read_file(path));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    mini_json::Value request = mini_json::parse(line);
    for (const auto& rs : request["resourceSpans"].items) {
      Attrs resource = attrs(rs["resource"]["attributes"]);
      for (const auto& ss : rs["scopeSpans"].items) {
        for (const auto& s : ss["spans"].items) {
          Span span;
          span.trace_id = s["traceId"].str();
          span.span_id = s["spanId"].str();
          span.parent_span_id = s["parentSpanId"].str();
          span.trace_state = s["traceState"].str();
          span.start_ns = unix_nanos(s["startTimeUnixNano"]);
          span.end_ns = unix_nanos(s["endTimeUnixNano"]);
          span.name = s["name"].str();
          span.kind = static_cast<int>(s["kind"].integer());
          span.status_code = static_cast<int>(s["status"]["code"].integer());
          span.status_message = s["status"]["message"].str();
          span.attributes = attrs(s["attributes"]);
          span.resource = resource;
          for (const auto& e : s["events"].items)
            span.events.push_back({e["name"].str(), attrs(e["attributes"]), unix_nanos(e["timeUnixNano"])});
          for (const auto& l : s["links"].items)
            span.links.push_back({l["traceId"].str(), l["spanId"].str(), attrs(l["attributes"])});
          out.push_back(std::move(span));
        }
      }
    }
  }
  return out;
}

// The spans named `name`.
inline std::vector<const Span*> named(const std::vector<Span>& spans, const std::string& name) {
  std::vector<const Span*> out;
  for (const auto& s : spans)
    if (s.name == name) out.push_back(&s);
  return out;
}

// The one span named `name`, or NULL when there is not exactly one.
inline const Span* one(const std::vector<Span>& spans, const std::string& name) {
  auto v = named(spans, name);
  return v.size() == 1 ? v[0] : nullptr;
}

inline std::string hex(const unsigned char* p, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

// A fresh, unique file path under the temp directory (removed if present).
inline std::string temp_path(const std::string& stem) {
  static int counter = 0;
  const char* dir = std::getenv("TMPDIR");
  std::string base = dir && *dir ? dir : "/tmp";
  std::string path = base + "/agtrace-test-" + std::to_string(static_cast<long>(::getpid())) + "-" +
                     std::to_string(++counter) + "-" + stem + ".jsonl";
  std::remove(path.c_str());
  return path;
}

}  // namespace otlp

#endif
