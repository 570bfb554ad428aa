/* Span start+end through the C ABI, measured from C, with the `none`
 * exporter (the real pipeline; the exporter discards): the typed API
 * (agtrace_span_start/_end), and the span protocol the language bindings take
 * (agtrace_spans_apply, ffi/PROTOCOL.md: one call per span, the previous
 * span's END travelling with the next BEGIN). One line per scenario:
 *
 *   c_abi/no_attributes <ns> ns/span (dropped N)
 *
 * ns/span is the best of 3 rounds of <iterations> spans (default 200000),
 * after a warm-up round; "dropped" counts the spans of the measured rounds
 * that the pipeline dropped because its queue was full (a tight loop outruns
 * the batching thread; see the README's Performance section).
 *
 * Build and run (with -O2, as `make bench` does):
 *   export PKG_CONFIG_PATH=$PWD/dist/c/lib/pkgconfig
 *   gcc -std=c99 -O2 bench/c/bench.c $(pkg-config --cflags --libs agtrace) -Wl,-rpath,$PWD/dist/c/lib -o bench-c
 *   ./bench-c [iterations]
 */
#define _POSIX_C_SOURCE 200809L

#include <agtrace.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum scenario {
  NO_ATTRIBUTES,
  ATTRIBUTES_SET,
  ATTRIBUTES_OPTIONS,
  CHILD_ATTRIBUTES,
  PROTOCOL_NO_ATTRIBUTES,
  PROTOCOL_3_ATTRIBUTES
};

static const char *const NAMES[] = {"c_abi/no_attributes",          "c_abi/5_attributes",
                                    "c_abi/5_attributes_in_options", "c_abi/child_5_attributes",
                                    "c_abi/protocol_no_attributes", "c_abi/protocol_3_attributes"};

static agtrace_attribute_t attributes[5];

static void init_attributes(void) {
  memset(attributes, 0, sizeof attributes);
  attributes[0].key = AGTRACE_STR("k1");
  attributes[0].value.type = AGTRACE_VALUE_STRING;
  attributes[0].value.string = AGTRACE_STR("v1");
  attributes[1].key = AGTRACE_STR("k2");
  attributes[1].value.type = AGTRACE_VALUE_INT;
  attributes[1].value.integer = 2;
  attributes[2].key = AGTRACE_STR("k3");
  attributes[2].value.type = AGTRACE_VALUE_BOOL;
  attributes[2].value.boolean = true;
  attributes[3].key = AGTRACE_STR("k4");
  attributes[3].value.type = AGTRACE_VALUE_DOUBLE;
  attributes[3].value.number = 4.5;
  attributes[4].key = AGTRACE_STR("k5");
  attributes[4].value.type = AGTRACE_VALUE_STRING;
  attributes[4].value.string = AGTRACE_STR("v5");
}

