#ifndef AGTRACE_H
#define AGTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * libagtrace: the C ABI of the agtrace tracing core.
 *
 * Conventions (every function follows them):
 * - Opaque handles (agtrace_*_t *) are created by *_new / *_start and
 *   released by their *_free. Passing NULL is checked and reported; passing a
 *   freed handle, or freeing twice, is undefined behaviour.
 * - Fallible functions return agtrace_status_t (AGTRACE_OK is 0) and take a
 *   last `agtrace_error_t **out_error`, which may be NULL; on failure it
 *   receives an error with a message, freed with agtrace_error_free, and on
 *   success it is set to NULL.
 * - Strings are agtrace_str_t: a pointer and a length, no terminator needed,
 *   validated as UTF-8, copied when kept. {NULL, 0} means "absent".
 * - Thread-safety is stated per function. Nothing blocks except
 *   agtrace_tracer_flush and agtrace_tracer_shutdown, which take a timeout,
 *   and agtrace_tracer_fork_prepare (at most 1 s).
 * - A Rust panic inside the library never unwinds into C: the call returns
 *   AGTRACE_ERR_PANIC and the library stays usable.
 * - ABI policy: within a major version, functions, constants and struct
 *   layouts are only added, never changed or removed.
 */


#define AGTRACE_VERSION_MAJOR 0

#define AGTRACE_VERSION_MINOR 1

#define AGTRACE_VERSION_PATCH 0

// Result of a fallible call. `AGTRACE_OK` is zero.
typedef enum {
  AGTRACE_OK = 0,
  // A required pointer or string was NULL.
  AGTRACE_ERR_NULL_ARGUMENT = 1,
  // An argument had a bad value (unknown kind, bad JSON, ...).
  AGTRACE_ERR_INVALID_ARGUMENT = 2,
  // A string was not valid UTF-8.
  AGTRACE_ERR_INVALID_UTF8 = 3,
  // A setting had a bad value; the message names it.
  AGTRACE_ERR_INVALID_CONFIG = 4,
  // The span was already ended (nothing was changed).
  AGTRACE_ERR_ALREADY_ENDED = 5,
  // The tracer was shut down (the call was safe but did nothing).
  AGTRACE_ERR_SHUT_DOWN = 6,
  // A flush or shutdown did not finish within its timeout.
  AGTRACE_ERR_TIMEOUT = 7,
  // An exporter could not be created.
  AGTRACE_ERR_EXPORTER = 8,
  // An internal error (a caught panic); the library stays usable.
  AGTRACE_ERR_PANIC = 9,
  // A flush or shutdown finished, but the exporters dropped spans
  // meanwhile (rejected, failed after retries, left at the deadline);
  // `out_undelivered` counts them and the stats say why.
  AGTRACE_ERR_UNDELIVERED = 10,
} agtrace_status_t;

// Settings for a tracer, by name. Opaque; create with
// `agtrace_config_new`, free with `agtrace_config_free`. Not thread-safe:
// use from one thread at a time.
typedef struct agtrace_config_t agtrace_config_t;

// A span's identity (and its trace's baggage), usable after the span is
// freed: as a parent, a link target, or for `agtrace_inject`. Opaque;
// immutable, so thread-safe. Free with `agtrace_context_free`.
typedef struct agtrace_context_t agtrace_context_t;

// A detailed error: a status code and a message. Opaque; free with
// `agtrace_error_free`.
typedef struct agtrace_error_t agtrace_error_t;

// A list of header names and values (HTTP headers, gRPC metadata). Opaque;
// not thread-safe. Lookups by name ignore case. Free with
// `agtrace_headers_free`.
typedef struct agtrace_headers_t agtrace_headers_t;

// A span. Opaque; thread-safe (calls on one span are serialized). Create
// with `agtrace_span_start`; end with `agtrace_span_end`; release with
// `agtrace_span_free` (which ends it, marked abandoned, if needed).
typedef struct agtrace_span_t agtrace_span_t;

// A tracer. Opaque; thread-safe: any thread may use it at the same time.
// Create with `agtrace_tracer_new`, release with `agtrace_tracer_free`.
typedef struct agtrace_tracer_t agtrace_tracer_t;

// A borrowed UTF-8 string: `ptr` to `len` bytes, no terminator needed.
// `{NULL, 0}` means "absent": an error where a string is required, "not
// set" where it is optional. The bytes are only read during the call.
typedef struct {
  const char *ptr;
  size_t len;
} agtrace_str_t;

// The span a BEGIN record started: `handle` (0 when the span records
// nothing) is what its END record names; the ids and flags are its
// context, for children and propagation.
typedef struct {
  uint64_t handle;
  uint8_t trace_id[16];
  uint8_t span_id[8];
  // W3C trace flags (bit 0: sampled).
  uint8_t flags;
} agtrace_begun_t;

