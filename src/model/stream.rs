//! The acoustic model for live partial results: new audio in, new frames out, the past kept.
//!
//! Re-running the whole-utterance graph for every partial costs the square of the
//! utterance's length (about 18x `transcribe` for a 10 s utterance with a partial every
//! 0.3 s). The streaming graph (`whisper_tiny_ctc_stream.onnx`, made by `tools/build/am/stream.py`
//! from the same weights) computes only the frames after those already done: each encoder
//! layer attends over the keys and values it kept of the frames before, plus the new
//! frames. A [`ModelStream`] holds one utterance's state; every [`ModelStream::posteriors`]
//! call runs the frames that arrived since the last one, committing all but the last
//! [`LOOK_AHEAD`] frames, which are computed again next time, with more audio after them
//! (with `TAIL_FILL` above 0, those last frames once more with a little made-up quiet after
//! them, as the whole-utterance path pads an utterance, for that result only). Its head
//! was trained on streamed encoder frames, not on whole utterances.
//!
//! The frames of a call see no audio after it (the whole-utterance graph sees all of it),
//! so partials read worse than the final, which is still decoded from the whole-utterance
//! graph (BENCHMARKS.md, "Live partials from the streaming graph"). The log-mel's
//! dynamic-range floor follows the running maximum.

use std::time::Instant;

use tract_onnx::prelude::*;

use super::runner::LEAD_SAMPLES;
use super::widen::widen_f16_weights;
use super::{ModelError, Posteriors, FRAME_SHIFT_S, LOG_PROB_FLOOR};

/// The streaming graph of the `whisper-tiny` acoustic model.
pub const WHISPER_TINY_STREAM_FILE: &str = "whisper_tiny_ctc_stream.onnx";

/// Samples per frame (20 ms).
const FRAME: usize = 320;
/// Audio a call needs before the centre of its first frame (mel frames 2f-2 and the STFT
/// window around them).
const LEFT_SAMPLES: usize = 520;
/// Audio a call needs after the centre of its last frame.
const RIGHT_SAMPLES: usize = 200;
/// Encoder layers and width (Whisper tiny).
const LAYERS: usize = 4;
const WIDTH: usize = 384;
/// The head's input width and the frames of it a call gets from before (its three
/// kernel-3 convolutions see three frames each way).
const HEAD_WIDTH: usize = 256;
const HEAD_CTX: usize = 6;
/// Output frames of a call that come before its first new frame (given again with more
/// right context).
const HEAD_BACK: usize = 3;
/// Frames at the end of every call that are not committed: computed again in the next call,
/// with the audio after them. The graph's head was trained on streamed encoder frames
/// (`tools/build/am/STREAM_HEAD.md`): with 2 and no `TAIL_FILL` its partials read as the
/// whole-utterance head's did with 4 and 8 frames of tail, at 17-19 frames computed per 15
/// heard instead of 31 (BENCHMARKS.md, "Live partials from the streaming graph").
pub const LOOK_AHEAD: usize = 2;
/// Frames of made-up quiet (the lead-in's) after the audio heard, so that the last frames
/// of a result are not the end of everything the encoder sees: computed for each result
/// and not kept. The head before the streamed one needed 8 (the words of a partial that
/// the final keeps went from 62% to 76% on dev, 46% to 71% on real2); with 0 a result's
/// last frames are those of the call that committed the frames before them.
const TAIL_FILL: usize = 0;
/// Frames one call computes at most (a partial that comes late runs several calls).
const MAX_CALL_FRAMES: usize = 250;
/// The positional table's length: 30 s of frames.
const MAX_FRAMES: usize = 1500;
/// The log-mel's running maximum before any audio (log10 of the clamp floor).
const PEAK_START: f32 = -10.0;
const LEAD_FRAMES: usize = LEAD_SAMPLES / FRAME;

/// The streaming graph, loaded and optimized once; shared by every [`ModelStream`].
pub struct StreamGraph {
    plan: Arc<TypedRunnableModel>,
    vocab: usize,
}

impl std::fmt::Debug for StreamGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamGraph")
            .field("vocab", &self.vocab)
            .finish()
    }
}