static void die(const char *what, agtrace_error_t *error) {
  fprintf(stderr, "bench: %s: %s\n", what, agtrace_error_message(error));
  agtrace_error_free(error);
  exit(1);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static agtrace_tracer_t *new_tracer(void) {
  agtrace_config_t *config = agtrace_config_new();
  agtrace_tracer_t *tracer = NULL;
  agtrace_error_t *error = NULL;
  agtrace_config_ignore_env(config, NULL);
  if (agtrace_config_set(config, AGTRACE_STR("AGTRACE_EXPORTERS"), AGTRACE_STR("none"), &error) != AGTRACE_OK)
    die("config", error);
  if (agtrace_tracer_new(config, &tracer, &error) != AGTRACE_OK) die("tracer", error);
  agtrace_config_free(config);
  return tracer;
}

static uint64_t dropped(const agtrace_tracer_t *tracer) {
  agtrace_stats_t s;
  agtrace_tracer_stats(tracer, &s, NULL);
  return s.dropped_queue_full + s.dropped_queue_bytes + s.dropped_shutdown;
}

/* A span protocol message being built: little-endian fields, room for one
 * END and one BEGIN. */
struct message {
  unsigned char bytes[128];
  size_t len;
};

static void put_le(struct message *m, uint64_t v, int n) {
  int i;
  for (i = 0; i < n; i++) m->bytes[m->len++] = (unsigned char)(v >> (8 * i));
}

static void put_str(struct message *m, const char *s) {
  size_t n = strlen(s);
  put_le(m, n, 4);
  memcpy(m->bytes + m->len, s, n);
  m->len += n;
}

/* Starts a record; returns where its length goes, for end_record. */
static size_t begin_record(struct message *m, unsigned code) {
  m->bytes[m->len++] = (unsigned char)code;
  m->len += 4;
  return m->len - 4;
}

static void end_record(struct message *m, size_t at) {
  struct message length;
  length.len = 0;
  put_le(&length, m->len - at - 4, 4);
  memcpy(m->bytes + at, length.bytes, 4);
}

/* `n` root spans through the span protocol, as a binding sends them: each
 * call carries the previous span's END (ended now) and the next BEGIN,
 * encoded afresh; the last END goes alone. Returns the elapsed nanoseconds. */
static double run_protocol(const agtrace_tracer_t *tracer, int with_attributes, long n) {
  struct message m;
  agtrace_begun_t begun;
  size_t at;
  double start;
  long i;
  m.len = 0;
  start = now_ns();
  for (i = 0; i < n; i++) {
    at = begin_record(&m, AGTRACE_PROTO_RECORD_BEGIN);
    put_le(&m, AGTRACE_KIND_PLAIN, 1);
    put_le(&m, AGTRACE_PROTO_PARENT_ROOT, 1);
    put_str(&m, "span");
    if (with_attributes) {
      put_le(&m, AGTRACE_PROTO_ITEM_STRING, 1);
      put_str(&m, "tool");
      put_str(&m, "search");
      put_le(&m, AGTRACE_PROTO_ITEM_INT, 1);
      put_str(&m, "step");
      put_le(&m, 3, 8);
      put_le(&m, AGTRACE_PROTO_ITEM_BOOL, 1);
      put_str(&m, "cached");
      put_le(&m, 1, 1);
    }
    end_record(&m, at);
    begun.handle = 0;
    agtrace_spans_apply(tracer, m.bytes, m.len, &begun, NULL);
    m.len = 0;
    if (begun.handle != 0) {
      at = begin_record(&m, AGTRACE_PROTO_RECORD_END);
      put_le(&m, begun.handle, 8);
      put_le(&m, UINT64_MAX, 8); /* ended now */
      end_record(&m, at);
    }
  }
  if (m.len > 0) agtrace_spans_apply(tracer, m.bytes, m.len, NULL, NULL);
  return now_ns() - start;
}

/* `n` spans of scenario `which`; returns the elapsed nanoseconds. */
static double run(const agtrace_tracer_t *tracer, enum scenario which, long n, const agtrace_context_t *parent) {
  agtrace_span_options_t options;
  agtrace_span_t *span;
  double start;
  long i;
  if (which == PROTOCOL_NO_ATTRIBUTES || which == PROTOCOL_3_ATTRIBUTES)
    return run_protocol(tracer, which == PROTOCOL_3_ATTRIBUTES, n);
  memset(&options, 0, sizeof options);
  options.name = AGTRACE_STR("span");
  options.parent.kind = AGTRACE_PARENT_ROOT;
  if (which != NO_ATTRIBUTES) options.kind = AGTRACE_KIND_TOOL;
  if (which == ATTRIBUTES_OPTIONS) {
    options.attributes = attributes;
    options.attributes_len = 5;
  }
  if (which == CHILD_ATTRIBUTES) {
    options.parent.kind = AGTRACE_PARENT_CONTEXT;
    options.parent.context = parent;
  }
  start = now_ns();
  for (i = 0; i < n; i++) {
    span = NULL;
    agtrace_span_start(tracer, &options, &span, NULL);
    if (which == ATTRIBUTES_SET || which == CHILD_ATTRIBUTES) agtrace_span_set_attributes(span, attributes, 5, NULL);
    agtrace_span_end(span, NULL);
    agtrace_span_free(span);
  }
  return now_ns() - start;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  int which, round;
  if (n <= 0) {
    fprintf(stderr, "usage: %s [iterations]\n", argv[0]);
    return 2;
  }
  init_attributes();
  for (which = NO_ATTRIBUTES; which <= PROTOCOL_3_ATTRIBUTES; which++) {
    agtrace_tracer_t *tracer = new_tracer();
    agtrace_span_options_t root_options;
    agtrace_span_t *root = NULL;
    agtrace_context_t *parent = NULL;
    double best = -1;
    uint64_t dropped_before;
    memset(&root_options, 0, sizeof root_options);
    root_options.name = AGTRACE_STR("root");
    root_options.parent.kind = AGTRACE_PARENT_ROOT;
    agtrace_span_start(tracer, &root_options, &root, NULL);
    agtrace_span_context(root, &parent, NULL);

    run(tracer, (enum scenario)which, n / 10 + 1, parent); /* warm-up */
    agtrace_tracer_flush(tracer, 10000, NULL, NULL);
    dropped_before = dropped(tracer);
    for (round = 0; round < 3; round++) {
      double ns = run(tracer, (enum scenario)which, n, parent) / (double)n;
      if (best < 0 || ns < best) best = ns;
    }
    printf("%s %.0f ns/span (dropped %llu)\n", NAMES[which], best,
           (unsigned long long)(dropped(tracer) - dropped_before));
    /* A result row for bench/run.py. */
    printf("BENCH {\"section\": \"C ABI\", \"scenario\": \"from a C program: %s\", \"unit\": \"ns\", "
           "\"agtrace\": %.1f, \"peer\": null, \"peer_value\": null, \"target\": null, \"met\": null, "
           "\"note\": \"best of 3 rounds of %ld spans\"}\n",
           NAMES[which], best, n);
    fflush(stdout);
    agtrace_context_free(parent);
    agtrace_span_free(root);
    agtrace_tracer_shutdown(tracer, 10000, NULL, NULL);
    agtrace_tracer_free(tracer);
  }
  return 0;
}
