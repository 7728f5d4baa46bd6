//! Sample-rate conversion to [`MODEL_RATE`](super::MODEL_RATE) with rubato's FFT resampler
//! (band-limited, anti-aliased; no phase shift at the start: its delay is trimmed).

use super::{AudioError, MODEL_RATE};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Converts mono samples at `rate` Hz to 16 kHz. Same rate: returned as is.
pub fn to_model_rate(mono: &[f32], rate: u32) -> Result<Vec<f32>, AudioError> {
    resample(mono, rate, MODEL_RATE)
}

/// Converts mono samples from `from` Hz to `to` Hz.
pub fn resample(mono: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    if from == to {
        return Ok(mono.to_vec());
    }
    if from == 0 || to == 0 {
        return Err(AudioError::Resample(format!("rate {from} -> {to} Hz")));
    }
    if mono.is_empty() {
        return Ok(Vec::new());
    }
    let mut rs = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input)
        .map_err(|e| AudioError::Resample(e.to_string()))?;
    let input = InterleavedSlice::new(mono, 1, mono.len())
        .map_err(|e| AudioError::Resample(e.to_string()))?;
    let out = rs
        .process_all(&input, mono.len(), None)
        .map_err(|e| AudioError::Resample(e.to_string()))?;
    let mut samples = out.take_data();
    let expected = (mono.len() as u64 * u64::from(to)).div_ceil(u64::from(from)) as usize;
    samples.truncate(expected);
    for s in &mut samples {
        *s = s.clamp(-1.0, 1.0);
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: u32, secs: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Correlation of `x` with a sine of `freq` at `rate` (amplitude estimate).
    fn amplitude_at(x: &[f32], freq: f32, rate: u32) -> f32 {
        let (mut s, mut c) = (0.0f64, 0.0f64);
        for (i, v) in x.iter().enumerate() {
            let ph = 2.0 * std::f64::consts::PI * f64::from(freq) * i as f64 / f64::from(rate);
            s += f64::from(*v) * ph.sin();
            c += f64::from(*v) * ph.cos();
        }
        (2.0 * (s * s + c * c).sqrt() / x.len() as f64) as f32
    }

    #[test]
    fn common_rates_keep_length_and_a_speech_band_tone() {
        for rate in [8_000, 11_025, 22_050, 24_000, 44_100, 48_000, 96_000] {
            let x = tone(440.0, rate, 1.0);
            let y = to_model_rate(&x, rate).unwrap();
            assert!((y.len() as i64 - 16_000).abs() <= 1, "{rate}: {}", y.len());
            let a = amplitude_at(&y[1000..15000], 440.0, 16_000);
            assert!((a - 0.5).abs() < 0.02, "{rate}: amplitude {a}");
        }
    }

    #[test]
    fn content_above_8khz_is_removed_not_aliased() {
        let x = tone(11_000.0, 48_000, 1.0);
        let y = to_model_rate(&x, 48_000).unwrap();
        let alias = amplitude_at(&y[1000..15000], 5_000.0, 16_000);
        let rms = (y.iter().map(|v| v * v).sum::<f32>() / y.len() as f32).sqrt();
        assert!(alias < 0.01 && rms < 0.02, "alias {alias}, rms {rms}");
    }

    #[test]
    fn empty_and_tiny_inputs() {
        assert!(to_model_rate(&[], 44_100).unwrap().is_empty());
        let y = to_model_rate(&[0.1, 0.2, 0.3], 8_000).unwrap();
        assert!(y.len() <= 6);
    }
}
