//! Audio in: WAV files and sample-rate conversion to the model's 16 kHz mono.
//!
//! Knows nothing of models or words.

pub mod level;
pub mod pad;
pub mod resample;
pub mod segment;
pub mod utterance;
pub mod wav;

use std::path::{Path, PathBuf};

/// The rate the acoustic model expects.
pub const MODEL_RATE: u32 = 16_000;

/// Why audio could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The bytes are not a WAV file nomen can read.
    #[error("invalid WAV: {0}")]
    Format(String),
    /// A WAV file that is malformed, with the file named.
    #[error("{path}: {msg}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// Resampling failed.
    #[error("resampling failed: {0}")]
    Resample(String),
}

/// Audio ready for the model: 16 kHz mono samples in `[-1, 1]`.
#[derive(Debug, Clone, Default)]
pub struct Audio16k {
    /// The samples.
    pub samples: Vec<f32>,
    /// The file's own rate, before conversion.
    pub source_rate: u32,
    /// The file's channel count, before down-mixing.
    pub source_channels: u16,
    /// The data chunk was cut short (only its whole frames were read).
    pub truncated: bool,
}

impl Audio16k {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(MODEL_RATE)
    }
}

/// Reads any common WAV file and converts it to 16 kHz mono.
pub fn load_wav(path: &Path) -> Result<Audio16k, AudioError> {
    let bytes = std::fs::read(path).map_err(|source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_wav(&bytes).map_err(|e| match e {
        AudioError::Format(msg) => AudioError::File {
            path: path.to_path_buf(),
            msg,
        },
        other => other,
    })
}

/// Converts WAV bytes held in memory to 16 kHz mono.
pub fn decode_wav(bytes: &[u8]) -> Result<Audio16k, AudioError> {
    let wav = wav::parse(bytes)?;
    let mono = wav.to_mono();
    let samples = resample::to_model_rate(&mono, wav.sample_rate)?;
    Ok(Audio16k {
        samples,
        source_rate: wav.sample_rate,
        source_channels: wav.channels,
        truncated: wav.truncated,
    })
}

/// A sine of amplitude `amp` (about 500 Hz) lasting `secs` at 16 kHz: speech to the
/// energy-based tests of the segmenter, the endpointer and the model's input.
#[cfg(test)]
pub(crate) fn test_tone(secs: f32, amp: f32) -> Vec<f32> {
    (0..(secs * 16_000.0) as usize)
        .map(|i| amp * (i as f32 * 0.2).sin())
        .collect()
}
