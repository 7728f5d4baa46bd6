//! hama's acoustic model on real files: committed speech fixtures (tests/fixtures/audio,
//! rendered by `python3 tools/build/make_model.py --fixtures tests/fixtures/audio`) and the
//! model in models-quantized/.
//!
//! `cargo test --release --test model -- --ignored --nocapture bench` also measures load
//! time, real-time factors and int8/fp32 agreement on real speech (Debian
//! pocketsphinx-testdata; set NOMEN_EVAL_DIR to its `test/data` directory).

mod common;

use common::edit_distance;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use nomen::model::{AcousticModel, ModelConfig, ModelKind, Posteriors, Precision, Tokens};

const SR: usize = 16_000;

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models-quantized")
}

/// hama at `precision` (this file tests hama's graph; tests/acoustic_models.rs tests the
/// default model beside it).
fn config(precision: Precision) -> ModelConfig {
    ModelConfig {
        kind: ModelKind::Hama,
        precision,
        ..ModelConfig::with_dir(model_dir())
    }
}

/// fp32 model, loaded once for all tests of this binary.
fn fp32() -> &'static AcousticModel {
    static MODEL: OnceLock<AcousticModel> = OnceLock::new();
    MODEL.get_or_init(|| AcousticModel::load(&config(Precision::Fp32)).expect("load fp32 model"))
}

/// int8 model, if one is shipped.
fn int8() -> Option<&'static AcousticModel> {
    static MODEL: OnceLock<Option<AcousticModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            model_dir()
                .join(Precision::Int8.file_name())
                .exists()
                .then(|| AcousticModel::load(&config(Precision::Int8)).expect("load int8 model"))
        })
        .as_ref()
}

/// A 16 kHz WAV (read by nomen's own reader) or headerless 16-bit `.raw` file to samples.
fn read_audio(path: &Path) -> Vec<f32> {
    if path.extension().is_some_and(|e| e == "raw") {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return bytes
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0)
            .collect();
    }
    let audio = nomen::audio::load_wav(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (audio.source_rate, audio.source_channels),
        (16_000, 1),
        "{}",
        path.display()
    );
    audio.samples
}

struct Fixture {
    name: String,
    samples: Vec<f32>,
    /// Expected phones (CMUdict), word boundaries removed.
    expected: Vec<String>,
}

fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio");
        let table = std::fs::read_to_string(dir.join("fixtures.tsv")).unwrap();
        table
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                Fixture {
                    name: cols[0].to_string(),
                    samples: read_audio(&dir.join(cols[0])),
                    expected: cols[3]
                        .split_whitespace()
                        .filter(|p| *p != "|")
                        .map(str::to_string)
                        .collect(),
                }
            })
            .collect()
    })
}

/// Greedy CTC phones (blanks and word boundaries removed).
fn phones(p: &Posteriors, tokens: &Tokens) -> Vec<usize> {
    p.greedy(tokens.blank())
        .into_iter()
        .filter(|&id| Some(id) != tokens.word_boundary())
        .collect()
}

/// (phone agreement = 1 - PER of `b` against `a`, frame argmax agreement).
fn agreement(a: &Posteriors, b: &Posteriors, tokens: &Tokens) -> (usize, usize, usize, usize) {
    let (pa, pb) = (phones(a, tokens), phones(b, tokens));
    let same = a
        .argmax()
        .iter()
        .zip(b.argmax())
        .filter(|(x, y)| **x == *y)
        .count();
    (
        edit_distance(&pb, &pa),
        pa.len(),
        same,
        a.frames.min(b.frames),
    )
}

#[test]
fn fixtures_give_sensible_phones() {
    let model = fp32();
    let tokens = model.tokens();
    let (mut edits, mut total) = (0, 0);
    for f in fixtures() {
        let post = model.posteriors(&f.samples).unwrap();
        assert_eq!(post.vocab, tokens.len());
        let got = phones(&post, tokens);
        let got: Vec<&str> = got.iter().map(|&i| tokens.get(i)).collect();
        let want: Vec<&str> = f.expected.iter().map(String::as_str).collect();
        let e = edit_distance(&got, &want);
        eprintln!(
            "{}: PER {:.2}\n  got  {}\n  want {}",
            f.name,
            e as f64 / want.len() as f64,
            got.join(" "),
            want.join(" ")
        );
        assert!(
            (e as f64) <= 0.6 * want.len() as f64,
            "{}: {} edits for {} phones",
            f.name,
            e,
            want.len()
        );
        edits += e;
        total += want.len();
    }
    let per = edits as f64 / total as f64;
    eprintln!("fixtures: PER {per:.3} against CMUdict phones ({total} phones)");
    assert!(
        per < 0.35,
        "phone error rate {per:.3} against CMUdict phones"
    );
}

