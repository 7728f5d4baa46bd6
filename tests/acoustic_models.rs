//! nomen's own acoustic model (`--acoustic-model whisper-tiny`: the Whisper tiny.en encoder
//! with a CTC phone head trained on synthesized speech, `tools/am/`) beside hama: the same
//! tokens and frames, so everything downstream works unchanged, and the committed fixtures
//! (synthesized and real recordings) give their words through it.

mod common;

use nomen::model::{AcousticModel, ModelConfig, ModelError, ModelKind, Precision};
use nomen::recognizer::Recognizer;

fn config(kind: ModelKind) -> ModelConfig {
    ModelConfig {
        kind,
        ..ModelConfig::with_dir(common::root().join("models-quantized"))
    }
}

/// The default recognizer, whose model is whisper-tiny.
fn whisper() -> &'static Recognizer {
    let rec = common::recognizer();
    assert_eq!(rec.config().model.kind, ModelKind::WhisperTiny);
    rec
}

/// A deterministic test signal: a gliding tone with noise.
fn signal(n: usize) -> Vec<f32> {
    let mut state = 12345u32;
    (0..n)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            let t = i as f32 / 16_000.0;
            0.2 * (2.0 * std::f32::consts::PI * (200.0 + 300.0 * t) * t).sin() + 0.02 * noise
        })
        .collect()
}

#[test]
fn same_tokens_and_frames_as_hama() {
    let hama = AcousticModel::load(&config(ModelKind::Hama)).unwrap();
    let rec = whisper();
    let ours = rec.model();
    assert_eq!(ours.kind(), ModelKind::WhisperTiny);
    assert_eq!(ours.tokens(), hama.tokens());
    // Lengths around frame edges, and one past the 20 s window (two graph calls).
    for n in [1, 319, 320, 321, 4_800, 16_077, 113_600, 21 * 16_000 + 123] {
        let x = signal(n);
        let a = hama.posteriors(&x).unwrap();
        let b = ours.posteriors(&x).unwrap();
        assert_eq!((a.frames, a.vocab), (b.frames, b.vocab), "{n} samples");
        for t in 0..b.frames {
            let row = b.frame(t);
            let mass: f32 = row.iter().map(|v| v.exp()).sum();
            assert!((mass - 1.0).abs() < 1e-3, "frame {t} of {n}: mass {mass}");
            assert!(row.iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn fixtures_give_their_words() {
    let rec = whisper();
    let mut rows = common::fixture_table("tests/fixtures/audio", 2);
    rows.extend(common::fixture_table("tests/fixtures/real", 1));
    let mut wrong = Vec::new();
    for (path, words) in &rows {
        let audio = nomen::audio::load_wav(path).unwrap();
        let got = rec.transcribe(&audio).unwrap().text;
        if &got != words {
            wrong.push(format!("{}: {got:?} != {words:?}", path.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn limits_are_clear_errors() {
    // A model directory without the graph says how to make it.
    let dir = std::env::temp_dir().join(format!("nomen-am-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["tokens.txt", "SHA256SUMS"] {
        std::fs::copy(common::root().join("models-quantized").join(f), dir.join(f)).unwrap();
    }
    let err = AcousticModel::load(&ModelConfig {
        kind: ModelKind::WhisperTiny,
        ..ModelConfig::with_dir(&dir)
    })
    .unwrap_err()
    .to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        err.contains("whisper_tiny_ctc.onnx") && err.contains("tools/am/build.sh"),
        "{err}"
    );

    let int8 = ModelConfig {
        precision: Precision::Int8,
        ..config(ModelKind::WhisperTiny)
    };
    let err = AcousticModel::load(&int8).unwrap_err();
    assert!(
        matches!(&err, ModelError::Config(m) if m.contains("no int8 graph")),
        "{err}"
    );
    // The encoder's positional table covers 30 s, lead-in included.
    let long = ModelConfig {
        window_s: 30.0,
        ..config(ModelKind::WhisperTiny)
    };
    let err = AcousticModel::load(&long).unwrap_err();
    assert!(
        matches!(&err, ModelError::Config(m) if m.contains("at most 29.7")),
        "{err}"
    );
}