impl StreamGraph {
    /// Parses and optimizes the graph `bytes` (already checked against `SHA256SUMS`).
    pub(super) fn load(bytes: &[u8], vocab: usize) -> Result<Self, ModelError> {
        let started = Instant::now();
        let name = WHISPER_TINY_STREAM_FILE;
        let onnx = tract_onnx::onnx().with_ignore_value_info(true);
        let parse = |e| ModelError::inference(format!("parsing {name}"), e);
        let mut proto = onnx.proto_model_for_read(&mut &bytes[..]).map_err(parse)?;
        widen_f16_weights(&mut proto);
        let mut model = onnx.model_for_proto_model(&proto).map_err(parse)?;
        if model.inputs.len() != 6 || model.outputs.len() != 5 {
            return Err(ModelError::BadOutput(format!(
                "{name} has {} inputs and {} outputs, expected 6 and 5",
                model.inputs.len(),
                model.outputs.len()
            )));
        }
        let n = model.sym("N");
        let p = model.sym("P");
        let f32_fact = |dims: TVec<TDim>| InferenceFact::dt_shape(f32::datum_type(), dims);
        let facts = [
            f32_fact(tvec![
                1.to_dim(),
                n.to_dim() * FRAME as i64 + (LEFT_SAMPLES + RIGHT_SAMPLES) as i64
            ]),
            InferenceFact::dt_shape(i64::datum_type(), tvec![n.to_dim()]),
            f32_fact(tvec![1.to_dim()]),
            f32_fact(tvec![LAYERS.to_dim(), p.to_dim(), WIDTH.to_dim()]),
            f32_fact(tvec![LAYERS.to_dim(), p.to_dim(), WIDTH.to_dim()]),
            f32_fact(tvec![1.to_dim(), HEAD_CTX.to_dim(), HEAD_WIDTH.to_dim()]),
        ];
        for (i, fact) in facts.into_iter().enumerate() {
            model
                .set_input_fact(i, fact)
                .map_err(|e| ModelError::inference(format!("setting {name}'s input shapes"), e))?;
        }
        let plan = model
            .into_typed()
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| ModelError::inference(format!("optimizing {name}"), e))?;
        let width = plan
            .model()
            .output_fact(0)
            .ok()
            .filter(|f| f.rank() == 3)
            .and_then(|f| f.shape[2].as_i64())
            .and_then(|w| usize::try_from(w).ok());
        if width != Some(vocab) {
            return Err(ModelError::BadOutput(format!(
                "{name}'s output is {:?} classes wide, the vocabulary has {vocab}",
                width
            )));
        }
        log::debug!(
            "streaming acoustic model loaded in {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        Ok(StreamGraph { plan, vocab })
    }
}

/// One utterance on the streaming graph: its audio so far and the state of the frames done.
#[derive(Debug, Clone)]
pub struct ModelStream {
    /// The model's input: the lead-in, then the utterance's audio.
    wave: Vec<f32>,
    /// Frames committed (their keys and values kept).
    done: usize,
    /// Each layer's keys and values of the committed frames, `[LAYERS, done, WIDTH]`
    /// (the graph's layout; handed to the graph call without a copy).
    keys: TValue,
    values: TValue,
    /// The head's input of the last `HEAD_CTX` committed frames, `[1, HEAD_CTX,
    /// HEAD_WIDTH]` (zeros before any).
    head_ctx: TValue,
    peak: f32,
    /// Output rows from frame 0 of `wave` (lead-in frames included).
    rows: Vec<f32>,
}

impl ModelStream {
    /// A new utterance, heard after `lead` ([`LEAD_SAMPLES`] samples of the room's quiet;
    /// `None`: digital silence), as the whole-utterance graph hears it.
    pub fn new(lead: Option<&[f32]>) -> Result<Self, ModelError> {
        let mut wave = Vec::with_capacity(LEAD_SAMPLES + 16_000 * 4);
        match lead {
            Some(l) if l.len() != LEAD_SAMPLES => {
                return Err(ModelError::Config(format!(
                    "a lead-in must have {LEAD_SAMPLES} samples, not {}",
                    l.len()
                )))
            }
            Some(l) => wave.extend(l.iter().copied().map(clean)),
            None => wave.resize(LEAD_SAMPLES, 0.0),
        }
        Ok(ModelStream {
            wave,
            done: 0,
            keys: empty_past()?,
            values: empty_past()?,
            head_ctx: Tensor::zero::<f32>(&[1, HEAD_CTX, HEAD_WIDTH])
                .map_err(|e| ModelError::inference("building the streaming model's state", e))?
                .into_tvalue(),
            peak: PEAK_START,
            rows: Vec::new(),
        })
    }

    /// Samples of the utterance heard so far (lead-in not counted).
    pub fn samples(&self) -> usize {
        self.wave.len() - LEAD_SAMPLES
    }

    /// Appends audio (16 kHz, `[-1, 1]`; non-finite samples count as 0).
    pub fn push(&mut self, samples: &[f32]) {
        self.wave.extend(samples.iter().copied().map(clean));
    }

