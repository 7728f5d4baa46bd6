//! Running the ONNX graph with tract, and windowing long audio.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tract_onnx::prelude::*;

use super::checksum::{read_verified, Checksums};
use super::stream::{StreamGraph, WHISPER_TINY_STREAM_FILE};
use super::widen::widen_f16_weights;
use super::{
    ModelConfig, ModelError, ModelKind, Precision, Tokens, CHECKSUMS_FILE, FRAME_SHIFT_S,
    MAKE_MODEL_HINT, SAMPLE_RATE, TOKENS_FILE,
};
use crate::FileError;

/// Samples per posterior frame (20 ms at 16 kHz).
const FRAME_SAMPLES: usize = 320;
/// Samples per STFT hop inside the graph (10 ms); the graph subsamples by 2.
const HOP_SAMPLES: usize = 160;
/// Lead-in the graph hears before every call: 0.3 s, exactly 15 frames (digital silence,
/// or what [`AcousticModel::posteriors_led`] is given).
pub const LEAD_SAMPLES: usize = 4800;
const LEAD_FRAMES: usize = LEAD_SAMPLES / FRAME_SAMPLES;
/// Lowest log-posterior returned. tract's log-softmax gives `-inf` where the
/// probability underflows f32 (below about e^-87); such values are raised to this.
pub const LOG_PROB_FLOOR: f32 = -100.0;

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
    /// log-softmax normalized. All values are finite and at least [`LOG_PROB_FLOOR`].
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
        assert!(
            t < self.frames,
            "frame {t} out of range ({} frames)",
            self.frames
        );
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

/// Graph calls shorter than this (samples, padding included) always use the
/// symbolic-length plan: specializing costs more than it saves below about 3 s.
const MIN_SPECIALIZED_SAMPLES: usize = 3 * SAMPLE_RATE as usize + LEAD_SAMPLES;

/// Plans specialized to one exact input length, least recently used first.
struct PlanCache {
    capacity: usize,
    plans: Vec<(usize, Plan)>,
}

/// The acoustic model, loaded and optimized once; cheap to share between threads
/// (`Send + Sync`; calls may run concurrently).
///
/// One graph ([`ModelConfig::kind`]). It is decluttered and optimized once with a
/// symbolic number of samples; that plan runs any length. Because tract only picks its
/// fastest kernels (depthwise and lazy-im2col convolutions) for concrete shapes, calls of
/// 3 s or more also get a plan specialized to their exact length, built from the
/// decluttered graph in 25-60 ms and kept in a small LRU cache
/// ([`ModelConfig::length_plans`]): the windows of long audio all share one. Specialized
/// plans run 2-3x faster than the symbolic one; padding to a few fixed lengths instead
/// would change the output (the network pools over time).
///
/// Each call puts 0.3 s of lead-in in front of the audio (the model misses the first
/// phone otherwise): digital silence, or the room's quiet when the caller has it
/// ([`AcousticModel::posteriors_led`]); the corresponding 15 frames are dropped, so frame 0
/// of the result is time 0 of the input. Audio longer than [`ModelConfig::window_s`] is
/// cut into windows overlapping by [`ModelConfig::overlap_s`]; each window keeps the
/// frames up to the middle of its overlaps.
pub struct AcousticModel {
    graph: Graph,
    /// The streaming graph for live partials, when [`ModelConfig::streaming`] asked for it
    /// and the model has one.
    stream: Option<StreamGraph>,
    tokens: Tokens,
    kind: ModelKind,
    precision: Precision,
    window_samples: usize,
    overlap_samples: usize,
}

/// One ONNX graph, loaded and optimized, with its plans.
struct Graph {
    /// File name, for messages.
    name: &'static str,
    /// Decluttered graph with symbolic sample count `samples`.
    typed: TypedModel,
    samples: Symbol,
    symbolic: Plan,
    specialized: Mutex<PlanCache>,
    /// Whether the graph takes `waveform_lengths` besides `waveform` (hama does).
    takes_lengths: bool,
}

