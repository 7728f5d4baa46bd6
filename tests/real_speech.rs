//! Real recordings of real people (`tests/fixtures/real/`, sources and licenses in its
//! README): tightly trimmed 8 kHz digits and read speech must give their words, also when the
//! recording is quiet or has a DC offset, and the live pipeline must hear what `transcribe`
//! hears. A guard for the audio path: padding (the post-roll the model needs, made up when a
//! file is trimmed tight), DC removal and the level floor.

mod common;

use nomen::audio::Audio16k;
use nomen::pipeline::{self, EventKind, Pacing, PartialPolicy, Pipeline, PipelineConfig};
use nomen::recognizer::Recognizer;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn rec() -> Arc<Recognizer> {
    common::shared_recognizer()
}

/// (file, words) of every real recording.
fn recordings() -> Vec<(PathBuf, String)> {
    let rows = common::fixture_table("tests/fixtures/real", 1);
    assert_eq!(rows.len(), 4);
    rows
}

fn load(path: &Path) -> Audio16k {
    nomen::audio::load_wav(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn real_recordings_give_their_words() {
    let rec = rec();
    for (path, words) in recordings() {
        let t = rec.transcribe(&load(&path)).unwrap();
        assert_eq!(t.text, words, "{}", path.display());
        // Words heard in the made-up post-roll still end inside the recording.
        let dur = load(&path).duration_s() as f32;
        for w in &t.words {
            assert!(w.start <= w.end && w.end <= dur + 1e-3, "{w:?} in {dur} s");
        }
    }
}

#[test]
fn quiet_and_offset_copies_give_the_same_words() {
    let rec = rec();
    for (path, words) in recordings() {
        // The FSDD speaker whose digits survive every copy, and the read sentence.
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.contains("jackson") || name.contains("LJ001")) {
            continue;
        }
        let a = load(&path);
        // 30 dB quieter (a distant or badly set microphone): peaks about 0.015 of full scale.
        let quiet = Audio16k {
            samples: a.samples.iter().map(|x| x * 0.0316).collect(),
            ..a.clone()
        };
        assert_eq!(
            rec.transcribe(&quiet).unwrap().text,
            words,
            "{name} at -30 dB"
        );
        // A DC offset of 5% of full scale.
        let offset = Audio16k {
            samples: a.samples.iter().map(|x| x + 0.05).collect(),
            ..a.clone()
        };
        assert_eq!(rec.transcribe(&offset).unwrap().text, words, "{name} + DC");
    }
}

#[test]
fn the_live_pipeline_hears_what_transcribe_hears() {
    let rec = rec();
    for (path, words) in recordings() {
        let a = load(&path);
        let (tx, rx) = pipeline::input_channel();
        let stop = Arc::new(AtomicBool::new(false));
        // The file as it is: the stream ends right after the speech, as the file does.
        let feeder = pipeline::spawn_feeder(
            Box::new(pipeline::WavSource::from_samples(
                a.samples.clone(),
                16_000,
                1,
            )),
            Pacing::Fast,
            16_000,
            tx,
            stop,
        );
        let mut cfg = PipelineConfig {
            partials: PartialPolicy::All,
            ..Default::default()
        };
        cfg.endpoint.segment = rec.config().segment;
        // Finals only: they are what must match `transcribe` (partials are tested in
        // tests/listen.rs; each re-runs the model over the utterance so far, which under
        // aarch64 emulation costs minutes for these four files).
        cfg.endpoint.partial_interval_s = 0.0;
        let p = Pipeline::start(rec.clone(), None, cfg, rx).expect("valid settings");
        let mut finals = Vec::new();
        while let Ok(ev) = p.events().recv() {
            if ev.kind == EventKind::Final {
                finals.push(ev.text);
            }
        }
        feeder.join().unwrap();
        p.join();
        assert_eq!(finals.join(" "), words, "{}", path.display());
    }
}
