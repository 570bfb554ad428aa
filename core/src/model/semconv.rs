//! Attribute names from the OpenTelemetry GenAI conventions and the
//! OpenInference dialect, in one place.
//!
//! The GenAI conventions are still "Development" status: names here are pinned
//! to the version below, and every other module refers to these constants, so a
//! rename upstream is a change to this file only.

/// The GenAI semantic-conventions version these names follow.
pub const GENAI_SEMCONV_VERSION: &str = "1.37.0";

pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
pub const GEN_AI_REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
pub const GEN_AI_REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
pub const GEN_AI_REQUEST_TOP_P: &str = "gen_ai.request.top_p";
pub const GEN_AI_REQUEST_TOP_K: &str = "gen_ai.request.top_k";
pub const GEN_AI_REQUEST_STOP_SEQUENCES: &str = "gen_ai.request.stop_sequences";
pub const GEN_AI_REQUEST_FREQUENCY_PENALTY: &str = "gen_ai.request.frequency_penalty";
pub const GEN_AI_REQUEST_PRESENCE_PENALTY: &str = "gen_ai.request.presence_penalty";
pub const GEN_AI_REQUEST_SEED: &str = "gen_ai.request.seed";
pub const GEN_AI_REQUEST_STREAM: &str = "gen_ai.request.stream";
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
pub const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
pub const GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: &str =
    "gen_ai.usage.cache_creation.input_tokens";
pub const GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
pub const GEN_AI_CONVERSATION_ID: &str = "gen_ai.conversation.id";
pub const GEN_AI_AGENT_ID: &str = "gen_ai.agent.id";
pub const GEN_AI_AGENT_NAME: &str = "gen_ai.agent.name";
pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
pub const GEN_AI_TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
pub const GEN_AI_TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
pub const GEN_AI_TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
pub const GEN_AI_SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
pub const GEN_AI_TOOL_DEFINITIONS: &str = "gen_ai.tool.definitions";
pub const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";

pub const OPENINFERENCE_SPAN_KIND: &str = "openinference.span.kind";

pub const EXCEPTION_EVENT: &str = "exception";
pub const EXCEPTION_TYPE: &str = "exception.type";
pub const EXCEPTION_MESSAGE: &str = "exception.message";
pub const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";

/// Trace-level context (OpenInference names, which Phoenix reads natively).
pub const USER_ID: &str = "user.id";
pub const SESSION_ID: &str = "session.id";
pub const TAGS: &str = "tag.tags";
pub const METADATA: &str = "metadata";
pub const DEPLOYMENT_ENVIRONMENT: &str = "deployment.environment.name";

pub const AGTRACE_KIND: &str = "agtrace.kind";
pub const AGTRACE_ABANDONED: &str = "agtrace.abandoned";
pub const AGTRACE_RELEASE: &str = "agtrace.release";

/// This span's own model cost, USD (from the price table).
pub const AGTRACE_COST_USD: &str = "agtrace.cost_usd";
/// Subtree totals (rollups), on every span whose subtree has any.
pub const AGTRACE_USAGE_INPUT_TOKENS: &str = "agtrace.usage.input_tokens";
pub const AGTRACE_USAGE_OUTPUT_TOKENS: &str = "agtrace.usage.output_tokens";
pub const AGTRACE_USAGE_CACHE_READ_INPUT_TOKENS: &str = "agtrace.usage.cache_read_input_tokens";
pub const AGTRACE_USAGE_CACHE_CREATION_INPUT_TOKENS: &str =
    "agtrace.usage.cache_creation_input_tokens";
pub const AGTRACE_USAGE_REASONING_OUTPUT_TOKENS: &str = "agtrace.usage.reasoning_output_tokens";
pub const AGTRACE_USAGE_COST_USD: &str = "agtrace.usage.cost_usd";
pub const AGTRACE_USAGE_LLM_CALLS: &str = "agtrace.usage.llm_calls";
pub const AGTRACE_USAGE_TOOL_CALLS: &str = "agtrace.usage.tool_calls";
pub const AGTRACE_USAGE_ERRORS: &str = "agtrace.usage.errors";
/// Set when a span's totals miss a child's (dropped, never ended, or not
/// counted).
pub const AGTRACE_USAGE_INCOMPLETE: &str = "agtrace.usage.incomplete";