impl std::fmt::Debug for AcousticModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcousticModel")
            .field("kind", &self.kind)
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
        cfg.validate()
            .map_err(|e| ModelError::Config(e.to_string()))?;
        let max_window_s = cfg.kind.max_call_s() - LEAD_SAMPLES as f32 / SAMPLE_RATE as f32;
        if cfg.window_s > max_window_s {
            return Err(ModelError::Config(format!(
                "window_s must be at most {max_window_s} s for the {} acoustic model, got {}",
                cfg.kind, cfg.window_s
            )));
        }
        let window_samples = round_to_frames(cfg.window_s);
        let overlap_samples = round_to_frames(cfg.overlap_s);

        let model_name = cfg.kind.file_name(cfg.precision)?;
        for name in [CHECKSUMS_FILE, TOKENS_FILE, model_name] {
            let path = cfg.dir.join(name);
            if !path.is_file() {
                let hint = if name == model_name {
                    cfg.kind.make_hint()
                } else {
                    MAKE_MODEL_HINT
                };
                return Err(ModelError::File(FileError::Missing {
                    what: "model",
                    path,
                    hint: hint.to_string(),
                }));
            }
        }
        let sums = Checksums::load(&cfg.dir.join(CHECKSUMS_FILE))?.with_cache(cfg.cache.clone());
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
        let bytes = read_verified(&sums, &cfg.dir, model_name)?;
        let stream = match (cfg.streaming, cfg.kind, cfg.precision) {
            (true, ModelKind::WhisperTiny, Precision::Fp32) => {
                let path = cfg.dir.join(WHISPER_TINY_STREAM_FILE);
                if !path.is_file() {
                    return Err(ModelError::File(FileError::Missing {
                        what: "model",
                        path,
                        hint: "create it with `python3 tools/build/am/stream.py` (see models-quantized/MODEL_CARD_whisper_tiny_ctc.md), or run `nomen listen --whole-partials`"
                            .to_string(),
                    }));
                }
                let bytes = read_verified(&sums, &cfg.dir, WHISPER_TINY_STREAM_FILE)?;
                Some(StreamGraph::load(&bytes, tokens.len())?)
            }
            _ => None,
        };
        let model = Self {
            graph: Graph::load(model_name, &bytes, cfg.length_plans)?,
            stream,
            tokens,
            kind: cfg.kind,
            precision: cfg.precision,
            window_samples,
            overlap_samples,
        };
        // The output width must be the vocabulary's: read from the graph's output shape, or,
        // where that is not a number, from one tiny run.
        let vocab = match model.graph.output_width() {
            Some(v) => v,
            None => {
                model
                    .graph
                    .run(&[0.0; LEAD_SAMPLES + FRAME_SAMPLES], LEAD_FRAMES, 1)?
                    .1
            }
        };
        if vocab != model.tokens.len() {
            return Err(ModelError::BadOutput(format!(
                "{model_name} outputs {vocab} classes but {TOKENS_FILE} has {} tokens",
                model.tokens.len()
            )));
        }
        Ok(model)
    }

    /// The output vocabulary.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The streaming graph for live partial results ([`super::ModelStream`]), when
    /// [`ModelConfig::streaming`] asked for it and this model has one (`whisper-tiny` fp32).
    pub fn stream(&self) -> Option<&StreamGraph> {
        self.stream.as_ref()
    }

    /// The acoustic model that was loaded.
    pub fn kind(&self) -> ModelKind {
        self.kind
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
        self.posteriors_led(None, samples)
    }

    /// [`AcousticModel::posteriors`] with `lead` ([`LEAD_SAMPLES`] samples) as the lead-in
    /// of the first graph call instead of digital silence: the quiet of the room before the
    /// speech ([`crate::audio::pad::Padding::lead`]). Later windows of long input start
    /// inside the audio and keep digital silence. `None`: digital silence.
    pub fn posteriors_led(
        &self,
        lead: Option<&[f32]>,
        samples: &[f32],
    ) -> Result<Posteriors, ModelError> {
        if let Some(l) = lead {
            if l.len() != LEAD_SAMPLES {
                return Err(ModelError::Config(format!(
                    "a lead-in must have {LEAD_SAMPLES} samples, not {}",
                    l.len()
                )));
            }
        }
        let n = samples.len();
        if n == 0 {
            return Ok(Posteriors::empty(self.tokens.len()));
        }
        if n <= self.window_samples {
            return self.run_segment(lead, samples);
        }
        let total = graph_frames(n);
        let vocab = self.tokens.len();
        let mut out = Posteriors {
            frames: total,
            vocab,
            data: Vec::with_capacity(total * vocab),
            frame_shift_s: FRAME_SHIFT_S,
        };
        let mut next_frame = 0; // first global frame not yet filled
        for w in self.windows(n) {
            let lead = if w.start == 0 { lead } else { None };
            let part = self.run_segment(lead, &samples[w.start..w.end])?;
            let offset = w.start / FRAME_SAMPLES;
            let from = next_frame - offset;
            let to = (w.keep_until - offset).min(part.frames);
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

    /// Frame indices at which [`AcousticModel::posteriors`] switches from one window to the
    /// next for an input of `n_samples` samples; empty when the input fits one window.
    pub fn seams(&self, n_samples: usize) -> Vec<usize> {
        let windows = self.windows(n_samples);
        windows[..windows.len().saturating_sub(1)]
            .iter()
            .map(|w| w.keep_until)
            .collect()
    }

    /// The windows covering `n` samples, with the global frame each one is kept until.
    fn windows(&self, n: usize) -> Vec<Window> {
        if n <= self.window_samples {
            return vec![Window {
                start: 0,
                end: n,
                keep_until: graph_frames(n.max(1)),
            }];
        }
        let starts = window_starts(n, self.window_samples, self.overlap_samples);
        starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = (start + self.window_samples).min(n);
                let keep_until = match starts.get(i + 1) {
                    // Cut in the middle of the overlap [next, end).
                    Some(&next) => (next + end) / 2 / FRAME_SAMPLES,
                    None => graph_frames(n),
                };
                Window {
                    start,
                    end,
                    keep_until,
                }
            })
            .collect()
    }

    /// One graph call on at most one window of audio: lead-in, run, drop the lead frames.
    fn run_segment(&self, lead: Option<&[f32]>, samples: &[f32]) -> Result<Posteriors, ModelError> {
        let n = samples.len();
        let mut input = Vec::with_capacity(LEAD_SAMPLES + n);
        let clean = |&s: &f32| {
            if s.is_finite() {
                s.clamp(-1.0, 1.0)
            } else {
                0.0
            }
        };
        match lead {
            Some(l) => input.extend(l.iter().map(clean)),
            None => input.resize(LEAD_SAMPLES, 0.0f32),
        }
        input.extend(samples.iter().map(clean));
        let want = graph_frames(n);
        let (data, vocab) = self.graph.run(&input, LEAD_FRAMES, want)?;
        Ok(Posteriors {
            frames: want,
            vocab,
            data,
            frame_shift_s: FRAME_SHIFT_S,
        })
    }
}

