//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use nomen::recognizer::{Recognizer, RecognizerConfig};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, OnceLock};

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The default recognizer over `models-quantized/`, loaded once per test binary.
pub fn recognizer() -> &'static Recognizer {
    shared_recognizer_ref()
}

/// The same recognizer, shareable with the live pipeline's threads.
pub fn shared_recognizer() -> Arc<Recognizer> {
    shared_recognizer_ref();
    SHARED.get().expect("loaded above").clone()
}

static SHARED: OnceLock<Arc<Recognizer>> = OnceLock::new();

fn shared_recognizer_ref() -> &'static Recognizer {
    SHARED.get_or_init(|| {
        Arc::new(
            Recognizer::load(RecognizerConfig::with_dir(root().join("models-quantized")))
                .expect("load recognizer"),
        )
    })
}

/// Rows of a fixture table (`dir/fixtures.tsv`, `#` comments): (wav path, column `col`).
pub fn fixture_table(dir: &str, col: usize) -> Vec<(PathBuf, String)> {
    let dir = root().join(dir);
    std::fs::read_to_string(dir.join("fixtures.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (dir.join(f[0]), f[col].to_string())
        })
        .collect()
}

/// The `nomen` binary as a command, run in the repository root. Under qemu user-mode
/// emulation (cross/qemu.toml) a test binary cannot exec the aarch64 `nomen` directly
/// unless the host registered qemu with binfmt_misc (containers usually do not):
/// cross/qemu.toml names the emulator in `NOMEN_TEST_RUNNER_AARCH64`, and it runs `nomen`.
pub fn nomen_command() -> Command {
    let exe = env!("CARGO_BIN_EXE_nomen");
    let runner = std::env::var("NOMEN_TEST_RUNNER_AARCH64")
        .ok()
        .filter(|r| cfg!(target_arch = "aarch64") && !r.trim().is_empty());
    let mut cmd = match runner {
        Some(r) => {
            let mut words = r.split_whitespace();
            let mut c = Command::new(words.next().expect("a runner"));
            c.args(words).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.current_dir(root());
    cmd
}

/// Runs `nomen ARGS` to its end.
pub fn nomen(args: &[&str]) -> Output {
    nomen_fed(args, None)
}

/// Runs `nomen ARGS` with `stdin` on its standard input (a pipe; `None`: none).
pub fn nomen_fed(args: &[&str], stdin: Option<Vec<u8>>) -> Output {
    let mut cmd = nomen_command();
    cmd.args(args);
    let Some(bytes) = stdin else {
        return cmd.output().expect("run nomen");
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nomen");
    let mut pipe = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        // nomen may stop reading early (a refusal): a broken pipe is not a failure here.
        let _ = pipe.write_all(&bytes);
    });
    let out = child.wait_with_output().expect("run nomen");
    writer.join().expect("writer");
    out
}

/// Levenshtein distance between two sequences (substitutions, insertions, deletions).
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut diag = row[0];
        row[0] = i;
        for j in 1..=b.len() {
            let next = (row[j] + 1)
                .min(row[j - 1] + 1)
                .min(diag + usize::from(a[i - 1] != b[j - 1]));
            diag = row[j];
            row[j] = next;
        }
    }
    row[b.len()]
}

/// Word errors of `hypothesis` against `reference` (word-level [`edit_distance`]).
pub fn word_errors(reference: &str, hypothesis: &str) -> usize {
    let r: Vec<&str> = reference.split_whitespace().collect();
    let h: Vec<&str> = hypothesis.split_whitespace().collect();
    edit_distance(&r, &h)
}