// What a span is in an agent's run (`agtrace_span_options_t.kind`).
typedef uint32_t agtrace_kind_t;

// Where a new span sits (`agtrace_parent_t.kind`).
typedef uint32_t agtrace_parent_kind_t;

// The parent of a new span.
typedef struct {
  agtrace_parent_kind_t kind;
  const agtrace_span_t *span;
  const agtrace_context_t *context;
} agtrace_parent_t;

// Which field of `agtrace_value_t` holds the value.
typedef uint32_t agtrace_value_type_t;

// A typed value. Only the field named by `type` is read.
typedef struct {
  agtrace_value_type_t type;
  bool boolean;
  int64_t integer;
  double number;
  agtrace_str_t string;
  const void *array;
  size_t array_len;
} agtrace_value_t;

// A key and its value.
typedef struct {
  agtrace_str_t key;
  agtrace_value_t value;
} agtrace_attribute_t;

// Everything a span starts with. Zero-initialize, then set what you need:
// the zero value is a plain span under the thread's current span.
typedef struct {
  // Required.
  agtrace_str_t name;
  agtrace_kind_t kind;
  agtrace_parent_t parent;
  const agtrace_attribute_t *attributes;
  size_t attributes_len;
} agtrace_span_options_t;

// Status codes for `agtrace_span_set_status`.
typedef uint32_t agtrace_status_code_t;

// A model call's identity; absent strings (`{NULL, 0}`) are not set.
typedef struct {
  agtrace_str_t provider;
  agtrace_str_t request_model;
  agtrace_str_t response_model;
  agtrace_str_t response_id;
  const agtrace_str_t *finish_reasons;
  size_t finish_reasons_len;
} agtrace_llm_t;

// Token usage of a model call; zero means not reported.
typedef struct {
  uint64_t input_tokens;
  uint64_t output_tokens;
  uint64_t cache_read_input_tokens;
  uint64_t cache_creation_input_tokens;
  uint64_t reasoning_output_tokens;
} agtrace_usage_t;

// Trace-level context, applied to every span of the span's trace. Absent
// strings are left unchanged; `tags` (when `tags_len` > 0) replace the tags.
typedef struct {
  agtrace_str_t user_id;
  agtrace_str_t session_id;
  agtrace_str_t conversation_id;
  agtrace_str_t environment;
  agtrace_str_t release;
  const agtrace_str_t *tags;
  size_t tags_len;
  // A JSON object merged into the trace's metadata.
  agtrace_str_t metadata_json;
} agtrace_trace_meta_t;

// Counters of one tracer; see `agtrace_tracer_stats`. The invariant
// `ended == dispatched + dropped_queue_full + dropped_queue_bytes +
// dropped_shutdown + pending` always holds.
typedef struct {
  uint64_t started;
  uint64_t ended;
  uint64_t unsampled;
  uint64_t dispatched;
  uint64_t pending;
  uint64_t dropped_queue_full;
  uint64_t dropped_queue_bytes;
  uint64_t dropped_shutdown;
  // Summed over exporters.
  uint64_t exported;
  // Summed over exporters: every reason an exporter did not deliver.
  uint64_t export_dropped;
  // Misuse counted so far, by kind (`AGTRACE_MISUSE_*`).
  uint64_t misuse_bad_name;
  uint64_t misuse_bad_value;
  uint64_t misuse_ended_twice;
  uint64_t misuse_bad_call;
  uint64_t misuse_mask_failed;
} agtrace_stats_t;

#define AGTRACE_KIND_PLAIN 0

#define AGTRACE_KIND_AGENT 1

#define AGTRACE_KIND_WORKFLOW 2

#define AGTRACE_KIND_TASK 3

#define AGTRACE_KIND_LLM 4

#define AGTRACE_KIND_EMBEDDING 5

#define AGTRACE_KIND_RETRIEVER 6

#define AGTRACE_KIND_RERANKER 7

#define AGTRACE_KIND_TOOL 8

#define AGTRACE_KIND_GUARDRAIL 9

#define AGTRACE_KIND_EVALUATOR 10

// The calling thread's current span (see `agtrace_span_enter`), or a new
// trace when there is none. The zero value.
#define AGTRACE_PARENT_CURRENT 0

// A new trace.
#define AGTRACE_PARENT_ROOT 1

// A child of `span`.
#define AGTRACE_PARENT_SPAN 2

// A child of `context` (from `agtrace_extract` or `agtrace_span_context`).
#define AGTRACE_PARENT_CONTEXT 3

#define AGTRACE_STATUS_UNSET 0

#define AGTRACE_STATUS_OK 1

#define AGTRACE_STATUS_ERROR 2

#define AGTRACE_VALUE_STRING 1

#define AGTRACE_VALUE_BOOL 2

