//! Voice activity and endpoint detection on the 16 kHz stream: when an utterance starts,
//! when a partial result is due, and when the utterance is over.
//!
//! The same energy test as the offline segmenter ([`crate::audio::segment`]): 10 ms frames,
//! speech when `snr_db` above the noise floor (the 10th percentile of frame levels) and above
//! `min_level_db`. Offline the floor comes from the whole file; here from a sliding window of
//! the last `floor_window_s`, seeded with a few very quiet frames so that speech right at
//! the start of a stream is found (the absolute level decides until enough frames are seen).
//!
//! An utterance is padded as an offline segment is ([`crate::audio::pad::Padding`], in
//! `segment.padding`): a cut runs from the pre-roll before its first speech frame to at
//! most the post-roll after its last one. A final declared after less trailing silence
//! than the post-roll (an early final, a short `trailing_silence_s`, the end of the stream)
//! gets the rest made up where the model's input is prepared
//! ([`crate::audio::utterance::ModelInput`]): utterances end sooner without starving the
//! model of its right context. Partials come every `partial_interval_s` while there is new
//! speech. It ends after `trailing_silence_s` of silence; past
//! `keep_whole_s` a shorter pause (`long_pause_s`) ends it, and at `max_utterance_s` it is
//! cut at the quietest frame of the last second. Memory is fixed at construction: the
//! utterance buffer never grows past `max_utterance_s` plus the padding.

use crate::audio::segment::{frame_level_db, SegmentConfig};
use std::time::{Duration, Instant};

const RATE: f64 = 16_000.0;

/// Endpointing settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EndpointConfig {
    /// Frame hop, thresholds, padding (pre- and post-roll), minimum speech and the
    /// whole-utterance length: the offline segmenter's settings.
    pub segment: SegmentConfig,
    /// Silence after the last speech frame that ends an utterance (s).
    pub trailing_silence_s: f32,
    /// Early finals: after this much silence (s) the utterance so far is decoded as a
    /// [`CutKind::Check`], ahead of...
    pub early_check_s: f32,
    /// ...this much silence (s), when a [`CutKind::Confirm`] says the pause held: the decoder
    /// then publishes the checked result as final if it reads as a finished sentence, and
    /// whatever is said before `trailing_silence_s` goes on the same utterance as new words.
    /// 0 (or not below `trailing_silence_s`): no early finals.
    pub early_final_s: f32,
    /// Audio between two partial results of an utterance (s); 0: no partials.
    pub partial_interval_s: f32,
    /// Once an utterance is longer than `segment.keep_whole_s`, a pause this long ends it (s).
    pub long_pause_s: f32,
    /// Longest utterance (s): longer speech is cut at the quietest frame of its last second.
    pub max_utterance_s: f32,
    /// Window of frame levels the noise floor is taken from (s).
    pub floor_window_s: f32,
    /// Quiet frames (-100 dB) the noise-floor window starts with.
    pub floor_prior_frames: usize,
}

impl EndpointConfig {
    /// Checks every setting (the segmenter's included): `Err` names the first that is out
    /// of its range.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ranges::{count, seconds};
        self.segment.validate().map_err(|e| e.within("segment"))?;
        seconds("trailing_silence_s", self.trailing_silence_s, 0.05, 10.0)?;
        seconds("early_check_s", self.early_check_s, 0.0, 10.0)?;
        seconds("early_final_s", self.early_final_s, 0.0, 10.0)?;
        seconds("partial_interval_s", self.partial_interval_s, 0.0, 60.0)?;
        seconds("long_pause_s", self.long_pause_s, 0.01, 10.0)?;
        seconds("max_utterance_s", self.max_utterance_s, 2.0, 60.0)?;
        seconds("floor_window_s", self.floor_window_s, 0.1, 600.0)?;
        count("floor_prior_frames", self.floor_prior_frames, 0, 60_000)
    }
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            segment: SegmentConfig::default(),
            trailing_silence_s: 0.6,
            early_check_s: 0.08,
            early_final_s: 0.16,
            partial_interval_s: 0.3,
            long_pause_s: 0.3,
            max_utterance_s: 20.0,
            floor_window_s: 10.0,
            floor_prior_frames: 30,
        }
    }
}

/// Why an utterance's audio is handed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutKind {
    /// The utterance so far (it goes on).
    Partial,
    /// The utterance is over: trailing silence, a pause in long speech, or the stream ended.
    Final,
    /// The utterance reached `max_utterance_s` and was cut in speech; the rest goes on as a
    /// new utterance.
    Forced,
    /// A pause of `early_check_s`: the utterance so far, for a possible early final.
    Check,
    /// The pause of the last check lasted `early_final_s` with no new speech (no samples).
    Confirm,
}

