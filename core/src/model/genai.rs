//! GenAI helpers on a span: the attributes of the OpenTelemetry GenAI
//! conventions (see `semconv`) set through typed methods, so every language
//! writes the same names.

use crate::model::semconv as sc;
use crate::model::span::Span;
use crate::model::usage::Usage;
use crate::model::value::{Str, Value};

/// Request parameters of a model call; `None` fields are not written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestParams {
    pub temperature: Option<f64>,
    pub max_tokens: Option<u64>,
    pub top_p: Option<f64>,
    pub top_k: Option<f64>,
    pub stop_sequences: Vec<String>,
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub seed: Option<i64>,
    pub stream: Option<bool>,
}

impl Span {
    /// `gen_ai.provider.name`, e.g. `openai`, `anthropic`, `gcp.gemini`.
    pub fn set_provider(&mut self, provider: impl Into<Str>) {
        self.set_attribute(sc::GEN_AI_PROVIDER_NAME, provider.into());
    }

    pub fn set_request_model(&mut self, model: impl Into<Str>) {
        self.set_attribute(sc::GEN_AI_REQUEST_MODEL, model.into());
    }

    pub fn set_response_model(&mut self, model: impl Into<Str>) {
        self.set_attribute(sc::GEN_AI_RESPONSE_MODEL, model.into());
    }

    pub fn set_response_id(&mut self, id: impl Into<Str>) {
        self.set_attribute(sc::GEN_AI_RESPONSE_ID, id.into());
    }

    pub fn set_finish_reasons(&mut self, reasons: Vec<String>) {
        self.set_attribute(sc::GEN_AI_RESPONSE_FINISH_REASONS, reasons);
    }

    pub fn set_request_params(&mut self, p: &RequestParams) {
        let opt_f = [
            (sc::GEN_AI_REQUEST_TEMPERATURE, p.temperature),
            (sc::GEN_AI_REQUEST_TOP_P, p.top_p),
            (sc::GEN_AI_REQUEST_TOP_K, p.top_k),
            (sc::GEN_AI_REQUEST_FREQUENCY_PENALTY, p.frequency_penalty),
            (sc::GEN_AI_REQUEST_PRESENCE_PENALTY, p.presence_penalty),
        ];
        for (k, v) in opt_f {
            if let Some(v) = v {
                self.set_attribute(k, v);
            }
        }
        if let Some(v) = p.max_tokens {
            self.set_attribute(sc::GEN_AI_REQUEST_MAX_TOKENS, v);
        }
        if let Some(v) = p.seed {
            self.set_attribute(sc::GEN_AI_REQUEST_SEED, v);
        }
        if let Some(v) = p.stream {
            self.set_attribute(sc::GEN_AI_REQUEST_STREAM, v);
        }
        if !p.stop_sequences.is_empty() {
            self.set_attribute(sc::GEN_AI_REQUEST_STOP_SEQUENCES, p.stop_sequences.clone());
        }
    }

    /// Token usage; replaces earlier usage on this span. Written as the
    /// `gen_ai.usage.*` attributes when the span is exported.
    pub fn set_usage(&mut self, usage: Usage) {
        if let Some(r) = self.record_mut() {
            r.head.usage = Some(usage);
        }
    }

    /// The usage set so far on this span, if any.
    pub fn usage(&self) -> Option<Usage> {
        self.live.as_ref().and_then(|l| l.draft.head.usage)
    }

    /// `gen_ai.tool.name` and, when known, `gen_ai.tool.call.id`.
    pub fn set_tool(&mut self, name: impl Into<Str>, call_id: Option<String>) {
        self.set_attribute(sc::GEN_AI_TOOL_NAME, name.into());
        if let Some(id) = call_id {
            self.set_attribute(sc::GEN_AI_TOOL_CALL_ID, id);
        }
    }

    /// `gen_ai.tool.call.arguments`, as a JSON string.
    pub fn set_tool_arguments(&mut self, args: &serde_json::Value) {
        self.set_attribute(sc::GEN_AI_TOOL_CALL_ARGUMENTS, Value::json(args));
    }

    /// `gen_ai.tool.call.result`, as a JSON string.
    pub fn set_tool_result(&mut self, result: &serde_json::Value) {
        self.set_attribute(sc::GEN_AI_TOOL_CALL_RESULT, Value::json(result));
    }

    pub fn set_agent(&mut self, name: impl Into<Str>, id: Option<String>) {
        self.set_attribute(sc::GEN_AI_AGENT_NAME, name.into());
        if let Some(id) = id {
            self.set_attribute(sc::GEN_AI_AGENT_ID, id);
        }
    }

    /// `gen_ai.conversation.id` on this span only; use
    /// [`Span::update_trace`] to set it for the whole trace.
    pub fn set_conversation_id(&mut self, id: impl Into<Str>) {
        self.set_attribute(sc::GEN_AI_CONVERSATION_ID, id.into());
    }

    /// Records that the first chunk of a streamed response arrived now
    /// (`gen_ai.response.time_to_first_chunk`, seconds since span start).
    pub fn mark_first_chunk(&mut self) {
        self.mark_first_chunk_at(None);
    }

    /// Records that the first chunk arrived `offset` nanoseconds after the
    /// span's start (now when `None`).
    pub fn mark_first_chunk_at(&mut self, offset: Option<u64>) {
        if let Some(live) = self.live.as_mut() {
            let clock = &live.local.sink.clock;
            let nanos =
                offset.unwrap_or_else(|| clock.nanos_between(live.draft.head.start, clock.now()));
            let secs = nanos as f64 / 1e9;
            let r = &mut live.draft;
            r.push_attribute(crate::Attribute::new(
                sc::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                secs,
            ));
        }
    }

    /// `gen_ai.input.messages`; recorded only when content capture is on.
    pub fn set_input_messages(&mut self, messages: &serde_json::Value) {
        self.set_content(sc::GEN_AI_INPUT_MESSAGES, messages);
    }

    /// `gen_ai.output.messages`; recorded only when content capture is on.
    pub fn set_output_messages(&mut self, messages: &serde_json::Value) {
        self.set_content(sc::GEN_AI_OUTPUT_MESSAGES, messages);
    }

    /// `gen_ai.system_instructions`; recorded only when content capture is on.
    pub fn set_system_instructions(&mut self, instructions: &serde_json::Value) {
        self.set_content(sc::GEN_AI_SYSTEM_INSTRUCTIONS, instructions);
    }

    /// `gen_ai.tool.definitions`; recorded only when content capture is on.
    pub fn set_tool_definitions(&mut self, definitions: &serde_json::Value) {
        self.set_content(sc::GEN_AI_TOOL_DEFINITIONS, definitions);
    }

    fn set_content(&mut self, key: &'static str, v: &serde_json::Value) {
        if self.capture_content() {
            self.set_attribute(key, Value::json(v));
        }
    }
}
