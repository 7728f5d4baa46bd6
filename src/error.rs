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

/// A model file that cannot be used: what loading the acoustic model and the G2P share
/// (each says which it was loading: [`ModelError::File`], [`G2pError::File`]).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A model file is absent.
    #[error("{what} file {} not found: {hint}", path.display())]
    Missing {
        /// What the file is for ("model", "G2P model").
        what: &'static str,
        /// The path that was looked for.
        path: std::path::PathBuf,
        /// How to obtain the file.
        hint: String,
    },
    /// A model file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file's SHA-256 differs from the one recorded in `SHA256SUMS`.
    #[error(
        "checksum mismatch for {}: SHA256SUMS says {expected}, the file has {actual}; \
         the file is corrupt or was replaced without updating SHA256SUMS ({hint})",
        path.display()
    )]
    ChecksumMismatch {
        /// The file whose content is wrong.
        path: std::path::PathBuf,
        /// Digest recorded in `SHA256SUMS`.
        expected: String,
        /// Digest of the file on disk.
        actual: String,
        /// How to make the file and its checksum again.
        hint: &'static str,
    },
    /// `SHA256SUMS` is malformed or has no entry for a file.
    #[error("{}: {message}", path.display())]
    Checksums {
        /// The `SHA256SUMS` file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl FileError {
    /// Reading `path` failed: [`FileError::Missing`] (with `what` and `hint`) when it is
    /// not there, else [`FileError::Io`].
    pub(crate) fn io(
        what: &'static str,
        hint: &str,
        path: &std::path::Path,
        source: std::io::Error,
    ) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            FileError::Missing {
                what,
                path: path.to_path_buf(),
                hint: hint.to_string(),
            }
        } else {
            FileError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }

    /// The same problem, said of a file for `what`, made as `hint` says.
    pub(crate) fn for_file(self, what: &'static str, hint: &'static str) -> Self {
        match self {
            FileError::Missing { path, .. } => FileError::Missing {
                what,
                path,
                hint: hint.to_string(),
            },
            FileError::ChecksumMismatch {
                path,
                expected,
                actual,
                ..
            } => FileError::ChecksumMismatch {
                path,
                expected,
                actual,
                hint,
            },
            other => other,
        }
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