#[test]
fn int8_agrees_with_fp32() {
    let Some(q) = int8() else {
        eprintln!("no int8 model shipped; skipping");
        return;
    };
    let model = fp32();
    let tokens = model.tokens();
    let (mut edits, mut total, mut same, mut frames) = (0, 0, 0, 0);
    for f in fixtures() {
        let a = model.posteriors(&f.samples).unwrap();
        let b = q.posteriors(&f.samples).unwrap();
        assert_eq!(a.frames, b.frames);
        let (e, n, s, fr) = agreement(&a, &b, tokens);
        edits += e;
        total += n;
        same += s;
        frames += fr;
    }
    let phone_agreement = 1.0 - edits as f64 / total as f64;
    let frame_agreement = same as f64 / frames as f64;
    eprintln!("int8 vs fp32 on fixtures: phones {phone_agreement:.3}, frames {frame_agreement:.3}");
    assert!(phone_agreement >= 0.9 && frame_agreement >= 0.9);
}

#[test]
fn empty_and_tiny_inputs() {
    let model = fp32();
    let empty = model.posteriors(&[]).unwrap();
    assert_eq!((empty.frames, empty.data.len()), (0, 0));
    assert_eq!(empty.vocab, model.tokens().len());
    for n in [1usize, 10, 159, 160, 319, 320, 321, 4799, 4800, 16_000] {
        let x: Vec<f32> = (0..n).map(|i| 0.1 * (i as f32 * 0.05).sin()).collect();
        let p = model.posteriors(&x).unwrap();
        assert_eq!(p.frames, (n / 160 + 2) / 2, "{n} samples");
        assert_eq!(p.data.len(), p.frames * p.vocab);
        for t in 0..p.frames {
            let mass: f32 = p.frame(t).iter().map(|v| v.exp()).sum();
            assert!(
                (mass - 1.0).abs() < 1e-3,
                "{n} samples, frame {t}: mass {mass}"
            );
        }
    }
    // Out-of-range and non-finite samples are clamped, not propagated.
    let wild = [f32::NAN, f32::INFINITY, -5.0, 5.0, 0.5].repeat(2000);
    let p = model.posteriors(&wild).unwrap();
    assert!(p.data.iter().all(|v| v.is_finite()));
}

#[test]
fn frame_zero_is_time_zero() {
    // One second of silence in front moves the frame sequence exactly 50 frames later:
    // the argmax sequences agree best at that shift.
    let model = fp32();
    for f in fixtures() {
        let plain = model.posteriors(&f.samples).unwrap();
        let mut shifted = vec![0.0f32; SR];
        shifted.extend_from_slice(&f.samples);
        let later = model.posteriors(&shifted).unwrap();
        assert_eq!(later.frames, plain.frames + 50);
        let (p, l) = (plain.argmax(), later.argmax());
        let agree = |shift: usize| {
            (0..p.len())
                .filter(|&t| l.get(t + shift) == Some(&p[t]))
                .count()
        };
        let best = (40..=60)
            .max_by_key(|&s| (agree(s), std::cmp::Reverse(s.abs_diff(50))))
            .unwrap();
        eprintln!(
            "{}: best shift {best}, agreement {}/{}",
            f.name,
            agree(50),
            p.len()
        );
        assert_eq!(best, 50, "{}", f.name);
        assert!(agree(50) * 10 >= p.len() * 8, "{}", f.name);
    }
}

#[test]
fn posteriors_are_deterministic() {
    let model = fp32();
    let x = &fixtures()[0].samples;
    assert_eq!(model.posteriors(x).unwrap(), model.posteriors(x).unwrap());
}

#[test]
fn a_lead_in_replaces_the_digital_silence_before_the_input() {
    let m = fp32();
    let audio = &fixtures()[0].samples;
    let plain = m.posteriors(audio).unwrap();
    // A lead-in of digital silence is what every call hears by default.
    let zeros = vec![0.0f32; nomen::model::LEAD_SAMPLES];
    assert_eq!(m.posteriors_led(Some(&zeros), audio).unwrap(), plain);
    // Quiet room noise instead changes what the model hears, not the frame count.
    let mut seed = 1u32;
    let noise: Vec<f32> = (0..nomen::model::LEAD_SAMPLES)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.01
        })
        .collect();
    let led = m.posteriors_led(Some(&noise), audio).unwrap();
    assert_eq!(led.frames, plain.frames);
    assert_ne!(led, plain);
    // A lead-in of the wrong length is a clear error.
    let e = m.posteriors_led(Some(&zeros[1..]), audio).unwrap_err();
    assert!(e.to_string().contains("lead-in"), "{e}");
}

