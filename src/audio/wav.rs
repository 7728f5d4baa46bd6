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
    let mut r = WavReader::new(std::io::Cursor::new(bytes), Some(bytes.len() as u64))?;
    let mut samples = Vec::new();
    while r.read(&mut samples, 1 << 16)? > 0 {}
    Ok(Wav {
        sample_rate: r.sample_rate,
        channels: r.channels,
        format: r.format,
        samples,
        truncated: r.truncated,
        non_finite: r.non_finite,
    })
}

/// Bytes of a `fmt ` chunk looked at (the fields up to the extensible sub-format tag).
const FMT_BYTES: u64 = 64;

/// A WAV file read in pieces: the header is parsed by [`WavReader::new`], the samples are
/// decoded as they are asked for, so memory does not grow with the file. Gives what
/// [`parse`] gives for the same bytes (it is [`parse`]'s reader), piece by piece.
pub struct WavReader<R> {
    src: R,
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// How the file stores its samples.
    pub format: SampleFormat,
    /// Bytes of the data chunk not read yet (`u64::MAX`: to the end of the input).
    left: u64,
    /// Bytes read but not decoded yet (part of a frame).
    carry: Vec<u8>,
    buf: Vec<u8>,
    /// The data chunk was cut short (so far as read: known for sure at the end).
    pub truncated: bool,
    /// Float samples read so far that were not numbers (read as 0).
    pub non_finite: usize,
}

/// Reads up to `n` bytes (fewer only at the end of the input) onto `out`.
fn read_upto(src: &mut impl std::io::Read, out: &mut Vec<u8>, n: u64) -> std::io::Result<u64> {
    use std::io::Read;
    src.take(n).read_to_end(out).map(|k| k as u64)
}

impl<R: std::io::Read> WavReader<R> {
    /// Parses the header of the WAV file `src` yields, up to the start of its samples.
    /// `len`: the input's length when known (a regular file), so that a data chunk cut
    /// short is known (and warned about) at once; else it is found at the end.
    pub fn new(mut src: R, len: Option<u64>) -> Result<Self, AudioError> {
        let mut head = Vec::with_capacity(12);
        read_upto(&mut src, &mut head, 12)?;
        if head.is_empty() {
            return Err(bad("empty file"));
        }
        let riff = head
            .get(0..4)
            .ok_or_else(|| bad("too short for a RIFF header"))?;
        let rf64 = match riff {
            b"RIFF" => false,
            b"RF64" => true,
            b"RIFX" => return Err(bad("big-endian RIFX is not supported")),
            _ => return Err(bad("not a WAV file (no RIFF header)")),
        };
        if head.get(8..12) != Some(b"WAVE") {
            return Err(bad("RIFF file is not WAVE"));
        }
        let mut pos = 12u64;
        let mut fmt: Option<Fmt> = None;
        let mut data64: Option<u64> = None;
        let mut body = Vec::new();
        loop {
            body.clear();
            if read_upto(&mut src, &mut body, 8)? < 8 {
                break;
            }
            let id: [u8; 4] = [body[0], body[1], body[2], body[3]];
            let declared = u32_at(&body, 4).unwrap_or(0);
            let body_start = pos + 8;
            let available = len.map(|l| l.saturating_sub(body_start));
            body.clear();
            let looked = match &id {
                b"ds64" => read_upto(&mut src, &mut body, u64::from(declared).min(16))?,
                b"fmt " => read_upto(&mut src, &mut body, u64::from(declared).min(FMT_BYTES))?,
                _ => 0,
            };
            match &id {
                b"ds64" => data64 = u64_at(&body, 8),
                b"fmt " => fmt = Some(parse_fmt(&body)?),
                b"data" => {
                    let fmt = fmt
                        .as_ref()
                        .ok_or_else(|| bad("data chunk comes before the fmt chunk"))?;
                    let mut want = u64::from(declared);
                    if rf64 && declared == u32::MAX {
                        want = data64.unwrap_or(u64::MAX);
                    }
                    if declared == u32::MAX && !rf64 {
                        want = u64::MAX; // streaming writer never filled in the size
                    }
                    let frame = (fmt.format.bytes() * usize::from(fmt.channels)) as u64;
                    let mut truncated = false;
                    if let Some(available) = available {
                        if want != u64::MAX && want > available {
                            truncated = true;
                            let whole = available - available % frame;
                            log::warn!(
                                "WAV data chunk declares {want} bytes but only {available} are present; reading {whole}"
                            );
                        }
                        want = want.min(available);
                    }
                    return Ok(WavReader {
                        src,
                        sample_rate: fmt.sample_rate,
                        channels: fmt.channels,
                        format: fmt.format,
                        left: want,
                        carry: Vec::new(),
                        buf: Vec::new(),
                        truncated,
                        non_finite: 0,
                    });
                }
                _ => {}
            }
            // Chunks are word-aligned: an odd-sized chunk is followed by one pad byte.
            let step = u64::from(declared) + u64::from(declared & 1);
            if let Some(available) = available {
                if step > available {
                    break;
                }
            }
            let skip = step.saturating_sub(looked);
            if std::io::copy(
                &mut std::io::Read::take(&mut src, skip),
                &mut std::io::sink(),
            )? < skip
            {
                break;
            }
            pos = body_start + step;
        }
        Err(match fmt {
            None => bad("no fmt chunk"),
            Some(_) => bad("no data chunk"),
        })
    }

    /// Bytes per frame (all channels of one sample time).
    pub fn frame_bytes(&self) -> usize {
        self.format.bytes() * usize::from(self.channels)
    }

    /// Appends up to `max_frames` frames of interleaved samples to `out`; returns the
    /// frames appended, 0 at the end of the data. A part of a frame at the end is dropped
    /// ([`WavReader::truncated`] is then set).
    pub fn read(&mut self, out: &mut Vec<f32>, max_frames: usize) -> Result<usize, AudioError> {
        let frame = self.frame_bytes();
        let want =
            (max_frames.max(1).saturating_mul(frame)).saturating_sub(self.carry.len()) as u64;
        let take = want.min(self.left);
        self.buf.clear();
        self.buf.extend_from_slice(&self.carry);
        self.carry.clear();
        let got = read_upto(&mut self.src, &mut self.buf, take)?;
        if self.left != u64::MAX {
            self.left -= got;
        }
        if got < take {
            // The input ended before the data chunk did.
            if self.left != u64::MAX && self.left > 0 {
                if !self.truncated {
                    log::warn!("WAV data chunk ends {} bytes early", self.left);
                }
                self.truncated = true;
            }
            self.left = 0;
        }
        let whole = self.buf.len() - self.buf.len() % frame;
        if whole < self.buf.len() {
            if self.left == 0 {
                self.truncated = true;
            } else {
                self.carry.extend_from_slice(&self.buf[whole..]);
            }
        }
        let data = &self.buf[..whole];
        out.extend(decode(self.format, data));
        self.non_finite += non_finite(self.format, data);
        Ok(whole / frame)
    }
}

impl From<std::io::Error> for AudioError {
    fn from(source: std::io::Error) -> Self {
        AudioError::Read(source)
    }
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
