//! Recording conditions the acoustic model is sensitive to, evened out before it hears the
//! audio, the same way offline and live:
//!
//! - **DC offset** ([`DcBlocker`]): a constant offset (cheap sound cards, some phone
//!   recordings) shifts every frame's energy and turns the digital silence and made-up quiet
//!   around an utterance into a step. A one-pole high-pass at about 10 Hz removes it. It is
//!   causal and keeps its state across calls, so a stream filtered chunk by chunk (live) gives
//!   exactly the samples of the whole file filtered at once (offline).
//! - **Quiet speech** ([`LevelConfig`]): the model hears speech far below the level it was
//!   trained at poorly. An utterance whose speech level (the 95th percentile of its 10 ms
//!   frame levels) is below [`LevelConfig::min_speech_db`] is raised to it, by at most
//!   [`LevelConfig::max_gain_db`] and never so far that its peak passes
//!   [`LevelConfig::max_peak`]. Louder speech is left as it is: normalizing every utterance
//!   to one level measured worse on real recordings (BENCHMARKS.md, "Recording conditions").

use super::segment::frame_level_db;

/// Cut-off of the DC blocker (Hz).
pub const DC_CUTOFF_HZ: f64 = 10.0;

/// A streaming first-order DC blocker, `y[n] = x[n] - x[n-1] + r y[n-1]`, for 16 kHz audio.
#[derive(Debug, Clone, Copy)]
pub struct DcBlocker {
    r: f32,
    prev_x: f32,
    prev_y: f32,
    /// No sample seen yet: the first one sets the level the filter starts from, so a stream
    /// that starts with an offset does not start with a step.
    fresh: bool,
}

impl Default for DcBlocker {
    fn default() -> Self {
        Self::new(16_000)
    }
}

impl DcBlocker {
    /// A blocker for audio at `rate` Hz, cut-off [`DC_CUTOFF_HZ`].
    pub fn new(rate: u32) -> Self {
        let r = (-2.0 * std::f64::consts::PI * DC_CUTOFF_HZ / f64::from(rate.max(1))).exp();
        DcBlocker {
            r: r as f32,
            prev_x: 0.0,
            prev_y: 0.0,
            fresh: true,
        }
    }

    /// Filters `samples` in place, going on from the previous call. Non-finite samples are
    /// taken as 0 (they would otherwise poison the state for good).
    pub fn process(&mut self, samples: &mut [f32]) {
        for s in samples {
            let x = if s.is_finite() { *s } else { 0.0 };
            if self.fresh {
                self.prev_x = x;
                self.fresh = false;
            }
            let y = x - self.prev_x + self.r * self.prev_y;
            self.prev_x = x;
            self.prev_y = y;
            *s = y;
        }
    }
}

/// DC removal and the floor on an utterance's speech level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelConfig {
    /// Remove DC offset ([`DcBlocker`]) from the whole input or stream.
    pub remove_dc: bool,
    /// Speech below this level (dBFS, the 95th percentile of 10 ms frame levels) is raised
    /// to it. `-inf`: never.
    pub min_speech_db: f32,
    /// The most an utterance is raised (dB).
    pub max_gain_db: f32,
    /// The highest peak a raised utterance may reach (full scale 1).
    pub max_peak: f32,
}

impl Default for LevelConfig {
    fn default() -> Self {
        LevelConfig {
            remove_dc: true,
            min_speech_db: -25.0,
            max_gain_db: 30.0,
            max_peak: 0.9,
        }
    }
}