/// At least `min_seconds` made of the fixtures (each padded to whole frames, 0.4 s silence between),
/// returned with the frame offset of every piece.
fn long_signal(min_seconds: f32) -> (Vec<f32>, Vec<(usize, &'static Fixture)>) {
    let mut signal = Vec::new();
    let mut pieces = Vec::new();
    while (signal.len() as f32) < min_seconds * SR as f32 {
        for f in fixtures() {
            pieces.push((signal.len() / 320, f));
            signal.extend_from_slice(&f.samples);
            let padded = (signal.len() + 6400).div_ceil(320) * 320;
            signal.resize(padded, 0.0);
        }
    }
    (signal, pieces)
}

/// A model that runs `seconds` of audio in one call (no windowing below that).
fn single_call_model(seconds: f32) -> AcousticModel {
    AcousticModel::load(&ModelConfig {
        window_s: seconds,
        overlap_s: 0.0,
        ..config(Precision::Fp32)
    })
    .unwrap()
}

struct Comparison {
    phone_agreement: f64,
    frame_agreement: f64,
    seam_agreement: f64,
    seam_frames: usize,
}

/// `b` against reference `a` (same length), frames within `radius` of a seam apart.
fn compare(a: &Posteriors, b: &Posteriors, seams: &[usize], radius: usize) -> Comparison {
    let tokens = fp32().tokens();
    assert_eq!(a.frames, b.frames);
    let (e, n, same, frames) = agreement(a, b, tokens);
    let (aa, ba) = (a.argmax(), b.argmax());
    let near: Vec<usize> = (0..frames)
        .filter(|t| seams.iter().any(|&s| s.abs_diff(*t) <= radius))
        .collect();
    let near_same = near.iter().filter(|&&t| aa[t] == ba[t]).count();
    Comparison {
        phone_agreement: 1.0 - e as f64 / n.max(1) as f64,
        frame_agreement: same as f64 / frames.max(1) as f64,
        seam_agreement: near_same as f64 / near.len().max(1) as f64,
        seam_frames: near.len(),
    }
}

#[test]
fn long_signal_is_stitched_without_seams() {
    // 72 s of fixtures: the default 20 s windows (4 s overlap) against the same audio in
    // one call, and against every piece run on its own.
    let model = fp32();
    let tokens = model.tokens();
    let (signal, pieces) = long_signal(61.0);
    assert!(signal.len() > 60 * SR);
    let stitched = model.posteriors(&signal).unwrap();
    assert_eq!(stitched.frames, (signal.len() / 160 + 2) / 2);
    let seams = model.seams(signal.len());
    assert!(
        seams.len() >= 3,
        "expected several windows, seams {seams:?}"
    );
    let whole = single_call_model(80.0).posteriors(&signal).unwrap();

    // Seams: stitched against one call over everything.
    let c = compare(&whole, &stitched, &seams, 25);
    eprintln!(
        "{:.1} s, seams at frames {seams:?}; stitched vs one call: phone agreement {:.3}, \
         frame agreement {:.3}, within 0.5 s of a seam {:.3} ({} frames)",
        signal.len() as f64 / SR as f64,
        c.phone_agreement,
        c.frame_agreement,
        c.seam_agreement,
        c.seam_frames
    );

    // Pieces: each piece alone against its span of the stitched and of the one-call run.
    let (mut e_stitched, mut e_whole, mut total) = (0, 0, 0);
    let mut alone_phones = Vec::new();
    for &(offset, f) in &pieces {
        let alone = model.posteriors(&f.samples).unwrap();
        let span = |p: &Posteriors| Posteriors {
            frames: alone.frames,
            vocab: p.vocab,
            data: p.data[offset * p.vocab..(offset + alone.frames) * p.vocab].to_vec(),
            frame_shift_s: p.frame_shift_s,
        };
        e_stitched += agreement(&alone, &span(&stitched), tokens).0;
        let (e, n, _, _) = agreement(&alone, &span(&whole), tokens);
        e_whole += e;
        total += n;
        alone_phones.extend(phones(&alone, tokens));
    }
    let vs_pieces = 1.0 - e_stitched as f64 / total as f64;
    let whole_vs_pieces = 1.0 - e_whole as f64 / total as f64;
    eprintln!(
        "phone agreement with the pieces run alone: stitched {vs_pieces:.3}, \
         one call {whole_vs_pieces:.3} ({total} phones)"
    );
    assert!(c.seam_frames > 0);
    assert!(c.phone_agreement >= 0.95, "stitched vs one call: phones");
    assert!(c.frame_agreement >= 0.95, "stitched vs one call: frames");
    assert!(c.seam_agreement >= 0.9, "stitched vs one call near seams");
    // Context changes this model's output (global attention and squeeze-excitation
    // pooling): windows must not be further from the pieces than one long call is.
    assert!(
        vs_pieces >= whole_vs_pieces - 0.03,
        "stitched {vs_pieces:.3} vs one call {whole_vs_pieces:.3}"
    );
}

#[test]
fn short_windows_match_a_single_call() {
    // 25 s cut into 8 s windows (2 s overlap): many seams, compared with one call.
    let (signal, _) = long_signal(25.0);
    let signal = &signal[..25 * SR];
    let reference = single_call_model(30.0).posteriors(signal).unwrap();
    let windowed_model = AcousticModel::load(&ModelConfig {
        window_s: 8.0,
        overlap_s: 2.0,
        ..config(Precision::Fp32)
    })
    .unwrap();
    let windowed = windowed_model.posteriors(signal).unwrap();
    let seams = windowed_model.seams(signal.len());
    assert!(seams.len() >= 3, "{seams:?}");
    let c = compare(&reference, &windowed, &seams, 10);
    eprintln!(
        "8 s windows vs one call: phone agreement {:.3}, frames {:.3}, within 0.2 s of seams {:.3}",
        c.phone_agreement, c.frame_agreement, c.seam_agreement
    );
    assert!(c.phone_agreement >= 0.9);
    assert!(c.frame_agreement >= 0.9);
    assert!(c.seam_agreement >= 0.85);
}

#[test]
fn specialized_plans_match_the_symbolic_plan() {
    // 5 s and 12 s calls get length-specialized plans; the symbolic-length plan must give
    // the same posteriors up to float rounding.
    let symbolic = AcousticModel::load(&ModelConfig {
        length_plans: 0,
        ..config(Precision::Fp32)
    })
    .unwrap();
    let (signal, _) = long_signal(12.0);
    for secs in [5, 12] {
        let x = &signal[..secs * SR];
        let a = symbolic.posteriors(x).unwrap();
        let b = fp32().posteriors(x).unwrap();
        assert_eq!(a.argmax(), b.argmax(), "{secs} s");
        let diff = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| (x.exp() - y.exp()).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-3, "{secs} s: probabilities differ by {diff}");
    }
}

