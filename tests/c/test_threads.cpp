// Eight threads starting and ending spans through the C ABI as fast as they
// can: every span is accounted for. AGTRACE_TEST_SPANS_PER_THREAD scales it
// (the valgrind and ASan runs use fewer).
#include <pthread.h>

#include <vector>

#include "support/c_api_helpers.hpp"

using namespace agtest;

namespace {

struct Worker {
  const agtrace_tracer_t* tracer;
  long spans;
  long failures;
};

void* run(void* arg) {
  Worker* w = static_cast<Worker*>(arg);
  agtrace_span_options_t o{};
  o.name = S("stress");
  o.kind = AGTRACE_KIND_TOOL;
  o.parent.kind = AGTRACE_PARENT_ROOT;
  for (long i = 0; i < w->spans; ++i) {
    agtrace_span_t* s = nullptr;
    if (agtrace_span_start(w->tracer, &o, &s, nullptr) != AGTRACE_OK) {
      ++w->failures;
      continue;
    }
    if (agtrace_span_end(s, nullptr) != AGTRACE_OK) ++w->failures;
    agtrace_span_free(s);
  }
  return nullptr;
}

TEST(Threads, EightThreadsEverySpanAccountedFor) {
  const long per_thread = SpansPerThread(100000);
  const int threads = 8;
  agtrace_config_t* cfg = agtrace_config_new();
  agtrace_config_ignore_env(cfg, nullptr);
  agtrace_config_set(cfg, S("AGTRACE_EXPORTERS"), S("none"), nullptr);
  agtrace_tracer_t* tracer = nullptr;
  ASSERT_OK(agtrace_tracer_new(cfg, &tracer, err));
  agtrace_config_free(cfg);

  std::vector<Worker> workers(threads, Worker{tracer, per_thread, 0});
  std::vector<pthread_t> ids(threads);
  for (int i = 0; i < threads; ++i) ASSERT_EQ(pthread_create(&ids[i], nullptr, run, &workers[i]), 0);
  // Read the counters while the workers run: the invariant holds at any time.
  for (int i = 0; i < 20; ++i) {
    agtrace_stats_t s{};
    agtrace_tracer_stats(tracer, &s, nullptr);
    EXPECT_EQ(s.ended, s.dispatched + s.dropped_queue_full + s.dropped_queue_bytes + s.dropped_shutdown + s.pending);
  }
  for (pthread_t id : ids) pthread_join(id, nullptr);
  for (const Worker& w : workers) EXPECT_EQ(w.failures, 0);

  EXPECT_OK(agtrace_tracer_shutdown(tracer, 30000, nullptr, err));
  agtrace_stats_t s{};
  ASSERT_OK(agtrace_tracer_stats(tracer, &s, err));
  const uint64_t total = static_cast<uint64_t>(threads) * static_cast<uint64_t>(per_thread);
  EXPECT_EQ(s.started, total);
  EXPECT_EQ(s.ended, total);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_EQ(s.ended, s.dispatched + s.dropped_queue_full + s.dropped_queue_bytes + s.dropped_shutdown);
  EXPECT_EQ(s.exported + s.export_dropped, s.dispatched);
  RecordProperty("dispatched", std::to_string(s.dispatched));
  RecordProperty("dropped_queue_full", std::to_string(s.dropped_queue_full));
  std::printf("8 x %ld spans: dispatched %llu, dropped (queue full %llu, bytes %llu, shutdown %llu), exported %llu\n",
              per_thread, static_cast<unsigned long long>(s.dispatched),
              static_cast<unsigned long long>(s.dropped_queue_full),
              static_cast<unsigned long long>(s.dropped_queue_bytes),
              static_cast<unsigned long long>(s.dropped_shutdown), static_cast<unsigned long long>(s.exported));
  agtrace_tracer_free(tracer);
}

}  // namespace
