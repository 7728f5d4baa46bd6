//! Transcribes WAV files, optionally biased toward contact lists:
//!
//! ```text
//! cargo run --release --example transcribe -- WAV... [--entities LIST]...
//! ```
//!
//! Prints one line per file: the transcript in written form ("Please call my sister at
//! 7:30."), then the names found with their times.

use nomen::written::{write, WrittenConfig};
use nomen::{Recognizer, RecognizerConfig};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut wavs: Vec<PathBuf> = Vec::new();
    let mut lists: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        if a == "--entities" {
            lists.push(args.next().ok_or("--entities needs a file")?.into());
        } else {
            wavs.push(a.into());
        }
    }
    if wavs.is_empty() {
        return Err("usage: transcribe WAV... [--entities LIST]...".into());
    }
    // The model directory: $NOMEN_MODELS, ./models-quantized, or next to the program.
    let rec = Recognizer::load_biased(RecognizerConfig::find()?, &lists)?;
    for wav in &wavs {
        let t = rec.transcribe_file(wav)?;
        // `t.text` is the spoken form ("please call my sister at seven thirty").
        println!(
            "{}",
            write(&t.words, &t.entities, &WrittenConfig::default()).text
        );
        for name in &t.entities {
            eprintln!("  {} ({:.2}-{:.2} s)", name.text, name.start, name.end);
        }
    }
    Ok(())
}