#[test]
fn load_errors_are_clear() {
    let missing = ModelConfig::with_dir("/nonexistent/nomen-models");
    let err = AcousticModel::load(&missing).unwrap_err().to_string();
    assert!(
        err.contains("/nonexistent/nomen-models") && err.contains("make_model.py"),
        "{err}"
    );
    let bad = ModelConfig {
        window_s: 100.0,
        ..config(Precision::Fp32)
    };
    assert!(AcousticModel::load(&bad).is_err());
}

// ---------------------------------------------------------------------------------------
// Measurements (ignored by default).

fn eval_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var("NOMEN_EVAL_DIR").ok().map(PathBuf::from),
        Some(PathBuf::from("/usr/share/pocketsphinx/test/data")),
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("build/make_model/pocketsphinx-testdata/usr/share/pocketsphinx/test/data"),
        ),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| d.join("librivox").is_dir())
}

fn eval_set(dir: &Path) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    for sub in ["librivox", "cards"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "wav"))
            .collect();
        files.sort();
        for f in files {
            out.push((
                format!("{sub}/{}", f.file_name().unwrap().to_string_lossy()),
                read_audio(&f),
            ));
        }
    }
    for name in ["goforward.raw", "numbers.raw", "something.raw"] {
        if dir.join(name).exists() {
            out.push((name.to_string(), read_audio(&dir.join(name))));
        }
    }
    out
}

