//! Audio in: WAV files and sample-rate conversion to the model's 16 kHz mono.
//!
//! Knows nothing of models or words.

pub mod level;
pub mod pad;
pub mod resample;
pub mod segment;
pub mod utterance;
pub mod wav;

use std::path::{Path, PathBuf};

/// The rate the acoustic model expects.
pub const MODEL_RATE: u32 = 16_000;

/// Why audio could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Reading failed (the file is named by [`AudioError::Io`] once known).
    #[error("read failed: {0}")]
    Read(std::io::Error),
    /// The bytes are not a WAV file nomen can read.
    #[error("invalid WAV: {0}")]
    Format(String),
    /// A WAV file that is malformed, with the file named.
    #[error("{path}: {msg}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// Resampling failed.
    #[error("resampling failed: {0}")]
    Resample(String),
}

/// Audio ready for the model: 16 kHz mono samples in `[-1, 1]`.
#[derive(Debug, Clone, Default)]
pub struct Audio16k {
    /// The samples.
    pub samples: Vec<f32>,
    /// The file's own rate, before conversion.
    pub source_rate: u32,
    /// The file's channel count, before down-mixing.
    pub source_channels: u16,
    /// The data chunk was cut short (only its whole frames were read).
    pub truncated: bool,
    /// Samples of the file that were not numbers (NaN or infinite in a float WAV), read as
    /// silence.
    pub non_finite: usize,
}

impl Audio16k {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(MODEL_RATE)
    }
}

/// The most audio [`load_wav`] holds from input that is not a regular file (a pipe, a
/// device), whose length is not known before it is read: 30 minutes (115 MB of samples).
/// Regular files have no such cap; [`WavFile`] reads any of them in bounded memory.
pub const MAX_UNSEEKABLE_S: u32 = 30 * 60;

/// Samples converted per [`WavFile::read`]: 0.5 s at the file's rate, at most
/// [`PIECE_BYTES`] of the file (64 channels of 64-bit floats at 768 kHz are 393 MB a
/// second).
const PIECE_S: f32 = 0.5;
const PIECE_BYTES: usize = 1 << 20;

/// A WAV file read in pieces and converted to 16 kHz mono as it is read: memory does not
/// grow with the file. Input that does not begin like a WAV file (`RIFF`/`RF64` ...
/// `WAVE`) is not read past its first 12 bytes (so `/dev/zero`, a video or a typo fails at
/// once, whatever its size). The samples are those [`decode_wav`] gives for the same bytes.
pub struct WavFile {
    path: PathBuf,
    reader: wav::WavReader<std::io::BufReader<std::fs::File>>,
    resampler: resample::StreamResampler,
    interleaved: Vec<f32>,
    mono: Vec<f32>,
    regular: bool,
    done: bool,
}

impl WavFile {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<WavFile, AudioError> {
        let io = |source| AudioError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        let regular = meta.is_file();
        let len = regular.then_some(meta.len());
        let reader = wav::WavReader::new(std::io::BufReader::new(file), len)
            .map_err(|e| Self::named(path, e))?;
        let resampler = resample::StreamResampler::new(reader.sample_rate)?;
        Ok(WavFile {
            path: path.to_path_buf(),
            reader,
            resampler,
            interleaved: Vec::new(),
            mono: Vec::new(),
            regular,
            done: false,
        })
    }

