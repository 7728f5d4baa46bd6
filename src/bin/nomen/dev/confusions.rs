//! `nomen confusions`: counts which unit the acoustic model hears for each unit said, over
//! transcribed audio (see `nomen::bias::confusion` and `tools/build/make_confusions.py`).

use anyhow::{bail, Context, Result};
use clap::Args;
use nomen::bias::confusion::ConfusionCounts;
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Args)]
pub struct ConfusionArgs {
    /// JSON lines with "audio" (relative to the manifest's folder) and "phones" (the said
    /// units, space separated, in the model's token symbols, no word boundaries).
    #[arg(long, value_name = "M.jsonl")]
    manifest: PathBuf,
    #[command(flatten)]
    model: crate::model_args::ModelArgs,
}

/// Prints `said<TAB>heard<TAB>count` lines, most frequent first.
pub fn run(args: ConfusionArgs) -> Result<()> {
    let rec = args.model.load()?;
    let tokens = rec.model().tokens();
    let roles = rec.roles();
    let file = std::fs::File::open(&args.manifest)
        .with_context(|| format!("cannot read {}", args.manifest.display()))?;
    let base = args
        .manifest
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut counts = ConfusionCounts::default();
    let (mut used, mut skipped) = (0usize, 0usize);
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let row: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("line {}: not JSON", i + 1))?;
        let (Some(audio), Some(phones)) = (row["audio"].as_str(), row["phones"].as_str()) else {
            bail!("line {}: needs \"audio\" and \"phones\"", i + 1);
        };
        let units: Option<Vec<u16>> = phones
            .split_whitespace()
            .map(|p| tokens.id(p).and_then(|i| u16::try_from(i).ok()))
            .collect();
        let Some(units) = units else {
            skipped += 1;
            continue;
        };
        let audio = nomen::audio::load_wav(&base.join(audio))?;
        let segs = rec.segment_posteriors(&audio)?;
        // One stretch of speech per row: a row cut at a pause cannot be aligned as a whole.
        if segs.len() != 1 || !counts.add(&segs[0].post.data, roles, &units) {
            skipped += 1;
            continue;
        }
        used += 1;
    }
    let mut pairs: Vec<((u16, u16), u32)> = counts.pairs.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# said\theard\tcount ({used} utterances aligned, {skipped} skipped)"
    )?;
    for ((u, o), c) in pairs {
        writeln!(
            out,
            "{}\t{}\t{c}",
            tokens.get(u as usize),
            tokens.get(o as usize)
        )?;
    }
    eprintln!("nomen: {used} utterances aligned, {skipped} skipped");
    Ok(())
}
