//! Cutting long audio into speech segments at pauses (energy-based voice activity).
//!
//! The acoustic model normalizes over what it is given: a word after many seconds of silence
//! or noise comes out wrong or not at all. So long input is cut at pauses and each stretch of
//! speech is recognized on its own, with a little silence around it, as the model was trained.
//! Silence between segments costs no model time.

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
    /// Silence kept on each side of a segment (s).
    pub pad_s: f32,
    /// Input up to this long (s) is never cut: the model handles it whole.
    pub keep_whole_s: f32,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        SegmentConfig {
            hop: 160,
            snr_db: 12.0,
            min_level_db: -55.0,
            min_pause_s: 0.8,
            min_speech_s: 0.08,
            pad_s: 0.3,
            keep_whole_s: 12.0,
        }
    }
}

/// Mean energy of one frame in dB relative to full scale (silence: -120).
pub fn frame_level_db(frame: &[f32]) -> f32 {
    let e = frame.iter().map(|x| x * x).sum::<f32>() / frame.len().max(1) as f32;
    10.0 * (e + 1e-12).log10()
}

/// Speech segments of `samples` (16 kHz) as sample ranges, in order, not overlapping.
/// Empty when there is no speech at all.
pub fn speech_segments(samples: &[f32], cfg: &SegmentConfig) -> Vec<std::ops::Range<usize>> {
    let rate = 16_000.0f32;
    let n = samples.len();
    if n == 0 {
        return Vec::new();
    }
    let hop = cfg.hop.max(1);
    let frames = n.div_ceil(hop);
    let level: Vec<f32> = (0..frames)
        .map(|i| frame_level_db(&samples[i * hop..((i + 1) * hop).min(n)]))
        .collect();
    // Noise floor: a low percentile of frame levels.
    let mut sorted = level.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let floor = sorted[sorted.len() / 10];
    let threshold = (floor + cfg.snr_db).max(cfg.min_level_db);
    let speech: Vec<bool> = level.iter().map(|&l| l > threshold).collect();
    if n as f32 / rate <= cfg.keep_whole_s {
        return if speech.iter().any(|&s| s) {
            vec![0..n]
        } else {
            Vec::new()
        };
    }
    let to_frames = |s: f32| (s * rate / hop as f32).round() as usize;
    let min_pause = to_frames(cfg.min_pause_s).max(1);
    let min_speech = to_frames(cfg.min_speech_s).max(1);
    let pad = (cfg.pad_s * rate) as usize;
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
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for (s, e) in runs {
        let a = (s * hop).saturating_sub(pad);
        let b = (e * hop + pad).min(n);
        match out.last_mut() {
            // Padding may meet the previous segment's: split the gap in the middle.
            Some(prev) if a < prev.end => {
                let mid = (prev.end - pad + a + pad) / 2;
                prev.end = mid.max(prev.start);
                out.push(mid..b);
            }
            _ => out.push(a..b),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(secs: f32, amp: f32) -> Vec<f32> {
        (0..(secs * 16_000.0) as usize)
            .map(|i| amp * (i as f32 * 0.2).sin())
            .collect()
    }

    #[test]
    fn short_input_is_one_segment_or_none() {
        let mut x = vec![0.0; 8_000];
        assert!(speech_segments(&x, &SegmentConfig::default()).is_empty());
        x.extend(tone(1.0, 0.3));
        assert_eq!(
            speech_segments(&x, &SegmentConfig::default()),
            vec![0..x.len()]
        );
        assert!(speech_segments(&[], &SegmentConfig::default()).is_empty());
    }

    #[test]
    fn long_input_is_cut_at_pauses_with_padding() {
        let mut x = vec![0.0; 16_000 * 20];
        x.extend(tone(2.0, 0.3));
        x.extend(vec![0.0; 16_000 * 5]);
        x.extend(tone(1.0, 0.3));
        x.extend(vec![0.0; 16_000 / 2]); // short pause: not a cut
        x.extend(tone(1.0, 0.3));
        x.extend(vec![0.0; 16_000 * 3]);
        let seg = speech_segments(&x, &SegmentConfig::default());
        assert_eq!(seg.len(), 2, "{seg:?}");
        let s = 16_000;
        assert_eq!(seg[0], (20 * s - s * 3 / 10)..(22 * s + s * 3 / 10));
        assert_eq!(seg[1].start, 27 * s - s * 3 / 10);
        assert_eq!(seg[1].end, 27 * s + s * 5 / 2 + s * 3 / 10);
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
        assert!(seg[0].start >= at - 16_000 / 2 && seg[0].end <= at + 16_000 * 2);
    }
}