    fn named(path: &Path, e: AudioError) -> AudioError {
        match e {
            AudioError::Format(msg) => AudioError::File {
                path: path.to_path_buf(),
                msg,
            },
            AudioError::Read(source) => AudioError::Io {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        }
    }

    /// Whether the input is a regular file (it can be read again: [`WavFile::reopen`]).
    pub fn is_regular(&self) -> bool {
        self.regular
    }

    /// The file's own sample rate.
    pub fn source_rate(&self) -> u32 {
        self.reader.sample_rate
    }

    /// The file's channel count.
    pub fn source_channels(&self) -> u16 {
        self.reader.channels
    }

    /// The data chunk was cut short (known for certain once the end is read).
    pub fn truncated(&self) -> bool {
        self.reader.truncated
    }

    /// Samples read so far that were not numbers (NaN or infinite), read as silence.
    pub fn non_finite(&self) -> usize {
        self.reader.non_finite
    }

    /// The same file from its start again (for a second pass over a regular file).
    pub fn reopen(&self) -> Result<WavFile, AudioError> {
        WavFile::open(&self.path)
    }

    /// Appends the next piece of 16 kHz mono samples (about half a second) to `out`;
    /// returns how many, 0 at the end.
    pub fn read(&mut self, out: &mut Vec<f32>) -> Result<usize, AudioError> {
        let before = out.len();
        let piece = ((self.reader.sample_rate as f32 * PIECE_S) as usize)
            .min(PIECE_BYTES / self.reader.frame_bytes().max(1))
            .max(1);
        while out.len() == before && !self.done {
            self.interleaved.clear();
            let frames = self
                .reader
                .read(&mut self.interleaved, piece)
                .map_err(|e| Self::named(&self.path, e))?;
            if frames == 0 {
                self.resampler.finish(out)?;
                self.done = true;
                break;
            }
            let ch = usize::from(self.reader.channels.max(1));
            self.mono.clear();
            if ch == 1 {
                self.mono.extend_from_slice(&self.interleaved);
            } else {
                let scale = 1.0 / ch as f32;
                self.mono.extend(
                    self.interleaved
                        .chunks_exact(ch)
                        .map(|f| f.iter().sum::<f32>() * scale),
                );
            }
            self.resampler.push(&self.mono, out)?;
        }
        Ok(out.len() - before)
    }

    /// The rest of the file in memory ([`load_wav`]).
    pub fn read_all(mut self) -> Result<Audio16k, AudioError> {
        let cap = if self.regular {
            usize::MAX
        } else {
            MAX_UNSEEKABLE_S as usize * MODEL_RATE as usize
        };
        let mut samples = Vec::new();
        while self.read(&mut samples)? > 0 {
            if samples.len() > cap {
                return Err(AudioError::File {
                    path: self.path,
                    msg: format!(
                        "input that is not a regular file is read at most {} minutes long; save it to a file first",
                        MAX_UNSEEKABLE_S / 60
                    ),
                });
            }
        }
        Ok(Audio16k {
            samples,
            source_rate: self.source_rate(),
            source_channels: self.source_channels(),
            truncated: self.truncated(),
            non_finite: self.non_finite(),
        })
    }

    /// Appends up to `max_frames` frames of interleaved samples at the file's own rate and
    /// channel count (no conversion) to `out`; returns the frames, 0 at the end.
    pub fn read_raw(&mut self, out: &mut Vec<f32>, max_frames: usize) -> Result<usize, AudioError> {
        self.reader
            .read(out, max_frames)
            .map_err(|e| Self::named(&self.path, e))
    }
}

/// Reads any common WAV file and converts it to 16 kHz mono, all of it in memory (see
/// [`WavFile`] for reading in pieces). Input that is not a regular file is read up to
/// [`MAX_UNSEEKABLE_S`].
pub fn load_wav(path: &Path) -> Result<Audio16k, AudioError> {
    WavFile::open(path)?.read_all()
}

/// Converts WAV bytes held in memory to 16 kHz mono.
pub fn decode_wav(bytes: &[u8]) -> Result<Audio16k, AudioError> {
    let wav = wav::parse(bytes)?;
    let mono = wav.to_mono();
    let samples = resample::to_model_rate(&mono, wav.sample_rate)?;
    Ok(Audio16k {
        samples,
        source_rate: wav.sample_rate,
        source_channels: wav.channels,
        truncated: wav.truncated,
        non_finite: wav.non_finite,
    })
}

/// A sine of amplitude `amp` (about 500 Hz) lasting `secs` at 16 kHz: speech to the
/// energy-based tests of the segmenter, the endpointer and the model's input.
#[cfg(test)]
pub(crate) fn test_tone(secs: f32, amp: f32) -> Vec<f32> {
    (0..(secs * 16_000.0) as usize)
        .map(|i| amp * (i as f32 * 0.2).sin())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_read_in_pieces_gives_the_samples_of_the_whole_file() {
        let dir = std::env::temp_dir().join(format!("nomen-wavfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // 2.3 s of a chirp in five layouts: pieces, mixing and resampling must not show.
        let secs = 2.3f32;
        for (rate, channels, bits) in [
            (16_000u32, 1u16, 16u16),
            (8_000, 1, 8),
            (44_100, 2, 16),
            (22_050, 3, 24),
            (48_000, 1, 32),
        ] {
            let frames = (secs * rate as f32) as usize;
            let mut data = Vec::new();
            for i in 0..frames {
                let t = i as f32 / rate as f32;
                for c in 0..channels {
                    let v = 0.4 * (t * (300.0 + 900.0 * t + 50.0 * f32::from(c))).sin();
                    match bits {
                        8 => data.push(((v * 127.0) as i16 + 128) as u8),
                        16 => data.extend_from_slice(&((v * 32_767.0) as i16).to_le_bytes()),
                        24 => {
                            data.extend_from_slice(&((v * 8_388_607.0) as i32).to_le_bytes()[..3])
                        }
                        _ => data.extend_from_slice(&v.to_le_bytes()),
                    }
                }
            }
            let tag = if bits == 32 { 3 } else { 1 };
            let mut bytes = wav::header(tag, channels, rate, bits, data.len());
            bytes.extend_from_slice(&data);
            let path = dir.join(format!("{rate}-{channels}-{bits}.wav"));
            std::fs::write(&path, &bytes).unwrap();
            let whole = decode_wav(&bytes).unwrap();
            let read = load_wav(&path).unwrap();
            assert_eq!(
                read.samples, whole.samples,
                "{rate} Hz, {channels} ch, {bits} bit"
            );
            assert_eq!((read.source_rate, read.source_channels), (rate, channels));
            let mut f = WavFile::open(&path).unwrap();
            assert!(f.is_regular());
            let (mut pieces, mut all) = (0, Vec::new());
            while f.read(&mut all).unwrap() > 0 {
                pieces += 1;
            }
            assert!(pieces >= 4, "{pieces} pieces");
            assert_eq!(all, whole.samples);
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn input_that_is_not_a_wav_fails_after_its_first_bytes() {
        #[cfg(unix)]
        {
            let e = WavFile::open(Path::new("/dev/zero"))
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("/dev/zero") && e.contains("not a WAV"), "{e}");
        }
        let e = load_wav(Path::new("/no/such.wav")).unwrap_err().to_string();
        assert!(e.contains("/no/such.wav"), "{e}");
    }
}
