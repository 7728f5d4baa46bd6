//! How a stretch of speech is padded before the acoustic model hears it: one policy for a
//! file kept whole, each segment cut from a long file, and each live utterance.
//!
//! The model needs audio on both sides of a word: without some after it, the last phones
//! of an utterance are never emitted (AN4 "start" comes out `s t` from a file trimmed at the
//! word's end, `s t ɑ ɹ t` with 0.3 s of silence after it). So every utterance runs from
//! [`Padding::pre_roll_s`] before its first speech frame to [`Padding::post_roll_s`] after
//! its last one. Real audio is used where the input has it; where it does not (a file
//! trimmed tight, a live utterance declared over after a short pause) the missing post-roll
//! is made up ([`Fill`]). In front of every call the model hears a lead-in of its own
//! ([`crate::model::AcousticModel::posteriors_led`]); [`Padding::lead`] makes it from the
//! quiet heard before the speech rather than digital silence.
//!
//! Made-up audio is the quiet of the room played back and forth ([`Fill::Mirror`]), so its
//! level and spectrum go on without a click; measured on real recordings (BENCHMARKS.md,
//! "Real recorded speech") it beats digital silence. Quiet shorter than [`Padding::min_quiet_s`] is not repeated (a few
//! milliseconds played back and forth are a buzz): digital silence instead.

/// How missing audio around the speech is made up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fill {
    /// The quiet heard next to the speech, played back and forth ([`append_quiet`]);
    /// digital silence when less than [`Padding::min_quiet_s`] of it was heard.
    #[default]
    Mirror,
    /// Digital silence.
    Silence,
}

/// Audio around a stretch of speech given to the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Padding {
    /// Audio kept before the first speech frame (s).
    pub pre_roll_s: f32,
    /// Audio after the last speech frame (s): real audio where there is some, made up
    /// ([`Padding::fill`]) for the rest.
    pub post_roll_s: f32,
    /// How the missing part of the post-roll and the model's lead-in are made up.
    pub fill: Fill,
    /// Least quiet (s) heard next to the speech that [`Fill::Mirror`] plays back and forth.
    pub min_quiet_s: f32,
}

impl Default for Padding {
    fn default() -> Self {
        Padding {
            pre_roll_s: 0.3,
            post_roll_s: 1.0,
            fill: Fill::Mirror,
            min_quiet_s: 0.05,
        }
    }
}

/// Longest accepted pre- or post-roll (s).
pub const MAX_ROLL_S: f32 = 10.0;

impl Padding {
    /// Checks the settings: both rolls and `min_quiet_s` finite, from 0 to [`MAX_ROLL_S`]
    /// seconds.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ranges::seconds;
        seconds("pre_roll_s", self.pre_roll_s, 0.0, MAX_ROLL_S)?;
        seconds("post_roll_s", self.post_roll_s, 0.0, MAX_ROLL_S)?;
        seconds("min_quiet_s", self.min_quiet_s, 0.0, MAX_ROLL_S)
    }

    /// The pre-roll in samples at `rate`.
    pub fn pre_samples(&self, rate: u32) -> usize {
        seconds_to_samples(self.pre_roll_s, rate)
    }

    /// The post-roll in samples at `rate`.
    pub fn post_samples(&self, rate: u32) -> usize {
        seconds_to_samples(self.post_roll_s, rate)
    }

    /// Samples of post-roll to make up when only `heard` samples followed the last speech.
    pub fn missing_tail(&self, heard: usize, rate: u32) -> usize {
        self.post_samples(rate).saturating_sub(heard)
    }

    /// Quiet heard (samples at `rate`) that is enough to be played back and forth.
    fn mirrors(&self, heard: usize, rate: u32) -> bool {
        self.fill == Fill::Mirror && heard >= seconds_to_samples(self.min_quiet_s, rate).max(2)
    }

    /// Appends `n` samples of made-up post-roll to `samples` (16 kHz), whose last
    /// `heard_quiet` samples followed the last speech.
    pub fn fill_tail(&self, samples: &mut Vec<f32>, heard_quiet: usize, n: usize) {
        if self.mirrors(heard_quiet.min(samples.len()), 16_000) {
            append_quiet(samples, heard_quiet, n);
        } else {
            samples.resize(samples.len() + n, 0.0);
        }
    }

    /// The model's lead-in ([`crate::model::LEAD_SAMPLES`] samples) for `samples` (16 kHz),
    /// whose first `heard_quiet` samples come before the first speech: that quiet played
    /// back and forth, ending where `samples` begins; `None` (digital silence) when too
    /// little of it was heard or with [`Fill::Silence`].
    pub fn lead(&self, samples: &[f32], heard_quiet: usize) -> Option<Vec<f32>> {
        let q = heard_quiet.min(samples.len()).min(MAX_MIRRORED);
        if !self.mirrors(q, 16_000) {
            return None;
        }
        let len = crate::model::LEAD_SAMPLES;
        let period = 2 * (q - 1);
        // Mirrored around samples[0]: lead[len - k] = samples[k] for k < q, and so on.
        Some(
            (0..len)
                .map(|i| {
                    let m = (len - i) % period;
                    samples[if m < q { m } else { period - m }]
                })
                .collect(),
        )
    }
}

