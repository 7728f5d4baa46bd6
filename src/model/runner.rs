//! Running the ONNX graph with tract, and windowing long audio.

use std::sync::Arc;
use std::time::Instant;

use tract_onnx::prelude::*;

use super::checksum::{read_verified, Checksums};
use super::{
    ModelConfig, ModelError, Precision, Tokens, CHECKSUMS_FILE, FRAME_SHIFT_S, MAKE_MODEL_HINT,
    SAMPLE_RATE, TOKENS_FILE,
};

/// Samples per posterior frame (20 ms at 16 kHz).
const FRAME_SAMPLES: usize = 320;
/// Samples per STFT hop inside the graph (10 ms); the graph subsamples by 2.
const HOP_SAMPLES: usize = 160;
/// Leading silence added before every call: 0.3 s, exactly 15 frames.
const LEAD_PAD_SAMPLES: usize = 4800;
const LEAD_PAD_FRAMES: usize = LEAD_PAD_SAMPLES / FRAME_SAMPLES;

/// Number of output frames the graph produces for `n` samples (`n > 0`): the STFT gives
/// `n / 160 + 1` frames (centered, reflect padded), the stride-2 stem halves that
/// rounding up. Frame `t` is centered on sample `320 t`.
fn graph_frames(n: usize) -> usize {
    (n / HOP_SAMPLES + 2) / 2
}

/// Frame-level log-posteriors of a whole signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Posteriors {
    /// Number of frames. Frame `t` is centered on time `t * frame_shift_s` of the input.
    pub frames: usize,
    /// Number of tokens per frame (columns), equal to [`Tokens::len`].
    pub vocab: usize,
    /// Row-major natural-log posteriors, `frames * vocab` values; each row is
    /// log-softmax normalized.
    pub data: Vec<f32>,
    /// Seconds between consecutive frames (0.02).
    pub frame_shift_s: f32,
}

impl Posteriors {
    /// An empty (0-frame) result with `vocab` columns.
    pub fn empty(vocab: usize) -> Self {
        Self {
            frames: 0,
            vocab,
            data: Vec::new(),
            frame_shift_s: FRAME_SHIFT_S,
        }
    }

    /// The log-posteriors of frame `t`.
    ///
    /// # Panics
    /// If `t >= self.frames`.
    pub fn frame(&self, t: usize) -> &[f32] {
        assert!(t < self.frames, "frame {t} out of range ({} frames)", self.frames);
        &self.data[t * self.vocab..(t + 1) * self.vocab]
    }

    /// True when there are no frames.
    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }

    /// Center time of frame `t`, in seconds from the start of the input.
    pub fn frame_time_s(&self, t: usize) -> f32 {
        t as f32 * self.frame_shift_s
    }

    /// Duration covered by the frames, in seconds.
    pub fn duration_s(&self) -> f32 {
        self.frames as f32 * self.frame_shift_s
    }

    /// Most likely token of every frame.
    pub fn argmax(&self) -> Vec<usize> {
        (0..self.frames)
            .map(|t| {
                let row = self.frame(t);
                let mut best = 0;
                for (i, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = i;
                    }
                }
                best
            })
            .collect()
    }

    /// Greedy CTC decoding: per-frame argmax, repeats collapsed, `blank` removed.
    pub fn greedy(&self, blank: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut prev = usize::MAX;
        for id in self.argmax() {
            if id != prev && id != blank {
                out.push(id);
            }
            prev = id;
        }
        out
    }
}

type Plan = Arc<TypedRunnableModel>;

/// The acoustic model, loaded and optimized once; cheap to share between threads.
///
/// The graph is optimized with a symbolic number of samples, so calls of any length reuse
/// the same plan. Each call pads 0.3 s of silence in front of the audio (the model misses
/// the first phone otherwise) and drops the corresponding 15 frames, so frame 0 of the
/// result is time 0 of the input. Audio longer than [`ModelConfig::window_s`] is cut into
/// windows overlapping by [`ModelConfig::overlap_s`]; each window keeps the frames up to
/// the middle of its overlaps.
pub struct AcousticModel {
    plan: Plan,
    tokens: Tokens,
    precision: Precision,
    window_samples: usize,
    overlap_samples: usize,
}

impl std::fmt::Debug for AcousticModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcousticModel")
            .field("precision", &self.precision)
            .field("vocab", &self.tokens.len())
            .field("window_samples", &self.window_samples)
            .field("overlap_samples", &self.overlap_samples)
            .finish()
    }
}

fn round_to_frames(seconds: f32) -> usize {
    ((seconds * SAMPLE_RATE as f32 / FRAME_SAMPLES as f32).round() as usize) * FRAME_SAMPLES
}

