//! The acoustic model: 16 kHz audio in, per-frame phone log-posteriors out.
//!
//! Two models, one interface ([`ModelKind`]): nomen's own (the default, `whisper-tiny`: the
//! Whisper tiny.en encoder, frozen, with a CTC phone head trained on synthesized speech by
//! `tools/build/am/`; `models-quantized/MODEL_CARD_whisper_tiny_ctc.md`) and the waveform CTC
//! phone recognizer of PyPI `hama` 1.3.13 (Apache-2.0), converted to fp32 (and optionally
//! int8) by `tools/build/make_model.py` (`models-quantized/MODEL_CARD.md`). Both compute their
//! own STFT and log-mel features, so [`AcousticModel::posteriors`] takes raw samples. Output
//! frames are 20 ms apart over the same 191-token vocabulary (IPA phones, `<wb>` word
//! boundary, `<blank>`).
//!
//! ```no_run
//! use nomen::model::{AcousticModel, ModelConfig};
//! let model = AcousticModel::load(&ModelConfig::default())?;
//! let post = model.posteriors(&vec![0.0f32; 16_000])?;
//! assert_eq!(post.vocab, model.tokens().len());
//! # Ok::<(), nomen::model::ModelError>(())
//! ```

#![warn(missing_docs)]

mod checksum;
mod runner;
mod stream;
mod tokens;
mod widen;

use std::path::{Path, PathBuf};

use crate::cache::StartupCache;

pub use checksum::{sha256_hex, Checksums};
pub use runner::{AcousticModel, Posteriors, LEAD_SAMPLES, LOG_PROB_FLOOR};
pub use stream::{ModelStream, StreamGraph, LOOK_AHEAD, WHISPER_TINY_STREAM_FILE};
pub use tokens::Tokens;

/// Sample rate the model expects, in Hz.
pub const SAMPLE_RATE: u32 = 16_000;
/// Time between two posterior frames, in seconds.
pub const FRAME_SHIFT_S: f32 = 0.02;
/// The graph of [`ModelKind::WhisperTiny`].
pub const WHISPER_TINY_FILE: &str = "whisper_tiny_ctc.onnx";
/// Name of the vocabulary file in the model directory.
pub const TOKENS_FILE: &str = "tokens.txt";
/// Name of the checksum file (`sha256sum` format) in the model directory.
pub const CHECKSUMS_FILE: &str = "SHA256SUMS";
/// How to (re)create the model files, quoted in error messages.
pub const MAKE_MODEL_HINT: &str =
    "create it with `python3 tools/build/make_model.py` (see models-quantized/MODEL_CARD.md)";

/// Which acoustic model to load. Both emit the same 191 tokens at the same 20 ms frames
/// (frame `t` centred on sample `320 t`), so the lexicon, LM, G2P and biasing work with
/// either, and `--acoustic-model` A/Bs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ModelKind {
    /// hama 1.3.13's waveform CTC phone recognizer (2.3M parameters, Apache-2.0):
    /// `asr_fp32.onnx` / `asr_int8.onnx`. See `models-quantized/MODEL_CARD.md`.
    Hama,
    /// nomen's own model, the default: the frozen Whisper tiny.en encoder (MIT, 8M
    /// parameters) with a CTC phone head trained by `tools/build/am/` on synthesized speech only:
    /// `whisper_tiny_ctc.onnx` (fp32 only). See `models-quantized/MODEL_CARD_whisper_tiny_ctc.md`.
    #[default]
    WhisperTiny,
}

impl ModelKind {
    /// Every model, in the order `--acoustic-model` lists them.
    pub const ALL: [ModelKind; 2] = [ModelKind::Hama, ModelKind::WhisperTiny];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Hama => "hama",
            ModelKind::WhisperTiny => "whisper-tiny",
        }
    }

    /// File name of the ONNX graph of this model at `precision`, or why there is none.
    pub fn file_name(self, precision: Precision) -> Result<&'static str, ModelError> {
        match (self, precision) {
            (ModelKind::Hama, p) => Ok(p.file_name()),
            (ModelKind::WhisperTiny, Precision::Fp32) => Ok(WHISPER_TINY_FILE),
            (_, p) => Err(ModelError::Config(format!(
                "the {} acoustic model has no {p} graph (use --precision fp32, or --acoustic-model hama)",
                self.name()
            ))),
        }
    }

    /// How to (re)create this model's graph, quoted when it is missing.
    pub fn make_hint(self) -> &'static str {
        match self {
            ModelKind::Hama => MAKE_MODEL_HINT,
            ModelKind::WhisperTiny => {
                "create it with `tools/build/am/build.sh` (see models-quantized/MODEL_CARD_whisper_tiny_ctc.md), \
                 or use --acoustic-model hama"
            }
        }
    }

    /// Longest call the graph accepts, in seconds of audio (lead-in included): Whisper's
    /// positional table covers 30 s; hama's is open-ended (see [`ModelConfig::MAX_WINDOW_S`]).
    pub fn max_call_s(self) -> f32 {
        match self {
            ModelKind::Hama => f32::INFINITY,
            ModelKind::WhisperTiny => 30.0,
        }
    }
}

