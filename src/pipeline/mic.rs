//! Microphone capture through cpal (feature `mic`), at the device's own rate and sample
//! format. The audio callback only converts samples to `f32` and copies them into the
//! capture ring ([`RingWriter::push_iter_or_drop`]): no allocation, no lock, no logging, no
//! blocking. A supervisor thread owns the stream, watches for a lost device, and reconnects.

use super::ring::{capture_ring, Clock, RingWriter};
use super::InputMsg;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};
use crossbeam_channel::Sender;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why the microphone cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MicError {
    /// No input device (or none with the given name).
    #[error("{0}")]
    NoDevice(String),
    /// The audio system refused.
    #[error("audio device: {0}")]
    Device(String),
    /// A setting out of its range ([`MicOptions::validate`]).
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
}

/// An input device.
#[derive(Debug, Clone)]
pub struct DeviceInfo {
    /// The backend's identifier (`hw:1,0`, `default`, ...): what `--device` takes.
    pub name: String,
    /// The description the system gives (`--device` also matches part of it).
    pub description: String,
    /// Its default capture format, in words.
    pub config: String,
    /// Whether it is the system's default input.
    pub is_default: bool,
}

/// The input devices of the default host.
pub fn list_devices() -> Result<Vec<DeviceInfo>, MicError> {
    let host = cpal::default_host();
    let default = host.default_input_device().map(|d| device_id(&d));
    let devices = host
        .input_devices()
        .map_err(|e| MicError::Device(e.to_string()))?;
    Ok(devices
        .map(|d| {
            let name = device_id(&d);
            let description = d.to_string();
            let config = match d.default_input_config() {
                Ok(c) => format!(
                    "{} Hz, {} ch, {}",
                    c.sample_rate(),
                    c.channels(),
                    c.sample_format()
                ),
                Err(e) => format!("({e})"),
            };
            DeviceInfo {
                is_default: default.as_deref() == Some(name.as_str()),
                name,
                description,
                config,
            }
        })
        .collect())
}

/// The device's identifier within its host (`hw:1,0`), or its description.
fn device_id(d: &cpal::Device) -> String {
    d.id()
        .map(|i| i.id().to_string())
        .unwrap_or_else(|_| d.to_string())
}

/// Whether `--device name` means device `d`: its identifier (with or without the host
/// prefix), or part of its description (any case).
fn matches(d: &cpal::Device, name: &str) -> (bool, bool) {
    let id = device_id(d);
    let full = d.id().map(|i| i.to_string()).unwrap_or_default();
    let exact = id == name || full == name;
    let part = d.to_string().to_lowercase().contains(&name.to_lowercase());
    (exact, part)
}

/// Microphone settings.
#[derive(Debug, Clone)]
pub struct MicOptions {
    /// Device name (as `--list-devices` shows it); `None`: the default input.
    pub device: Option<String>,
    /// Capture ring length (s).
    pub ring_s: f32,
    /// How long to try to reopen a lost device before giving up (s).
    pub reconnect_s: f32,
}

impl MicOptions {
    /// Checks the ring's length (0.1 to 60 s) and the reconnection time (0 to 3600 s).
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ranges::seconds;
        seconds("ring_s", self.ring_s, 0.1, 60.0)?;
        seconds("reconnect_s", self.reconnect_s, 0.0, 3600.0)
    }
}

impl Default for MicOptions {
    fn default() -> Self {
        MicOptions {
            device: None,
            ring_s: 2.0,
            reconnect_s: 10.0,
        }
    }
}

/// How a microphone session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MicEnd {
    /// Stopped on request.
    Stopped,
    /// The device was lost and could not be reopened.
    Lost(String),
}

struct Open {
    _stream: cpal::Stream,
    failed: Arc<AtomicBool>,
    desc: String,
}

