//! Cutting long audio into speech segments at pauses (energy-based voice activity).
//!
//! The acoustic model normalizes over what it is given: a word after many seconds of silence
//! or noise comes out wrong or not at all. So long input is cut at pauses and each stretch of
//! speech is recognized on its own, padded as every utterance is ([`Padding`]: real audio
//! around the speech, a made-up post-roll where the input ends too soon, see
//! [`ModelInput`]). Silence between segments costs no model time.

use super::level::LevelConfig;
use super::pad::Padding;
#[cfg(doc)]
use super::utterance::ModelInput;
use std::ops::Range;

/// Settings of the segmenter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentConfig {
    /// Frame hop in samples (10 ms at 16 kHz).
    pub hop: usize,
    /// A frame is speech when its energy is this many dB above the noise floor...
    pub snr_db: f32,
    /// ...and above this absolute level (dBFS).
    pub min_level_db: f32,
    /// Pauses shorter than this (s) do not split a segment.
    pub min_pause_s: f32,
    /// Speech shorter than this (s) is ignored (clicks).
    pub min_speech_s: f32,
    /// Audio around each stretch of speech (the same for live utterances).
    pub padding: Padding,
    /// The floor on the level of each stretch of speech (the same for live utterances).
    pub level: LevelConfig,
    /// Input up to this long (s) is never cut: the model handles it whole.
    pub keep_whole_s: f32,
    /// Speech running longer than this (s) without a pause of `min_pause_s` is cut at its
    /// quietest 10 ms in the second half of this span, so that one segment's audio and
    /// posteriors stay bounded whatever the input (hours of music are not one segment).
    pub max_segment_s: f32,
}

impl SegmentConfig {
    /// Checks every setting (its padding and level floor included): `Err` names the first
    /// that is out of its range.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ranges::{count, seconds, within};
        count("hop", self.hop, 16, 16_000)?;
        within("snr_db", self.snr_db, 0.0, 100.0)?;
        within("min_level_db", self.min_level_db, -120.0, 0.0)?;
        seconds("min_pause_s", self.min_pause_s, 0.0, 60.0)?;
        seconds("min_speech_s", self.min_speech_s, 0.0, 60.0)?;
        seconds("keep_whole_s", self.keep_whole_s, 0.0, 3600.0)?;
        seconds("max_segment_s", self.max_segment_s, 2.0, 3600.0)?;
        self.padding.validate().map_err(|e| e.within("padding"))?;
        self.level.validate().map_err(|e| e.within("level"))
    }
}

impl Default for SegmentConfig {
    fn default() -> Self {
        SegmentConfig {
            hop: 160,
            snr_db: 12.0,
            min_level_db: -65.0,
            min_pause_s: 0.8,
            min_speech_s: 0.08,
            padding: Padding::default(),
            level: LevelConfig::default(),
            keep_whole_s: 12.0,
            max_segment_s: 60.0,
        }
    }
}

/// Mean energy of one frame in dB relative to full scale (silence: -120).
pub fn frame_level_db(frame: &[f32]) -> f32 {
    let e = frame.iter().map(|x| x * x).sum::<f32>() / frame.len().max(1) as f32;
    10.0 * (e + 1e-12).log10()
}

/// Which 10 ms frames (`cfg.hop` samples) of `samples` are speech: more than `snr_db` above
/// the noise floor (the 10th percentile of the frame levels) and above `min_level_db`.
pub fn speech_frames(samples: &[f32], cfg: &SegmentConfig) -> Vec<bool> {
    speech_of(&frame_levels(samples, cfg), cfg)
}

fn frame_levels(samples: &[f32], cfg: &SegmentConfig) -> Vec<f32> {
    samples.chunks(cfg.hop.max(1)).map(frame_level_db).collect()
}

/// The frame levels [`speech_segments`] judges, taken from audio that arrives in pieces:
/// 4 bytes per 10 ms kept (1.7 MB an hour), not the audio. [`FrameLevels::segments`] then
/// gives what [`speech_segments`] gives for the whole input.
#[derive(Debug, Clone, Default)]
pub struct FrameLevels {
    hop: usize,
    partial: Vec<f32>,
    levels: Vec<f32>,
    samples: usize,
}