impl std::str::FromStr for ModelKind {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == lower)
            .ok_or_else(|| {
                ModelError::Config(format!(
                    "unknown acoustic model {s:?} (expected one of: {})",
                    ModelKind::ALL.map(|k| k.name()).join(", ")
                ))
            })
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Numeric precision of the acoustic model weights, i.e. which ONNX file is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// `asr_int8.onnx`: the attention projections and feed-forward, squeeze-excitation
    /// and output layers in static per-channel int8 (QDQ); the rest, front end included,
    /// in fp32 (quantizing more costs accuracy). About 99% phone agreement with fp32, but
    /// no faster: tract runs QDQ graphs as fp32 plus (de)quantization, 20-30% slower.
    /// Only smaller on disk. See `models-quantized/MODEL_CARD.md`.
    Int8,
    /// `asr_fp32.onnx`: the original fp16 weights widened to fp32 (the reference, and
    /// the faster of the two in tract).
    #[default]
    Fp32,
}

impl Precision {
    /// File name of the ONNX graph for this precision.
    pub fn file_name(self) -> &'static str {
        match self {
            Precision::Int8 => "asr_int8.onnx",
            Precision::Fp32 => "asr_fp32.onnx",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "int8" | "i8" => Ok(Precision::Int8),
            "fp32" | "f32" | "float" => Ok(Precision::Fp32),
            _ => Err(ModelError::Config(format!(
                "unknown precision {s:?} (expected int8 or fp32)"
            ))),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::Int8 => "int8",
            Precision::Fp32 => "fp32",
        })
    }
}

/// Where the model lives and how long audio is cut into windows.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Directory holding the ONNX files, `tokens.txt` and `SHA256SUMS`
    /// (default `models-quantized`, relative to the working directory).
    pub dir: PathBuf,
    /// Which acoustic model.
    pub kind: ModelKind,
    /// Which graph of it to load.
    pub precision: Precision,
    /// Longest stretch of audio given to the network in one call, in seconds. Longer
    /// input is cut into overlapping windows of this length. At most
    /// [`ModelConfig::MAX_WINDOW_S`]. The network's self-attention spans the whole
    /// call, so time and memory grow quadratically with the window (about 16 MB of
    /// attention scores at 20 s, 4x that at 40 s).
    pub window_s: f32,
    /// Overlap of consecutive windows, in seconds; the seam is put in its middle, so
    /// every kept frame has at least `overlap_s / 2` of context on both sides.
    pub overlap_s: f32,
    /// How many graph plans specialized to one exact input length are kept (LRU, about
    /// 10-20 MB each for fp32). 0 (the default) runs everything on the symbolic-length plan:
    /// smallest memory, the model part 1.5-2.7x slower for calls of several seconds.
    /// Measured on the real-speech set: 0 plans 128 MB peak, 1.15 s; 1 plan 148 MB, 0.96 s.
    /// See [`AcousticModel`]. At most [`ModelConfig::MAX_LENGTH_PLANS`].
    pub length_plans: usize,
    /// What start-up remembers between runs about unchanged files: model files that matched
    /// `SHA256SUMS`, the LM's analysis ([`StartupCache`]). `None` (the default): hash and
    /// analyse every time.
    pub cache: Option<StartupCache>,
    /// Also load the streaming graph ([`ModelStream`]) where the model has one
    /// (`whisper-tiny` fp32), for live partial results whose cost does not grow with the
    /// utterance. Default `false` (offline transcription never needs it).
    pub streaming: bool,
}

impl ModelConfig {
    /// Largest accepted [`ModelConfig::window_s`]. The original hama graph stopped at
    /// 30 s; `tools/build/make_model.py` removes that cap, so longer windows work, but the
    /// model was not trained on them and their cost grows quadratically.
    pub const MAX_WINDOW_S: f32 = 90.0;
    /// The most specialized plans kept ([`ModelConfig::length_plans`]; each holds 10-20 MB).
    pub const MAX_LENGTH_PLANS: usize = 8;

