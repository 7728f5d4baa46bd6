//! A one-hour session through the whole live pipeline, as fast as possible: memory stays
//! flat after warm-up, and speech after minutes of noise is still recognized. Alone in its
//! test binary so that its RSS readings are its own.

mod common;

use nomen::pipeline::{
    self, EventKind, GeneratedSource, Pacing, PartialPolicy, Pipeline, PipelineConfig,
};
use nomen::recognizer::{Recognizer, RecognizerConfig};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Resident set size of this process, in kB.
fn rss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn one_hour_stream_keeps_memory_flat_and_hears_speech_after_minutes_of_noise() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("no /proc: RSS cannot be read here");
        return;
    }
    let rec = Arc::new(
        Recognizer::load(RecognizerConfig::with_dir(
            common::root().join("models-quantized"),
        ))
        .unwrap(),
    );
    let (path, text) = common::fixture_table("tests/fixtures/audio", 2)
        .into_iter()
        .find(|(p, _)| p.ends_with("flite_kitchen_lights.wav"))
        .unwrap();
    // The fixture at 48 kHz, spoken once every 5 minutes into low noise (-60 dBFS) for an
    // hour: 12 utterances, generated on the fly (an hour at 48 kHz as f32 would be 690 MB).
    let speech16 = nomen::audio::load_wav(&path).unwrap().samples;
    let speech = nomen::audio::resample::resample(&speech16, 16_000, 48_000).unwrap();
    // NOMEN_LISTEN_HOURS=4 streams longer (for BENCHMARKS.md); CI runs one hour.
    let hours: u64 = std::env::var("NOMEN_LISTEN_HOURS")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(1)
        .max(1);
    const RATE: u64 = 48_000;
    const EVERY: u64 = 300 * RATE;
    let total: u64 = hours * 3_600 * RATE;
    let mut seed = 99u32;
    let src = GeneratedSource::new(48_000, 1, move |buf: &mut [f32], frame: u64| {
        if frame >= total {
            return 0;
        }
        let n = buf.len().min((total - frame) as usize);
        for (i, x) in buf[..n].iter_mut().enumerate() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.0035;
            let t = (frame + i as u64) % EVERY;
            let at = EVERY - 60 * RATE; // a minute before each 5-minute mark
            let s = if t >= at && ((t - at) as usize) < speech.len() {
                speech[(t - at) as usize]
            } else {
                0.0
            };
            *x = s + noise;
        }
        n
    });
    let (tx, rx) = pipeline::input_channel();
    let feeder = pipeline::spawn_feeder(
        Box::new(src),
        Pacing::Fast,
        48_000,
        tx,
        Arc::new(AtomicBool::new(false)),
    );
    let cfg = PipelineConfig {
        partials: PartialPolicy::All,
        ..Default::default()
    };
    let p = Pipeline::start(rec, None, cfg, rx).expect("valid settings");
    let mut finals = Vec::new();
    let mut rss = Vec::new();
    while let Ok(ev) = p.events().recv() {
        assert_ne!(ev.kind, EventKind::Error, "{ev:?}");
        if ev.kind == EventKind::Final {
            rss.push(rss_kb());
            finals.push((ev.start, ev.text));
        }
    }
    feeder.join().unwrap();
    let stats = p.join();
    assert_eq!(stats.samples_16k, hours * 3_600 * 16_000);
    assert_eq!(stats.dropped_frames, 0);
    assert_eq!(finals.len() as u64, 12 * hours, "{finals:?}");
    for (i, (start, t)) in finals.iter().enumerate() {
        assert_eq!(t, &text, "utterance {i}");
        let expect = (i as f32 + 1.0) * 300.0 - 60.0;
        assert!((start - expect).abs() < 1.0, "utterance {i} at {start}");
    }
    // After warm-up (the first two utterances: model plans, allocator pools), RSS is flat.
    let warm = rss[2];
    let peak = *rss[2..].iter().max().unwrap();
    eprintln!("RSS per final (kB): {rss:?}");
    assert!(
        peak - warm < 8 * 1024,
        "RSS grew by {} kB over the session: {rss:?}",
        peak - warm
    );
}
