/* The main path of the C ABI from plain C99: configure, start a small tree
 * with attributes, enter/exit, propagate, end, shut down, check the counters
 * and the file exporter's output. Built with -std=c99 -pedantic -Werror and
 * linked both against libagtrace.so and libagtrace.a.
 *
 * usage: smoke <output.jsonl>
 */
#include <agtrace.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                 \
  do {                                                              \
    if (!(cond)) {                                                  \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                   \
    }                                                               \
  } while (0)

/* Runs a call that must succeed; prints the library's message otherwise. */
static void ok(agtrace_status_t status, agtrace_error_t *error, const char *what) {
  if (status != AGTRACE_OK) {
    fprintf(stderr, "%s failed (%d): %s\n", what, (int)status, agtrace_error_message(error));
    failures++;
  }
  agtrace_error_free(error);
}

static agtrace_span_t *start(const agtrace_tracer_t *tracer, const char *name, agtrace_kind_t kind,
                             agtrace_parent_t parent) {
  agtrace_span_options_t options;
  agtrace_span_t *span = NULL;
  agtrace_error_t *error = NULL;
  memset(&options, 0, sizeof options);
  options.name = agtrace_cstr(name);
  options.kind = kind;
  options.parent = parent;
  ok(agtrace_span_start(tracer, &options, &span, &error), error, name);
  return span;
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  long n;
  char *buf;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = (char *)malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
  if (buf) buf[n] = '\0';
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  agtrace_config_t *config;
  agtrace_tracer_t *tracer = NULL;
  agtrace_error_t *error = NULL;
  agtrace_span_t *agent, *llm, *tool;
  agtrace_parent_t current = {AGTRACE_PARENT_CURRENT, NULL, NULL};
  agtrace_parent_t root = {AGTRACE_PARENT_ROOT, NULL, NULL};
  agtrace_parent_t under_agent = {AGTRACE_PARENT_SPAN, NULL, NULL};
  agtrace_attribute_t attributes[3];
  agtrace_str_t reasons[1];
  agtrace_llm_t model;
  agtrace_usage_t usage;
  agtrace_trace_meta_t meta;
  agtrace_context_t *context = NULL;
  agtrace_headers_t *headers;
  agtrace_stats_t stats;
  agtrace_status_t status;
  char *json;
  char *file;
  char version[64];
  const char *path = argc > 1 ? argv[1] : "agtrace-smoke.jsonl";

  remove(path);
  sprintf(version, "%d.%d.%d", AGTRACE_VERSION_MAJOR, AGTRACE_VERSION_MINOR, AGTRACE_VERSION_PATCH);
  CHECK(strcmp(agtrace_version(), version) == 0);

  config = agtrace_config_new();
  ok(agtrace_config_ignore_env(config, &error), error, "ignore_env");
  ok(agtrace_config_set(config, AGTRACE_STR("OTEL_SERVICE_NAME"), AGTRACE_STR("agtrace-c99-smoke"), &error), error,
     "service name");
  ok(agtrace_config_set(config, AGTRACE_STR("AGTRACE_EXPORTERS"), AGTRACE_STR("file"), &error), error, "exporters");
  ok(agtrace_config_set(config, AGTRACE_STR("AGTRACE_FILE_PATH"), agtrace_cstr(path), &error), error, "file path");
  status = agtrace_config_set(config, AGTRACE_STR("NO_SUCH_SETTING"), AGTRACE_STR("1"), &error);
  CHECK(status == AGTRACE_ERR_INVALID_ARGUMENT);
  CHECK(strstr(agtrace_error_message(error), "NO_SUCH_SETTING") != NULL);
  agtrace_error_free(error);
  error = NULL;
  ok(agtrace_tracer_new(config, &tracer, &error), error, "tracer_new");
  agtrace_config_free(config);
  if (!tracer) return 1;

  agent = start(tracer, "invoke_agent smoke", AGTRACE_KIND_AGENT, root);
  ok(agtrace_span_set_agent(agent, AGTRACE_STR("smoke"), agtrace_cstr(NULL), &error), error, "set_agent");
  memset(&meta, 0, sizeof meta);
  meta.user_id = AGTRACE_STR("user-c");
  meta.conversation_id = AGTRACE_STR("conv-c");
  ok(agtrace_span_set_trace_meta(agent, &meta, &error), error, "trace_meta");
  ok(agtrace_span_enter(agent, &error), error, "enter");

  llm = start(tracer, "chat small-model", AGTRACE_KIND_LLM, current);
  memset(&model, 0, sizeof model);
  reasons[0] = AGTRACE_STR("stop");
  model.provider = AGTRACE_STR("openai");
  model.request_model = AGTRACE_STR("gpt-4o-mini");
  model.finish_reasons = reasons;
  model.finish_reasons_len = 1;
  ok(agtrace_span_set_llm(llm, &model, &error), error, "set_llm");
  memset(&usage, 0, sizeof usage);
  usage.input_tokens = 10;
  usage.output_tokens = 3;
  ok(agtrace_span_set_usage(llm, &usage, &error), error, "set_usage");
  memset(attributes, 0, sizeof attributes);
  attributes[0].key = AGTRACE_STR("gen_ai.request.temperature");
  attributes[0].value.type = AGTRACE_VALUE_DOUBLE;
  attributes[0].value.number = 0.2;
  attributes[1].key = AGTRACE_STR("gen_ai.request.max_tokens");
  attributes[1].value.type = AGTRACE_VALUE_INT;
  attributes[1].value.integer = 512;
  attributes[2].key = AGTRACE_STR("c.flag");
  attributes[2].value.type = AGTRACE_VALUE_BOOL;
  attributes[2].value.boolean = true;
  ok(agtrace_span_set_attributes(llm, attributes, 3, &error), error, "set_attributes");
  ok(agtrace_span_end(llm, &error), error, "end llm");
  CHECK(agtrace_span_end(llm, NULL) == AGTRACE_ERR_ALREADY_ENDED);
  agtrace_span_free(llm);

  under_agent.span = agent;
  tool = start(tracer, "execute_tool lookup", AGTRACE_KIND_TOOL, under_agent);
  ok(agtrace_span_set_tool(tool, AGTRACE_STR("lookup"), AGTRACE_STR("call_1"), &error), error, "set_tool");
  ok(agtrace_span_record_error(tool, AGTRACE_STR("LookupError"), AGTRACE_STR("not found"), agtrace_cstr(NULL), &error),
     error, "record_error");
  ok(agtrace_span_end(tool, &error), error, "end tool");
  agtrace_span_free(tool);

  ok(agtrace_current_context(&context, &error), error, "current_context");
  CHECK(context != NULL);
  headers = agtrace_headers_new();
  ok(agtrace_inject(tracer, context, headers, &error), error, "inject");
  CHECK(agtrace_headers_count(headers) >= 1);
  agtrace_headers_free(headers);
  agtrace_context_free(context);

  ok(agtrace_span_exit(agent, &error), error, "exit");
  ok(agtrace_span_end(agent, &error), error, "end agent");
  agtrace_span_free(agent);

  ok(agtrace_tracer_shutdown(tracer, 10000, NULL, &error), error, "shutdown");
  ok(agtrace_tracer_stats(tracer, &stats, &error), error, "stats");
  CHECK(stats.started == 3 && stats.ended == 3 && stats.dispatched == 3 && stats.exported == 3);
  CHECK(stats.ended == stats.dispatched + stats.dropped_queue_full + stats.dropped_queue_bytes +
                           stats.dropped_shutdown + stats.pending);
  json = NULL;
  ok(agtrace_tracer_stats_json(tracer, &json, &error), error, "stats_json");
  CHECK(json != NULL && strstr(json, "\"exported\":3") != NULL);
  agtrace_string_free(json);
  agtrace_tracer_free(tracer);

  file = read_all(path);
  CHECK(file != NULL);
  if (file) {
    CHECK(strstr(file, "\"name\":\"invoke_agent smoke\"") != NULL);
    CHECK(strstr(file, "\"name\":\"chat small-model\"") != NULL);
    CHECK(strstr(file, "\"name\":\"execute_tool lookup\"") != NULL);
    CHECK(strstr(file, "\"stringValue\":\"agtrace-c99-smoke\"") != NULL);
    CHECK(strstr(file, "{\"key\":\"gen_ai.request.max_tokens\",\"value\":{\"intValue\":\"512\"}}") != NULL);
    CHECK(strstr(file, "{\"key\":\"gen_ai.conversation.id\",\"value\":{\"stringValue\":\"conv-c\"}}") != NULL);
    CHECK(strstr(file, "\"LookupError\"") != NULL);
    free(file);
  }
  remove(path);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("c99 smoke: ok\n");
  return failures ? 1 : 0;
}
