//! What the acoustic model hears of one utterance: a file kept whole, a segment cut from a
//! long file, or a live utterance, all prepared by [`ModelInput::new`] from the audio alone.
//!
//! Where the speech starts and ends inside the audio is judged by the audio's own frames
//! ([`voiced_range`]: its own noise floor), not by whoever cut it, so the offline and live
//! paths make the same lead-in and post-roll for the same audio (the live endpointer's
//! sliding noise floor knows little at the start of a stream).

use super::segment::{voiced_range, SegmentConfig};

/// The model's input for one utterance (16 kHz).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInput {
    /// The lead-in before it ([`super::pad::Padding::lead`]; `None`: digital silence).
    pub lead: Option<Vec<f32>>,
    /// The audio heard, then the made-up rest of its post-roll.
    pub samples: Vec<f32>,
    /// How many of `samples` were heard.
    pub heard: usize,
    /// The level gain applied to `samples` and `lead` (1: none).
    pub gain: f32,
}

impl ModelInput {
    /// `heard`, audio around some speech, padded as `cfg.padding` says (the rest of the
    /// post-roll made up after it, the lead-in made from the quiet before the speech) and
    /// raised to `cfg.level`'s floor. Audio without speech gets digital silence around it.
    pub fn new(heard: &[f32], cfg: &SegmentConfig) -> ModelInput {
        let pad = &cfg.padding;
        let n = heard.len();
        let voiced = voiced_range(heard, cfg).unwrap_or(0..n);
        let (quiet_before, quiet_after) = (voiced.start, n - voiced.end);
        let missing = pad.missing_tail(quiet_after, 16_000);
        let mut samples = Vec::with_capacity(n + missing);
        samples.extend_from_slice(heard);
        pad.fill_tail(&mut samples, quiet_after, missing);
        let mut lead = pad.lead(heard, quiet_before);
        let gain = cfg.level.gain(heard);
        if gain != 1.0 {
            for x in samples.iter_mut().chain(lead.iter_mut().flatten()) {
                *x *= gain;
            }
        }
        ModelInput {
            lead,
            samples,
            heard: n,
            gain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::audio::test_tone as tone;

    /// Room noise at about -60 dBFS.
    fn quiet(secs: f32) -> Vec<f32> {
        let mut seed = 7u32;
        (0..(secs * 16_000.0) as usize)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.003
            })
            .collect()
    }

    #[test]
    fn speech_trimmed_tight_gets_its_whole_post_roll_and_a_silent_lead_in() {
        let x = tone(0.5, 0.3);
        let m = ModelInput::new(&x, &SegmentConfig::default());
        assert_eq!(m.heard, 8_000);
        assert_eq!(m.samples.len(), 8_000 + 16_000);
        assert!(
            m.samples[8_000..].iter().all(|&v| v == 0.0),
            "no quiet heard"
        );
        assert!(m.lead.is_none());
    }

    #[test]
    fn quiet_around_the_speech_is_played_back_and_forth() {
        let x = [quiet(0.4), tone(0.5, 0.3), quiet(0.3)].concat();
        let m = ModelInput::new(&x, &SegmentConfig::default());
        assert_eq!(m.heard, x.len());
        // 0.3 s heard after the speech: 0.7 s made up, from that quiet.
        assert_eq!(m.samples.len(), x.len() + 11_200);
        let made_up = &m.samples[x.len()..];
        assert!(made_up.iter().all(|v| v.abs() < 0.002));
        assert!(made_up.iter().any(|&v| v != 0.0));
        let lead = m.lead.expect("0.4 s of quiet before");
        assert!(lead.iter().all(|v| v.abs() < 0.002));
        assert_eq!(lead[lead.len() - 1], x[1]);
    }

    #[test]
    fn quiet_speech_is_raised_with_everything_around_it() {
        let x = [quiet(0.4), tone(0.5, 0.3), quiet(0.3)].concat();
        let soft: Vec<f32> = x.iter().map(|v| v * 0.01).collect();
        let loud = ModelInput::new(&x, &SegmentConfig::default());
        let m = ModelInput::new(&soft, &SegmentConfig::default());
        assert_eq!(m.samples.len(), loud.samples.len());
        // Raised by 30 dB at most (the tone is at -13.5 dBFS, -53.5 when soft).
        let g = m.samples[8_000] / soft[8_000];
        assert!((20.0 * g.log10() - 28.5).abs() < 0.6, "gain {g}");
        let lead = m.lead.unwrap();
        assert!((lead[lead.len() - 1] / soft[1] - g).abs() < 1e-3);
    }
}
