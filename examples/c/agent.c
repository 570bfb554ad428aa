/* The agtrace demo in C: the travel-assistant agent of core/examples/demo.rs
 * through the C ABI. It plans with an LLM, runs two tools in parallel on
 * threads, retrieves documents and answers. The "LLM" and tools are simulated
 * (sleeps and realistic token counts), so it needs no server and no network.
 *
 * Prints the trace tree to the console and writes agtrace-demo.jsonl
 * (OTLP/JSON lines). With OTEL_EXPORTER_OTLP_ENDPOINT (or the traces
 * endpoint) set, it also exports over OTLP. AGTRACE_DEMO_CONVERSATION sets
 * the conversation id.
 *
 * Build (see the README):
 *   export PKG_CONFIG_PATH=$PWD/dist/c/lib/pkgconfig
 *   gcc examples/c/agent.c $(pkg-config --cflags --libs agtrace) -pthread \
 *       -Wl,-rpath,$PWD/dist/c/lib -o agent
 * or with CMake: examples/c/CMakeLists.txt (find_package(agtrace)).
 */
#define _POSIX_C_SOURCE 200809L

#include <agtrace.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const agtrace_parent_t CURRENT = {AGTRACE_PARENT_CURRENT, NULL, NULL};
static const agtrace_str_t ABSENT = {NULL, 0};
static int failures = 0;

/* Tracing must never break the agent: a failed call is reported and the
 * agent goes on. (The demo exits 1 at the end so tests notice.) */
static void check(agtrace_status_t status, agtrace_error_t *error, const char *what) {
  if (status != AGTRACE_OK) {
    fprintf(stderr, "agtrace: %s: %s\n", what, agtrace_error_message(error));
    failures++;
  }
  agtrace_error_free(error);
}

static agtrace_span_t *start_span(const agtrace_tracer_t *tracer, const char *name, agtrace_kind_t kind,
                                  agtrace_parent_t parent) {
  agtrace_span_options_t options;
  agtrace_span_t *span = NULL;
  agtrace_error_t *error = NULL;
  memset(&options, 0, sizeof options); /* zero value: a plain span under the current span */
  options.name = agtrace_cstr(name);
  options.kind = kind;
  options.parent = parent;
  check(agtrace_span_start(tracer, &options, &span, &error), error, name);
  return span; /* NULL on failure; every span call then fails harmlessly */
}

static void end_span(agtrace_span_t *span) {
  agtrace_error_t *error = NULL;
  check(agtrace_span_end(span, &error), error, "end");
  agtrace_span_free(span);
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* `s` as a JSON string literal (with quotes) into `out`. */
static void json_string(char *out, size_t size, const char *s) {
  size_t n = 0;
  if (size < 3) return;
  out[n++] = '"';
  for (; *s && n + 7 < size; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[n++] = '\\';
      out[n++] = (char)c;
    } else if (c < 0x20) {
      n += (size_t)sprintf(out + n, "\\u%04x", c);
    } else {
      out[n++] = (char)c;
    }
  }
  out[n++] = '"';
  out[n] = '\0';
}

static void hex(char *out, const unsigned char *bytes, size_t n) {
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < n; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  out[2 * n] = '\0';
}

/* A simulated chat completion under the thread's current span; writes the
 * answer into `answer`. */
static void chat(const agtrace_tracer_t *tracer, const char *model, const char *prompt, uint64_t input_tokens,
                 uint64_t output_tokens, long ms, char *answer, size_t answer_size) {
  char name[64], response_model[64], response_id[64], span_id[17], prompt_json[512], messages[640];
  unsigned char id[8] = {0};
  agtrace_error_t *error = NULL;
  agtrace_span_t *llm;
  agtrace_context_t *context = NULL;
  agtrace_llm_t request, response;
  agtrace_usage_t usage;
  agtrace_attribute_t params[2];
  agtrace_str_t reasons[1];

  snprintf(name, sizeof name, "chat %s", model);
  llm = start_span(tracer, name, AGTRACE_KIND_LLM, CURRENT);

  memset(&request, 0, sizeof request);
  request.provider = agtrace_cstr("openai");
  request.request_model = agtrace_cstr(model);
  check(agtrace_span_set_llm(llm, &request, &error), error, "set_llm");
  /* Request parameters: one call, all or nothing. */
  memset(params, 0, sizeof params);
  params[0].key = AGTRACE_STR("gen_ai.request.temperature");
  params[0].value.type = AGTRACE_VALUE_DOUBLE;
  params[0].value.number = 0.2;
  params[1].key = AGTRACE_STR("gen_ai.request.max_tokens");
  params[1].value.type = AGTRACE_VALUE_INT;
  params[1].value.integer = 512;
  check(agtrace_span_set_attributes(llm, params, 2, &error), error, "request params");
  /* Recorded only when content capture is on (AGTRACE_CAPTURE_CONTENT=true). */
  json_string(prompt_json, sizeof prompt_json, prompt);
  snprintf(messages, sizeof messages, "[{\"role\":\"user\",\"content\":%s}]", prompt_json);
  check(agtrace_span_set_messages(llm, agtrace_cstr(messages), ABSENT, &error), error, "set_messages");

  sleep_ms(ms);
  snprintf(answer, answer_size, "(%s) a plan for: %s", model, prompt);

  check(agtrace_span_context(llm, &context, &error), error, "span_context");
  check(agtrace_context_ids(context, NULL, id, NULL, &error), error, "context_ids");
  agtrace_context_free(context);
  hex(span_id, id, sizeof id);
  snprintf(response_model, sizeof response_model, "%s-2024-08-06", model);
  snprintf(response_id, sizeof response_id, "chatcmpl-%s", span_id);
  reasons[0] = AGTRACE_STR("stop");
  memset(&response, 0, sizeof response);
  response.response_model = agtrace_cstr(response_model);
  response.response_id = agtrace_cstr(response_id);
  response.finish_reasons = reasons;
  response.finish_reasons_len = 1;
  check(agtrace_span_set_llm(llm, &response, &error), error, "set_llm");
  memset(&usage, 0, sizeof usage);
  usage.input_tokens = input_tokens;
  usage.output_tokens = output_tokens;
  check(agtrace_span_set_usage(llm, &usage, &error), error, "set_usage");
  end_span(llm);
}