/// A piece of audio the endpointer hands on. Sample indices count 16 kHz samples from the
/// start of the session.
#[derive(Debug)]
pub struct Cut<'a> {
    /// Which utterance (counts from 0).
    pub utterance: u64,
    /// Partial, final or forced.
    pub kind: CutKind,
    /// The audio heard for the model, padding included.
    pub samples: &'a [f32],
    /// Session index of `samples[0]`.
    pub start: u64,
    /// Session index where speech starts (first speech frame).
    pub voiced_start: u64,
    /// Session index where speech ends so far (end of the last speech frame).
    pub voiced_end: u64,
    /// When the last sample of the last speech frame was captured (wall clock).
    pub voiced_end_at: Instant,
    /// When the last sample of `samples` was captured.
    pub audio_end_at: Instant,
}

/// Noise floor: a percentile of the frame levels of a sliding window, from a histogram of
/// 0.5 dB bins (fixed size, no allocation per frame).
struct NoiseFloor {
    hist: Vec<u32>,
    ring: Vec<u16>,
    pos: usize,
    len: usize,
}

const BIN_DB: f32 = 0.5;
const MIN_DB: f32 = -130.0;
const BINS: usize = 300; // -130 .. +20 dB

impl NoiseFloor {
    fn new(window: usize, prior: usize) -> Self {
        let mut f = NoiseFloor {
            hist: vec![0; BINS],
            ring: vec![0; window.max(1)],
            pos: 0,
            len: 0,
        };
        for _ in 0..prior.min(window.max(1)) {
            f.push(-100.0);
        }
        f
    }

    fn bin(level: f32) -> u16 {
        (((level - MIN_DB) / BIN_DB).floor().max(0.0) as usize).min(BINS - 1) as u16
    }

    fn push(&mut self, level: f32) {
        let b = Self::bin(level);
        if self.len == self.ring.len() {
            let old = self.ring[self.pos];
            self.hist[usize::from(old)] -= 1;
        } else {
            self.len += 1;
        }
        self.ring[self.pos] = b;
        self.hist[usize::from(b)] += 1;
        self.pos = (self.pos + 1) % self.ring.len();
    }

    /// The level below which a tenth of the window lies (as the offline segmenter's
    /// `sorted[len / 10]`), at bin resolution.
    fn floor(&self) -> f32 {
        let k = self.len / 10;
        let mut seen = 0usize;
        for (i, &c) in self.hist.iter().enumerate() {
            seen += c as usize;
            if seen > k {
                return MIN_DB + (i as f32 + 0.5) * BIN_DB;
            }
        }
        MIN_DB
    }
}

#[derive(Debug, Clone, Copy)]
struct Speech {
    voiced_start: u64,
    voiced_end: u64,
    voiced_end_at: Instant,
    voiced_frames: usize,
    silence_frames: usize,
    next_partial: u64,
    /// `voiced_end` when the last partial was cut (no new speech: no new partial).
    partial_voiced_end: u64,
}

impl Speech {
    fn new(voiced_start: u64, voiced_end: u64, at: Instant, next_partial: u64) -> Speech {
        Speech {
            voiced_start,
            voiced_end,
            voiced_end_at: at,
            voiced_frames: 1,
            silence_frames: 0,
            next_partial,
            partial_voiced_end: 0,
        }
    }
}

/// The endpoint detector. Feed it 16 kHz samples with [`Endpointer::push`]; it calls back
/// with partial and final cuts.
pub struct Endpointer {
    cfg: EndpointConfig,
    hop: usize,
    pad: usize,
    post: usize,
    trailing_frames: usize,
    /// Silence frames before a check and before its confirmation (0: no early finals).
    check_frames: usize,
    early_frames: usize,
    long_pause_frames: usize,
    min_speech_frames: usize,
    keep_whole: usize,
    max_utt: usize,
    partial_every: usize,
    floor: NoiseFloor,
    /// Audio kept: the pre-roll when idle, the utterance in speech. `buf[0]` is `buf_start`.
    buf: Vec<f32>,
    buf_start: u64,
    /// Samples of the frame being filled.
    frame_fill: usize,
    /// Levels and end indices of the last second of frames (forced cuts).
    recent: Vec<(f32, u64)>,
    recent_pos: usize,
    speech: Option<Speech>,
    utterance: u64,
    /// Frames seen (the session clock in frames).
    frames: u64,
}