impl AcousticModel {
    /// Loads `tokens.txt` and the graph for `cfg.precision` from `cfg.dir`, checking both
    /// against `SHA256SUMS` first, and optimizes the graph for this machine.
    pub fn load(cfg: &ModelConfig) -> Result<Self, ModelError> {
        if !(cfg.window_s.is_finite() && cfg.window_s >= 2.0)
            || cfg.window_s > ModelConfig::MAX_WINDOW_S
        {
            return Err(ModelError::Config(format!(
                "window_s must be within 2..={} s, got {}",
                ModelConfig::MAX_WINDOW_S,
                cfg.window_s
            )));
        }
        if !(cfg.overlap_s.is_finite() && cfg.overlap_s >= 0.0 && cfg.overlap_s <= cfg.window_s / 2.0)
        {
            return Err(ModelError::Config(format!(
                "overlap_s must be within 0..=window_s/2 ({} s), got {}",
                cfg.window_s / 2.0,
                cfg.overlap_s
            )));
        }
        let window_samples = round_to_frames(cfg.window_s);
        let overlap_samples = round_to_frames(cfg.overlap_s);

        let model_name = cfg.precision.file_name();
        for name in [CHECKSUMS_FILE, TOKENS_FILE, model_name] {
            let path = cfg.dir.join(name);
            if !path.is_file() {
                return Err(ModelError::MissingFile {
                    path,
                    hint: MAKE_MODEL_HINT.to_string(),
                });
            }
        }
        let sums = Checksums::load(&cfg.dir.join(CHECKSUMS_FILE))?;
        let token_bytes = read_verified(&sums, &cfg.dir, TOKENS_FILE)?;
        let token_text = String::from_utf8(token_bytes).map_err(|_| ModelError::Tokens {
            source_name: cfg.dir.join(TOKENS_FILE).display().to_string(),
            line: 0,
            message: "not UTF-8".to_string(),
        })?;
        let tokens = Tokens::parse(&token_text).map_err(|e| match e {
            ModelError::Tokens { line, message, .. } => ModelError::Tokens {
                source_name: cfg.dir.join(TOKENS_FILE).display().to_string(),
                line,
                message,
            },
            other => other,
        })?;
        let model_bytes = read_verified(&sums, &cfg.dir, model_name)?;

        let started = Instant::now();
        let plan = build_plan(&model_bytes)?;
        log::debug!(
            "acoustic model {} optimized in {:.0} ms",
            model_name,
            started.elapsed().as_secs_f64() * 1e3
        );
        let model = Self {
            plan,
            tokens,
            precision: cfg.precision,
            window_samples,
            overlap_samples,
        };
        // One tiny run checks the output width against the vocabulary.
        let probe = model.run_segment(&[0.0; FRAME_SAMPLES])?;
        if probe.vocab != model.tokens.len() {
            return Err(ModelError::BadOutput(format!(
                "{model_name} outputs {} classes but {TOKENS_FILE} has {} tokens",
                probe.vocab,
                model.tokens.len()
            )));
        }
        Ok(model)
    }

    /// The output vocabulary.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The precision that was loaded.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Seconds between posterior frames (0.02).
    pub fn frame_shift_s(&self) -> f32 {
        FRAME_SHIFT_S
    }

    /// Log-posteriors for a whole signal of 16 kHz mono samples in `[-1, 1]`, any length.
    ///
    /// The result has `ceil((n / 160 + 1) / 2)` frames for `n > 0` samples (frame `t` is
    /// centered on sample `320 t`), and 0 frames for empty input.
    pub fn posteriors(&self, samples: &[f32]) -> Result<Posteriors, ModelError> {
        let n = samples.len();
        if n == 0 {
            return Ok(Posteriors::empty(self.tokens.len()));
        }
        if n <= self.window_samples {
            return self.run_segment(samples);
        }
        let total = graph_frames(n);
        let vocab = self.tokens.len();
        let mut out = Posteriors {
            frames: total,
            vocab,
            data: Vec::with_capacity(total * vocab),
            frame_shift_s: FRAME_SHIFT_S,
        };
        let starts = window_starts(n, self.window_samples, self.overlap_samples);
        let mut next_frame = 0; // first global frame not yet filled
        for (i, &start) in starts.iter().enumerate() {
            let end = (start + self.window_samples).min(n);
            let keep_until = match starts.get(i + 1) {
                // Cut in the middle of the overlap [next, end).
                Some(&next) => (next + end) / 2 / FRAME_SAMPLES,
                None => total,
            };
            let part = self.run_segment(&samples[start..end])?;
            let offset = start / FRAME_SAMPLES;
            let from = next_frame - offset;
            let to = (keep_until - offset).min(part.frames);
            if from < to {
                out.data
                    .extend_from_slice(&part.data[from * vocab..to * vocab]);
                next_frame = offset + to;
            }
        }
        if next_frame != total {
            return Err(ModelError::BadOutput(format!(
                "windowing produced {next_frame} frames, expected {total}"
            )));
        }
        Ok(out)
    }

