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
    /// Samples of the file that were not numbers (NaN or infinite in a float WAV), read as
    /// silence.
    pub non_finite: usize,
}

impl Audio16k {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(MODEL_RATE)
    }
}

/// The most bytes read from a WAV that is not a regular file (a pipe, a device) and whose
/// header does not say its size.
pub const MAX_UNSIZED_WAV_BYTES: u64 = 1 << 30;

/// The bytes of the WAV file at `path`, read no further than needed: input that does not
/// begin like a WAV file (`RIFF`/`RF64` ... `WAVE`) is not read past its first 12 bytes (so
/// `/dev/zero`, a video or a typo fails at once, whatever its size); a regular file is read
/// to its end; a pipe or device as far as its RIFF header says, at most
/// [`MAX_UNSIZED_WAV_BYTES`]. [`wav::parse`] then says what is wrong with the bytes, if
/// anything.
pub fn read_wav_file(path: &Path) -> Result<Vec<u8>, AudioError> {
    use std::io::Read;
    let io = |source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let mut bytes = Vec::with_capacity(12);
    (&mut file).take(12).read_to_end(&mut bytes).map_err(io)?;
    let wave =
        bytes.len() == 12 && matches!(&bytes[0..4], b"RIFF" | b"RF64") && &bytes[8..12] == b"WAVE";
    if !wave {
        return Ok(bytes);
    }
    let limit = if meta.is_file() {
        meta.len()
    } else {
        let declared = u64::from(u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]));
        match declared {
            // RF64 and streaming writers: the size is elsewhere or unknown.
            0 | 0xffff_ffff => MAX_UNSIZED_WAV_BYTES,
            n => (n + 8).min(MAX_UNSIZED_WAV_BYTES),
        }
    };
    bytes.reserve(usize::try_from(limit.min(1 << 28)).unwrap_or(0));
    file.take(limit.saturating_sub(12))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    Ok(bytes)
}

/// Reads any common WAV file and converts it to 16 kHz mono.
pub fn load_wav(path: &Path) -> Result<Audio16k, AudioError> {
    let bytes = read_wav_file(path)?;
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
        non_finite: wav.non_finite,
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