    /// Frames whose audio is all there.
    fn available(&self) -> usize {
        (self.wave.len().saturating_sub(RIGHT_SAMPLES) / FRAME).min(MAX_FRAMES)
    }

    /// Runs the frames that arrived since the last call and returns the log-posteriors of
    /// the utterance so far: frame 0 is time 0 of the first sample pushed (the lead-in's
    /// frames dropped), one frame per 20 ms whose audio is all there.
    pub fn posteriors(&mut self, graph: &StreamGraph) -> Result<Posteriors, ModelError> {
        loop {
            let pending = self.available().saturating_sub(self.done);
            if pending <= LOOK_AHEAD {
                break;
            }
            let n = pending.min(MAX_CALL_FRAMES);
            let commit = if n == pending { n - LOOK_AHEAD } else { n };
            self.call(graph, n, commit)?;
        }
        // The last frames again, followed by made-up quiet, for this result only (without
        // made-up quiet: unless the last call already gave them).
        let avail = self.available();
        let given = TAIL_FILL == 0 && self.rows.len() == avail * graph.vocab;
        if avail > self.done && !given {
            self.call(graph, avail - self.done + TAIL_FILL, 0)?;
            self.rows.truncate(avail * graph.vocab);
        }
        let frames = self.rows.len() / graph.vocab;
        let first = LEAD_FRAMES.min(frames);
        Ok(Posteriors {
            frames: frames - first,
            vocab: graph.vocab,
            data: self.rows[first * graph.vocab..].to_vec(),
            frame_shift_s: FRAME_SHIFT_S,
        })
    }

    /// One graph call over frames `done .. done + n`, committing the first `commit`.
    fn call(&mut self, graph: &StreamGraph, n: usize, commit: usize) -> Result<(), ModelError> {
        let f = self.done;
        // Samples [320 f - 520, 320 (f + n) + 200) of `wave`; zeros before its start.
        let lo = (f * FRAME) as isize - LEFT_SAMPLES as isize;
        let hi = (f + n) * FRAME + RIGHT_SAMPLES;
        let mut audio = vec![0.0f32; (hi as isize - lo) as usize];
        let skip = (-lo).max(0) as usize;
        let heard = &self.wave[lo.max(0) as usize..hi.min(self.wave.len())];
        audio[skip..skip + heard.len()].copy_from_slice(heard);
        // After the audio heard (a result's made-up tail): the lead-in's quiet, played on.
        for (i, x) in audio[skip + heard.len()..].iter_mut().enumerate() {
            *x = self.wave[i % LEAD_SAMPLES];
        }
        let pos: Vec<i64> = (f..f + n).map(|t| t as i64).collect();
        let build = |e| ModelError::inference("building the streaming model's inputs", e);
        let inputs = tvec![
            Tensor::from_shape(&[1, audio.len()], &audio)
                .map_err(build)?
                .into_tvalue(),
            Tensor::from_shape(&[n], &pos).map_err(build)?.into_tvalue(),
            tensor1(&[self.peak]).into_tvalue(),
            self.keys.clone(),
            self.values.clone(),
            self.head_ctx.clone(),
        ];
        let out = graph
            .plan
            .run(inputs)
            .map_err(|e| ModelError::inference(format!("running {WHISPER_TINY_STREAM_FILE}"), e))?;
        let view = |i: usize, shape: &[usize]| -> Result<&[f32], ModelError> {
            let t = &out[i];
            if t.shape() != shape {
                return Err(ModelError::BadOutput(format!(
                    "{WHISPER_TINY_STREAM_FILE} output {i} has shape {:?}, expected {shape:?}",
                    t.shape()
                )));
            }
            t.to_plain_array_view::<f32>()
                .ok()
                .and_then(|a| a.to_slice())
                .ok_or_else(|| {
                    ModelError::BadOutput(format!(
                        "{WHISPER_TINY_STREAM_FILE} output {i} is not a contiguous float tensor"
                    ))
                })
        };
        let v = graph.vocab;
        let log_probs = view(0, &[1, n + HEAD_BACK, v])?;
        let keys = view(1, &[LAYERS, n, WIDTH])?;
        let values = view(2, &[LAYERS, n, WIDTH])?;
        let head = view(3, &[1, n, HEAD_WIDTH])?;
        let peak = view(4, &[1])?[0];
        // Rows from frame f - 3 on are replaced (the first of them were given before with
        // less right context).
        let from = f.saturating_sub(HEAD_BACK);
        self.rows.truncate(from * v);
        let skip_rows = HEAD_BACK - (f - from);
        self.rows.extend(
            log_probs[skip_rows * v..]
                .iter()
                .map(|&x| x.max(LOG_PROB_FLOOR)),
        );
        if commit == 0 {
            return Ok(());
        }
        let build = |e| ModelError::inference("keeping the streaming model's state", e);
        self.keys = append_frames(&self.keys, keys, n, commit, None).map_err(build)?;
        self.values = append_frames(&self.values, values, n, commit, None).map_err(build)?;
        self.head_ctx =
            append_frames(&self.head_ctx, head, n, commit, Some(HEAD_CTX)).map_err(build)?;
        if peak.is_finite() {
            self.peak = peak;
        }
        self.done = f + commit;
        Ok(())
    }
}