/// Most quiet (samples, 0.5 s) played back and forth.
const MAX_MIRRORED: usize = 8_000;

fn seconds_to_samples(s: f32, rate: u32) -> usize {
    (f64::from(s.clamp(0.0, MAX_ROLL_S)) * f64::from(rate)).round() as usize
}

/// Appends `n` samples of quiet to an utterance: the silence heard after its last speech
/// (`heard_quiet` samples at the end of `samples`, at most 0.5 s of it used) played back and
/// forth, so the level and spectrum of the room go on without a click. With no silence
/// heard, digital silence.
pub fn append_quiet(samples: &mut Vec<f32>, heard_quiet: usize, n: usize) {
    let q = heard_quiet.min(samples.len()).min(MAX_MIRRORED);
    let from = samples.len() - q;
    samples.reserve(n);
    if q < 2 {
        samples.resize(samples.len() + n, 0.0);
        return;
    }
    // Mirror positions: from-end backwards, then forwards again, without repeating the ends.
    let period = 2 * (q - 1);
    for k in 1..=n {
        let m = k % period;
        let back = if m < q { m } else { period - m };
        let x = samples[from + q - 1 - back];
        samples.push(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_is_the_heard_silence_played_back_and_forth() {
        let mut x = vec![9.0, 9.0, 1.0, 2.0, 3.0];
        append_quiet(&mut x, 3, 7);
        assert_eq!(
            x,
            vec![9.0, 9.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0]
        );
        // Nothing heard to copy: digital silence.
        let mut y = vec![5.0];
        append_quiet(&mut y, 0, 3);
        assert_eq!(y, vec![5.0, 0.0, 0.0, 0.0]);
        // More "heard" than there is: bounded by the samples.
        let mut z = vec![1.0, -1.0];
        append_quiet(&mut z, 10, 3);
        assert_eq!(z, vec![1.0, -1.0, 1.0, -1.0, 1.0]);
    }

    #[test]
    fn the_missing_tail_is_what_the_post_roll_lacks() {
        let p = Padding {
            post_roll_s: 0.6,
            ..Padding::default()
        };
        assert_eq!(p.post_samples(16_000), 9_600);
        assert_eq!(p.missing_tail(0, 16_000), 9_600);
        assert_eq!(p.missing_tail(4_000, 16_000), 5_600);
        assert_eq!(p.missing_tail(20_000, 16_000), 0);
    }

    #[test]
    fn too_little_quiet_or_silence_fill_gives_digital_silence() {
        let p = Padding::default(); // 0.05 s = 800 samples at least
        let ramp: Vec<f32> = (0..2_000).map(|i| i as f32 / 4_000.0 + 0.1).collect();
        let mut x = ramp.clone();
        p.fill_tail(&mut x, 799, 10);
        assert!(x[2_000..].iter().all(|&v| v == 0.0));
        let mut x = ramp.clone();
        p.fill_tail(&mut x, 800, 10);
        assert_eq!(x[2_000], ramp[1_998], "mirrored");
        let mut x = ramp.clone();
        let silent = Padding {
            fill: Fill::Silence,
            ..p
        };
        silent.fill_tail(&mut x, 2_000, 10);
        assert!(x[2_000..].iter().all(|&v| v == 0.0));
        assert!(p.lead(&ramp, 799).is_none());
        assert!(silent.lead(&ramp, 2_000).is_none());
    }

    #[test]
    fn the_lead_in_mirrors_the_quiet_before_the_speech() {
        let p = Padding::default();
        let x: Vec<f32> = (0..3_000).map(|i| i as f32).collect();
        let lead = p.lead(&x, 1_000).unwrap();
        assert_eq!(lead.len(), crate::model::LEAD_SAMPLES);
        let n = lead.len();
        // It ends where the input begins, mirrored around its first sample...
        assert_eq!(&lead[n - 3..], &[3.0, 2.0, 1.0]);
        // ...and only the quiet is used: it turns at the last quiet sample.
        assert_eq!(lead[n - 999], 999.0);
        assert_eq!(lead[n - 1_000], 998.0);
        assert!(lead.iter().all(|&v| v < 1_000.0));
    }

    #[test]
    fn rolls_out_of_range_are_rejected() {
        assert!(Padding::default().validate().is_ok());
        for bad in [-0.1, f32::NAN, f32::INFINITY, 11.0] {
            let p = Padding {
                post_roll_s: bad,
                ..Padding::default()
            };
            let e = p.validate().unwrap_err();
            assert_eq!(e.field, "post_roll_s", "{e}");
        }
    }
}
