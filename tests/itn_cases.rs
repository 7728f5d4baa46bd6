//! nomen's written form on NeMo's English ITN test cases (tests/fixtures/itn): the share
//! written exactly as NeMo writes them, and the share equal up to nomen's own style (times
//! without a leading zero, "20%" without a space, one to nine, "first" to "ninth" and a
//! scale word alone kept as words). Prints the table of BENCHMARKS.md "Written form" (`cargo test --release
//! --test itn_cases -- --nocapture`) and fails if any class passes fewer cases than
//! measured when the table was written.

use nomen::written::{write, WrittenConfig};
use nomen::Word;

fn written(spoken: &str) -> String {
    let words: Vec<Word> = spoken
        .split_whitespace()
        .enumerate()
        .map(|(i, w)| Word {
            word: w.to_string(),
            start: i as f32 * 0.4,
            end: i as f32 * 0.4 + 0.3,
            conf: 1.0,
        })
        .collect();
    let cfg = WrittenConfig {
        capitals: false,
        punctuation: false,
        ..WrittenConfig::default()
    };
    write(&words, &[], &cfg).text
}

/// NeMo's form in nomen's style.
fn restyled(nemo: &str, spoken: &str) -> String {
    const SMALL: &[&str] = &[
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "first",
        "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "hundred",
        "thousand", "million", "billion", "trillion",
    ];
    if SMALL.contains(&spoken.trim()) {
        return spoken.trim().to_string();
    }
    let mut s = nemo.replace(" %", "%");
    let b = s.as_bytes();
    if b.len() >= 5 && b[0] == b'0' && b[1].is_ascii_digit() && b[2] == b':' {
        s.remove(0);
    }
    s
}

#[test]
fn nemo_itn_cases() {
    // Cases written in nomen's style when this table was measured (a floor per class).
    let floors = [
        ("cardinal", 29),
        ("date", 35),
        ("decimal", 63),
        ("measure", 111),
        ("money", 52),
        ("ordinal", 34),
        ("telephone", 11),
        ("time", 29),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/itn");
    let (mut all, mut all_exact, mut all_style) = (0, 0, 0);
    println!("| class | cases | as NeMo writes them | in nomen's style |");
    println!("| --- | --- | --- | --- |");
    let mut short = Vec::new();
    for (class, floor) in floors {
        let text = std::fs::read_to_string(dir.join(format!("{class}.txt"))).unwrap();
        let (mut n, mut exact, mut style) = (0, 0, 0);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (spoken, want) = line.split_once('~').expect("spoken~written");
            let got = written(spoken);
            n += 1;
            if got == want.trim() {
                exact += 1;
            }
            if got == restyled(want, spoken) {
                style += 1;
            } else if std::env::var_os("NOMEN_ITN_MISSES").is_some() {
                eprintln!("{class}: {spoken:?} -> {got:?}, NeMo {want:?}");
            }
        }
        println!(
            "| {class} | {n} | {exact} ({:.0}%) | {style} ({:.0}%) |",
            100.0 * exact as f64 / n as f64,
            100.0 * style as f64 / n as f64
        );
        if style < floor {
            short.push(format!("{class}: {style} < {floor}"));
        }
        all += n;
        all_exact += exact;
        all_style += style;
    }
    println!(
        "| all | {all} | {all_exact} ({:.0}%) | {all_style} ({:.0}%) |",
        100.0 * all_exact as f64 / all as f64,
        100.0 * all_style as f64 / all as f64
    );
    assert!(all >= 200, "only {all} cases");
    assert!(
        short.is_empty(),
        "fewer cases pass than measured: {short:?}"
    );
}
