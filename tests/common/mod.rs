//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use nomen::recognizer::{Recognizer, RecognizerConfig};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The default recognizer over `models-quantized/`, loaded once per test binary.
pub fn recognizer() -> &'static Recognizer {
    static REC: OnceLock<Recognizer> = OnceLock::new();
    REC.get_or_init(|| {
        Recognizer::load(RecognizerConfig::with_dir(root().join("models-quantized")))
            .expect("load recognizer")
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