#define AGTRACE_VALUE_INT 3

#define AGTRACE_VALUE_DOUBLE 4

// `array` points to `array_len` `agtrace_str_t`.
#define AGTRACE_VALUE_STRING_ARRAY 5

// `array` points to `array_len` `bool`.
#define AGTRACE_VALUE_BOOL_ARRAY 6

// `array` points to `array_len` `int64_t`.
#define AGTRACE_VALUE_INT_ARRAY 7

// `array` points to `array_len` `double`.
#define AGTRACE_VALUE_DOUBLE_ARRAY 8

// `string` holds JSON text (messages, tool arguments); it is checked and
// stored as a JSON string attribute.
#define AGTRACE_VALUE_JSON 9

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// The library's version, `"MAJOR.MINOR.PATCH"` (static; do not free).
// Compare with `AGTRACE_VERSION_*` to detect a header/library mismatch.
//
// Thread-safe; does not block.
const char *agtrace_version(void);

// The span's context, valid after the span is ended or freed. The caller
// frees it with `agtrace_context_free`. Thread-safe.
//
// Does not block.
agtrace_status_t agtrace_span_context(const agtrace_span_t *span,
                                      agtrace_context_t **out_context,
                                      agtrace_error_t **out_error);

// A context from ids (16 bytes of trace id, 8 of span id) and W3C
// `flags`: the identity of a span a binding started through the span
// protocol, for `agtrace_inject`, links or parents. When `inherit` is not
// NULL, the new context carries its trace state and baggage. The caller
// frees it with `agtrace_context_free`. Thread-safe.
//
// Does not block.
agtrace_status_t agtrace_context_new(const uint8_t *trace_id,
                                     const uint8_t *span_id,
                                     uint8_t flags,
                                     const agtrace_context_t *inherit,
                                     agtrace_context_t **out_context,
                                     agtrace_error_t **out_error);

// Copies the ids out: `trace_id` (16 bytes) and `span_id` (8 bytes), and
// whether the context is sampled. Any output may be NULL. An extracted
// context without ids gives zeros. Thread-safe.
//
// Does not block.
agtrace_status_t agtrace_context_ids(const agtrace_context_t *context,
                                     uint8_t *trace_id,
                                     uint8_t *span_id,
                                     bool *sampled,
                                     agtrace_error_t **out_error);

// Frees a context. NULL is ignored.
//
// # Safety
// `context` must be NULL or a context from this library, not yet freed.
//
// Not thread-safe for the same context (no other thread may use it); does not block.
void agtrace_context_free(agtrace_context_t *context);

// Makes `span` the calling thread's current span (the default parent of
// spans started with `AGTRACE_PARENT_CURRENT`) until `agtrace_span_exit`.
// Enter and exit on the same thread, innermost first. Freeing an entered
// span on the thread that entered it exits it (and any span entered after
// it); freed on another thread, it stays that thread's current parent until
// the spans entered before it exit. Does not block.
agtrace_status_t agtrace_span_enter(const agtrace_span_t *span,
                                    agtrace_error_t **out_error);

// Undoes the matching `agtrace_span_enter`. Fails with
// `AGTRACE_ERR_INVALID_ARGUMENT` (changing nothing) when `span` is not the
// innermost span entered on this thread.
//
// Affects the calling thread only; does not block.
agtrace_status_t agtrace_span_exit(const agtrace_span_t *span,
                                   agtrace_error_t **out_error);

// The calling thread's current span's context, or NULL in `*out_context`
// when there is none. Free a non-NULL result with `agtrace_context_free`.
//
// Reads the calling thread only; does not block.
agtrace_status_t agtrace_current_context(agtrace_context_t **out_context,
                                         agtrace_error_t **out_error);

// The error's status code. `error` may be NULL (returns `AGTRACE_OK`).
//
// Thread-safe; does not block.
agtrace_status_t agtrace_error_code(const agtrace_error_t *error);

// The error's message: NUL-terminated UTF-8, owned by the error and valid
// until `agtrace_error_free`. `error` may be NULL (returns "").
//
// Thread-safe; does not block.
const char *agtrace_error_message(const agtrace_error_t *error);

// Frees an error. NULL is accepted and ignored.
//
// # Safety
// `error` must be NULL or an error returned by this library and not yet
// freed; it must not be used afterwards.
//
// Not thread-safe for the same error; does not block.
void agtrace_error_free(agtrace_error_t *error);

#if defined(AGTRACE_DEBUG_PANIC)
// Always panics inside the panic guard, for testing it: returns
// `AGTRACE_ERR_PANIC` with a message, and the library stays usable. Only
// in libraries built with the `debug-panic` feature (not the release ABI).
//
// Thread-safe; does not block.
agtrace_status_t agtrace_debug_panic(agtrace_error_t **out_error);
#endif

