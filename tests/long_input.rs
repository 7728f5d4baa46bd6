#![cfg(unix)]
//! Hours of audio in bounded memory: `nomen transcribe` of a 3-hour file must stay under
//! 250 MB at its peak (issue 15). Alone in its test binary, so that the peak of the
//! children this process waited for is this one child's.

mod common;

/// 8 kHz 8-bit PCM (the smallest common WAV: 86 MB for 3 hours) of `hours` of near
/// silence with `speech` (16 kHz samples) every `period_s` seconds.
fn long_wav(speech: &[f32], hours: u32, period_s: u32) -> (Vec<u8>, usize) {
    let narrow = nomen::audio::resample::resample(speech, 16_000, 8_000).unwrap();
    let total = hours as usize * 3_600 * 8_000;
    let period = period_s as usize * 8_000;
    let mut data = vec![128u8; total];
    let mut bursts = 0;
    let mut at = period / 2;
    while at + narrow.len() < total {
        for (i, s) in narrow.iter().enumerate() {
            data[at + i] = (s * 127.0).round().clamp(-128.0, 127.0) as i16 as u8 ^ 0x80;
        }
        bursts += 1;
        at += period;
    }
    let mut v = nomen::audio::wav::header(1, 1, 8_000, 8, data.len());
    v.extend_from_slice(&data);
    (v, bursts)
}

#[test]
fn a_three_hour_file_is_transcribed_in_under_250_mb() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let speech =
        nomen::audio::load_wav(&root.join("tests/fixtures/audio/flite_kitchen_lights.wav"))
            .unwrap()
            .samples;
    let (bytes, bursts) = long_wav(&speech, 3, 300);
    assert_eq!(bursts, 36);
    let path = std::env::temp_dir().join(format!("nomen-3h-{}.wav", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    drop(bytes);
    let mut cmd = common::nomen_command();
    let out = cmd
        .args(["transcribe", "-q", "--format", "jsonl"])
        .arg(&path)
        .current_dir(root)
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    let peak_mb = {
        // SAFETY: getrusage only writes the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) }, 0);
        u.ru_maxrss as f64 / 1024.0
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every burst was heard, each where it was (all alike: the same words each time).
    let words = v["words"].as_array().unwrap();
    let per_burst: Vec<Vec<&str>> = (0..bursts)
        .map(|b| {
            words
                .iter()
                .filter(|w| (w["start"].as_f64().unwrap() / 300.0) as usize == b)
                .map(|w| w["word"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert!(!per_burst[0].is_empty(), "{}", v["text"]);
    assert!(
        per_burst.iter().all(|p| p == &per_burst[0]),
        "{per_burst:?}"
    );
    eprintln!(
        "3-hour file: peak {peak_mb:.0} MB; each burst heard as {:?}",
        per_burst[0]
    );
    assert!(peak_mb < 250.0, "peak {peak_mb:.0} MB");
}
