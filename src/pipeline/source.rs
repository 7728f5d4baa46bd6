//! Sources that are not a sound card: a WAV file or a generated signal, fed into the same
//! capture ring as the microphone, either at real-time pace or as fast as possible.

use super::ring::{capture_ring, Clock, RingWriter};
use super::InputMsg;
use crate::audio::{AudioError, WavFile};
use crossbeam_channel::Sender;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Audio that can be read in pieces: interleaved `f32` samples at a fixed rate.
pub trait SampleSource: Send + 'static {
    /// Frames per second.
    fn rate(&self) -> u32;
    /// Interleaved channels.
    fn channels(&self) -> u16;
    /// Fills `buf` (a whole number of frames long) with the next samples; returns how many
    /// were written (whole frames), 0 at the end.
    fn read(&mut self, buf: &mut [f32]) -> usize;
}

/// A WAV file at its own rate and channel count: read from disk in pieces
/// ([`WavSource::open`]: memory does not grow with the file) or held in memory
/// ([`WavSource::from_samples`]), optionally followed by made-up quiet.
pub struct WavSource {
    body: Body,
    rate: u32,
    channels: u16,
    /// Samples of quiet still to give after the body ([`WavSource::append_silence`]).
    quiet_left: usize,
    quiet_amp: f32,
    quiet_seed: u32,
    /// A piece of the file as read (reused).
    scratch: Vec<f32>,
}

enum Body {
    File(Box<WavFile>),
    Memory { samples: Vec<f32>, pos: usize },
    Done,
}

impl WavSource {
    /// Opens a WAV file (any format `audio::wav` reads); its samples are read as they are
    /// needed.
    pub fn open(path: &Path) -> Result<WavSource, AudioError> {
        let file = WavFile::open(path)?;
        if file.truncated() {
            log::warn!(
                "{}: data chunk cut short; streaming what is there",
                path.display()
            );
        }
        let (rate, channels) = (file.source_rate(), file.source_channels());
        Ok(WavSource::with_body(
            Body::File(Box::new(file)),
            rate,
            channels,
        ))
    }

    fn with_body(body: Body, rate: u32, channels: u16) -> WavSource {
        WavSource {
            body,
            rate,
            channels: channels.max(1),
            quiet_left: 0,
            quiet_amp: 0.0,
            quiet_seed: 0x2545_f491,
            scratch: Vec::new(),
        }
    }

    /// Adds `secs` of quiet at the end: white noise at `level_db` dBFS RMS (a microphone
    /// is never digitally silent; `f32::NEG_INFINITY`: zeros).
    pub fn append_silence(&mut self, secs: f32, level_db: f32) {
        let n = (secs.max(0.0) as f64 * f64::from(self.rate)) as usize * usize::from(self.channels);
        // Uniform noise in [-a, a] has RMS a / sqrt(3).
        self.quiet_amp = 10f32.powf(level_db / 20.0) * 3f32.sqrt();
        self.quiet_left += n;
    }

    /// Interleaved samples in memory.
    pub fn from_samples(samples: Vec<f32>, rate: u32, channels: u16) -> WavSource {
        WavSource::with_body(Body::Memory { samples, pos: 0 }, rate, channels)
    }

    /// Fills `buf` from the body; 0 once it has ended.
    fn read_body(&mut self, buf: &mut [f32]) -> usize {
        let ch = usize::from(self.channels);
        let n = match &mut self.body {
            Body::Memory { samples, pos } => {
                let n = buf.len().min(samples.len() - *pos) / ch * ch;
                buf[..n].copy_from_slice(&samples[*pos..*pos + n]);
                *pos += n;
                n
            }
            Body::File(file) => {
                let v = &mut self.scratch;
                v.clear();
                match file.read_raw(v, buf.len() / ch) {
                    Ok(_) => {
                        buf[..v.len()].copy_from_slice(v);
                        v.len()
                    }
                    Err(e) => {
                        log::error!("{e}; the rest of the file is not heard");
                        0
                    }
                }
            }
            Body::Done => 0,
        };
        if n == 0 {
            self.body = Body::Done;
        }
        n
    }
}