// A new, empty header list. Never NULL.
//
// Thread-safe; does not block.
agtrace_headers_t *agtrace_headers_new(void);

// Sets a header, replacing any of the same name (ignoring case). Both
// strings are copied.
//
// Not thread-safe for the same headers; does not block.
agtrace_status_t agtrace_headers_set(agtrace_headers_t *headers,
                                     agtrace_str_t name,
                                     agtrace_str_t value,
                                     agtrace_error_t **out_error);

// The number of headers. NULL gives 0.
//
// Not thread-safe with a concurrent change to the same headers; does not block.
size_t agtrace_headers_count(const agtrace_headers_t *headers);

// Header `index` (0-based): its name and value, borrowed from the list and
// valid until it is changed or freed (not NUL-terminated).
//
// Not thread-safe with a concurrent change to the same headers; does not block.
agtrace_status_t agtrace_headers_get(const agtrace_headers_t *headers,
                                     size_t index,
                                     agtrace_str_t *out_name,
                                     agtrace_str_t *out_value,
                                     agtrace_error_t **out_error);

// Looks a header up by name, ignoring case. Returns true and sets
// `*out_value` (borrowed, valid until the list changes or is freed) when
// found; false otherwise, and for NULL arguments or a name that is not
// UTF-8. Not thread-safe with a concurrent change; does not block.
bool agtrace_headers_lookup(const agtrace_headers_t *headers,
                            agtrace_str_t name,
                            agtrace_str_t *out_value);

// Frees a header list. NULL is ignored.
//
// # Safety
// `headers` must be NULL or from `agtrace_headers_new`, not yet freed.
//
// Not thread-safe for the same headers; does not block.
void agtrace_headers_free(agtrace_headers_t *headers);

// Writes propagation headers for `context` (its ids, trace state and
// baggage) in the tracer's formats. Thread-safe for distinct `headers`.
//
// Does not block.
agtrace_status_t agtrace_inject(const agtrace_tracer_t *tracer,
                                const agtrace_context_t *context,
                                agtrace_headers_t *headers,
                                agtrace_error_t **out_error);

// Reads a remote parent from `headers`. `*out_context` is the extracted
// context (use it as `AGTRACE_PARENT_CONTEXT`), or NULL when the headers
// carry neither a valid context nor baggage. Malformed headers are ignored.
//
// Thread-safe for headers no other thread changes; does not block.
agtrace_status_t agtrace_extract(const agtrace_tracer_t *tracer,
                                 const agtrace_headers_t *headers,
                                 agtrace_context_t **out_context,
                                 agtrace_error_t **out_error);

// The span protocol version this library speaks (`AGTRACE_PROTOCOL_VERSION`
// in the header it was built with). A binding compares it with its own at
// load and refuses to start on a mismatch.
//
// Thread-safe; does not block.
uint32_t agtrace_protocol_version(void);

// Applies a span protocol message of `len` bytes under `tracer`: ends the
// spans its END/ABANDON records name, then starts the span of its final
// BEGIN record, if any. `out` (may be NULL) is always written: the started
// span, or zeros (handle 0) when none started (no BEGIN, a faulty one, or
// after shutdown). A message with faults is applied as far as it
// can be (every span still ends; a faulty item is skipped); the status is
// then `AGTRACE_ERR_INVALID_ARGUMENT` or `AGTRACE_ERR_INVALID_UTF8`, and
// `out_error` names the first faulty field and its byte offset. After
// shutdown, records are applied (ended spans are counted as dropped) and
// the status is `AGTRACE_ERR_SHUT_DOWN`.
//
// # Safety
// `msg` points to `len` readable bytes. Every handle in an END or ABANDON
// record came from an `agtrace_begun_t` of this process and is named by
// one END or ABANDON only; context handles in a BEGIN are live
// `agtrace_context_t` pointers. A handle is not tied to a thread.
//
// Thread-safe; never blocks.
agtrace_status_t agtrace_spans_apply(const agtrace_tracer_t *tracer,
                                     const uint8_t *msg,
                                     size_t len,
                                     agtrace_begun_t *out,
                                     agtrace_error_t **out_error);

// Starts a span. On success `*out_span` is a new span the caller frees with
// `agtrace_span_free`; on failure it is NULL. After shutdown this fails with
// `AGTRACE_ERR_SHUT_DOWN`. Thread-safe; never blocks.
agtrace_status_t agtrace_span_start(const agtrace_tracer_t *tracer,
                                    const agtrace_span_options_t *options,
                                    agtrace_span_t **out_span,
                                    agtrace_error_t **out_error);