impl FrameLevels {
    /// Levels of frames of `cfg.hop` samples.
    pub fn new(cfg: &SegmentConfig) -> Self {
        FrameLevels {
            hop: cfg.hop.max(1),
            ..Default::default()
        }
    }

    /// Takes the next samples of the input.
    pub fn push(&mut self, mut samples: &[f32]) {
        self.samples += samples.len();
        if !self.partial.is_empty() {
            let take = (self.hop - self.partial.len()).min(samples.len());
            self.partial.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            if self.partial.len() == self.hop {
                self.levels.push(frame_level_db(&self.partial));
                self.partial.clear();
            }
        }
        let mut frames = samples.chunks_exact(self.hop);
        self.levels.extend(frames.by_ref().map(frame_level_db));
        self.partial.extend_from_slice(frames.remainder());
    }

    /// Samples taken so far.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// The input has ended: its speech segments, as [`speech_segments`] cuts them.
    pub fn segments(mut self, cfg: &SegmentConfig) -> Vec<Range<usize>> {
        if !self.partial.is_empty() {
            self.levels.push(frame_level_db(&self.partial));
        }
        segments_of_levels(&self.levels, self.samples, cfg)
    }
}

fn speech_of(level: &[f32], cfg: &SegmentConfig) -> Vec<bool> {
    if level.is_empty() {
        return Vec::new();
    }
    let mut sorted = level.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let floor = sorted[sorted.len() / 10];
    let threshold = (floor + cfg.snr_db).max(cfg.min_level_db);
    level.iter().map(|&l| l > threshold).collect()
}

/// Whether frames of these levels are all speech, trimmed tight on both sides (an isolated
/// word cut at its edges): no frame is quiet enough to be the noise floor [`speech_frames`]
/// compares with, but the loudest frame is `snr_db` above the quietest and above
/// `min_level_db`. Steady noise has no such range.
fn trimmed_inside_speech(level: &[f32], cfg: &SegmentConfig) -> bool {
    let lo = level.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = level.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    hi > cfg.min_level_db && hi - lo > cfg.snr_db
}

/// The samples of `samples` from its first speech frame to the end of its last
/// ([`speech_frames`], judged by its own noise floor); `None` without speech.
pub fn voiced_range(samples: &[f32], cfg: &SegmentConfig) -> Option<Range<usize>> {
    let hop = cfg.hop.max(1);
    let speech = speech_frames(samples, cfg);
    let first = speech.iter().position(|&s| s)?;
    let last = speech.iter().rposition(|&s| s)?;
    Some(first * hop..((last + 1) * hop).min(samples.len()))
}

/// Speech segments of `samples` (16 kHz) as sample ranges, in order, not overlapping: the
/// speech, its pre-roll and as much of its post-roll as the input has (the model hears
/// each through [`ModelInput::new`]). Empty when there is no speech at all. Input up to
/// `keep_whole_s` is one segment, the whole input.
pub fn speech_segments(samples: &[f32], cfg: &SegmentConfig) -> Vec<Range<usize>> {
    segments_of_levels(&frame_levels(samples, cfg), samples.len(), cfg)
}

