//! A strict, panic-free WAV reader.
//!
//! Reads RIFF/WAVE (and RF64) files with PCM integer samples (8, 16, 24, 32 bit), IEEE float
//! samples (32, 64 bit), A-law and µ-law, plain or `WAVE_FORMAT_EXTENSIBLE`, any number of
//! channels. Every header value is checked before it is used, so a hostile or broken file gives
//! an [`AudioError`], never a panic or a huge allocation. A `data` chunk that is shorter than its
//! header claims (a recording cut off mid-write) is read up to its last whole frame, with a
//! warning; a `data` size of `0xFFFF_FFFF` (written by streaming recorders) means "to the end of
//! the file".

use super::AudioError;

/// Highest channel count accepted (WAVE_FORMAT_EXTENSIBLE allows 18 named speakers; be generous).
pub const MAX_CHANNELS: u16 = 64;
/// Sample rates outside this range are rejected as absurd.
pub const MIN_RATE: u32 = 1_000;
/// Upper bound for the sample rate.
pub const MAX_RATE: u32 = 768_000;

/// The encoding of the samples in the `data` chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// Unsigned 8-bit PCM.
    U8,
    /// Signed little-endian PCM of 16, 24 or 32 bits.
    Int(u16),
    /// IEEE float, 32 or 64 bits.
    Float(u16),
    /// G.711 A-law.
    ALaw,
    /// G.711 µ-law.
    MuLaw,
}

impl SampleFormat {
    fn bytes(self) -> usize {
        match self {
            SampleFormat::U8 | SampleFormat::ALaw | SampleFormat::MuLaw => 1,
            SampleFormat::Int(bits) | SampleFormat::Float(bits) => usize::from(bits / 8),
        }
    }
}

/// A decoded WAV file: interleaved samples scaled to `[-1, 1]`.
#[derive(Debug, Clone)]
pub struct Wav {
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// How the file stored its samples.
    pub format: SampleFormat,
    /// Interleaved samples, `frames * channels` of them.
    pub samples: Vec<f32>,
    /// True when the data chunk was cut short and only its whole frames were read.
    pub truncated: bool,
    /// Float samples that were not numbers (NaN or infinite), read as 0.
    pub non_finite: usize,
}

impl Wav {
    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate)
    }

    /// The average of all channels, one sample per frame.
    pub fn to_mono(&self) -> Vec<f32> {
        let ch = usize::from(self.channels.max(1));
        if ch == 1 {
            return self.samples.clone();
        }
        let scale = 1.0 / ch as f32;
        self.samples
            .chunks_exact(ch)
            .map(|f| f.iter().sum::<f32>() * scale)
            .collect()
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8).map(|s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

struct Fmt {
    format: SampleFormat,
    channels: u16,
    sample_rate: u32,
}

fn bad(msg: impl Into<String>) -> AudioError {
    AudioError::Format(msg.into())
}

fn parse_fmt(body: &[u8]) -> Result<Fmt, AudioError> {
    if body.len() < 16 {
        return Err(bad(format!("fmt chunk is {} bytes, need 16", body.len())));
    }
    let mut tag = u16_at(body, 0).unwrap_or(0);
    let channels = u16_at(body, 2).unwrap_or(0);
    let sample_rate = u32_at(body, 4).unwrap_or(0);
    let block_align = u16_at(body, 12).unwrap_or(0);
    let bits = u16_at(body, 14).unwrap_or(0);
    if tag == 0xFFFE {
        // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
        tag =
            u16_at(body, 24).ok_or_else(|| bad("WAVE_FORMAT_EXTENSIBLE fmt chunk is too short"))?;
    }
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(bad(format!(
            "{channels} channels (supported: 1 to {MAX_CHANNELS})"
        )));
    }
    if !(MIN_RATE..=MAX_RATE).contains(&sample_rate) {
        return Err(bad(format!(
            "sample rate {sample_rate} Hz (supported: {MIN_RATE} to {MAX_RATE} Hz)"
        )));
    }
    let format = match (tag, bits) {
        (1, 8) => SampleFormat::U8,
        (1, 16 | 24 | 32) => SampleFormat::Int(bits),
        (3, 32 | 64) => SampleFormat::Float(bits),
        (6, 8) => SampleFormat::ALaw,
        (7, 8) => SampleFormat::MuLaw,
        (1, b) => return Err(bad(format!("{b}-bit PCM is not supported (8/16/24/32)"))),
        (3, b) => return Err(bad(format!("{b}-bit float is not supported (32/64)"))),
        (t, b) => {
            return Err(bad(format!(
                "compressed or unknown encoding (format tag {t:#06x}, {b} bits); convert to PCM first, e.g. `sox in.wav -b 16 out.wav`"
            )))
        }
    };
    let expected_align = format.bytes() * usize::from(channels);
    if usize::from(block_align) != expected_align {
        // Many writers get block_align wrong; the sample size and channel count are authoritative.
        log::debug!("fmt block_align {block_align} != {expected_align}; using {expected_align}");
    }
    Ok(Fmt {
        format,
        channels,
        sample_rate,
    })
}