// Ends the span and hands it to the export pipeline; never blocks. Ending
// twice returns `AGTRACE_ERR_ALREADY_ENDED` and changes nothing. After the
// tracer's shutdown the span is ended, counted as dropped, and the call
// returns `AGTRACE_ERR_SHUT_DOWN`. The handle
// stays valid until `agtrace_span_free`. Thread-safe.
agtrace_status_t agtrace_span_end(const agtrace_span_t *span,
                                  agtrace_error_t **out_error);

// Frees the handle. A span not ended is ended now, marked abandoned
// (`agtrace.abandoned = true`); a span entered on this thread is exited.
// NULL is ignored.
//
// # Safety
// `span` must be NULL or from `agtrace_span_start`, not yet freed, and not
// in use by another thread. Using it afterwards is undefined behaviour.
//
// Not thread-safe for the same span; does not block (ending only queues the span).
void agtrace_span_free(agtrace_span_t *span);

// True while the span records: false once ended, and for spans not sampled.
// NULL gives false. Thread-safe.
//
// Does not block.
bool agtrace_span_is_recording(const agtrace_span_t *span);

// Sets `len` attributes in one call, all or nothing. Strings are copied.
// Thread-safe; never blocks.
agtrace_status_t agtrace_span_set_attributes(const agtrace_span_t *span,
                                             const agtrace_attribute_t *attributes_ptr,
                                             size_t len,
                                             agtrace_error_t **out_error);

// Adds an event with attributes, timestamped now. Thread-safe.
//
// Never blocks.
agtrace_status_t agtrace_span_add_event(const agtrace_span_t *span,
                                        agtrace_str_t name,
                                        const agtrace_attribute_t *attributes_ptr,
                                        size_t len,
                                        agtrace_error_t **out_error);

// Records an error as an OpenTelemetry `exception` event (type, message,
// optional stack trace) and sets the status to error. Thread-safe.
//
// Never blocks.
agtrace_status_t agtrace_span_record_error(const agtrace_span_t *span,
                                           agtrace_str_t error_type,
                                           agtrace_str_t message,
                                           agtrace_str_t stacktrace,
                                           agtrace_error_t **out_error);

// Sets the status (`AGTRACE_STATUS_*`); the description is used for
// errors. `OK` is final. Thread-safe.
//
// Never blocks.
agtrace_status_t agtrace_span_set_status(const agtrace_span_t *span,
                                         agtrace_status_code_t code,
                                         agtrace_str_t description,
                                         agtrace_error_t **out_error);

// Links the span to another span's context, with attributes. Thread-safe.
//
// Never blocks.
agtrace_status_t agtrace_span_add_link(const agtrace_span_t *span,
                                       const agtrace_context_t *target,
                                       const agtrace_attribute_t *attributes_ptr,
                                       size_t len,
                                       agtrace_error_t **out_error);

// Sets the GenAI attributes of a model call (provider, models, response id,
// finish reasons). Thread-safe.
//
// Never blocks.
agtrace_status_t agtrace_span_set_llm(const agtrace_span_t *span,
                                      const agtrace_llm_t *llm,
                                      agtrace_error_t **out_error);

// Sets token usage (rolled up to every ancestor when the span is
// exported). Thread-safe.
//
// Never blocks.
agtrace_status_t agtrace_span_set_usage(const agtrace_span_t *span,
                                        const agtrace_usage_t *usage,
                                        agtrace_error_t **out_error);

// Sets `gen_ai.tool.name` and, when given, `gen_ai.tool.call.id`.
// Thread-safe.
//
// Never blocks.
agtrace_status_t agtrace_span_set_tool(const agtrace_span_t *span,
                                       agtrace_str_t name,
                                       agtrace_str_t call_id,
                                       agtrace_error_t **out_error);

// Sets `gen_ai.agent.name` and, when given, `gen_ai.agent.id`. Thread-safe.
//
// Never blocks.
agtrace_status_t agtrace_span_set_agent(const agtrace_span_t *span,
                                        agtrace_str_t name,
                                        agtrace_str_t id,
                                        agtrace_error_t **out_error);

// Sets input and output messages (JSON arrays, either may be absent).
// Recorded only when content capture is on (`AGTRACE_CAPTURE_CONTENT`),
// then redacted by the tracer's rules. Thread-safe.
//
// Never blocks.
agtrace_status_t agtrace_span_set_messages(const agtrace_span_t *span,
                                           agtrace_str_t input_json,
                                           agtrace_str_t output_json,
                                           agtrace_error_t **out_error);

// Sets trace-level context (user, session, conversation, tags, metadata,
// environment, release) for every span of this span's trace. Thread-safe.
//
// Never blocks.
agtrace_status_t agtrace_span_set_trace_meta(const agtrace_span_t *span,
                                             const agtrace_trace_meta_t *meta,
                                             agtrace_error_t **out_error);

// Records that the first chunk of a streamed response arrived now
// (`gen_ai.response.time_to_first_chunk`). Thread-safe; never blocks.
agtrace_status_t agtrace_span_mark_first_chunk(const agtrace_span_t *span,
                                               agtrace_error_t **out_error);