impl Graph {
    /// Parses, declutters and optimizes `bytes` (the graph `name`).
    fn load(name: &'static str, bytes: &[u8], length_plans: usize) -> Result<Self, ModelError> {
        let started = Instant::now();
        let (typed, samples, takes_lengths) = decluttered_graph(bytes)?;
        // Already decluttered: only the optimization passes are left (into_optimized would
        // declutter again, for nothing).
        let mut optimized = typed.clone();
        let symbolic = optimized
            .optimize()
            .and_then(|()| optimized.into_runnable())
            .map_err(|e| ModelError::inference(format!("optimizing {name}"), e))?;
        log::debug!(
            "acoustic model {name} optimized in {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        Ok(Graph {
            name,
            typed,
            samples,
            symbolic,
            specialized: Mutex::new(PlanCache {
                capacity: length_plans,
                plans: Vec::new(),
            }),
            takes_lengths,
        })
    }

    /// Runs the graph on `input` (lead-in included) and keeps output frames
    /// `skip..skip + keep`: their log-probs row-major, at least [`LOG_PROB_FLOOR`], and the
    /// vocabulary size.
    fn run(
        &self,
        input: &[f32],
        skip: usize,
        keep: usize,
    ) -> Result<(Vec<f32>, usize), ModelError> {
        let len = input.len();
        let wave = Tensor::from_shape(&[1, len], input)
            .map_err(|e| ModelError::inference("building input", e))?;
        let mut inputs = tvec![wave.into_tvalue()];
        if self.takes_lengths {
            inputs.push(tensor1(&[len as i64]).into_tvalue());
        }
        let outputs = self
            .plan_for(len)?
            .run(inputs)
            .map_err(|e| ModelError::inference(format!("running {}", self.name), e))?;
        let log_probs = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| ModelError::BadOutput(format!("{} log_probs: {e}", self.name)))?;
        let shape = log_probs.shape().to_vec();
        if shape.len() != 3 || shape[0] != 1 {
            return Err(ModelError::BadOutput(format!(
                "{}: log_probs has shape {shape:?}, expected [1, T, vocab]",
                self.name
            )));
        }
        let (frames_out, vocab) = (shape[1], shape[2]);
        if frames_out < skip + keep {
            return Err(ModelError::BadOutput(format!(
                "{}: {frames_out} frames for {len} samples, expected {}",
                self.name,
                skip + keep
            )));
        }
        // `max` also maps NaN to the floor.
        let data = log_probs
            .iter()
            .skip(skip * vocab)
            .take(keep * vocab)
            .map(|&v| v.max(LOG_PROB_FLOOR))
            .collect();
        Ok((data, vocab))
    }

    /// The last dimension of the output (classes per frame), when the graph states it as a
    /// number.
    fn output_width(&self) -> Option<usize> {
        let fact = self.typed.output_fact(0).ok()?;
        (fact.rank() == 3)
            .then(|| fact.shape[2].as_i64())??
            .try_into()
            .ok()
    }

    /// The plan to run `len` samples (padding included) with.
    fn plan_for(&self, len: usize) -> Result<Plan, ModelError> {
        if len < MIN_SPECIALIZED_SAMPLES {
            return Ok(self.symbolic.clone());
        }
        // A poisoned lock only means another call panicked mid-build: the cache is
        // still consistent.
        let mut cache = self.specialized.lock().unwrap_or_else(|e| e.into_inner());
        if cache.capacity == 0 {
            return Ok(self.symbolic.clone());
        }
        if let Some(i) = cache.plans.iter().position(|(n, _)| *n == len) {
            let hit = cache.plans.remove(i);
            let plan = hit.1.clone();
            cache.plans.push(hit);
            return Ok(plan);
        }
        let started = Instant::now();
        let mut subs = HashMap::new();
        subs.insert(self.samples.clone(), (len as i64).to_dim());
        let plan = self
            .typed
            .set_symbols(&subs)
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| {
                ModelError::inference(format!("specializing the graph to {len} samples"), e)
            })?;
        log::debug!(
            "acoustic model plan for {len} samples built in {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        if cache.plans.len() >= cache.capacity {
            cache.plans.remove(0);
        }
        cache.plans.push((len, plan.clone()));
        Ok(plan)
    }
}

