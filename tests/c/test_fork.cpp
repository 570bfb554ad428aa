// The tracer's fork hooks (agtrace_tracer_fork_prepare, _parent, _child)
// around a real fork(), with spans through the span protocol as a forking
// binding (Python) sends them, checked through what the file exporter wrote.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <thread>

#include "support/c_api_helpers.hpp"
#include "support/protocol_message.hpp"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define AGTEST_HAVE_VALGRIND_H 1
#endif

using namespace agtest;
using proto::Message;

namespace {

// Starts a span in a call of its own; fails the test on error.
agtrace_begun_t Start(const FileTracer& t, const char* name, uint8_t kind = AGTRACE_KIND_PLAIN,
                      const proto::Parent& parent = proto::Root()) {
  Message m;
  m.begin(kind, parent, name);
  agtrace_begun_t b{};
  agtrace_error_t* e = nullptr;
  if (agtrace_spans_apply(t.get(), m.data(), m.size(), &b, &e) != AGTRACE_OK || b.handle == 0)
    ADD_FAILURE() << "BEGIN " << name << ": " << agtrace_error_message(e);
  agtrace_error_free(e);
  return b;
}

// Ends spans now, in one call.
agtrace_status_t End(const FileTracer& t, std::initializer_list<uint64_t> handles) {
  Message m;
  for (uint64_t h : handles) m.end(h);
  return agtrace_spans_apply(t.get(), m.data(), m.size(), nullptr, nullptr);
}

TEST(ForkHooks, NullTracerAndTheChildHookInTheOriginalProcess) {
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "tracer", agtrace_tracer_fork_prepare(nullptr, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "tracer", agtrace_tracer_fork_parent(nullptr, err));
  EXPECT_FAIL_MENTIONING(AGTRACE_ERR_NULL_ARGUMENT, "tracer", agtrace_tracer_fork_child(nullptr, err));

  FileTracer t("fork-noop");
  EXPECT_EQ(End(t, {Start(t, "before").handle}), AGTRACE_OK);
  // Prepare and parent without a fork (as when fork() fails), nested.
  EXPECT_OK(agtrace_tracer_fork_prepare(t.get(), err));
  EXPECT_OK(agtrace_tracer_fork_prepare(t.get(), err));
  EXPECT_OK(agtrace_tracer_fork_parent(t.get(), err));
  EXPECT_OK(agtrace_tracer_fork_parent(t.get(), err));
  // In the process that made the tracer the child hook does nothing:
  // counters go on, and the exporter is the same.
  EXPECT_OK(agtrace_tracer_fork_child(t.get(), err));
  EXPECT_EQ(End(t, {Start(t, "after").handle}), AGTRACE_OK);
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
int ChildChecks(const FileTracer& t, const agtrace_begun_t& open_across_fork) {
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
  Message m;
  m.end(open_across_fork.handle);
  m.begin(AGTRACE_KIND_TASK, proto::OfSpan(open_across_fork), "made-in-child")
      .string("pid", std::to_string(static_cast<long>(getpid())));
  agtrace_begun_t child{};
  if (agtrace_spans_apply(t.get(), m.data(), m.size(), &child, nullptr) != AGTRACE_OK || child.handle == 0)
    return fail(12, "END + BEGIN failed in the child");
  m.clear();
  m.end(child.handle);
  if (agtrace_spans_apply(t.get(), m.data(), m.size(), nullptr, nullptr) != AGTRACE_OK)
    return fail(13, "END failed in the child");
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
  agtrace_begun_t open_across_fork = Start(t, "open-across-fork", AGTRACE_KIND_AGENT);
  // Ended just before the fork: possibly still in the parent's queue, which
  // the child inherits and must not export.
  EXPECT_EQ(End(t, {Start(t, "parent-before-fork").handle}), AGTRACE_OK);

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

  agtrace_begun_t after = Start(t, "parent-after-fork", AGTRACE_KIND_PLAIN, proto::Local(open_across_fork));
  EXPECT_EQ(End(t, {after.handle, open_across_fork.handle}), AGTRACE_OK);
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