    /// Checks the window, its overlap and the plans kept: `Err` names the first setting out
    /// of its range.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ConfigError;
        if !(self.window_s.is_finite() && self.window_s >= 2.0)
            || self.window_s > ModelConfig::MAX_WINDOW_S
        {
            return Err(ConfigError::new(
                "window_s",
                format!(
                    "must be within 2..={} s, got {}",
                    ModelConfig::MAX_WINDOW_S,
                    self.window_s
                ),
            ));
        }
        if !(self.overlap_s.is_finite()
            && self.overlap_s >= 0.0
            && self.overlap_s <= self.window_s / 2.0)
        {
            return Err(ConfigError::new(
                "overlap_s",
                format!(
                    "must be within 0..=window_s/2 ({} s), got {}",
                    self.window_s / 2.0,
                    self.overlap_s
                ),
            ));
        }
        crate::ranges::count(
            "length_plans",
            self.length_plans,
            0,
            ModelConfig::MAX_LENGTH_PLANS,
        )
    }

    /// The default configuration with another model directory.
    pub fn with_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            ..Self::default()
        }
    }

    /// Path of the ONNX graph selected by [`ModelConfig::kind`] and
    /// [`ModelConfig::precision`].
    pub fn model_path(&self) -> Result<PathBuf, ModelError> {
        Ok(self.dir.join(self.kind.file_name(self.precision)?))
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("models-quantized"),
            kind: ModelKind::default(),
            precision: Precision::default(),
            window_s: 20.0,
            overlap_s: 4.0,
            length_plans: 0,
            cache: None,
            streaming: false,
        }
    }
}

/// Everything that can go wrong loading or running the acoustic model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A model file is absent, unreadable or not the one `SHA256SUMS` records.
    #[error(transparent)]
    File(#[from] crate::FileError),
    /// `tokens.txt` is malformed.
    #[error("invalid token list {source_name} (line {line}): {message}")]
    Tokens {
        /// File name (or `<tokens text>` when parsed from a string).
        source_name: String,
        /// 1-based line number, 0 when not tied to a line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Invalid [`ModelConfig`] or argument.
    #[error("invalid model configuration: {0}")]
    Config(String),
    /// tract failed to load, optimize or run the graph.
    #[error("acoustic model inference failed ({context}): {message}")]
    Inference {
        /// What was being done.
        context: String,
        /// tract's error chain.
        message: String,
    },
    /// The graph produced something other than the expected `[1, T, vocab]` log-probs.
    #[error("unexpected model output: {0}")]
    BadOutput(String),
}

impl ModelError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ModelError::File(crate::FileError::io("model", MAKE_MODEL_HINT, path, source))
    }

    pub(crate) fn inference(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        ModelError::Inference {
            context: context.into(),
            message: format!("{err:#}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_names() {
        assert_eq!("INT8".parse::<Precision>().unwrap(), Precision::Int8);
        assert_eq!("fp32".parse::<Precision>().unwrap(), Precision::Fp32);
        assert!("fp16".parse::<Precision>().is_err());
        assert_eq!(Precision::Int8.to_string(), "int8");
        assert_eq!(Precision::Fp32.file_name(), "asr_fp32.onnx");
    }

    #[test]
    fn model_kinds() {
        for k in ModelKind::ALL {
            assert_eq!(k.name().parse::<ModelKind>().unwrap(), k);
            assert!(k.file_name(Precision::Fp32).is_ok());
        }
        assert_eq!(
            "Whisper-Tiny".parse::<ModelKind>().unwrap(),
            ModelKind::WhisperTiny
        );
        let err = "wav2vec".parse::<ModelKind>().unwrap_err().to_string();
        assert!(err.contains("hama, whisper-tiny"), "{err}");
        assert!(ModelKind::WhisperTiny.file_name(Precision::Int8).is_err());
        assert_eq!(
            ModelKind::Hama.file_name(Precision::Int8).unwrap(),
            "asr_int8.onnx"
        );
    }

    #[test]
    fn default_config() {
        let c = ModelConfig::default();
        assert_eq!(c.dir, PathBuf::from("models-quantized"));
        assert_eq!(
            c.model_path().unwrap(),
            Path::new("models-quantized").join(WHISPER_TINY_FILE)
        );
        assert!(c.window_s <= ModelConfig::MAX_WINDOW_S && c.overlap_s < c.window_s / 2.0);
        assert_eq!(ModelConfig::with_dir("/x").dir, PathBuf::from("/x"));
    }
}