/// Layers' keys or values of no frames.
fn empty_past() -> Result<TValue, ModelError> {
    Tensor::zero::<f32>(&[LAYERS, 0, WIDTH])
        .map(|t| t.into_tvalue())
        .map_err(|e| ModelError::inference("building the streaming model's state", e))
}

/// `old` (`[blocks, t, width]`) with the first `commit` of the `n` frames of `new`
/// (`[blocks, n, width]`) appended to every block; with `keep_last`, only that many of the
/// last frames are kept.
fn append_frames(
    old: &TValue,
    new: &[f32],
    n: usize,
    commit: usize,
    keep_last: Option<usize>,
) -> TractResult<TValue> {
    let &[blocks, t, width] = old.shape() else {
        anyhow::bail!("the streaming state has shape {:?}", old.shape());
    };
    let total = t + commit;
    let keep = keep_last.map_or(total, |k| k.min(total));
    let drop = total - keep;
    let old_view = old.to_plain_array_view::<f32>()?;
    let old_all = old_view
        .as_slice()
        .ok_or_else(|| anyhow::anyhow!("the streaming state is not contiguous"))?;
    let mut out = Vec::with_capacity(blocks * keep * width);
    for b in 0..blocks {
        let old_b = &old_all[b * t * width..(b + 1) * t * width];
        let new_b = &new[b * n * width..(b * n + commit) * width];
        if drop < t {
            out.extend_from_slice(&old_b[drop * width..]);
            out.extend_from_slice(new_b);
        } else {
            out.extend_from_slice(&new_b[(drop - t) * width..]);
        }
    }
    Ok(Tensor::from_shape(&[blocks, keep, width], &out)?.into_tvalue())
}

fn clean(s: f32) -> f32 {
    if s.is_finite() {
        s.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(blocks: usize, t: usize, width: usize, base: f32) -> TValue {
        let data: Vec<f32> = (0..blocks * t * width).map(|i| base + i as f32).collect();
        Tensor::from_shape(&[blocks, t, width], &data)
            .unwrap()
            .into_tvalue()
    }

    fn values(t: &TValue) -> Vec<f32> {
        t.to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect()
    }

    #[test]
    fn committed_frames_are_appended_to_every_block() {
        // Two blocks of 1 frame (width 2); 3 new frames of which 2 are committed.
        let old = state(2, 1, 2, 0.0); // block 0: [0 1], block 1: [2 3]
        let new: Vec<f32> = (100..112).map(|v| v as f32).collect(); // [2, 3, 2]
        let got = append_frames(&old, &new, 3, 2, None).unwrap();
        assert_eq!(got.shape(), &[2, 3, 2]);
        assert_eq!(
            values(&got),
            [0., 1., 100., 101., 102., 103., 2., 3., 106., 107., 108., 109.]
        );
        // Nothing committed: the same state.
        let same = append_frames(&old, &new, 3, 0, None).unwrap();
        assert_eq!(values(&same), values(&old));
    }

    #[test]
    fn the_head_context_keeps_only_its_last_frames() {
        let old = state(1, 3, 1, 0.0); // frames 0 1 2
        let new = [10.0, 11.0, 12.0, 13.0];
        let got = append_frames(&old, &new, 4, 2, Some(3)).unwrap();
        assert_eq!(values(&got), [2.0, 10.0, 11.0]);
        // More committed than kept: only new frames.
        let got = append_frames(&old, &new, 4, 4, Some(3)).unwrap();
        assert_eq!(values(&got), [11.0, 12.0, 13.0]);
    }

    #[test]
    fn a_new_stream_counts_only_the_audio_pushed() {
        let mut s = ModelStream::new(None).unwrap();
        assert_eq!(s.samples(), 0);
        s.push(&[0.5, f32::NAN, 2.0]);
        assert_eq!(s.samples(), 3);
        assert_eq!(&s.wave[LEAD_SAMPLES..], &[0.5, 0.0, 1.0]);
        assert!(ModelStream::new(Some(&[0.0; 10])).is_err());
    }
}