/// One window of a long input: samples `start..end`, kept up to global frame
/// `keep_until` (exclusive).
struct Window {
    start: usize,
    end: usize,
    keep_until: usize,
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

/// Parses the ONNX graph with input `waveform` of shape `[1, S]` (S symbolic) and, when
/// the graph has a second input, `waveform_lengths` `[1]`, and declutters it. Returns the
/// graph, the symbol S and whether there is a lengths input.
fn decluttered_graph(bytes: &[u8]) -> Result<(TypedModel, Symbol, bool), ModelError> {
    let onnx = tract_onnx::onnx().with_ignore_value_info(true);
    let parse = |e| ModelError::inference("parsing the ONNX graph", e);
    let mut proto = onnx.proto_model_for_read(&mut &bytes[..]).map_err(parse)?;
    let widened = widen_f16_weights(&mut proto);
    if widened > 0 {
        log::debug!("{widened} float16 weights widened to float32 before analysis");
    }
    let mut model = onnx.model_for_proto_model(&proto).map_err(parse)?;
    let samples = model.sym("S");
    model
        .set_input_fact(
            0,
            InferenceFact::dt_shape(f32::datum_type(), tvec![1.to_dim(), samples.to_dim()]),
        )
        .map_err(|e| ModelError::inference("setting input shapes", e))?;
    let takes_lengths = match model.inputs.len() {
        1 => false,
        2 => {
            model
                .set_input_fact(
                    1,
                    InferenceFact::dt_shape(i64::datum_type(), tvec![1.to_dim()]),
                )
                .map_err(|e| ModelError::inference("setting input shapes", e))?;
            true
        }
        n => {
            return Err(ModelError::BadOutput(format!(
                "the graph has {n} inputs, expected waveform [1, S] and optionally waveform_lengths [1]"
            )))
        }
    };
    let typed = model
        .into_typed()
        .and_then(|m| m.into_decluttered())
        .map_err(|e| ModelError::inference("analysing the graph", e))?;
    Ok((typed, samples, takes_lengths))
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
        assert_eq!(graph_frames(LEAD_SAMPLES + 113_600), LEAD_FRAMES + 356);
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

    /// A scratch model directory with `files` (name, content) in it.
    fn scratch_dir(tag: &str, files: &[(&str, &[u8])]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("nomen-model-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, content) in files {
            std::fs::write(dir.join(name), content).unwrap();
        }
        dir
    }

    const TOKENS: &[u8] = b"<blank> 0\na 1\n<wb> 2\n";

    /// hama's configuration (the file names these tests write) for `dir`.
    fn hama(dir: &std::path::Path) -> ModelConfig {
        ModelConfig {
            kind: ModelKind::Hama,
            ..ModelConfig::with_dir(dir)
        }
    }

    fn sums(entries: &[(&str, &[u8])]) -> Vec<u8> {
        entries
            .iter()
            .map(|(name, content)| format!("{}  {name}\n", super::super::sha256_hex(content)))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn missing_files_are_named() {
        let dir = scratch_dir("missing", &[]);
        let err = AcousticModel::load(&hama(&dir)).unwrap_err();
        assert!(
            matches!(err, ModelError::File(FileError::Missing { .. })),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&dir.display().to_string()), "{msg}");
        assert!(msg.contains("tools/build/make_model.py"), "{msg}");

        // Everything but the graph.
        let dir = scratch_dir(
            "nograph",
            &[
                ("tokens.txt", TOKENS),
                ("SHA256SUMS", &sums(&[("tokens.txt", TOKENS)])),
            ],
        );
        let err = AcousticModel::load(&hama(&dir)).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("asr_fp32.onnx") && msg.contains("not found"),
            "{msg}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn checksum_mismatch_is_reported() {
        let graph: &[u8] = b"not really an onnx graph";
        let listed = sums(&[("tokens.txt", TOKENS), ("asr_fp32.onnx", b"the original")]);
        let dir = scratch_dir(
            "mismatch",
            &[
                ("tokens.txt", TOKENS),
                ("asr_fp32.onnx", graph),
                ("SHA256SUMS", &listed),
            ],
        );
        let err = AcousticModel::load(&hama(&dir)).unwrap_err();
        match &err {
            ModelError::File(FileError::ChecksumMismatch { path, actual, .. }) => {
                assert_eq!(path, &dir.join("asr_fp32.onnx"));
                assert_eq!(actual, &super::super::sha256_hex(graph));
            }
            other => panic!("expected a checksum mismatch, got {other:?}"),
        }
        assert!(err.to_string().contains("checksum mismatch"), "{err}");

        // Unlisted file.
        let listed = sums(&[("tokens.txt", TOKENS)]);
        std::fs::write(dir.join("SHA256SUMS"), listed).unwrap();
        let err = AcousticModel::load(&hama(&dir)).unwrap_err();
        assert!(
            err.to_string().contains("no entry for asr_fp32.onnx"),
            "{err}"
        );

        // Correct checksums, garbage graph: a parse error, not a panic.
        let listed = sums(&[("tokens.txt", TOKENS), ("asr_fp32.onnx", graph)]);
        std::fs::write(dir.join("SHA256SUMS"), listed).unwrap();
        let err = AcousticModel::load(&hama(&dir)).unwrap_err();
        assert!(matches!(err, ModelError::Inference { .. }), "{err:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_token_list_of_the_wrong_size_is_refused() {
        let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models-quantized");
        for kind in [ModelKind::Hama, ModelKind::WhisperTiny] {
            let name = kind.file_name(Precision::Fp32).unwrap();
            let graph = std::fs::read(models.join(name)).unwrap();
            let listed = sums(&[("tokens.txt", TOKENS), (name, &graph)]);
            let dir = scratch_dir(
                &format!("width-{}", kind.name()),
                &[
                    ("tokens.txt", TOKENS),
                    (name, &graph),
                    ("SHA256SUMS", &listed),
                ],
            );
            let cfg = ModelConfig {
                kind,
                ..ModelConfig::with_dir(&dir)
            };
            let err = AcousticModel::load(&cfg).unwrap_err();
            assert!(matches!(err, ModelError::BadOutput(_)), "{err:?}");
            let msg = err.to_string();
            assert!(
                msg.contains("191 classes") && msg.contains("3 tokens"),
                "{msg}"
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn bad_window_settings_are_rejected() {
        for (window_s, overlap_s) in [(1.0, 0.0), (100.0, 4.0), (f32::NAN, 1.0), (10.0, 6.0)] {
            let cfg = ModelConfig {
                window_s,
                overlap_s,
                ..ModelConfig::with_dir("/nonexistent")
            };
            let err = AcousticModel::load(&cfg).unwrap_err();
            assert!(
                matches!(err, ModelError::Config(_)),
                "{window_s} {overlap_s}: {err:?}"
            );
        }
    }

    #[test]
    fn model_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<AcousticModel>();
    }
}
