//! The library's error type at its boundary ([`Error`]) and the one every configuration's
//! `validate()` returns ([`ConfigError`]).
//!
//! Each part keeps its own error with the file it concerns (an [`AudioError`] names the WAV
//! file, an [`LmError`] the LM, ...); [`Error`] holds whichever stopped the call, so a
//! program handles one type and still sees which part failed.

use crate::audio::AudioError;
use crate::entities::EntityError;
use crate::g2p::G2pError;
use crate::lexicon::LexiconError;
use crate::lm::LmError;
use crate::model::ModelError;

/// A setting outside the range it works in: which one, and what it must be. Every
/// configuration type's `validate()` returns it for the first such setting, so that a
/// program (or the command line, which names its flags instead) can say exactly what to
/// change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field} {message}")]
pub struct ConfigError {
    /// The setting: its field's name, after the names of the fields that hold it below the
    /// configuration validated (`beam_threshold`, `search.gap_scale`, `rescore.floor`,
    /// `endpoint.trailing_silence_s`, ...).
    pub field: String,
    /// What it must be, and what it was: "must be above 0 and at most 1000, got 0".
    pub message: String,
}

impl ConfigError {
    /// A complaint about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same complaint about a setting of the configuration held in field `outer`.
    pub fn within(mut self, outer: &str) -> Self {
        self.field = format!("{outer}.{}", self.field);
        self
    }
}

/// Anything that stops loading or recognition.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading audio.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The acoustic model.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The word LM.
    #[error(transparent)]
    Lm(#[from] LmError),
    /// The lexicon.
    #[error(transparent)]
    Lexicon(#[from] LexiconError),
    /// The G2P that pronounces names.
    #[error(transparent)]
    G2p(#[from] G2pError),
    /// Reading a contact list.
    #[error(transparent)]
    Entities(#[from] EntityError),
    /// The microphone.
    #[cfg(feature = "mic")]
    #[error(transparent)]
    Mic(#[from] crate::pipeline::mic::MicError),
    /// A setting outside its range.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// Settings or inputs that cannot work together (said in words).
    #[error("{0}")]
    Invalid(String),
}
