//! Streams a WAV file through the live pipeline, as a microphone would be, and prints its
//! events: partial results while the speech goes on, a final one per utterance.
//!
//! ```text
//! cargo run --release --example listen -- WAV [--entities LIST]... [--realtime]
//! ```

use nomen::pipeline::{Pacing, WavSource};
use nomen::{EventKind, Pipeline, PipelineConfig, Recognizer, RecognizerConfig};
use std::path::PathBuf;
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut wav: Option<PathBuf> = None;
    let mut lists: Vec<PathBuf> = Vec::new();
    let mut pacing = Pacing::Fast;
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        if a == "--entities" {
            lists.push(args.next().ok_or("--entities needs a file")?.into());
        } else if a == "--realtime" {
            pacing = Pacing::Realtime;
        } else {
            wav = Some(a.into());
        }
    }
    let wav = wav.ok_or("usage: listen WAV [--entities LIST]... [--realtime]")?;
    let mut rec_cfg = RecognizerConfig::find()?;
    // Partials from the streaming graph (their cost does not grow with the utterance).
    rec_cfg.model.streaming = true;
    let rec = Arc::new(Recognizer::load(rec_cfg)?);
    let bias = rec.load_entities(&lists)?.map(Arc::new);
    let mut cfg = PipelineConfig::default();
    // Utterances are prepared for the model as `transcribe` prepares a file's segments.
    cfg.endpoint.segment = rec.config().segment;
    let source = Box::new(WavSource::open(&wav)?);
    let pipe = Pipeline::from_source(rec, bias, cfg, source, pacing)?;
    for ev in pipe.events().iter() {
        match ev.kind {
            EventKind::Partial => println!("... {}", ev.text),
            EventKind::Final => println!("{:6.2} s  {}", ev.end, ev.text),
            EventKind::Error => eprintln!("error: {}", ev.text),
        }
    }
    let stats = pipe.join();
    eprintln!("{} finals, {} partials", stats.finals, stats.partials);
    Ok(())
}
