//! nomen's own acoustic model (`--acoustic-model whisper-tiny`: the Whisper tiny.en encoder
//! with a CTC phone head trained on synthesized speech, `tools/build/am/`) beside hama: the same
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
        err.contains("whisper_tiny_ctc.onnx") && err.contains("tools/build/am/build.sh"),
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

#[test]
fn the_streaming_graph_follows_the_whole_utterance_graph() {
    use nomen::model::{ModelStream, LEAD_SAMPLES, LOOK_AHEAD};
    let cfg = ModelConfig {
        streaming: true,
        ..config(ModelKind::WhisperTiny)
    };
    let model = AcousticModel::load(&cfg).unwrap();
    let graph = model.stream().expect("whisper-tiny has a streaming graph");
    let path = common::root().join("tests/fixtures/real/ljspeech_LJ001-0020.wav");
    let audio = nomen::audio::load_wav(&path).unwrap().samples;
    let whole = model.posteriors(&audio).unwrap();
    let blank = model.tokens().blank();
    let want = whole.greedy(blank);

    // As live partials come: 0.3 s at a time.
    let mut stream = ModelStream::new(None).unwrap();
    let mut last = None;
    for piece in audio.chunks(4_800) {
        stream.push(piece);
        let post = stream.posteriors(graph).unwrap();
        // Every frame whose audio is all there, from time 0 of the utterance.
        let heard = LEAD_SAMPLES + stream.samples();
        assert_eq!(
            post.frames + 15,
            (heard - 200) / 320,
            "frames after {heard} samples"
        );
        assert_eq!(post.vocab, whole.vocab);
        assert!(post.data.iter().all(|v| v.is_finite() && *v <= 0.0));
        last = Some(post);
    }
    let last = last.unwrap();
    assert!(
        last.frames + LOOK_AHEAD >= whole.frames - 2,
        "{} of {}",
        last.frames,
        whole.frames
    );
    let got = last.greedy(blank);
    let moved = common::edit_distance(&got, &want) as f64 / want.len() as f64;
    // Frames that saw no audio after their call read a little differently (about 5-10% of
    // the phones on real speech); a broken state (positions, keys, the head's context)
    // moves most of them.
    assert!(
        moved < 0.15,
        "streamed phones differ in {:.0}%",
        moved * 100.0
    );

    // All at once: one call, the same frames. The streaming graph's head was trained on
    // streamed encoder frames, not on whole utterances, so even one call over everything
    // reads a little differently from the whole-utterance graph (6% of the phones here;
    // under 5% when both graphs had the same head).
    let mut once = ModelStream::new(None).unwrap();
    once.push(&audio);
    let post = once.posteriors(graph).unwrap();
    assert_eq!(post.frames, last.frames);
    let moved = common::edit_distance(&post.greedy(blank), &want) as f64 / want.len() as f64;
    assert!(moved < 0.10, "one call differs in {:.0}%", moved * 100.0);

    // A lead-in must be a lead-in; hama has no streaming graph; without the flag none loads.
    assert!(ModelStream::new(Some(&[0.0; 100])).is_err());
    let hama = AcousticModel::load(&ModelConfig {
        streaming: true,
        ..config(ModelKind::Hama)
    })
    .unwrap();
    assert!(hama.stream().is_none());
    assert!(whisper().model().stream().is_none());
}
