/* agtrace._fastpath: the Python SDK's span hot path, in C.
 *
 * A span started in a `with` block costs one call into libagtrace
 * (agtrace_spans_apply, ffi/PROTOCOL.md): the calling thread's pending END
 * records and the new span's BEGIN go in one message. What is recorded on a
 * live span is encoded into the span's own buffer; its END is appended to the
 * thread's pending bytes, sent with the thread's next BEGIN, when they pass
 * PENDING_BOUND, on flush/shutdown/stats (flush_pending) and by the idle
 * flusher (agtrace/_flusher.py).
 *
 * Threading: every function here runs with the GIL held and never releases
 * it between reading and writing shared state. Python code that the encoders
 * call (a value's conversion, a finaliser run by a decref) may switch
 * threads: the pending buffers are consistent at every such point, and a
 * BEGIN is encoded apart from them (its thread's scratch buffer). Free-
 * threaded builds are not supported (the stable ABI excludes them). */
#ifndef AGTRACE_FASTPATH_H
#define AGTRACE_FASTPATH_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "agtrace.h"

/* ---- library.c: libagtrace, as loaded by uniffi's generated module ---- */

/* The C ABI functions the extension calls, resolved in the very library the
 * uniffi module loaded (lib_bind), so the process has one core. Each pointer
 * has the type of the header's declaration. */
typedef struct {
    __typeof__(agtrace_spans_apply) *spans_apply;
    __typeof__(agtrace_protocol_version) *protocol_version;
    __typeof__(agtrace_tracer_free) *tracer_free;
    __typeof__(agtrace_context_new) *context_new;
    __typeof__(agtrace_context_ids) *context_ids;
    __typeof__(agtrace_context_free) *context_free;
    __typeof__(agtrace_headers_new) *headers_new;
    __typeof__(agtrace_headers_set) *headers_set;
    __typeof__(agtrace_headers_count) *headers_count;
    __typeof__(agtrace_headers_get) *headers_get;
    __typeof__(agtrace_headers_free) *headers_free;
    __typeof__(agtrace_inject) *inject;
    __typeof__(agtrace_extract) *extract;
    __typeof__(agtrace_error_message) *error_message;
    __typeof__(agtrace_error_free) *error_free;
    __typeof__(agtrace_version) *version;
    __typeof__(agtrace_misuse_report) *misuse_report;
    __typeof__(agtrace_tracer_strict) *tracer_strict;
} agtrace_lib_t;

extern agtrace_lib_t lib;

/* Resolves `lib` in the library at `path` (already loaded by the caller) and
 * checks its protocol version; 0, or -1 with an ImportError set. */
int lib_bind(const char *path);
int lib_bound(void); /* 1 once lib_bind succeeded; else 0 with an error set */

/* Reports a failed call's status and error (freed here) through the SDK's
 * `report` callback (logged once per kind; never raises). */
void report_status(agtrace_status_t status, agtrace_error_t *error);

/* ---- wire.c: the protocol writer ---- */

typedef struct {
    uint8_t *p;
    size_t len, cap;
} buf_t;

int buf_grow(buf_t *b, size_t more); /* 0, or -1 with MemoryError set */
void buf_free(buf_t *b);