/// [`speech_segments`] of `n` samples whose frame levels are `level`.
fn segments_of_levels(level: &[f32], n: usize, cfg: &SegmentConfig) -> Vec<Range<usize>> {
    let rate = 16_000.0f32;
    let hop = cfg.hop.max(1);
    let speech = speech_of(level, cfg);
    let frames = speech.len();
    if n as f32 / rate <= cfg.keep_whole_s {
        return if speech.iter().any(|&s| s) || trimmed_inside_speech(level, cfg) {
            vec![Range { start: 0, end: n }]
        } else {
            Vec::new()
        };
    }
    let pad = &cfg.padding;
    let post = pad.post_samples(16_000);
    let pre = pad.pre_samples(16_000);
    let to_frames = |s: f32| (s * rate / hop as f32).round() as usize;
    let min_pause = to_frames(cfg.min_pause_s).max(1);
    let min_speech = to_frames(cfg.min_speech_s).max(1);
    // Runs of speech frames, joined across short pauses.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < frames {
        if !speech[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < frames && speech[i] {
            i += 1;
        }
        match runs.last_mut() {
            Some(last) if start - last.1 < min_pause => last.1 = i,
            _ => runs.push((start, i)),
        }
    }
    runs.retain(|&(s, e)| e - s >= min_speech);
    let runs = cut_long_runs(runs, level, to_frames(cfg.max_segment_s));
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut prev_voiced_end = 0;
    for (s, e) in runs {
        let (voiced_start, voiced_end) = (s * hop, (e * hop).min(n));
        let a = voiced_start.saturating_sub(pre);
        let b = (voiced_end + post).min(n);
        match out.last_mut() {
            // The rolls meet the previous segment's: split the pause in the middle.
            Some(prev) if a < prev.end => {
                let mid = (prev_voiced_end + voiced_start) / 2;
                prev.end = mid.max(prev.start);
                out.push(mid..b);
            }
            _ => out.push(a..b),
        }
        prev_voiced_end = voiced_end;
    }
    out
}