impl Endpointer {
    /// A detector with all its memory allocated.
    pub fn new(cfg: EndpointConfig) -> Self {
        let seg = cfg.segment;
        let hop = seg.hop.max(1);
        let s = |x: f32| (x.max(0.0) as f64 * RATE).round() as usize;
        let frames = |x: f32| (s(x) / hop).max(1);
        let pad = seg.padding.pre_samples(RATE as u32);
        let post = seg.padding.post_samples(RATE as u32);
        let max_utt = s(cfg.max_utterance_s).max(s(1.0)).max(2 * pad + 2 * hop);
        let recent = (s(1.0) / hop).max(1);
        let trailing_frames = frames(cfg.trailing_silence_s);
        let early_frames = if cfg.early_final_s > 0.0 {
            frames(cfg.early_final_s)
        } else {
            0
        };
        let early_frames = if early_frames < trailing_frames {
            early_frames
        } else {
            0
        };
        let check_frames = if early_frames > 0 {
            frames(cfg.early_check_s).min(early_frames)
        } else {
            0
        };
        Endpointer {
            cfg,
            hop,
            pad,
            post,
            trailing_frames,
            check_frames,
            early_frames,
            long_pause_frames: frames(cfg.long_pause_s),
            min_speech_frames: frames(seg.min_speech_s),
            keep_whole: s(seg.keep_whole_s),
            max_utt,
            partial_every: if cfg.partial_interval_s > 0.0 {
                s(cfg.partial_interval_s).max(hop)
            } else {
                0
            },
            floor: NoiseFloor::new(frames(cfg.floor_window_s), cfg.floor_prior_frames),
            buf: Vec::with_capacity(max_utt + pad + 2 * hop),
            buf_start: 0,
            frame_fill: 0,
            recent: vec![(0.0, 0); recent],
            recent_pos: 0,
            speech: None,
            utterance: 0,
            frames: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &EndpointConfig {
        &self.cfg
    }

    /// Whether an utterance is open.
    pub fn in_speech(&self) -> bool {
        self.speech.is_some()
    }

    /// Session index one past the last sample pushed.
    pub fn position(&self) -> u64 {
        self.buf_start + self.buf.len() as u64
    }

    /// Feeds samples; `end_at` is when the last of them was captured. Calls `emit` for each
    /// partial or final cut that becomes due.
    pub fn push(&mut self, samples: &[f32], end_at: Instant, emit: &mut impl FnMut(Cut<'_>)) {
        let end_idx = self.position() + samples.len() as u64;
        let at = |idx: u64| -> Instant {
            let back = Duration::from_secs_f64(end_idx.saturating_sub(idx) as f64 / RATE);
            end_at.checked_sub(back).unwrap_or(end_at)
        };
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (self.hop - self.frame_fill).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            self.frame_fill += take;
            rest = &rest[take..];
            if self.frame_fill == self.hop {
                self.frame_fill = 0;
                let frame_end = self.position();
                self.on_frame(frame_end, at(frame_end), emit);
            }
        }
    }

    /// The stream ended: an open utterance is finished (its final is emitted).
    pub fn finish(&mut self, now: Instant, emit: &mut impl FnMut(Cut<'_>)) {
        if let Some(sp) = self.speech.take() {
            if sp.voiced_frames >= self.min_speech_frames {
                // The stream may end before the post-roll (the rest is made up later).
                let end = (sp.voiced_end + self.post as u64).min(self.position());
                self.emit_cut(CutKind::Final, &sp, end, now, emit);
            }
            self.utterance += 1;
        }
        self.buf_start = self.position();
        self.buf.clear();
        self.frame_fill = 0;
    }

    fn emit_cut(
        &self,
        kind: CutKind,
        sp: &Speech,
        end: u64,
        audio_end_at: Instant,
        emit: &mut impl FnMut(Cut<'_>),
    ) {
        let n = match kind {
            CutKind::Confirm => 0,
            _ => (end.saturating_sub(self.buf_start) as usize).min(self.buf.len()),
        };
        emit(Cut {
            utterance: self.utterance,
            kind,
            samples: &self.buf[..n],
            start: self.buf_start,
            voiced_start: sp.voiced_start,
            voiced_end: sp.voiced_end.min(end),
            voiced_end_at: sp.voiced_end_at,
            audio_end_at,
        });
    }

    fn on_frame(&mut self, frame_end: u64, frame_at: Instant, emit: &mut impl FnMut(Cut<'_>)) {
        let hop = self.hop as u64;
        let frame_start = frame_end - hop;
        let level = frame_level_db(&self.buf[self.buf.len() - self.hop..]);
        self.frames += 1;
        self.floor.push(level);
        let seg = self.cfg.segment;
        let threshold = (self.floor.floor() + seg.snr_db).max(seg.min_level_db);
        let voiced = level > threshold;
        let slot = self.recent_pos % self.recent.len();
        self.recent[slot] = (level, frame_end);
        self.recent_pos = slot + 1;

        let Some(mut sp) = self.speech else {
            if voiced {
                // Keep `pad` of audio before the first speech frame.
                let keep_from = frame_start
                    .saturating_sub(self.pad as u64)
                    .max(self.buf_start);
                self.drop_front(keep_from);
                self.speech = Some(Speech::new(
                    frame_start,
                    frame_end,
                    frame_at,
                    frame_end + self.partial_every as u64,
                ));
            } else {
                // Idle: only the pre-roll is kept.
                let keep_from = frame_end.saturating_sub(self.pad as u64);
                if keep_from > self.buf_start + hop {
                    self.drop_front(keep_from);
                }
            }
            return;
        };

        if voiced {
            sp.voiced_end = frame_end;
            sp.voiced_end_at = frame_at;
            sp.voiced_frames += 1;
            sp.silence_frames = 0;
        } else {
            sp.silence_frames += 1;
        }
        let utt_len = (frame_end - self.buf_start) as usize;
        let ended = sp.silence_frames >= self.trailing_frames
            || (utt_len > self.keep_whole && sp.silence_frames >= self.long_pause_frames);
        if !ended && self.early_frames > 0 && sp.voiced_frames >= self.min_speech_frames {
            // A pause, perhaps the end: decode what was said (with the post-roll made up as
            // at the end), and say when the pause has lasted long enough.
            if sp.silence_frames == self.check_frames {
                // The check shows the words so far: no partial of the same speech after it.
                sp.partial_voiced_end = sp.voiced_end;
                self.emit_cut(CutKind::Check, &sp, frame_end, frame_at, emit);
            }
            if sp.silence_frames == self.early_frames {
                self.emit_cut(CutKind::Confirm, &sp, frame_end, frame_at, emit);
            }
            if sp.silence_frames == self.check_frames || sp.silence_frames == self.early_frames {
                self.speech = Some(sp);
                return;
            }
        }
        if ended {
            self.speech = None;
            if sp.voiced_frames >= self.min_speech_frames {
                let end = (sp.voiced_end + self.post as u64).min(frame_end);
                self.emit_cut(CutKind::Final, &sp, end, frame_at, emit);
            }
            self.utterance += 1;
            let keep_from = frame_end.saturating_sub(self.pad as u64);
            self.drop_front(keep_from);
            return;
        }
        if utt_len + self.hop > self.max_utt {
            // Forced cut at the quietest frame of the last second.
            let (mut best, mut cut) = (f32::INFINITY, frame_end);
            for &(l, e) in &self.recent {
                if e > self.buf_start + hop && e <= frame_end && l < best {
                    best = l;
                    cut = e - hop / 2;
                }
            }
            self.emit_cut(CutKind::Forced, &sp, cut, frame_at, emit);
            self.utterance += 1;
            self.drop_front(cut);
            sp.voiced_start = cut;
            sp.voiced_end = sp.voiced_end.max(cut);
            sp.next_partial = frame_end + self.partial_every as u64;
            // The rest goes on as an utterance of its own.
            sp.voiced_frames = sp.voiced_frames.max(self.min_speech_frames);
            self.speech = Some(sp);
            return;
        }
        if self.partial_every > 0 && frame_end >= sp.next_partial {
            sp.next_partial = frame_end + self.partial_every as u64;
            if sp.voiced_frames < self.min_speech_frames || sp.voiced_end == sp.partial_voiced_end {
                // Too little speech yet, or none since the last partial (trailing silence).
                self.speech = Some(sp);
                return;
            }
            sp.partial_voiced_end = sp.voiced_end;
            self.speech = Some(sp);
            self.emit_cut(CutKind::Partial, &sp, frame_end, frame_at, emit);
            return;
        }
        self.speech = Some(sp);
    }

    /// Forgets the audio before session index `from`.
    fn drop_front(&mut self, from: u64) {
        let n = (from.saturating_sub(self.buf_start) as usize).min(self.buf.len());
        if n > 0 {
            self.buf.drain(..n);
            self.buf_start += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::audio::test_tone as tone;

    fn silence(secs: f32) -> Vec<f32> {
        vec![0.0; (secs * 16_000.0) as usize]
    }

    /// (kind, start, voiced_start, voiced_end, len) of every cut.
    fn run(
        cfg: EndpointConfig,
        parts: &[Vec<f32>],
        chunk: usize,
    ) -> Vec<(CutKind, u64, u64, u64, usize)> {
        let mut ep = Endpointer::new(cfg);
        let cap = ep.buf.capacity();
        let mut out = Vec::new();
        let all: Vec<f32> = parts.concat();
        for c in all.chunks(chunk) {
            ep.push(c, Instant::now(), &mut |cut| {
                out.push((
                    cut.kind,
                    cut.start,
                    cut.voiced_start,
                    cut.voiced_end,
                    cut.samples.len(),
                ))
            });
            assert_eq!(ep.buf.capacity(), cap, "the buffer must not grow");
        }
        ep.finish(Instant::now(), &mut |cut| {
            out.push((
                cut.kind,
                cut.start,
                cut.voiced_start,
                cut.voiced_end,
                cut.samples.len(),
            ))
        });
        out
    }

    fn finals(cuts: &[(CutKind, u64, u64, u64, usize)]) -> Vec<(u64, usize)> {
        cuts.iter()
            .filter(|c| matches!(c.0, CutKind::Final | CutKind::Forced))
            .map(|c| (c.1, c.4))
            .collect()
    }

    #[test]
    fn utterances_end_after_trailing_silence_with_pre_and_post_roll() {
        let s = 16_000u64;
        let cfg = EndpointConfig::default();
        let cuts = run(
            cfg,
            &[
                silence(1.0),
                tone(1.0, 0.3),
                silence(1.0),
                tone(0.5, 0.3),
                silence(0.2),
            ],
            333,
        );
        let f = finals(&cuts);
        assert_eq!(f.len(), 2, "{cuts:?}");
        // First: 0.7 s .. 2.6 s (0.3 s before, 0.6 s after).
        assert_eq!(f[0], (s * 7 / 10, (s * 19 / 10) as usize));
        // Second: ended by the end of the stream, the tail cut short by it (the model's
        // input gets the rest made up, as offline).
        assert_eq!(f[1].0, 3 * s - s * 3 / 10);
        assert_eq!(f[1].0 + f[1].1 as u64, 3 * s + s / 2 + s / 5);
    }

    #[test]
    fn a_pause_is_checked_then_confirmed_before_the_trailing_silence_ends_it() {
        let s = 16_000u64;
        let mut ep = Endpointer::new(EndpointConfig::default());
        let all = [
            silence(0.5),
            tone(1.0, 0.3),
            silence(0.3),
            tone(0.5, 0.3),
            silence(1.0),
        ]
        .concat();
        // (kind, voiced_end, samples)
        let mut cuts = Vec::new();
        for c in all.chunks(160) {
            ep.push(c, Instant::now(), &mut |cut| {
                if cut.kind != CutKind::Partial {
                    cuts.push((cut.kind, cut.voiced_end, cut.samples.len()));
                }
            });
        }
        let kinds: Vec<CutKind> = cuts.iter().map(|c| c.0).collect();
        use CutKind::*;
        // Each pause is checked and confirmed; only the last one is long enough to end it.
        assert_eq!(
            kinds,
            vec![Check, Confirm, Check, Confirm, Final],
            "{cuts:?}"
        );
        let first_end = s / 2 + s;
        assert_eq!(cuts[0].1, first_end);
        assert_eq!(
            cuts[1].1, first_end,
            "the confirmation names the checked pause"
        );
        assert_eq!(cuts[1].2, 0, "a confirmation carries no audio");
        // The check: 0.3 s before speech, the speech and 0.08 s of pause heard (the rest of
        // the post-roll is made up for the model).
        assert_eq!(cuts[0].2 as u64, s * 3 / 10 + s + s * 8 / 100);
        // The utterance went on after the pause: the final covers both stretches of speech.
        let second_end = first_end + s * 3 / 10 + s / 2;
        assert_eq!(cuts[4].1, second_end);
        assert_eq!(
            cuts[4].2 as u64,
            s * 3 / 10 + s + s * 3 / 10 + s / 2 + s * 6 / 10
        );
    }

    #[test]
    fn no_checks_without_early_finals() {
        let cfg = EndpointConfig {
            early_final_s: 0.0,
            ..EndpointConfig::default()
        };
        let cuts = run(
            cfg,
            &[
                silence(0.5),
                tone(1.0, 0.3),
                silence(0.3),
                tone(0.5, 0.3),
                silence(1.0),
            ],
            160,
        );
        let kinds: Vec<CutKind> = cuts
            .iter()
            .map(|c| c.0)
            .filter(|k| *k != CutKind::Partial)
            .collect();
        assert_eq!(kinds, vec![CutKind::Final]);
    }

    #[test]
    fn partials_come_every_300_ms_of_speech() {
        let cuts = run(
            EndpointConfig::default(),
            &[silence(0.5), tone(3.0, 0.3), silence(1.0)],
            160,
        );
        let partial_ends: Vec<u64> = cuts
            .iter()
            .filter(|c| c.0 == CutKind::Partial)
            .map(|c| c.1 + c.4 as u64)
            .collect();
        assert!(partial_ends.len() >= 9, "{partial_ends:?}");
        for w in partial_ends.windows(2) {
            assert!(w[1] - w[0] <= 4_800, "{partial_ends:?}");
        }
        assert!(partial_ends[0] <= 8_000 + 4_800 + 160);
    }

    #[test]
    fn speech_at_the_very_start_is_found() {
        let cuts = run(
            EndpointConfig::default(),
            &[tone(1.0, 0.3), silence(1.0)],
            512,
        );
        let f = finals(&cuts);
        assert_eq!(f, vec![(0, 16_000 + 9_600)]);
    }

    #[test]
    fn clicks_and_silence_give_nothing() {
        let cuts = run(
            EndpointConfig::default(),
            &[silence(2.0), tone(0.03, 0.5), silence(2.0)],
            1000,
        );
        assert!(cuts.is_empty(), "{cuts:?}");
    }

    #[test]
    fn endless_speech_is_cut_and_memory_stays_fixed() {
        let cfg = EndpointConfig::default();
        // 50 s of speech with 0.1 s gaps: never a real pause.
        let mut parts = Vec::new();
        for _ in 0..100 {
            parts.push(tone(0.4, 0.3));
            parts.push(silence(0.1));
        }
        let cuts = run(cfg, &parts, 777);
        let f = finals(&cuts);
        assert!(f.len() >= 3, "{f:?}");
        for (start, len) in &f {
            assert!(*len <= 20 * 16_000, "{start} {len}");
        }
        // Pieces follow each other without losing audio.
        for w in f.windows(2) {
            assert!(w[1].0 <= w[0].0 + w[0].1 as u64, "{f:?}");
        }
        // Past 12 s, a short (0.3 s) pause would end the utterance; 0.1 s gaps do not.
        assert!(cuts.iter().any(|c| c.0 == CutKind::Forced));
    }

    #[test]
    fn a_pause_ends_long_speech_after_keep_whole() {
        let mut parts = vec![];
        for _ in 0..30 {
            parts.push(tone(0.4, 0.3));
            parts.push(silence(0.1));
        }
        parts.push(silence(0.35));
        parts.push(tone(1.0, 0.3));
        parts.push(silence(1.0));
        let cuts = run(EndpointConfig::default(), &parts, 160);
        let f = finals(&cuts);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(!cuts.iter().any(|c| c.0 == CutKind::Forced));
    }

    #[test]
    fn noise_floor_adapts_to_steady_noise() {
        let mut seed = 7u32;
        let mut noise = |secs: f32| -> Vec<f32> {
            (0..(secs * 16_000.0) as usize)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 8) as f32 / (1u32 << 24) as f32 * 0.02 - 0.01
                })
                .collect()
        };
        // Noise at about -45 dBFS (above the absolute -55 dB level), then a word in it.
        let mut x = noise(8.0);
        let mut word = tone(1.0, 0.3);
        for (w, n) in word.iter_mut().zip(noise(1.0)) {
            *w += n;
        }
        x.extend(word);
        x.extend(noise(2.0));
        let cuts = run(EndpointConfig::default(), &[x], 480);
        let f = finals(&cuts);
        // The start may be taken as speech until the floor is known; the word is found alone.
        let last = *f.last().expect("a final");
        assert!(
            last.0 >= 8 * 16_000 - 4_800 - 160 && last.0 <= 8 * 16_000,
            "{f:?}"
        );
        assert!(last.1 <= 16_000 + 4_800 + 9_600 + 320, "{f:?}");
    }
}