fn rtf(model: &AcousticModel, items: &[(String, Vec<f32>)]) -> f64 {
    let audio: f64 = items.iter().map(|(_, x)| x.len() as f64 / SR as f64).sum();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for (_, x) in items {
            model.posteriors(x).unwrap();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    best / audio
}

#[test]
#[ignore]
fn bench() {
    let Some(dir) = eval_dir() else {
        panic!("set NOMEN_EVAL_DIR to pocketsphinx-testdata's test/data directory");
    };
    let items = eval_set(&dir);
    let audio: f64 = items.iter().map(|(_, x)| x.len() as f64 / SR as f64).sum();
    println!(
        "real speech: {} files, {audio:.1} s from {}",
        items.len(),
        dir.display()
    );
    let t = Instant::now();
    let fp = AcousticModel::load(&config(Precision::Fp32)).unwrap();
    println!(
        "fp32 load (checksum + parse + optimize): {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    println!("fp32 tract RTF (1 thread): {:.4}", rtf(&fp, &items));
    let tokens = fp.tokens();
    if model_dir().join(Precision::Int8.file_name()).exists() {
        let t = Instant::now();
        let q = AcousticModel::load(&config(Precision::Int8)).unwrap();
        println!("int8 load: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
        println!("int8 tract RTF (1 thread): {:.4}", rtf(&q, &items));
        let (mut e, mut n, mut s, mut f) = (0, 0, 0, 0);
        for (_, x) in &items {
            let r = agreement(
                &fp.posteriors(x).unwrap(),
                &q.posteriors(x).unwrap(),
                tokens,
            );
            e += r.0;
            n += r.1;
            s += r.2;
            f += r.3;
        }
        println!(
            "int8 vs fp32 in tract: phone agreement {:.4} ({n} phones), frame agreement {:.4}",
            1.0 - e as f64 / n as f64,
            s as f64 / f as f64
        );
    }
    // Windowing: all the real speech joined, first 29 s: one call against windows.
    let joined: Vec<f32> = items.iter().flat_map(|(_, x)| x.iter().copied()).collect();
    let joined = &joined[..(29 * SR).min(joined.len())];
    let single = single_call_model(30.0);
    let reference = single.posteriors(joined).unwrap();
    let t = Instant::now();
    single.posteriors(joined).unwrap();
    let one_call = t.elapsed().as_secs_f64();
    println!(
        "windowing, {:.1} s of joined real speech, one call: RTF {:.4}",
        joined.len() as f64 / SR as f64,
        one_call / (joined.len() as f64 / SR as f64)
    );
    for (w, o) in [
        (6.0, 1.0),
        (6.0, 2.0),
        (8.0, 1.0),
        (8.0, 2.0),
        (8.0, 3.0),
        (12.0, 2.0),
        (12.0, 4.0),
        (20.0, 2.0),
        (20.0, 4.0),
    ] {
        let m = AcousticModel::load(&ModelConfig {
            window_s: w,
            overlap_s: o,
            ..config(Precision::Fp32)
        })
        .unwrap();
        let t = Instant::now();
        let p = m.posteriors(joined).unwrap();
        let dt = t.elapsed().as_secs_f64();
        let (e, n, s, f) = agreement(&reference, &p, tokens);
        let seams = m.seams(joined.len());
        let (ra, pa) = (reference.argmax(), p.argmax());
        let near: Vec<usize> = (0..f)
            .filter(|t| seams.iter().any(|&x| x.abs_diff(*t) <= 10))
            .collect();
        let near_same = near.iter().filter(|&&t| ra[t] == pa[t]).count();
        println!(
            "  window {w:>4} s overlap {o} s: {} seams, phone agreement {:.4}, frames {:.4}, \
             +-0.2 s of seams {:.4}, time x{:.2} of one call",
            seams.len(),
            1.0 - e as f64 / n as f64,
            s as f64 / f as f64,
            near_same as f64 / near.len().max(1) as f64,
            dt / one_call
        );
    }
    println!("graph plans (fp32, 1 thread):");
    symbolic_vs_specialized(&joined[..20 * SR]);
}

/// Per-call time with the symbolic-length plan only (`length_plans: 0`) against plans
/// specialized to the call's length (first call: includes building the plan).
fn symbolic_vs_specialized(x: &[f32]) {
    let symbolic = AcousticModel::load(&ModelConfig {
        length_plans: 0,
        ..config(Precision::Fp32)
    })
    .unwrap();
    let specialized = AcousticModel::load(&config(Precision::Fp32)).unwrap();
    let best = |m: &AcousticModel, x: &[f32]| {
        let mut b = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            m.posteriors(x).unwrap();
            b = b.min(t.elapsed().as_secs_f64() * 1e3);
        }
        b
    };
    for secs in [2usize, 5, 10, 20] {
        let x = &x[..secs * SR];
        let t = Instant::now();
        specialized.posteriors(x).unwrap();
        let first = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "  {secs:>2} s call: symbolic plan {:.0} ms; specialized plan {:.0} ms \
             (first call, building it: {first:.0} ms)",
            best(&symbolic, x),
            best(&specialized, x)
        );
    }
}
