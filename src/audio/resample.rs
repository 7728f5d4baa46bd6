//! Sample-rate conversion to [`MODEL_RATE`] with rubato's FFT resampler
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

/// Streaming conversion to 16 kHz of mono audio that arrives in pieces of any size. The
/// output is sample for sample what [`to_model_rate`] gives for the whole signal (same
/// resampler, same chunking, startup delay trimmed), so the live path sees the offline
/// path's audio. Buffers are allocated once.
pub struct StreamResampler {
    rs: Option<Fft<f32>>,
    chunk: Vec<f32>,
    out: Vec<f32>,
    to_trim: usize,
    consumed: u64,
    produced: u64,
    from: u32,
}

impl StreamResampler {
    /// A resampler from `from` Hz to 16 kHz (a copy when `from` is 16 kHz).
    pub fn new(from: u32) -> Result<Self, AudioError> {
        if from == 0 {
            return Err(AudioError::Resample(format!(
                "rate {from} -> {MODEL_RATE} Hz"
            )));
        }
        let rs = if from == MODEL_RATE {
            None
        } else {
            Some(
                Fft::<f32>::new(
                    from as usize,
                    MODEL_RATE as usize,
                    1024,
                    1,
                    FixedSync::Input,
                )
                .map_err(|e| AudioError::Resample(e.to_string()))?,
            )
        };
        let (chunk_len, out_len, delay) = match &rs {
            Some(r) => (
                r.input_frames_max(),
                r.output_frames_max(),
                r.output_delay(),
            ),
            None => (0, 0, 0),
        };
        Ok(StreamResampler {
            rs,
            chunk: Vec::with_capacity(chunk_len),
            out: vec![0.0; out_len],
            to_trim: delay,
            consumed: 0,
            produced: 0,
            from,
        })
    }

    /// Converts `mono` and appends what is ready to `out`.
    pub fn push(&mut self, mono: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        self.consumed += mono.len() as u64;
        let Some(rs) = self.rs.as_mut() else {
            out.extend_from_slice(mono);
            self.produced += mono.len() as u64;
            return Ok(());
        };
        let mut rest = mono;
        while !rest.is_empty() {
            let need = rs.input_frames_next() - self.chunk.len();
            let take = need.min(rest.len());
            self.chunk.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.chunk.len() == rs.input_frames_next() {
                Self::run(
                    rs,
                    &self.chunk,
                    None,
                    &mut self.out,
                    &mut self.to_trim,
                    &mut self.produced,
                    out,
                )?;
                self.chunk.clear();
            }
        }
        Ok(())
    }

    /// The input ended: appends the rest, so that the total output is as long as
    /// [`to_model_rate`] makes it.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let Some(rs) = self.rs.as_mut() else {
            return Ok(());
        };
        let expected = (self.consumed * u64::from(MODEL_RATE)).div_ceil(u64::from(self.from));
        let start = out.len();
        let before = self.produced;
        if !self.chunk.is_empty() {
            let n = self.chunk.len();
            self.chunk.resize(rs.input_frames_next(), 0.0);
            Self::run(
                rs,
                &self.chunk,
                Some(n),
                &mut self.out,
                &mut self.to_trim,
                &mut self.produced,
                out,
            )?;
            self.chunk.clear();
        }
        let zeros = vec![0.0f32; rs.input_frames_next()];
        while self.produced < expected {
            let p = self.produced;
            Self::run(
                rs,
                &zeros,
                Some(0),
                &mut self.out,
                &mut self.to_trim,
                &mut self.produced,
                out,
            )?;
            if self.produced == p && self.to_trim == 0 {
                break;
            }
        }
        if self.produced > expected {
            let extra = (self.produced - expected) as usize;
            out.truncate(out.len().saturating_sub(extra).max(start));
            self.produced = expected;
        }
        let _ = before;
        Ok(())
    }

    fn run(
        rs: &mut Fft<f32>,
        input: &[f32],
        partial: Option<usize>,
        buf: &mut [f32],
        to_trim: &mut usize,
        produced: &mut u64,
        out: &mut Vec<f32>,
    ) -> Result<(), AudioError> {
        let err = |e: &dyn std::fmt::Display| AudioError::Resample(e.to_string());
        let inp = InterleavedSlice::new(input, 1, input.len()).map_err(|e| err(&e))?;
        let frames = buf.len();
        let mut outp = InterleavedSlice::new_mut(buf, 1, frames).map_err(|e| err(&e))?;
        let indexing = partial.map(|n| rubato::Indexing::new().partial_len(n));
        let (_, n) = rs
            .process_into_buffer(&inp, &mut outp, indexing.as_ref())
            .map_err(|e| err(&e))?;
        let skip = (*to_trim).min(n);
        *to_trim -= skip;
        out.extend(buf[skip..n].iter().map(|s| s.clamp(-1.0, 1.0)));
        *produced += (n - skip) as u64;
        Ok(())
    }
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
    fn streaming_matches_whole_signal_conversion() {
        for rate in [8_000, 44_100, 48_000, 16_000] {
            let x = tone(440.0, rate, 1.3);
            let whole = to_model_rate(&x, rate).unwrap();
            let mut rs = StreamResampler::new(rate).unwrap();
            let mut out = Vec::new();
            for c in x.chunks(333) {
                rs.push(c, &mut out).unwrap();
            }
            rs.finish(&mut out).unwrap();
            assert_eq!(out.len(), whole.len(), "{rate}");
            let diff = out
                .iter()
                .zip(&whole)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(diff < 1e-5, "{rate}: {diff}");
        }
    }

    #[test]
    fn empty_and_tiny_inputs() {
        assert!(to_model_rate(&[], 44_100).unwrap().is_empty());
        let y = to_model_rate(&[0.1, 0.2, 0.3], 8_000).unwrap();
        assert!(y.len() <= 6);
    }
}
