//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use nomen::recognizer::{Recognizer, RecognizerConfig};
use std::path::{Path, PathBuf};
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
