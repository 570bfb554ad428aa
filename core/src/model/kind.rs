//! Span kinds: what an agent step is, and how each maps onto OpenTelemetry and
//! OpenInference.

use std::fmt;
use std::str::FromStr;

/// What a span represents in an agent's run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    Agent,
    Workflow,
    Task,
    Llm,
    Embedding,
    Retriever,
    Reranker,
    Tool,
    Guardrail,
    Evaluator,
    #[default]
    Plain,
}

/// The OpenTelemetry span kind written on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OtelKind {
    #[default]
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    pub const ALL: [SpanKind; 11] = [
        SpanKind::Agent,
        SpanKind::Workflow,
        SpanKind::Task,
        SpanKind::Llm,
        SpanKind::Embedding,
        SpanKind::Retriever,
        SpanKind::Reranker,
        SpanKind::Tool,
        SpanKind::Guardrail,
        SpanKind::Evaluator,
        SpanKind::Plain,
    ];

    /// Calls that leave the process (model and embedding APIs) are CLIENT
    /// spans; the rest are INTERNAL unless the caller says otherwise.
    pub fn otel_kind(self) -> OtelKind {
        match self {
            SpanKind::Llm | SpanKind::Embedding => OtelKind::Client,
            _ => OtelKind::Internal,
        }
    }

    /// `gen_ai.operation.name` for this kind, if the conventions define one.
    pub fn operation_name(self) -> Option<&'static str> {
        match self {
            SpanKind::Agent => Some("invoke_agent"),
            SpanKind::Workflow => Some("invoke_workflow"),
            SpanKind::Llm => Some("chat"),
            SpanKind::Embedding => Some("embeddings"),
            SpanKind::Retriever => Some("retrieval"),
            SpanKind::Tool => Some("execute_tool"),
            SpanKind::Task
            | SpanKind::Reranker
            | SpanKind::Guardrail
            | SpanKind::Evaluator
            | SpanKind::Plain => None,
        }
    }

    /// `openinference.span.kind` for this kind (Phoenix reads it natively).
    pub fn openinference_kind(self) -> Option<&'static str> {
        match self {
            SpanKind::Agent => Some("AGENT"),
            SpanKind::Workflow | SpanKind::Task => Some("CHAIN"),
            SpanKind::Llm => Some("LLM"),
            SpanKind::Embedding => Some("EMBEDDING"),
            SpanKind::Retriever => Some("RETRIEVER"),
            SpanKind::Reranker => Some("RERANKER"),
            SpanKind::Tool => Some("TOOL"),
            SpanKind::Guardrail => Some("GUARDRAIL"),
            SpanKind::Evaluator => Some("EVALUATOR"),
            SpanKind::Plain => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Agent => "agent",
            SpanKind::Workflow => "workflow",
            SpanKind::Task => "task",
            SpanKind::Llm => "llm",
            SpanKind::Embedding => "embedding",
            SpanKind::Retriever => "retriever",
            SpanKind::Reranker => "reranker",
            SpanKind::Tool => "tool",
            SpanKind::Guardrail => "guardrail",
            SpanKind::Evaluator => "evaluator",
            SpanKind::Plain => "plain",
        }
    }
}

impl fmt::Display for SpanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SpanKind {
    type Err = String;

    /// Accepts the names from `as_str`, case-insensitively, plus the aliases
    /// `chain` (workflow), `chat`/`completion` (llm) and `span` (plain).
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        if let Some(k) = SpanKind::ALL.iter().find(|k| k.as_str() == lower) {
            return Ok(*k);
        }
        match lower.as_str() {
            "chain" => Ok(SpanKind::Workflow),
            "chat" | "completion" => Ok(SpanKind::Llm),
            "span" | "" => Ok(SpanKind::Plain),
            _ => Err(format!(
                "unknown span kind '{s}' (expected one of: agent, workflow, task, llm, embedding, \
                 retriever, reranker, tool, guardrail, evaluator, plain)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings() {
        assert_eq!(SpanKind::Llm.otel_kind(), OtelKind::Client);
        assert_eq!(SpanKind::Tool.otel_kind(), OtelKind::Internal);
        assert_eq!(SpanKind::Agent.operation_name(), Some("invoke_agent"));
        assert_eq!(SpanKind::Tool.operation_name(), Some("execute_tool"));
        assert_eq!(SpanKind::Retriever.openinference_kind(), Some("RETRIEVER"));
        assert_eq!(SpanKind::Workflow.openinference_kind(), Some("CHAIN"));
        assert_eq!(SpanKind::Plain.openinference_kind(), None);
    }

    #[test]
    fn parse_round_trip_and_errors() {
        for k in SpanKind::ALL {
            assert_eq!(k.as_str().parse::<SpanKind>().unwrap(), k);
        }
        assert_eq!("LLM".parse::<SpanKind>().unwrap(), SpanKind::Llm);
        assert_eq!("chain".parse::<SpanKind>().unwrap(), SpanKind::Workflow);
        let err = "robot".parse::<SpanKind>().unwrap_err();
        assert!(err.contains("'robot'"), "{err}");
    }
}