fn open(opts: &MicOptions, input: &Sender<InputMsg>) -> Result<Open, MicError> {
    let host = cpal::default_host();
    let device = match &opts.device {
        None => host.default_input_device().ok_or_else(|| {
            MicError::NoDevice("no audio input device found (is a microphone connected?)".into())
        })?,
        Some(name) => {
            let mut found = None;
            let devices = host
                .input_devices()
                .map_err(|e| MicError::Device(e.to_string()))?;
            for d in devices {
                let (exact, part) = matches(&d, name);
                if exact || (found.is_none() && part) {
                    found = Some(d);
                    if exact {
                        break;
                    }
                }
            }
            found.ok_or_else(|| {
                MicError::NoDevice(format!(
                    "no audio input device named {name:?} (see `nomen listen --list-devices`)"
                ))
            })?
        }
    };
    let config = device.default_input_config().map_err(|e| {
        MicError::NoDevice(format!(
            "cannot open audio input {:?}: {e} (is a microphone connected? `nomen listen --list-devices` shows the inputs; `--input WAV` reads a file)",
            device.to_string()
        ))
    })?;
    let rate = config.sample_rate();
    let channels = config.channels();
    let frames = ((opts.ring_s.max(0.1) * rate as f32) as usize).max(1024);
    let (writer, stream) = capture_ring(rate, channels, frames, Clock::Paced);
    let failed = Arc::new(AtomicBool::new(false));
    let fail = failed.clone();
    let on_error = move |e: cpal::Error| {
        // Overruns and reroutes are not fatal; the rest ends this stream.
        use cpal::ErrorKind as K;
        if !matches!(e.kind(), K::Xrun | K::DeviceChanged | K::RealtimeDenied) {
            fail.store(true, Ordering::Relaxed);
        }
    };
    let sc: cpal::StreamConfig = config.into();
    let desc = format!(
        "{device} ({rate} Hz, {channels} ch, {})",
        config.sample_format()
    );
    let s = match config.sample_format() {
        cpal::SampleFormat::I8 => build::<i8>(&device, sc, writer, on_error),
        cpal::SampleFormat::U8 => build::<u8>(&device, sc, writer, on_error),
        cpal::SampleFormat::I16 => build::<i16>(&device, sc, writer, on_error),
        cpal::SampleFormat::U16 => build::<u16>(&device, sc, writer, on_error),
        cpal::SampleFormat::I32 => build::<i32>(&device, sc, writer, on_error),
        cpal::SampleFormat::U32 => build::<u32>(&device, sc, writer, on_error),
        cpal::SampleFormat::F32 => build::<f32>(&device, sc, writer, on_error),
        cpal::SampleFormat::F64 => build::<f64>(&device, sc, writer, on_error),
        other => {
            return Err(MicError::Device(format!(
                "{device}: sample format {other} is not supported"
            )))
        }
    }
    .map_err(|e| MicError::Device(format!("{device}: {e}")))?;
    s.play()
        .map_err(|e| MicError::Device(format!("{device}: {e}")))?;
    if input.send(InputMsg::Stream(stream)).is_err() {
        return Err(MicError::Device("the pipeline is gone".into()));
    }
    Ok(Open {
        _stream: s,
        failed,
        desc,
    })
}

fn build<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut writer: RingWriter,
    on_error: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let ch = usize::from(config.channels.max(1));
    device.build_input_stream(
        config,
        // The real-time callback: convert and copy, nothing else.
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            writer.mark_start(data.len() / ch);
            writer.push_iter_or_drop(data.len(), data.iter().map(|s| f32::from_sample_(*s)));
        },
        on_error,
        None,
    )
}

/// Opens the microphone and starts capture. Returns once the device is open (or could not
/// be opened); the returned thread supervises the stream until `stop` is set or the device
/// is lost for longer than `reconnect_s`. Error events go through `input`.
pub fn start(
    opts: MicOptions,
    input: Sender<InputMsg>,
    stop: Arc<AtomicBool>,
) -> Result<(String, std::thread::JoinHandle<MicEnd>), MicError> {
    opts.validate()?;
    let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<String, MicError>>(1);
    let handle = std::thread::Builder::new()
        .name("nomen-mic".into())
        .spawn(move || {
            let mut cur = match open(&opts, &input) {
                Ok(o) => {
                    let _ = ready_tx.send(Ok(o.desc.clone()));
                    o
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return MicEnd::Stopped;
                }
            };
            loop {
                std::thread::sleep(Duration::from_millis(20));
                if stop.load(Ordering::Relaxed) {
                    return MicEnd::Stopped;
                }
                if !cur.failed.load(Ordering::Relaxed) {
                    continue;
                }
                let lost = cur.desc.clone();
                drop(cur); // closes this stream's ring
                let _ = input.send(InputMsg::Error(format!(
                    "input device lost: {lost}; trying to reconnect for {} s",
                    opts.reconnect_s
                )));
                let deadline = Instant::now() + Duration::from_secs_f32(opts.reconnect_s.max(0.0));
                cur = loop {
                    if stop.load(Ordering::Relaxed) {
                        return MicEnd::Stopped;
                    }
                    match open(&opts, &input) {
                        Ok(o) => {
                            let _ = input.send(InputMsg::Error(format!("reconnected: {}", o.desc)));
                            break o;
                        }
                        Err(e) if Instant::now() >= deadline => {
                            let msg = format!("input device lost and not back: {e}");
                            let _ = input.send(InputMsg::Error(msg.clone()));
                            return MicEnd::Lost(msg);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(500)),
                    }
                };
            }
        })
        .map_err(|e| MicError::Device(e.to_string()))?;
    match ready_rx.recv() {
        Ok(Ok(desc)) => Ok((desc, handle)),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => Err(MicError::Device("capture thread failed".into())),
    }
}
