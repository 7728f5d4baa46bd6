//! `--text written|spoken`: the form transcripts are printed in (flags -> [`WrittenConfig`]).

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use nomen::recognizer::{EntityHit, Word};
use nomen::written::{write, Written, WrittenConfig};

/// Which form a transcript is printed in.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextForm {
    /// As people write: "Please call my sister at 7:30." (numbers, times, dates, money in
    /// digits; capitals; "." or "?" at the end and at long pauses).
    Written,
    /// As said, lower case, no punctuation: "please call my sister at seven thirty".
    Spoken,
}

#[derive(Args)]
pub struct TextArgs {
    /// The form of the printed text. JSONL carries the spoken form as `spoken` either way
    /// (and, written, `written`: each written token with the range of spoken words it
    /// stands for).
    #[arg(
        long = "text",
        value_enum,
        default_value = "written",
        value_name = "FORM"
    )]
    form: TextForm,
    /// In written form, a pause at least this long between two words ends a sentence.
    #[arg(long, default_value_t = WrittenConfig::default().pause_s, value_name = "S")]
    sentence_pause: f32,
}

impl TextArgs {
    /// The written form's settings, or None for spoken form.
    pub fn config(&self) -> Result<Option<WrittenConfig>> {
        if self.form == TextForm::Spoken {
            return Ok(None);
        }
        let cfg = WrittenConfig {
            pause_s: self.sentence_pause,
            ..WrittenConfig::default()
        };
        if let Err(e) = cfg.validate() {
            bail!("--sentence-pause {}", e.message);
        }
        Ok(Some(cfg))
    }
}

/// A transcript's words rendered as `cfg` says (None: spoken form, nothing to render).
pub fn render(
    cfg: Option<&WrittenConfig>,
    words: &[Word],
    entities: &[EntityHit],
) -> Option<Written> {
    cfg.map(|c| write(words, entities, c))
}

/// The JSON of written tokens: [{"text", "words": [first, end)}].
pub fn tokens_json(w: &Written) -> serde_json::Value {
    serde_json::Value::Array(
        w.tokens
            .iter()
            .map(|t| serde_json::json!({"text": t.text, "words": [t.words.start, t.words.end]}))
            .collect(),
    )
}
