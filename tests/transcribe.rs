//! End to end on committed speech fixtures (TTS renderings listed in
//! tests/fixtures/audio/fixtures.tsv): WAV -> model -> lexicon/LM decoder -> words.

mod common;

use common::{recognizer, root, word_errors};
use nomen::recognizer::{Recognizer, RecognizerConfig, Search};
use std::path::PathBuf;

/// (wav, reference text)
fn fixtures() -> Vec<(PathBuf, String)> {
    common::fixture_table("tests/fixtures/audio", 2)
}

#[test]
fn word_error_rate_on_fixtures_is_below_30_percent() {
    let rec = recognizer();
    let (mut errors, mut words) = (0, 0);
    for (wav, reference) in fixtures() {
        let t = rec.transcribe_file(&wav).unwrap();
        let e = word_errors(&reference, &t.text);
        eprintln!("{}: {:?} ({e} errors)", wav.display(), t.text);
        errors += e;
        words += reference.split_whitespace().count();
    }
    let wer = errors as f64 / words as f64;
    assert!(words >= 25);
    // Measured 24% (8 of 33 words; the flite awb and rms voices are the hard ones).
    assert!(wer <= 0.30, "WER {:.1}% over {words} words", wer * 100.0);
}

#[test]
fn word_times_are_ordered_inside_the_audio_and_confidences_bounded() {
    let rec = recognizer();
    for (wav, _) in fixtures() {
        let audio = nomen::audio::load_wav(&wav).unwrap();
        let t = rec.transcribe(&audio).unwrap();
        assert!(!t.words.is_empty());
        let dur = audio.duration_s() as f32 + 0.05;
        for w in &t.words {
            assert!(
                0.0 <= w.start && w.start < w.end && w.end <= dur,
                "{w:?} in {dur} s"
            );
            assert!((0.0..=1.0).contains(&w.conf), "{w:?}");
        }
        for p in t.words.windows(2) {
            assert!(p[0].end <= p[1].start + 1e-6, "{:?}", p);
        }
        let joined: Vec<&str> = t.words.iter().map(|w| w.word.as_str()).collect();
        assert_eq!(joined.join(" "), t.text);
    }
}