// A view of a NUL-terminated string (length from `strlen`), for callers
// holding C strings. NULL gives `{NULL, 0}`. Validation happens where the
// string is used.
//
// # Safety
// `s` must be NULL or point to a NUL-terminated string.
//
// Thread-safe; does not block (reads up to the NUL).
agtrace_str_t agtrace_cstr(const char *s);

// Frees a string returned by this library. NULL is ignored.
//
// # Safety
// `s` must be NULL or a string this library returned for freeing, not yet
// freed.
//
// Not thread-safe for the same string; does not block.
void agtrace_string_free(char *s);

// A new, empty configuration. Never NULL. Free with `agtrace_config_free`.
//
// Thread-safe; does not block.
agtrace_config_t *agtrace_config_new(void);

// Sets a setting by name: the names are the environment variables of the
// README's table (`OTEL_SERVICE_NAME`, `AGTRACE_EXPORTERS`,
// `OTEL_EXPORTER_OTLP_ENDPOINT`, ...). A setting given here wins over the
// environment and the config file. An unknown name fails here
// (`AGTRACE_ERR_INVALID_ARGUMENT`); a bad value fails `agtrace_tracer_new`.
// Both strings are copied.
//
// Not thread-safe for the same `config`; does not block.
agtrace_status_t agtrace_config_set(agtrace_config_t *config,
                                    agtrace_str_t name,
                                    agtrace_str_t value,
                                    agtrace_error_t **out_error);

// Ignore the process environment (only settings given with
// `agtrace_config_set` and defaults apply).
//
// Not thread-safe for the same config; does not block.
agtrace_status_t agtrace_config_ignore_env(agtrace_config_t *config,
                                           agtrace_error_t **out_error);

// Frees a configuration. NULL is ignored.
//
// # Safety
// `config` must be NULL or from `agtrace_config_new`, not yet freed.
//
// Not thread-safe for the same config; does not block.
void agtrace_config_free(agtrace_config_t *config);

// Creates a tracer from `config` (NULL: environment and defaults only).
// The config is only read; the caller still frees it. On success
// `*out_tracer` is a new tracer; on failure it is set to NULL and the error
// names the bad setting. Starts the export threads; does no network I/O on
// the calling thread.
//
// Thread-safe; does not block (it starts threads, no network I/O).
agtrace_status_t agtrace_tracer_new(const agtrace_config_t *config,
                                    agtrace_tracer_t **out_tracer,
                                    agtrace_error_t **out_error);

// Releases this handle. When it is the last one the tracer shuts down,
// waiting up to 5 s for the final export of the spans ended before; call
// `agtrace_tracer_shutdown` first to choose the timeout. Spans do not keep
// the tracer alive: a span still live then stays a valid handle, and ending
// it reports `AGTRACE_ERR_SHUT_DOWN` (it is not exported). NULL is ignored.
//
// # Safety
// `tracer` must be NULL or from `agtrace_tracer_new`, not yet freed, and not
// in use by another thread.
//
// Not thread-safe for the same handle. Blocks only when this is the last handle: then up to 5 s for the final export.
void agtrace_tracer_free(agtrace_tracer_t *tracer);

// Blocks until every span ended before the call has been delivered (or given
// up on) by the exporters, or `timeout_ms` passes: then returns
// `AGTRACE_ERR_TIMEOUT` and, if `out_undelivered` is not NULL, how many
// spans were not delivered yet. If the exporters dropped spans meanwhile
// (rejected, failed after retries), returns `AGTRACE_ERR_UNDELIVERED` with
// that count. Thread-safe.
agtrace_status_t agtrace_tracer_flush(const agtrace_tracer_t *tracer,
                                      uint32_t timeout_ms,
                                      uint64_t *out_undelivered,
                                      agtrace_error_t **out_error);

// Flushes, shuts the exporters down and stops the export threads; returns
// within `timeout_ms` even if an exporter hangs (`AGTRACE_ERR_TIMEOUT`,
// with the undelivered count as for flush). The exporters retry until
// shortly before `timeout_ms` ends and start no attempt after it; spans
// they dropped give `AGTRACE_ERR_UNDELIVERED` as for flush. A second call
// waits, up to its own timeout, for the first to settle and reports the
// same way. Afterwards spans can still be used safely but are not
// exported, and span calls return `AGTRACE_ERR_SHUT_DOWN`. Thread-safe.
//
// Blocks for at most `timeout_ms`.
agtrace_status_t agtrace_tracer_shutdown(const agtrace_tracer_t *tracer,
                                         uint32_t timeout_ms,
                                         uint64_t *out_undelivered,
                                         agtrace_error_t **out_error);