impl LevelConfig {
    /// Checks the settings: `min_speech_db` from -120 to 0 dBFS (or `-inf`), `max_gain_db`
    /// from 0 to 60 dB, `max_peak` above 0 and at most 1.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ConfigError;
        if !(self.min_speech_db == f32::NEG_INFINITY
            || (-120.0..=0.0).contains(&self.min_speech_db))
        {
            return Err(ConfigError::new(
                "min_speech_db",
                format!(
                    "must be between -120 and 0 dBFS, or -inf, got {}",
                    self.min_speech_db
                ),
            ));
        }
        if !(0.0..=60.0).contains(&self.max_gain_db) {
            return Err(ConfigError::new(
                "max_gain_db",
                format!("must be between 0 and 60 dB, got {}", self.max_gain_db),
            ));
        }
        crate::ranges::positive("max_peak", self.max_peak, 1.0)
    }

    /// The gain (linear, at least 1) that brings the speech in `samples` (16 kHz) up to the
    /// floor.
    pub fn gain(&self, samples: &[f32]) -> f32 {
        if samples.is_empty() || self.min_speech_db == f32::NEG_INFINITY {
            return 1.0;
        }
        let mut levels: Vec<f32> = samples.chunks(160).map(frame_level_db).collect();
        let k = (levels.len() * 95 / 100).min(levels.len() - 1);
        let (_, &mut level, _) = levels.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
        if level.is_nan() || level >= self.min_speech_db {
            return 1.0;
        }
        let peak = samples
            .iter()
            .filter(|x| x.is_finite())
            .fold(0.0f32, |m, x| m.max(x.abs()));
        let db = (self.min_speech_db - level).min(self.max_gain_db);
        let mut g = 10f32.powf(db / 20.0);
        if peak > 0.0 {
            g = g.min(self.max_peak / peak);
        }
        g.max(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, amp: f32) -> Vec<f32> {
        (0..n).map(|i| amp * (i as f32 * 0.2).sin()).collect()
    }

    #[test]
    fn dc_is_removed_and_chunks_filter_like_the_whole() {
        let x: Vec<f32> = tone(16_000, 0.1).iter().map(|v| v + 0.05).collect();
        let mut whole = x.clone();
        DcBlocker::default().process(&mut whole);
        let tail = &whole[8_000..];
        let mean = tail.iter().sum::<f32>() / tail.len() as f32;
        assert!(mean.abs() < 1e-3, "mean {mean}");
        // The tone itself (about 500 Hz) passes.
        let peak = tail.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((peak - 0.1).abs() < 0.005, "peak {peak}");
        let mut chunked = x.clone();
        let mut b = DcBlocker::default();
        for c in chunked.chunks_mut(333) {
            b.process(c);
        }
        assert_eq!(chunked, whole);
        // No step at the start: the first sample is the level it starts from.
        assert_eq!(whole[0], 0.0);
        assert!(whole[..100].iter().all(|v| v.abs() < 0.11));
        let mut bad = vec![f32::NAN, 1.0, f32::INFINITY];
        DcBlocker::default().process(&mut bad);
        assert!(bad.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn only_quiet_speech_is_raised_and_never_clipped() {
        let cfg = LevelConfig::default();
        // A 0.1 amplitude tone is about -23 dBFS: left alone.
        assert_eq!(cfg.gain(&tone(16_000, 0.1)), 1.0);
        // 0.01 (-43 dBFS) is raised to the floor: +18 dB.
        let g = cfg.gain(&tone(16_000, 0.01));
        assert!((20.0 * g.log10() - 18.0).abs() < 0.5, "gain {g}");
        // At most max_gain_db...
        let g = cfg.gain(&tone(16_000, 0.0001));
        assert!((20.0 * g.log10() - 30.0).abs() < 1e-3, "gain {g}");
        // ...and never past the peak limit: a click at 0.5 in quiet speech.
        let mut x = tone(16_000, 0.01);
        x[100] = 0.5;
        assert!((cfg.gain(&x) - 1.8).abs() < 1e-3);
        assert_eq!(cfg.gain(&[]), 1.0);
        let off = LevelConfig {
            min_speech_db: f32::NEG_INFINITY,
            ..cfg
        };
        assert_eq!(off.gain(&tone(16_000, 0.0001)), 1.0);
    }

    #[test]
    fn bad_level_settings_are_rejected() {
        assert!(LevelConfig::default().validate().is_ok());
        for (min, gain, peak) in [
            (f32::NAN, 30.0, 0.9),
            (5.0, 30.0, 0.9),
            (-25.0, -1.0, 0.9),
            (-25.0, 30.0, 0.0),
            (-25.0, 30.0, 1.5),
        ] {
            let c = LevelConfig {
                min_speech_db: min,
                max_gain_db: gain,
                max_peak: peak,
                ..LevelConfig::default()
            };
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