    /// One graph call on at most one window of audio: pad, run, drop the pad frames.
    fn run_segment(&self, samples: &[f32]) -> Result<Posteriors, ModelError> {
        let n = samples.len();
        let mut input = Vec::with_capacity(LEAD_PAD_SAMPLES + n);
        input.resize(LEAD_PAD_SAMPLES, 0.0f32);
        input.extend(samples.iter().map(|&s| if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 }));
        let len = input.len();
        let wave = Tensor::from_shape(&[1, len], &input)
            .map_err(|e| ModelError::inference("building input", e))?;
        let lengths = tensor1(&[len as i64]);
        let outputs = self
            .plan
            .run(tvec![wave.into_tvalue(), lengths.into_tvalue()])
            .map_err(|e| ModelError::inference("running the graph", e))?;
        let log_probs = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| ModelError::BadOutput(format!("log_probs: {e}")))?;
        let shape = log_probs.shape().to_vec();
        if shape.len() != 3 || shape[0] != 1 {
            return Err(ModelError::BadOutput(format!(
                "log_probs has shape {shape:?}, expected [1, T, vocab]"
            )));
        }
        let (frames_out, vocab) = (shape[1], shape[2]);
        let want = graph_frames(n);
        if frames_out < LEAD_PAD_FRAMES + want {
            return Err(ModelError::BadOutput(format!(
                "{frames_out} frames for {len} samples, expected {}",
                LEAD_PAD_FRAMES + want
            )));
        }
        let data: Vec<f32> = log_probs
            .as_slice()
            .map(|s| s[LEAD_PAD_FRAMES * vocab..(LEAD_PAD_FRAMES + want) * vocab].to_vec())
            .unwrap_or_else(|| {
                log_probs
                    .iter()
                    .skip(LEAD_PAD_FRAMES * vocab)
                    .take(want * vocab)
                    .copied()
                    .collect()
            });
        Ok(Posteriors {
            frames: want,
            vocab,
            data,
            frame_shift_s: FRAME_SHIFT_S,
        })
    }
}

/// Start samples of the windows covering `n > window` samples: every `window - overlap`
/// samples, and a last window ending exactly at `n`. All starts are frame aligned.
fn window_starts(n: usize, window: usize, overlap: usize) -> Vec<usize> {
    let hop = (window - overlap).max(FRAME_SAMPLES);
    let mut starts = vec![0];
    while starts[starts.len() - 1] + window < n {
        let prev = starts[starts.len() - 1];
        let last = (n - window).div_ceil(FRAME_SAMPLES) * FRAME_SAMPLES;
        starts.push((prev + hop).min(last));
    }
    starts
}

fn build_plan(bytes: &[u8]) -> Result<Plan, ModelError> {
    let onnx = tract_onnx::onnx().with_ignore_value_info(true);
    let mut model = onnx
        .model_for_read(&mut &bytes[..])
        .map_err(|e| ModelError::inference("parsing the ONNX graph", e))?;
    let samples = model.sym("S");
    model
        .set_input_fact(
            0,
            InferenceFact::dt_shape(f32::datum_type(), tvec![1.to_dim(), samples.to_dim()]),
        )
        .and_then(|_| {
            model.set_input_fact(1, InferenceFact::dt_shape(i64::datum_type(), tvec![1.to_dim()]))
        })
        .map_err(|e| ModelError::inference("setting input shapes", e))?;
    let typed = model
        .into_optimized()
        .map_err(|e| ModelError::inference("optimizing the graph", e))?;
    typed
        .into_runnable()
        .map_err(|e| ModelError::inference("planning the graph", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_counts() {
        assert_eq!(graph_frames(1), 1);
        assert_eq!(graph_frames(319), 1);
        assert_eq!(graph_frames(320), 2);
        // 7.1 s of audio: the hama graph gives 356 frames.
        assert_eq!(graph_frames(113_600), 356);
        assert_eq!(graph_frames(LEAD_PAD_SAMPLES + 113_600), LEAD_PAD_FRAMES + 356);
    }

    #[test]
    fn windows_cover_the_signal() {
        let (w, o) = (round_to_frames(20.0), round_to_frames(4.0));
        for n in [w + 1, w + 320, 2 * w, 61 * 16_000 + 123, 100 * 16_000] {
            let s = window_starts(n, w, o);
            assert_eq!(s[0], 0);
            assert!(s.last().unwrap() + w >= n, "{n}: {s:?}");
            for pair in s.windows(2) {
                assert!(pair[1] > pair[0] && pair[1] % FRAME_SAMPLES == 0);
                assert!(pair[0] + w >= pair[1] + o, "overlap too small {n}: {s:?}");
            }
        }
    }

    #[test]
    fn posteriors_helpers() {
        let p = Posteriors {
            frames: 3,
            vocab: 3,
            data: vec![0.0, -1.0, -2.0, -1.0, 0.0, -2.0, -3.0, -2.0, 0.0],
            frame_shift_s: 0.02,
        };
        assert_eq!(p.frame(1), &[-1.0, 0.0, -2.0]);
        assert_eq!(p.argmax(), vec![0, 1, 2]);
        assert_eq!(p.greedy(2), vec![0, 1]);
        assert!((p.frame_time_s(2) - 0.04).abs() < 1e-6);
        assert!(Posteriors::empty(3).is_empty());
    }

    #[test]
    fn model_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<AcousticModel>();
    }
}