fn decode(format: SampleFormat, data: &[u8]) -> Vec<f32> {
    match format {
        SampleFormat::U8 => data
            .iter()
            .map(|&b| (f32::from(b) - 128.0) / 128.0)
            .collect(),
        SampleFormat::Int(16) => data
            .chunks_exact(2)
            .map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0)
            .collect(),
        SampleFormat::Int(24) => data
            .chunks_exact(3)
            .map(|s| (i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as f32 / 8_388_608.0)
            .collect(),
        SampleFormat::Int(_) => data
            .chunks_exact(4)
            .map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f32 / 2_147_483_648.0)
            .collect(),
        SampleFormat::Float(32) => data
            .chunks_exact(4)
            .map(|s| clean_float(f32::from_le_bytes([s[0], s[1], s[2], s[3]])))
            .collect(),
        SampleFormat::Float(_) => data
            .chunks_exact(8)
            .map(|s| {
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                clean_float(f64::from_le_bytes(a) as f32)
            })
            .collect(),
        SampleFormat::ALaw => data.iter().map(|&b| alaw(b)).collect(),
        SampleFormat::MuLaw => data.iter().map(|&b| mulaw(b)).collect(),
    }
}

/// How many of the float samples in `data` are NaN or infinite (0 for integer formats).
fn non_finite(format: SampleFormat, data: &[u8]) -> usize {
    match format {
        SampleFormat::Float(32) => data
            .chunks_exact(4)
            .filter(|s| !f32::from_le_bytes([s[0], s[1], s[2], s[3]]).is_finite())
            .count(),
        SampleFormat::Float(_) => data
            .chunks_exact(8)
            .filter(|s| {
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                !f64::from_le_bytes(a).is_finite()
            })
            .count(),
        _ => 0,
    }
}

