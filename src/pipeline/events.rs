//! What the pipeline tells its user: partial and final results, and errors.

use crate::recognizer::{EntityHit, Word};

/// The kind of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The utterance so far; later partials and the final replace it.
    Partial,
    /// The utterance is over: its text will not change.
    Final,
    /// Something went wrong (device lost, samples dropped); the session may go on.
    Error,
}

/// One event. Times are seconds from the start of the session (the first captured sample).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Event {
    /// Partial, final or error.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The text (for an error: the message).
    pub text: String,
    /// Entities of the user's lists found (session times).
    pub entities: Vec<EntityHit>,
    /// Start of the utterance's speech (s).
    pub start: f32,
    /// End of the speech the result covers (s).
    pub end: f32,
    /// Final: from the end of speech (the last speech frame was captured) to this event;
    /// partial: from the capture of the last sample it covers to this event. Milliseconds.
    pub latency_ms: Option<f64>,
    /// Final only: from the moment the endpoint was declared (trailing silence seen) to
    /// this event, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_latency_ms: Option<f64>,
    /// The words with session times (not in the JSONL event; for library users).
    #[serde(skip)]
    pub words: Vec<Word>,
    /// Which utterance (counts from 0; errors: none).
    #[serde(skip)]
    pub utterance: Option<u64>,
}

impl Event {
    /// An error event.
    pub fn error(msg: impl Into<String>, at_s: f32) -> Event {
        Event {
            kind: EventKind::Error,
            text: msg.into(),
            entities: Vec::new(),
            start: at_s,
            end: at_s,
            latency_ms: None,
            endpoint_latency_ms: None,
            words: Vec::new(),
            utterance: None,
        }
    }

    /// The event as one JSON line: `{"type","text","entities","start","end","latency_ms"}`
    /// (plus `endpoint_latency_ms` for finals), numbers rounded.
    pub fn to_json(&self) -> serde_json::Value {
        let r3 = |x: f32| (f64::from(x) * 1000.0).round() / 1000.0;
        let r1 = |x: f64| (x * 10.0).round() / 10.0;
        let mut v = serde_json::json!({
            "type": self.kind,
            "text": self.text,
            "entities": self.entities.iter().map(|e| serde_json::json!({
                "text": e.text,
                "start": r3(e.start),
                "end": r3(e.end),
                "score": r3(e.score),
            })).collect::<Vec<_>>(),
            "start": r3(self.start),
            "end": r3(self.end),
            "latency_ms": self.latency_ms.map(r1),
        });
        if let Some(l) = self.endpoint_latency_ms {
            v["endpoint_latency_ms"] = serde_json::json!(r1(l));
        }
        v
    }
}
