//! The fuzz targets (`fuzz/targets.rs`) on the stable toolchain, for a fixed time each, as
//! CI runs them: the committed seeds (and libFuzzer's corpus where one is present), then
//! mutations of them (bit flips, interesting bytes and integers, inserted, deleted and
//! repeated spans, splices of two inputs) from a fixed random seed. Not coverage-guided
//! (that is `cargo fuzz`, see fuzz/README.md), but it needs no instrumented build.
//!
//! `NOMEN_FUZZ_SECS` sets the seconds per target (default 10). An input that panics is
//! written to `target/fuzz-crashes/` and the test fails naming it.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Largest input made (libFuzzer's default `-max_len` is 4096; the LM seed is larger).
const MAX_LEN: usize = 1 << 20;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const BYTES: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'\n', b'\r', b'\t', b',', b'"', b';', b':', b'=', b'\\', b' ',
];
const WORDS: &[u32] = &[
    0,
    1,
    2,
    16,
    44,
    0x7f,
    0xff,
    0x7fff,
    0x8000,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..1 + rng.below(4) {
        let n = input.len();
        match rng.below(8) {
            0 if n > 0 => {
                let i = rng.below(n);
                input[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                let i = rng.below(n);
                input[i] = BYTES[rng.below(BYTES.len())];
            }
            2 => {
                let i = rng.below(n + 1);
                let k = 1 + rng.below(8);
                let new: Vec<u8> = (0..k).map(|_| rng.next() as u8).collect();
                input.splice(i..i, new);
            }
            3 if n > 0 => {
                let i = rng.below(n);
                let k = (1 + rng.below(16)).min(n - i);
                input.drain(i..i + k);
            }
            4 if n > 0 => {
                let i = rng.below(n);
                let k = (1 + rng.below(64)).min(n - i);
                let span = input[i..i + k].to_vec();
                let at = rng.below(n + 1);
                input.splice(at..at, span);
            }
            5 if n >= 4 => {
                let i = rng.below(n - 3);
                input[i..i + 4].copy_from_slice(&WORDS[rng.below(WORDS.len())].to_le_bytes());
            }
            6 if !other.is_empty() => {
                let cut = rng.below(n + 1);
                let from = rng.below(other.len());
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            _ if n > 0 => {
                // A small number written as text (sizes in CSV, vCard and ARPA).
                let i = rng.below(n);
                let k = (1 + rng.below(6)).min(n - i);
                let num = format!("{}", WORDS[rng.below(WORDS.len())]);
                input.splice(i..i + k, num.into_bytes());
            }
            _ => input.push(rng.next() as u8),
        }
    }
    input.truncate(MAX_LEN);
}

fn inputs(name: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in [
        root.join("seeds").join(name),
        root.join("corpus").join(name),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        out.extend(paths.iter().filter_map(|p| std::fs::read(p).ok()));
    }
    out
}

fn run(name: &str) {
    let target = targets::TARGETS.iter().find(|t| t.0 == name).unwrap().1;
    let secs: f64 = std::env::var("NOMEN_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let corpus = inputs(name);
    assert!(!corpus.is_empty(), "no seeds for {name}");
    let crash = |input: &[u8]| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-crashes");
        std::fs::create_dir_all(&dir).unwrap();
        let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let path = dir.join(format!("{name}-{hash:016x}"));
        std::fs::write(&path, input).unwrap();
        panic!(
            "fuzz target {name} panicked on {} (replay: cargo fuzz run {name} FILE)",
            path.display()
        );
    };
    let try_one = |input: &[u8]| catch_unwind(AssertUnwindSafe(|| target(input))).is_ok();
    for input in &corpus {
        if !try_one(input) {
            crash(input);
        }
    }
    let mut rng = Rng(name.bytes().fold(0x9e37_79b9_7f4a_7c15, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }));
    let started = Instant::now();
    let until = Duration::from_secs_f64(secs);
    let mut execs = corpus.len() as u64;
    let mut input = Vec::new();
    while started.elapsed() < until {
        // A batch between clock reads.
        for _ in 0..64 {
            input.clear();
            input.extend_from_slice(&corpus[rng.below(corpus.len())]);
            let other = &corpus[rng.below(corpus.len())];
            mutate(&mut rng, &mut input, other);
            if !try_one(&input) {
                crash(&input);
            }
            execs += 1;
        }
    }
    eprintln!(
        "fuzz {name}: {execs} executions in {:.1} s ({} inputs to start from), no panic",
        started.elapsed().as_secs_f64(),
        corpus.len()
    );
}

#[test]
fn fuzz_wav() {
    run("wav");
}

#[test]
fn fuzz_wav_convert() {
    run("wav_convert");
}

#[test]
fn fuzz_entity_list() {
    run("entity_list");
}

#[test]
fn fuzz_manifest() {
    run("manifest");
}

#[test]
fn fuzz_lm() {
    run("lm");
}

#[test]
fn fuzz_lexicon() {
    run("lexicon");
}

#[test]
fn fuzz_written() {
    run("written");
}