/// Float WAVs may hold NaN/inf or values past full scale: keep the signal sane for the model.
fn clean_float(x: f32) -> f32 {
    if x.is_finite() {
        x.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

fn alaw(b: u8) -> f32 {
    let a = b ^ 0x55;
    let seg = (a & 0x70) >> 4;
    let mut t = i32::from(a & 0x0F) << 4;
    t = match seg {
        0 => t + 8,
        1 => t + 0x108,
        s => (t + 0x108) << (s - 1),
    };
    let v = if a & 0x80 != 0 { t } else { -t };
    v as f32 / 32768.0
}

fn mulaw(b: u8) -> f32 {
    let u = !b;
    let sign = u & 0x80;
    let exp = (u >> 4) & 0x07;
    let mant = i32::from(u & 0x0F);
    let mut t = ((mant << 3) + 0x84) << exp;
    t -= 0x84;
    let v = if sign != 0 { -t } else { t };
    v as f32 / 32768.0
}

/// A canonical 44-byte WAV header for `data_len` bytes of samples (`format_tag` 1: PCM, 3:
/// IEEE float, 6: A-law, 7: µ-law). Values are written as given, unchecked, so tests can
/// build broken files too.
pub fn header(format_tag: u16, channels: u16, rate: u32, bits: u16, data_len: usize) -> Vec<u8> {
    let data_len = u32::try_from(data_len).unwrap_or(u32::MAX);
    let align = channels.wrapping_mul(bits / 8);
    let mut v = Vec::with_capacity(44);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&36u32.wrapping_add(data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&format_tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&rate.wrapping_mul(u32::from(align)).to_le_bytes());
    v.extend_from_slice(&align.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    v
}

/// Parse a whole WAV file held in memory.
pub fn parse(bytes: &[u8]) -> Result<Wav, AudioError> {
    if bytes.is_empty() {
        return Err(bad("empty file"));
    }
    let riff = bytes
        .get(0..4)
        .ok_or_else(|| bad("too short for a RIFF header"))?;
    let rf64 = match riff {
        b"RIFF" => false,
        b"RF64" => true,
        b"RIFX" => return Err(bad("big-endian RIFX is not supported")),
        _ => return Err(bad("not a WAV file (no RIFF header)")),
    };
    if bytes.get(8..12) != Some(b"WAVE") {
        return Err(bad("RIFF file is not WAVE"));
    }
    let mut pos = 12usize;
    let mut fmt: Option<Fmt> = None;
    let mut data64: Option<u64> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let declared = u32_at(bytes, pos + 4).unwrap_or(0);
        let body_start = pos + 8;
        let available = bytes.len() - body_start;
        match id {
            b"ds64" => {
                data64 = u64_at(bytes, body_start + 8);
            }
            b"fmt " => {
                let len = (declared as usize).min(available);
                fmt = Some(parse_fmt(&bytes[body_start..body_start + len])?);
            }
            b"data" => {
                let fmt = fmt
                    .as_ref()
                    .ok_or_else(|| bad("data chunk comes before the fmt chunk"))?;
                let mut want = u64::from(declared);
                if rf64 && declared == u32::MAX {
                    want = data64.unwrap_or(u64::MAX);
                }
                if declared == u32::MAX && !rf64 {
                    want = available as u64; // streaming writer never filled in the size
                }
                let truncated = want > available as u64;
                let len = want.min(available as u64) as usize;
                let frame = fmt.format.bytes() * usize::from(fmt.channels);
                let whole = len - len % frame;
                if truncated {
                    log::warn!(
                        "WAV data chunk declares {want} bytes but only {available} are present; reading {whole}"
                    );
                }
                let data = &bytes[body_start..body_start + whole];
                return Ok(Wav {
                    sample_rate: fmt.sample_rate,
                    channels: fmt.channels,
                    format: fmt.format,
                    samples: decode(fmt.format, data),
                    truncated: truncated || whole < len,
                    non_finite: non_finite(fmt.format, data),
                });
            }
            _ => {}
        }
        // Chunks are word-aligned: an odd-sized chunk is followed by one pad byte.
        let step = 8u64 + u64::from(declared) + u64::from(declared & 1);
        pos = match (pos as u64).checked_add(step) {
            Some(p) if p <= bytes.len() as u64 => p as usize,
            _ => break,
        };
    }
    Err(match fmt {
        None => bad("no fmt chunk"),
        Some(_) => bad("no data chunk"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a canonical WAV file for tests.
    fn build(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut v = header(tag, channels, rate, bits, data.len());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reads_16_bit_stereo_and_averages_channels() {
        let data: Vec<u8> = [16384i16, -16384, 32767, 32767]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let w = parse(&build(1, 2, 44_100, 16, &data)).unwrap();
        assert_eq!((w.sample_rate, w.channels, w.frames()), (44_100, 2, 2));
        let m = w.to_mono();
        assert!(m[0].abs() < 1e-6 && (m[1] - 0.99997).abs() < 1e-4);
    }

    #[test]
    fn reads_8_24_32_bit_int_and_float_formats() {
        let w = parse(&build(1, 1, 8000, 8, &[0, 128, 255])).unwrap();
        assert_eq!(w.samples, vec![-1.0, 0.0, 127.0 / 128.0]);
        let w = parse(&build(1, 1, 8000, 24, &[0, 0, 0x80, 0xff, 0xff, 0x7f])).unwrap();
        assert!((w.samples[0] + 1.0).abs() < 1e-6 && (w.samples[1] - 1.0).abs() < 1e-6);
        let d: Vec<u8> = [i32::MIN, i32::MAX / 2]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let w = parse(&build(1, 1, 8000, 32, &d)).unwrap();
        assert!((w.samples[0] + 1.0).abs() < 1e-6 && (w.samples[1] - 0.5).abs() < 1e-6);
        let d: Vec<u8> = [0.25f32, f32::NAN, 7.0]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let w = parse(&build(3, 1, 8000, 32, &d)).unwrap();
        assert_eq!(w.samples, vec![0.25, 0.0, 1.0]);
        let d: Vec<u8> = [-0.5f64].iter().flat_map(|s| s.to_le_bytes()).collect();
        let w = parse(&build(3, 1, 8000, 64, &d)).unwrap();
        assert_eq!(w.samples, vec![-0.5]);
    }

    #[test]
    fn g711_laws_decode_to_known_values() {
        // µ-law 0xFF and A-law 0xD5 are (near) zero; 0x00 / 0x2A are near full scale negative.
        let w = parse(&build(7, 1, 8000, 8, &[0xFF, 0x00])).unwrap();
        assert!(w.samples[0].abs() < 1e-3 && w.samples[1] < -0.9);
        let w = parse(&build(6, 1, 8000, 8, &[0xD5, 0x2A])).unwrap();
        assert!(w.samples[0].abs() < 1e-3 && w.samples[1] < -0.9);
    }

    #[test]
    fn truncated_data_chunk_keeps_whole_frames() {
        let mut f = build(1, 2, 16_000, 16, &[1, 0, 2, 0, 3, 0, 4, 0]);
        f.truncate(f.len() - 3); // cut in the middle of the second frame
        let w = parse(&f).unwrap();
        assert!(w.truncated);
        assert_eq!(w.frames(), 1);
    }

    #[test]
    fn streaming_size_reads_to_end_and_zero_size_is_empty() {
        let mut f = build(1, 1, 16_000, 16, &[1, 0, 2, 0]);
        let n = f.len();
        f[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&f).unwrap().frames(), 2);
        let w = parse(&build(1, 1, 16_000, 16, &[])).unwrap();
        assert_eq!(w.frames(), 0);
    }

    #[test]
    fn skips_unknown_and_odd_sized_chunks() {
        let f = build(1, 1, 16_000, 16, &[1, 0]);
        let mut g = f[..12].to_vec();
        g.extend_from_slice(b"LIST");
        g.extend_from_slice(&3u32.to_le_bytes());
        g.extend_from_slice(&[1, 2, 3, 0]); // 3 bytes + pad
        g.extend_from_slice(&f[12..]);
        assert_eq!(parse(&g).unwrap().frames(), 1);
    }

    #[test]
    fn absurd_headers_are_clear_errors() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "empty"),
            (b"RIF".to_vec(), "RIFF"),
            (b"OggS\0\0\0\0WAVE".to_vec(), "RIFF"),
            (build(1, 1, 0, 16, &[0, 0]), "sample rate 0"),
            (build(1, 1, u32::MAX, 16, &[0, 0]), "sample rate"),
            (build(1, 0, 16_000, 16, &[0, 0]), "0 channels"),
            (build(1, 9999, 16_000, 16, &[0, 0]), "9999 channels"),
            (build(1, 1, 16_000, 12, &[0, 0]), "12-bit"),
            (build(0x55, 1, 16_000, 16, &[0, 0]), "compressed"),
            (build(1, 1, 16_000, 16, &[])[..36].to_vec(), "no data chunk"),
        ];
        for (bytes, want) in cases {
            let e = parse(&bytes).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should mention {want:?}");
        }
    }

    #[test]
    fn every_prefix_of_a_file_parses_or_errors_without_panic() {
        let data: Vec<u8> = (0..64u8).collect();
        let f = build(1, 2, 22_050, 16, &data);
        for n in 0..f.len() {
            let _ = parse(&f[..n]);
        }
        // Chunk sizes near u32::MAX must not overflow.
        let mut g = f.clone();
        g[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        let _ = parse(&g);
    }
}