// Fork hook: call in the parent just before `fork()`, e.g. from a
// `pthread_atfork` prepare handler. Parks the tracer's export threads where
// they hold no lock the application shares, so the child inherits none
// held. Pair it with `agtrace_tracer_fork_parent` and
// `agtrace_tracer_fork_child`. Does nothing on a disabled or shut-down
// tracer.
//
// Thread-safe (nested calls from threads forking at once count, each
// needing its `agtrace_tracer_fork_parent`). Blocks up to 1 s waiting for
// the threads; an exporter in a slow export call is not waited for.
agtrace_status_t agtrace_tracer_fork_prepare(const agtrace_tracer_t *tracer,
                                             agtrace_error_t **out_error);

// Fork hook: call in the parent after `fork()` returns, also when it
// failed (a `pthread_atfork` parent handler): undoes one
// `agtrace_tracer_fork_prepare`, and the export threads go on. Threads
// left paused resume on their own after 10 s.
//
// Thread-safe; does not block.
agtrace_status_t agtrace_tracer_fork_parent(const agtrace_tracer_t *tracer,
                                            agtrace_error_t **out_error);

// Fork hook: call in the child after `fork()` returns 0 (a `pthread_atfork`
// child handler), before the child starts threads that trace. Gives the
// child export threads and exporters of its own, built from the tracer's
// settings; the parent's are never touched. Spans started before the fork
// are exported by the parent only (ended in the child they are dropped
// silently); spans the child starts under them keep their trace. The
// child's counters restart at zero. Does nothing in the process that
// created the tracer, when called again, or on a disabled or shut-down
// tracer; if the child's exporters cannot be created (the message goes to
// stderr) its tracer acts as disabled.
//
// Not thread-safe: the calling thread must be the child's only thread using
// the tracer. Not async-signal-safe (allocates, starts threads, may open
// files). Does not block on the network.
agtrace_status_t agtrace_tracer_fork_child(const agtrace_tracer_t *tracer,
                                           agtrace_error_t **out_error);

// Fills `*out_stats` with the tracer's counters. Thread-safe; does not
// block.
agtrace_status_t agtrace_tracer_stats(const agtrace_tracer_t *tracer,
                                      agtrace_stats_t *out_stats,
                                      agtrace_error_t **out_error);

// Every counter, per exporter included, as a JSON object (NUL-terminated,
// free with `agtrace_string_free`): among them each exporter's disk spool
// counters (`spooled`, `replayed`, `lost_from_spool`, `spool_corrupt`),
// which `agtrace_stats_t` does not carry. Thread-safe; does not block.
agtrace_status_t agtrace_tracer_stats_json(const agtrace_tracer_t *tracer,
                                           char **out_json,
                                           agtrace_error_t **out_error);

// Counts one misuse of `kind` (an `AGTRACE_MISUSE_*` code; an unknown code
// counts as `AGTRACE_MISUSE_BAD_CALL`) in the tracer's `stats`, and logs
// `detail` to stderr the first time the tracer sees that kind. For the
// language SDKs, which report misuse they detect before calling the core
// (and raise instead in strict mode, see `agtrace_tracer_strict`); the
// core counts what it detects itself. `detail` may be `{NULL, 0}`; a
// NULL tracer is ignored.
//
// Thread-safe; lock-free, blocks only for that one write.
void agtrace_misuse_report(const agtrace_tracer_t *tracer,
                           uint32_t kind,
                           agtrace_str_t detail);

// Whether the tracer's `strict` setting (`AGTRACE_STRICT`) is on: the
// SDKs then raise on misuse instead of counting it. False for NULL.
//
// Thread-safe; does not block.
bool agtrace_tracer_strict(const agtrace_tracer_t *tracer);

// Changes the default sampling rate of a live tracer (0.0 to 1.0).
// Thread-safe.
//
// Does not block.
agtrace_status_t agtrace_tracer_set_sampling_rate(const agtrace_tracer_t *tracer,
                                                  double rate,
                                                  agtrace_error_t **out_error);

// Adds a tag to every span exported from now on. Thread-safe.
//
// Does not block.
agtrace_status_t agtrace_tracer_add_tag(const agtrace_tracer_t *tracer,
                                        agtrace_str_t tag,
                                        agtrace_error_t **out_error);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* AGTRACE_H */