impl SampleSource for WavSource {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> u16 {
        self.channels
    }
    fn read(&mut self, buf: &mut [f32]) -> usize {
        let n = self.read_body(buf);
        if n > 0 {
            return n;
        }
        let ch = usize::from(self.channels);
        let n = buf.len().min(self.quiet_left) / ch * ch;
        for s in &mut buf[..n] {
            self.quiet_seed = self
                .quiet_seed
                .wrapping_mul(1_664_525)
                .wrapping_add(1_013_904_223);
            *s = ((self.quiet_seed >> 8) as f32 / (1u32 << 23) as f32 - 1.0) * self.quiet_amp;
        }
        self.quiet_left -= n;
        n
    }
}

/// A signal computed on the fly (long tests without holding hours of audio in memory):
/// `f(buf, frame_index)` fills `buf` and returns the samples written, 0 at the end.
pub struct GeneratedSource<F> {
    f: F,
    frame: u64,
    rate: u32,
    channels: u16,
}

impl<F: FnMut(&mut [f32], u64) -> usize + Send + 'static> GeneratedSource<F> {
    /// A generated signal at `rate` with `channels` interleaved channels.
    pub fn new(rate: u32, channels: u16, f: F) -> Self {
        GeneratedSource {
            f,
            frame: 0,
            rate,
            channels: channels.max(1),
        }
    }
}

impl<F: FnMut(&mut [f32], u64) -> usize + Send + 'static> SampleSource for GeneratedSource<F> {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> u16 {
        self.channels
    }
    fn read(&mut self, buf: &mut [f32]) -> usize {
        let n = (self.f)(buf, self.frame);
        self.frame += (n / usize::from(self.channels)) as u64;
        n
    }
}

/// How a file source is fed into the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// 10 ms of audio every 10 ms, like a sound card; a full ring drops frames (counted).
    Realtime,
    /// As fast as the pipeline takes it; a full ring makes the feeder wait (nothing dropped).
    Fast,
}

/// Spawns a thread that feeds `source` into a fresh capture ring of `ring_frames` frames,
/// announcing the ring on `input` first. Stops early when `stop` is set.
pub fn spawn_feeder(
    mut source: Box<dyn SampleSource>,
    pacing: Pacing,
    ring_frames: usize,
    input: Sender<InputMsg>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let rate = source.rate().max(1);
    let channels = source.channels().max(1);
    let clock = match pacing {
        Pacing::Realtime => Clock::Paced,
        Pacing::Fast => Clock::Arrival,
    };
    let (mut writer, stream) = capture_ring(rate, channels, ring_frames, clock);
    std::thread::Builder::new()
        .name("nomen-source".into())
        .spawn(move || {
            if input.send(InputMsg::Stream(stream)).is_err() {
                return;
            }
            drop(input);
            let ch = usize::from(channels);
            // 10 ms periods, as a sound card delivers them.
            let period = (rate as usize / 100).max(1);
            let mut buf = vec![0.0f32; period * ch];
            let started = Instant::now();
            let mut sent_frames = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let n = source.read(&mut buf);
                if n == 0 {
                    break;
                }
                match pacing {
                    Pacing::Realtime => {
                        sent_frames += (n / ch) as u64;
                        // This period "is captured" once its last frame has been spoken.
                        let due =
                            started + Duration::from_secs_f64(sent_frames as f64 / f64::from(rate));
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        writer.mark_start(n / ch);
                        writer.push_or_drop(&buf[..n]);
                    }
                    Pacing::Fast => {
                        writer.mark_start(0);
                        feed_waiting(&mut writer, &buf[..n], &stop);
                    }
                }
            }
        })
        .expect("spawn source thread")
}

/// Writes all of `samples`, waiting for room (nothing is dropped).
fn feed_waiting(writer: &mut RingWriter, samples: &[f32], stop: &AtomicBool) {
    let ch = writer.channels();
    let mut rest = samples;
    while !rest.is_empty() {
        let room = writer.vacant_frames();
        if room == 0 {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        let take = room.min(rest.len() / ch) * ch;
        let wrote = writer.push_or_drop(&rest[..take]);
        rest = &rest[wrote * ch..];
    }
}