/* One tool call on its own thread, with an explicit parent. */
struct tool_call {
  const agtrace_tracer_t *tracer;
  const agtrace_context_t *parent; /* immutable, so shared by the threads */
  const char *name;
  const char *arguments_json;
  long ms;
};

static void *run_tool(void *arg) {
  const struct tool_call *call = (const struct tool_call *)arg;
  char name[64], call_id[64], result[128];
  agtrace_error_t *error = NULL;
  agtrace_parent_t parent = {AGTRACE_PARENT_CONTEXT, NULL, NULL};
  agtrace_attribute_t a;
  agtrace_span_t *tool;

  parent.context = call->parent;
  snprintf(name, sizeof name, "execute_tool %s", call->name);
  tool = start_span(call->tracer, name, AGTRACE_KIND_TOOL, parent);
  snprintf(call_id, sizeof call_id, "call_%s", call->name);
  check(agtrace_span_set_tool(tool, agtrace_cstr(call->name), agtrace_cstr(call_id), &error), error, "set_tool");
  memset(&a, 0, sizeof a);
  a.key = AGTRACE_STR("gen_ai.tool.call.arguments");
  a.value.type = AGTRACE_VALUE_JSON; /* checked as JSON, stored as a string */
  a.value.string = agtrace_cstr(call->arguments_json);
  check(agtrace_span_set_attributes(tool, &a, 1, &error), error, "tool arguments");

  sleep_ms(call->ms);

  snprintf(result, sizeof result, "{\"ok\":true,\"tool\":\"%s\"}", call->name);
  a.key = AGTRACE_STR("gen_ai.tool.call.result");
  a.value.string = agtrace_cstr(result);
  check(agtrace_span_set_attributes(tool, &a, 1, &error), error, "tool result");
  end_span(tool);
  return NULL;
}