/* The span protocol (ffi/PROTOCOL.md). Generated from agtrace_core::codes by `cargo run -p agtrace-header -- --codes`; do not edit. */
#ifndef AGTRACE_H_PROTOCOL
#define AGTRACE_H_PROTOCOL
#define AGTRACE_PROTOCOL_VERSION 2
/* Starts a span; the message's last record. */
#define AGTRACE_PROTO_RECORD_BEGIN 1
/* Applies items to a span and ends it. */
#define AGTRACE_PROTO_RECORD_END 2
/* Like END, for a span its owner dropped without ending (marked abandoned). */
#define AGTRACE_PROTO_RECORD_ABANDON 3
/* A new trace. */
#define AGTRACE_PROTO_PARENT_ROOT 0
/* A span of this process still recording: trace id, span id, flags. */
#define AGTRACE_PROTO_PARENT_LOCAL 1
/* A span known by its ids only (ended, or not counted for rollups). */
#define AGTRACE_PROTO_PARENT_SPAN 2
/* A context handle from the C ABI (extracted headers, or any span's context). */
#define AGTRACE_PROTO_PARENT_CONTEXT 3
/* Flag on LOCAL/SPAN: a context handle follows, whose trace state and baggage the span inherits. */
#define AGTRACE_PROTO_PARENT_INHERIT 128
/* Attribute: key, string value. */
#define AGTRACE_PROTO_ITEM_STRING 1
/* Attribute: key, 64-bit signed integer. */
#define AGTRACE_PROTO_ITEM_INT 2
/* Attribute: key, 64-bit float. */
#define AGTRACE_PROTO_ITEM_DOUBLE 3
/* Attribute: key, one byte 0 or 1. */
#define AGTRACE_PROTO_ITEM_BOOL 4
/* Attribute: key, count, strings. */
#define AGTRACE_PROTO_ITEM_STRING_ARRAY 5
/* Attribute: key, count, integers. */
#define AGTRACE_PROTO_ITEM_INT_ARRAY 6
/* Attribute: key, count, floats. */
#define AGTRACE_PROTO_ITEM_DOUBLE_ARRAY 7
/* Attribute: key, count, bytes 0 or 1. */
#define AGTRACE_PROTO_ITEM_BOOL_ARRAY 8
/* Attribute: key, JSON text (scalars and uniform arrays become typed values, anything else its JSON text). */
#define AGTRACE_PROTO_ITEM_JSON 9
/* Status code, description. */
#define AGTRACE_PROTO_ITEM_STATUS 16
/* An exception event and error status: type, message, stack trace. */
#define AGTRACE_PROTO_ITEM_ERROR 17
/* Token counts: input, output, cache read, cache creation, reasoning. */
#define AGTRACE_PROTO_ITEM_USAGE 18
/* Provider, request model, response model, response id, finish reasons. */
#define AGTRACE_PROTO_ITEM_LLM 19
/* Tool name, call id. */
#define AGTRACE_PROTO_ITEM_TOOL 20
/* Agent name, id. */
#define AGTRACE_PROTO_ITEM_AGENT 21
/* Input and output messages, as JSON text. */
#define AGTRACE_PROTO_ITEM_MESSAGES 22
/* Trace-level context: user, session, conversation, environment, release, tags, metadata. */
#define AGTRACE_PROTO_ITEM_TRACE 23
/* An event: name, time offset, attribute count, attribute items. */
#define AGTRACE_PROTO_ITEM_EVENT 24
/* The first chunk of a stream arrived: time offset. */
#define AGTRACE_PROTO_ITEM_FIRST_CHUNK 25
/* The span's new name. */
#define AGTRACE_PROTO_ITEM_NAME 26
/* A link: trace id, span id, flags, trace state, attribute count, attribute items. */
#define AGTRACE_PROTO_ITEM_LINK 27

/* Kinds of misuse, for `agtrace_misuse_report` and the stats' `misuse_*` counters. */
/* A span, attribute or event name that is empty or not text. */
#define AGTRACE_MISUSE_BAD_NAME 1
/* A value that could not be recorded at all (its conversion failed), so it was dropped. */
#define AGTRACE_MISUSE_BAD_VALUE 2
/* A span ended, or changed, after it ended. */
#define AGTRACE_MISUSE_ENDED_TWICE 3
/* An argument the call cannot use: NULL, an unknown code, a malformed protocol message. */
#define AGTRACE_MISUSE_BAD_CALL 4
/* The user's mask function failed; the value it was given was dropped. */
#define AGTRACE_MISUSE_MASK_FAILED 5
#endif /* AGTRACE_H_PROTOCOL */
/* Convenience for C callers: string literals and C strings as agtrace_str_t.
   cbindgen places this after the include guard, hence its own guard. */
#ifndef AGTRACE_H_INLINE
#define AGTRACE_H_INLINE
#ifndef __cplusplus
#define AGTRACE_STR(literal) ((agtrace_str_t){ (literal), sizeof(literal) - 1 })
#endif

/* An agtrace_str_t from a pointer and a length (no copy). Thread-safe; does not block. */
static inline agtrace_str_t agtrace_str_n(const char *ptr, size_t len) {
  agtrace_str_t s;
  s.ptr = ptr;
  s.len = len;
  return s;
}
#endif /* AGTRACE_H_INLINE */