/// Runs of speech frames cut so that none is longer than `max` frames: each cut at the
/// quietest frame of the second half of the `max` frames it starts with.
fn cut_long_runs(runs: Vec<(usize, usize)>, level: &[f32], max: usize) -> Vec<(usize, usize)> {
    let max = max.max(2);
    let mut out = Vec::with_capacity(runs.len());
    for (mut s, e) in runs {
        while e - s > max {
            let from = s + max / 2;
            let cut = (from..s + max)
                .min_by(|&a, &b| level[a].total_cmp(&level[b]).then(a.cmp(&b)))
                .unwrap_or(s + max);
            out.push((s, cut));
            s = cut;
        }
        out.push((s, e));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::audio::test_tone as tone;

    #[test]
    fn short_input_is_one_segment_or_none() {
        let mut x = vec![0.0; 8_000];
        assert!(speech_segments(&x, &SegmentConfig::default()).is_empty());
        x.extend(tone(1.0, 0.3));
        assert_eq!(
            speech_segments(&x, &SegmentConfig::default()),
            vec![0..x.len()]
        );
        assert_eq!(
            voiced_range(&x, &SegmentConfig::default()),
            Some(8_000..x.len())
        );
        assert!(speech_segments(&[], &SegmentConfig::default()).is_empty());
        assert_eq!(voiced_range(&[], &SegmentConfig::default()), None);
    }

    #[test]
    fn a_word_trimmed_inside_its_speech_is_still_speech() {
        // 0.3 s of "speech" whose level rises 16 dB and falls again, with no quiet frame
        // around it (FSDD digits are cut like this): the quietest 10% of the frames are
        // speech too, so no frame is 12 dB above them.
        let x: Vec<f32> = (0..4_800)
            .map(|i| {
                let env = 0.05 + 0.25 * (std::f32::consts::PI * i as f32 / 4_800.0).sin();
                env * (i as f32 * 0.2).sin()
            })
            .collect();
        let cfg = SegmentConfig::default();
        assert!(!speech_frames(&x, &cfg).iter().any(|&s| s));
        assert_eq!(speech_segments(&x, &cfg), vec![0..x.len()]);
        // Steady sound of the same length has no such range: not speech.
        assert!(speech_segments(&tone(0.3, 0.2), &cfg).is_empty());
        // Nor has anything below the absolute speech level.
        let faint: Vec<f32> = x.iter().map(|v| v * 1e-3).collect();
        assert!(speech_segments(&faint, &cfg).is_empty());
    }

    #[test]
    fn long_input_is_cut_at_pauses_with_pre_and_post_roll() {
        let mut x = vec![0.0; 16_000 * 20];
        x.extend(tone(2.0, 0.3));
        x.extend(vec![0.0; 16_000 * 5]);
        x.extend(tone(1.0, 0.3));
        x.extend(vec![0.0; 16_000 / 2]); // short pause: not a cut
        x.extend(tone(1.0, 0.3));
        x.extend(vec![0.0; 16_000 * 3]);
        let seg = speech_segments(&x, &SegmentConfig::default());
        let s = 16_000;
        // 0.3 s before the speech, 1 s after.
        assert_eq!(
            seg,
            vec![
                (20 * s - s * 3 / 10)..(23 * s),
                (27 * s - s * 3 / 10)..(27 * s + s * 5 / 2 + s)
            ]
        );
    }

    #[test]
    fn rolls_that_meet_split_the_pause_in_the_middle() {
        let s = 16_000;
        let mut x = vec![0.0; s * 13];
        x.extend(tone(1.0, 0.3));
        x.extend(vec![0.0; s * 8 / 10]); // a cut, but shorter than both rolls together
        x.extend(tone(1.0, 0.3));
        x.extend(vec![0.0; s]);
        let seg = speech_segments(&x, &SegmentConfig::default());
        let mid = 14 * s + s * 4 / 10;
        assert_eq!(seg, vec![(13 * s - s * 3 / 10)..mid, mid..x.len()]);
    }

    #[test]
    fn steady_noise_is_not_speech() {
        let mut seed = 1u32;
        let mut noise = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 * 0.004 - 0.002
        };
        let mut x: Vec<f32> = (0..16_000 * 30).map(|_| noise()).collect();
        let at = 16_000 * 25;
        for (i, v) in tone(1.5, 0.2).into_iter().enumerate() {
            x[at + i] += v;
        }
        let seg = speech_segments(&x, &SegmentConfig::default());
        assert_eq!(seg.len(), 1, "{seg:?}");
        assert!(seg[0].start >= at - 16_000 / 2 && seg[0].end <= at + 16_000 * 3);
    }

    #[test]
    fn levels_taken_in_pieces_give_the_same_segments() {
        let s = 16_000;
        let mut x = vec![0.0; s * 13];
        x.extend(tone(1.0, 0.3));
        x.extend(vec![0.0; s * 3]);
        x.extend(tone(2.3, 0.2));
        x.extend(vec![0.0; 1234]);
        let cfg = SegmentConfig::default();
        let want = speech_segments(&x, &cfg);
        assert_eq!(want.len(), 2);
        for piece in [1, 159, 160, 161, 7_999, x.len()] {
            let mut levels = FrameLevels::new(&cfg);
            for p in x.chunks(piece) {
                levels.push(p);
            }
            assert_eq!(levels.samples(), x.len());
            assert_eq!(levels.segments(&cfg), want, "pieces of {piece}");
        }
    }

    #[test]
    fn speech_without_pauses_is_cut_into_bounded_segments_at_quiet_frames() {
        let s = 16_000;
        // (Silence around it: a tenth of the input, the noise floor.)
        let mut x = vec![0.0; s * 20];
        // 150 s of "speech" whose level dips (not to a pause) every 7 s.
        x.extend((0..s * 150).map(|i| {
            let dip = (i / (s / 10)) % 70 == 0;
            (if dip { 0.05 } else { 0.3 }) * (i as f32 * 0.2).sin()
        }));
        x.extend(vec![0.0; s * 20]);
        let cfg = SegmentConfig::default();
        let seg = speech_segments(&x, &cfg);
        assert!(seg.len() >= 3, "{seg:?}");
        for w in seg.windows(2) {
            assert_eq!(w[0].end, w[1].start, "cut segments meet: {seg:?}");
            // Cut inside a dip (at a multiple of 7 s from the speech's start).
            let at = (w[0].end - 20 * s) % (7 * s);
            assert!(at < s / 10, "cut at {} s", w[0].end as f32 / s as f32);
        }
        let longest = seg.iter().map(|r| r.len()).max().unwrap();
        assert!(longest <= (cfg.max_segment_s as usize + 2) * s, "{seg:?}");
        assert_eq!(seg[0].start, 20 * s - s * 3 / 10);
        assert_eq!(seg.last().unwrap().end, 170 * s + s);
    }
}