#[test]
fn resampled_and_stereo_copies_decode_like_the_original() {
    // The same fixture as 44.1 kHz stereo 24-bit and 8 kHz float: the words must not change
    // much (8 kHz loses the top half of the band).
    let rec = recognizer();
    let (wav, reference) = &fixtures()[1];
    let audio = nomen::audio::load_wav(wav).unwrap();
    let base = rec.transcribe(&audio).unwrap().text;
    let up = nomen::audio::resample::resample(&audio.samples, 16_000, 44_100).unwrap();
    let mut bytes = nomen::audio::wav::header(1, 2, 44_100, 24, up.len() * 2 * 3);
    for s in &up {
        let v = (s * 8_388_607.0) as i32;
        for _ in 0..2 {
            bytes.extend_from_slice(&v.to_le_bytes()[..3]);
        }
    }
    let a = nomen::audio::decode_wav(&bytes).unwrap();
    assert_eq!((a.source_rate, a.source_channels), (44_100, 2));
    let t = rec.transcribe(&a).unwrap().text;
    assert!(word_errors(&base, &t) <= 1, "{base:?} vs {t:?}");
    let down = nomen::audio::resample::resample(&audio.samples, 16_000, 8_000).unwrap();
    let mut bytes = nomen::audio::wav::header(3, 1, 8_000, 32, down.len() * 4);
    for s in &down {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    let t = rec
        .transcribe(&nomen::audio::decode_wav(&bytes).unwrap())
        .unwrap()
        .text;
    assert!(word_errors(reference, &t) <= 2, "{reference:?} vs {t:?}");
}

#[test]
fn silence_and_empty_audio_give_empty_transcripts() {
    let rec = recognizer();
    for n in [0usize, 1, 160, 16_000 * 3] {
        let audio = nomen::audio::Audio16k {
            samples: vec![0.0; n],
            ..Default::default()
        };
        let t = rec.transcribe(&audio).unwrap();
        assert_eq!(t.text, "", "{n} samples of silence");
    }
}

#[test]
fn greedy_baseline_finds_most_words() {
    let mut cfg = RecognizerConfig::with_dir(root().join("models-quantized"));
    cfg.search = Search::Greedy;
    let rec = Recognizer::load(cfg).unwrap();
    let (mut errors, mut words) = (0, 0);
    for (wav, reference) in fixtures() {
        let t = rec.transcribe_file(&wav).unwrap();
        errors += word_errors(&reference, &t.text);
        words += reference.split_whitespace().count();
    }
    assert!((errors as f64 / words as f64) < 0.5, "{errors}/{words}");
}

#[test]
fn two_minute_recording_decodes_as_well_as_its_pieces() {
    // Six rounds of the five fixtures with pauses of 1.5 to 3 s between them: 2+ minutes.
    // The long recording is cut at its pauses, so it must score like the files one by one
    // (not word for word: the silence around each piece differs, and the model hears that).
    let rec = recognizer();
    let mut long = Vec::new();
    let mut reference = Vec::new();
    let (mut piece_errors, mut words) = (0, 0);
    let pieces: Vec<_> = fixtures()
        .iter()
        .map(|(wav, text)| {
            let a = nomen::audio::load_wav(wav).unwrap();
            let e = word_errors(text, &rec.transcribe(&a).unwrap().text);
            (a.samples, text.clone(), e)
        })
        .collect();
    for round in 0..6 {
        for (i, (samples, text, e)) in pieces.iter().enumerate() {
            let pause = 24_000 + 8_000 * ((round + i) % 4);
            long.extend(std::iter::repeat_n(0.0f32, pause));
            long.extend_from_slice(samples);
            reference.push(text.clone());
            piece_errors += e;
            words += text.split_whitespace().count();
        }
    }
    let secs = long.len() as f64 / 16_000.0;
    assert!(secs >= 120.0, "{secs} s");
    // As a file (22.05 kHz stereo: resampled and mixed as it is read), transcribed in
    // bounded memory by two passes: the transcript of the whole input in memory.
    let wide = nomen::audio::resample::resample(&long, 16_000, 22_050).unwrap();
    let mut bytes = nomen::audio::wav::header(1, 2, 22_050, 16, wide.len() * 4);
    for s in &wide {
        let v = (s * 32_767.0) as i16;
        bytes.extend_from_slice(&v.to_le_bytes());
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let path = std::env::temp_dir().join(format!("nomen-long-{}.wav", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let from_file = rec.transcribe_file(&path);
    std::fs::remove_file(&path).ok();
    let in_memory = rec
        .transcribe(&nomen::audio::decode_wav(&bytes).unwrap())
        .unwrap();
    let from_file = from_file.unwrap();
    assert_eq!(from_file.text, in_memory.text);
    assert_eq!(from_file.words, in_memory.words);
    let audio = nomen::audio::Audio16k {
        samples: long,
        ..Default::default()
    };
    let t = rec.transcribe(&audio).unwrap();
    let long_errors = word_errors(&reference.join(" "), &t.text);
    let (wer_long, wer_pieces) = (
        long_errors as f64 / words as f64,
        piece_errors as f64 / words as f64,
    );
    eprintln!("2-minute WER {wer_long:.3}, pieces {wer_pieces:.3}");
    assert!(
        wer_long <= wer_pieces + 0.03,
        "{wer_long} vs {wer_pieces}: {}",
        t.text
    );
    // Times run across the whole recording.
    let last = t.words.last().unwrap();
    assert!(last.end as f64 > secs - 5.0 && last.end as f64 <= secs + 0.05);
}

#[test]
fn settings_out_of_range_are_refused_by_the_library_with_their_name() {
    // A library caller gets the same checks as the command line: nothing loads or starts.
    let mut cfg = RecognizerConfig::with_dir(root().join("models-quantized"));
    cfg.decoder.beam_threshold = f32::NAN;
    match Recognizer::load(cfg) {
        Err(nomen::Error::Config(e)) => assert_eq!(e.field, "decoder.beam_threshold", "{e}"),
        other => panic!("expected a configuration error, got {:?}", other.err()),
    }
    let mut cfg = RecognizerConfig::with_dir(root().join("models-quantized"));
    cfg.segment.padding.post_roll_s = -1.0;
    assert_eq!(
        cfg.validate().unwrap_err().field,
        "segment.padding.post_roll_s"
    );

    let mut live = nomen::PipelineConfig::default();
    live.endpoint.trailing_silence_s = f32::NAN;
    let (_tx, rx) = nomen::pipeline::input_channel();
    let e = nomen::Pipeline::start(common::shared_recognizer(), None, live, rx)
        .err()
        .expect("refused");
    assert_eq!(e.field, "endpoint.trailing_silence_s", "{e}");
}