static void run_agent(const agtrace_tracer_t *tracer, const char *conversation, const char *question, char *answer,
                      size_t answer_size) {
  const agtrace_parent_t root = {AGTRACE_PARENT_ROOT, NULL, NULL};
  agtrace_error_t *error = NULL;
  agtrace_span_t *agent, *plan, *retrieve;
  agtrace_trace_meta_t meta;
  agtrace_str_t tags[1];
  agtrace_context_t *agent_context = NULL;
  agtrace_attribute_t count;
  struct tool_call calls[2];
  pthread_t threads[2];
  char plan_text[512];
  int i;

  agent = start_span(tracer, "invoke_agent travel-assistant", AGTRACE_KIND_AGENT, root);
  check(agtrace_span_set_agent(agent, AGTRACE_STR("travel-assistant"), AGTRACE_STR("agent-42"), &error), error,
        "set_agent");
  /* Trace-level context: applied to every span of this trace. */
  memset(&meta, 0, sizeof meta);
  tags[0] = AGTRACE_STR("demo");
  meta.conversation_id = agtrace_cstr(conversation);
  meta.user_id = AGTRACE_STR("user-7");
  meta.tags = tags;
  meta.tags_len = 1;
  meta.environment = AGTRACE_STR("development");
  check(agtrace_span_set_trace_meta(agent, &meta, &error), error, "set_trace_meta");
  check(agtrace_span_enter(agent, &error), error, "enter agent");

  /* Plan: a task span with one model call under it. */
  plan = start_span(tracer, "plan", AGTRACE_KIND_TASK, CURRENT);
  check(agtrace_span_enter(plan, &error), error, "enter plan");
  chat(tracer, "gpt-4o-mini", question, 412, 57, 30, plan_text, sizeof plan_text);
  check(agtrace_span_exit(plan, &error), error, "exit plan");
  end_span(plan);

  /* Act: two tools in parallel, each on its own thread with an explicit
   * parent (a context stays valid whatever happens to the span). */
  check(agtrace_span_context(agent, &agent_context, &error), error, "agent context");
  calls[0].tracer = tracer;
  calls[0].parent = agent_context;
  calls[0].name = "get_weather";
  calls[0].arguments_json = "{\"city\":\"Lisbon\"}";
  calls[0].ms = 40;
  calls[1] = calls[0];
  calls[1].name = "search_flights";
  calls[1].arguments_json = "{\"days\":2,\"to\":\"LIS\"}";
  calls[1].ms = 55;
  for (i = 0; i < 2; i++) {
    if (pthread_create(&threads[i], NULL, run_tool, &calls[i]) != 0) {
      fprintf(stderr, "cannot start a tool thread\n");
      exit(1);
    }
  }
  for (i = 0; i < 2; i++) pthread_join(threads[i], NULL);
  agtrace_context_free(agent_context);

  /* Retrieve context, then answer. */
  retrieve = start_span(tracer, "retrieve travel-docs", AGTRACE_KIND_RETRIEVER, CURRENT);
  memset(&count, 0, sizeof count);
  count.key = AGTRACE_STR("retrieval.documents.count");
  count.value.type = AGTRACE_VALUE_INT;
  count.value.integer = 3;
  check(agtrace_span_set_attributes(retrieve, &count, 1, &error), error, "retrieval count");
  sleep_ms(15);
  end_span(retrieve);

  chat(tracer, "gpt-4o", plan_text, 1290, 221, 80, answer, answer_size);
  check(agtrace_span_exit(agent, &error), error, "exit agent");
  end_span(agent);
}

static int env_set(const char *name) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0';
}

int main(void) {
  agtrace_config_t *config = agtrace_config_new();
  agtrace_tracer_t *tracer = NULL;
  agtrace_error_t *error = NULL;
  agtrace_stats_t stats;
  const char *exporters = "console,file";
  const char *conversation = getenv("AGTRACE_DEMO_CONVERSATION");
  char answer[1024];
  uint64_t dropped;

  if (env_set("OTEL_EXPORTER_OTLP_ENDPOINT") || env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    exporters = "console,file,otlp"; /* OTLP settings come from the environment */
  /* Settings by name; given here they win over the environment. */
  check(agtrace_config_set(config, AGTRACE_STR("OTEL_SERVICE_NAME"), AGTRACE_STR("agtrace-demo"), &error), error,
        "OTEL_SERVICE_NAME");
  check(agtrace_config_set(config, AGTRACE_STR("AGTRACE_EXPORTERS"), agtrace_cstr(exporters), &error), error,
        "AGTRACE_EXPORTERS");
  check(agtrace_config_set(config, AGTRACE_STR("AGTRACE_FILE_PATH"), AGTRACE_STR("agtrace-demo.jsonl"), &error), error,
        "AGTRACE_FILE_PATH");
  if (agtrace_tracer_new(config, &tracer, &error) != AGTRACE_OK) {
    fprintf(stderr, "agtrace: %s\n", agtrace_error_message(error)); /* names the bad setting */
    agtrace_error_free(error);
    agtrace_config_free(config);
    return 1;
  }
  agtrace_config_free(config);
  if (conversation == NULL || *conversation == '\0') conversation = "demo-conversation-1";

  run_agent(tracer, conversation, "Plan a weekend in Lisbon", answer, sizeof answer);
  printf("agent answered: %s\n\n", answer);
  fflush(stdout);

  check(agtrace_tracer_shutdown(tracer, 10000, NULL, &error), error, "shutdown");
  check(agtrace_tracer_stats(tracer, &stats, &error), error, "stats");
  dropped = stats.dropped_queue_full + stats.dropped_queue_bytes + stats.dropped_shutdown;
  printf("spans: %llu started, %llu handed to exporters, %llu dropped; wrote agtrace-demo.jsonl\n",
         (unsigned long long)stats.started, (unsigned long long)stats.dispatched, (unsigned long long)dropped);
  if (stats.export_dropped > 0) {
    char *json = NULL;
    agtrace_tracer_stats_json(tracer, &json, NULL);
    fprintf(stderr, "exporters did not deliver everything: %s\n", json ? json : "");
    agtrace_string_free(json);
    failures++;
  }
  agtrace_tracer_free(tracer);
  return failures ? 1 : 0;
}