static inline int buf_reserve(buf_t *b, size_t more) {
    return b->cap - b->len >= more ? 0 : buf_grow(b, more);
}
static inline void put_u8(buf_t *b, uint8_t v) { b->p[b->len++] = v; }
static inline void put_u32(buf_t *b, uint32_t v) {
    memcpy(b->p + b->len, &v, 4); /* little-endian hosts only (see wire.c) */
    b->len += 4;
}
static inline void put_u64(buf_t *b, uint64_t v) {
    memcpy(b->p + b->len, &v, 8);
    b->len += 8;
}
static inline void put_raw(buf_t *b, const void *p, size_t n) {
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* A record's code and a placeholder for its length; record_close writes the
 * length of what was appended since. Both 0, or -1 with an error set. */
int record_open(buf_t *b, uint8_t code, size_t *at);
int record_close(buf_t *b, size_t at);

/* `str` as UTF-8 bytes (a new reference), each lone surrogate as U+FFFD. */
PyObject *utf8_replacing_surrogates(PyObject *str);
/* `str` (a Python str) as a protocol str; lone surrogates become U+FFFD. */
int put_str(buf_t *b, PyObject *str);
int put_cstr(buf_t *b, const char *s, size_t n);

/* The encoders below that take `reporter` (the Tracer whose span is being
 * encoded, or NULL) report misuse through it (report_misuse): what cannot
 * be recorded is skipped, or raised in strict mode. */

/* One attribute item, typed from the Python value (str, bool, int, float,
 * lists/tuples of one of those; non-finite floats as their text; any other
 * value converted by cfg.convert). Returns 1 when written, 0 when skipped
 * (None) or dropped (a bad key; a value whose conversion failed: misuse),
 * -1 with an error (MemoryError; InvalidArgument in strict mode; a
 * BaseException such as KeyboardInterrupt raised by the value's own code). */
int put_attribute(buf_t *b, PyObject *key, PyObject *value, PyObject *reporter);

/* Every attribute of a mapping (anything else is misuse: nothing is
 * written); `*count` (may be NULL) gets how many were written. On error
 * nothing is appended. */
int put_attributes(buf_t *b, PyObject *attributes, uint32_t *count, PyObject *reporter);

/* LINK items, one per element of `links` (an iterable, converted by
 * cfg.links into (trace_id: 16 bytes, span_id: 8 bytes, flags, trace_state,
 * attributes or None) tuples; a link it cannot use is misuse). On error
 * nothing is appended. */
int put_links(buf_t *b, PyObject *links, PyObject *reporter);

/* One item from its code and fields, typed as PROTOCOL.md lays it out
 * (`fields` holds Python values: str, int, float, bool, bytes, sequences;
 * None for an offset means NOW). For the cold span methods and tests. */
int put_item(buf_t *b, long code, PyObject *const *fields, Py_ssize_t n);

/* ---- pending.c: the per-thread END buffers ---- */

/* The calling thread's buffers: created on first use, reclaimed after the
 * thread exits (flush_pending). NULL with MemoryError set on failure. */
typedef struct pending pending_t;
pending_t *pending_here(void);

/* Appends a whole END or ABANDON record to the thread's pending bytes, to be
 * sent through `tracer` (a Tracer) unless others are; sends them when they
 * pass the bound. 0, or -1 with MemoryError set. */
int pending_end(uint8_t code, uint64_t handle, uint64_t duration, const buf_t *items, PyObject *tracer);

/* A message for one BEGIN: the thread's pending ENDs, moved into the
 * thread's scratch buffer (or the message's own buffer, when a value's
 * conversion inside an outer BEGIN started a span), then the BEGIN the
 * caller encodes after them into `buf`. */
typedef struct {
    buf_t *buf;
    buf_t own;
    size_t ends, ends_len; /* the END records leading the message, and their bytes */
    PyObject *tracer;      /* the reference the moved ENDs held */
    int sent;
} message_t;

/* 0, or -1 with MemoryError set (then nothing was moved). */
int message_open(pending_t *p, message_t *m);
/* Sends the message in one call through `c`; returns the call's status, its
 * error in *error (for report_status), and in *start_ns the monotonic time
 * the BEGIN's span is measured from. */
agtrace_status_t message_send(message_t *m, agtrace_tracer_t *c, agtrace_begun_t *out, agtrace_error_t **error,
                              uint64_t *start_ns);
/* Releases the buffer; ENDs of a message that was not sent wait again
 * (`tracer` sends them if they cannot be kept). Runs no Python code before
 * the buffers are consistent. */
void message_close(pending_t *p, message_t *m, PyObject *tracer);

/* Sends every thread's pending bytes and reclaims exited threads' buffers. */
void flush_all_pending(void);
/* In a forked child: drops every inherited pending byte (the parent sends
 * them) and the buffers of the threads that did not survive the fork. */
void pending_after_fork_child(void);
int pending_init(void); /* 0, or -1 with an error set */

/* ---- span.c / tracer.c: the types ---- */

typedef struct {
    PyObject_HEAD
    agtrace_tracer_t *c; /* owned; NULL until __init__ */
    /* Shut down: spans start as non-recording without a call (the core
     * would start and count them, then drop them at their end). */
    uint8_t shut_down;
    /* Bridges its spans with OpenTelemetry's context (otel.c). */
    uint8_t otel;
    /* The core's `strict` setting: misuse raises instead of being counted
     * only (read once, at construction). */
    uint8_t strict;
} TracerObject;

typedef struct {
    PyObject_HEAD
    agtrace_context_t *ctx; /* owned */
    uint8_t trace_id[16], span_id[8];
    uint8_t sampled;
    /* Carries trace state or baggage: spans under it pass it as INHERIT. */
    uint8_t carries_state;
    PyObject *otel_outer; /* see SpanObject */
} ContextObject;

enum { SPAN_LIVE = 0, SPAN_ENDED = 1 };

typedef struct {
    PyObject_HEAD
    uint64_t handle; /* 0: records nothing */
    uint64_t start_ns;
    uint8_t trace_id[16], span_id[8];
    uint8_t flags;
    uint8_t state;
    buf_t items;        /* recorded since the start, sent with the END */
    PyObject *tracer;   /* the Tracer that started it, or NULL before init */
    PyObject *session;  /* the session scope it started in, or NULL */
    PyObject *inherit;  /* the Context whose trace state descendants inherit */
    PyObject *token;    /* the ContextVar token while entered */
    PyObject *weakrefs;
    /* A bridged tracer's span: the OpenTelemetry span current at its start
     * (None for none); NULL otherwise (otel.c). */
    PyObject *otel_outer;
} SpanObject;

extern PyTypeObject *TracerType, *ContextType, *SpanBaseType;

int tracer_types_init(PyObject *module);
int span_type_init(PyObject *module);

/* A new span of `tracer` (NULL: agtrace is not initialised, and the span
 * records nothing). `kind`, `attributes`, `parent` and `links` may be NULL:
 * PLAIN, none, the current span, none. */
PyObject *span_start(PyObject *tracer, PyObject *name, PyObject *kind, PyObject *attributes, PyObject *parent,
                     PyObject *links);
/* A new SpanContext owning `ctx` (freed on failure). */
PyObject *context_wrap(agtrace_context_t *ctx, int carries_state);
/* The span's context (a new SpanContext), or None when it has no ids. */
PyObject *context_of_span(SpanObject *s);
/* 0 when `name` is a non-empty str without NUL; else misuse (BAD_NAME,
 * through `reporter`, naming `what`): 1, or -1 with InvalidArgument set in
 * strict mode. */
int check_name(const char *what, PyObject *name, PyObject *reporter);
uint64_t monotonic_ns(void);
/* span()'s arguments (name, kind, attributes, *, parent, links) from a
 * vectorcall into out[SPAN_ARGUMENTS], NULL where absent; 0, or -1 with
 * TypeError set. */
enum { SPAN_ARGUMENTS = 5 };
int span_arguments(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, PyObject **out);

/* ---- otel.c: the OpenTelemetry bridge ---- */

/* 1 when the bridge is installed (installing it if the application imported
 * OpenTelemetry since a bridged tracer was made), 0 when not, -1 with an
 * error set. */
int otel_active(void);
/* OpenTelemetry's current span (a new reference; None for none), or NULL
 * with an error set. Only while otel_active. */
PyObject *otel_current_span(void);
/* For a span of a bridged `tracer` about to start under `*parent` (given,
 * or agtrace's current span, context or None): while the bridge is active,
 * `*outer` gets OpenTelemetry's current span (a new reference, None for
 * none; else it is left NULL) and, unless the parent was given, `*parent`
 * becomes the innermost of the two. 0, or -1 with an error set. */
int otel_start(PyObject *tracer, int given, PyObject **parent, PyObject **outer);
int otel_init(PyObject *module); /* adds the module's _otel_* functions */

/* ---- module.c: what the Python package configures at import ---- */

typedef struct {
    PyTypeObject *span_class;   /* agtrace.Span */
    allocfunc span_alloc;
    PyObject *invalid_argument; /* agtrace.InvalidArgument */
    PyObject *current_get, *current_set, *current_reset; /* the current span's ContextVar */
    PyObject *session_get;      /* the session scope's ContextVar .get */
    PyObject *kind_of;          /* kind name/number -> SpanKind, raising */
    PyObject *convert;          /* value -> (ITEM_* code, payload) or None; raises no Exception */
    PyObject *links;            /* links -> [(trace_id, span_id, flags, trace_state, attributes)] */
    PyObject *describe;         /* value -> a bounded repr for messages; raises no Exception */
    PyObject *report;           /* (status, message): a failed call, logged once per kind */
    PyObject *mapping_abc;      /* collections.abc.Mapping */
    PyObject *error_of;         /* (status, message) -> the SDK's exception for a failed call */
    PyObject *default_tracer;   /* the Tracer agtrace.span uses, or NULL */
    PyObject *str_item, *str_record_exception;
} config_t;

extern config_t cfg;

/* Misuse the SDK detected (an AGTRACE_MISUSE_* kind), `detail` a str
 * saying what: counted by the core of `tracer` (the default tracer when
 * NULL or None; nowhere before init), which logs each kind once. 0; or, in
 * that tracer's strict mode, -1 with InvalidArgument(detail) set. */
int report_misuse(PyObject *tracer, uint32_t kind, PyObject *detail);
/* report_misuse with a C string detail. */
int report_misuse_text(PyObject *tracer, uint32_t kind, const char *detail);

#endif
