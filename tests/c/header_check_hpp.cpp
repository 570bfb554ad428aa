// agtrace.hpp as C++17 with -Wall -Wextra -Werror -pedantic (and more):
// instantiates every template and inline function so all of it is compiled.
#include <agtrace.hpp>

void header_check_hpp(const agtrace::Tracer& tracer);
void header_check_hpp(const agtrace::Tracer& tracer) {
  std::vector<std::string> strings{"a"};
  std::vector<std::string_view> views{"b"};
  std::vector<bool> bools{true};
  std::vector<std::int64_t> ints{1};
  std::vector<double> doubles{1.0};
  short sh = 1;
  unsigned long long big = 1;
  agtrace::Span span = tracer.start_span("s", agtrace::Kind::Llm, agtrace::Parent::root(),
                                         {{"str", "v"}, {"int", 1}, {"bool", true}, {"double", 0.5}});
  span.set_attributes({{"strings", strings}, {"views", views}, {"bools", bools}, {"ints", ints},
                       {"doubles", doubles}, {"json", agtrace::Json("{}")}, {"short", sh}, {"big", big},
                       {"float", 1.5f}, {"std::string", std::string("x")}, {"char", 'c'}});
  span.set_attribute("k", std::string_view("v")).add_event("e", {{"k", 1}}).record_error("T", "m", "st");
  span.set_status(agtrace::StatusCode::Error, "d").set_llm({"p", "m"}).set_usage({1, 2}).set_tool("t", "id");
  span.set_agent("a").set_messages("[]", "[]").set_trace_meta(agtrace::TraceMeta());
  span.record_exception(std::runtime_error("x")).record_current_exception();
  agtrace::Context ctx = span.context();
  span.add_link(ctx, {{"k", "v"}});
  (void)ctx.ids();
  (void)ctx.trace_id_hex();
  (void)ctx.span_id_hex();
  {
    agtrace::EnterGuard g = span.enter();
    g.exit();
  }
  agtrace::ScopedSpan scoped(tracer, "scoped", agtrace::Kind::Task, span);
  scoped->end();
  agtrace::ScopedSpan adopted(tracer.start_span("adopted"));
  agtrace::Headers headers{{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  tracer.inject(span, headers);
  tracer.inject(ctx, headers);
  agtrace::Context remote = tracer.extract(headers);
  (void)headers.at(0);
  (void)headers.get("traceparent");
  (void)headers.size();
  (void)agtrace::current_context();
  tracer.flush(std::chrono::milliseconds(1));
  tracer.shutdown(std::chrono::seconds(1));
  tracer.set_sampling_rate(1.0);
  tracer.add_tag("t");
  agtrace::Stats stats = tracer.stats();
  (void)stats;
  (void)tracer.stats_json();
  (void)agtrace::version();
  agtrace::Config config{{"OTEL_SERVICE_NAME", "x"}};
  config.ignore_env().set("AGTRACE_EXPORTERS", "none");
  agtrace::Tracer other(config);
  agtrace::Tracer from_env;
  other = std::move(from_env);
  span.end();
  try {
    span.end();
  } catch (const agtrace::Error& e) {
    (void)e.code();
  }
}
