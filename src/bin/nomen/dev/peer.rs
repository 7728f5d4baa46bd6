//! Hidden exports for comparing nomen with another decoder on the same inputs
//! (`tools/eval/peer_flashlight.py`): the word LM as ARPA, the log-posteriors nomen decodes,
//! and the entity pronunciations nomen biases toward.

use anyhow::{Context, Result};
use clap::Args;
use nomen::bias::EntityTrie;
use nomen::recognizer::{Recognizer, SegmentPosteriors, Transcript};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `transcribe`'s peer exports.
#[derive(Args)]
pub struct DumpArgs {
    /// Also write the log-posteriors decoded, per file and segment, to DIR (peer comparison).
    #[arg(long, value_name = "DIR", hide = true)]
    dump_posteriors: Option<PathBuf>,
    /// Also append the pronunciations of every entity list used to FILE (JSONL).
    #[arg(long, value_name = "FILE", hide = true)]
    dump_entity_prons: Option<PathBuf>,
}

impl DumpArgs {
    /// `--dump-entity-prons`, emptied to be appended to.
    pub fn entity_prons(&self) -> Result<Option<PathBuf>> {
        if let Some(p) = &self.dump_entity_prons {
            std::fs::write(p, "").with_context(|| format!("cannot create {}", p.display()))?;
        }
        Ok(self.dump_entity_prons.clone())
    }

    /// `--dump-posteriors`, created.
    pub fn posteriors(&self) -> Result<Option<PosteriorDump>> {
        self.dump_posteriors
            .as_deref()
            .map(PosteriorDump::create)
            .transpose()
    }
}

#[derive(Args)]
pub struct ExportArpaArgs {
    /// Where to write the ARPA text LM (log10 weights).
    #[arg(value_name = "OUT.arpa")]
    out: PathBuf,
    /// Word LM to export (sphinx binary trie or ARPA); default: <models>/en-us.lm.bin.
    #[arg(long, value_name = "FILE")]
    lm: Option<PathBuf>,
    /// Model directory (default: $NOMEN_MODELS, ./models-quantized, or next to the binary).
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// Also print, for each line of FILE (a sentence), nomen's log10 score of each word and
    /// of `</s>` from `<s>`, tab separated (to check another LM toolkit reads OUT the same).
    #[arg(long, value_name = "FILE")]
    score: Option<PathBuf>,
}

/// `nomen export-arpa OUT`: the word LM exactly as nomen scores it, as ARPA.
pub fn export_arpa(args: ExportArpaArgs) -> Result<()> {
    let path = match args.lm {
        Some(p) => p,
        None => match args.models {
            Some(d) => d,
            None => crate::model_args::find_models_dir()?,
        }
        .join(nomen::recognizer::LM_FILE),
    };
    let lm = nomen::lm::WordLm::load(&path)?;
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    lm.write_arpa(&mut w)
        .and_then(|()| w.flush())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "nomen: wrote {} (order {}, counts {:?})",
        args.out.display(),
        lm.order(),
        lm.counts()
    );
    if let Some(p) = &args.score {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut state = lm.start_state();
            let mut out = Vec::new();
            for w in line.split_whitespace().chain(["</s>"]) {
                let (score, next) = match lm.word_id(w) {
                    Some(id) => lm.score(state, id),
                    None => (f32::NEG_INFINITY, lm.null_state()),
                };
                out.push(format!("{:.5}", f64::from(score) / std::f64::consts::LN_10));
                state = next;
            }
            println!("{line}\t{}", out.join(" "));
        }
    }
    Ok(())
}

/// Writes each segment's log-posteriors as raw little-endian f32 `[frames, vocab]` to
/// `DIR/<n>.f32` and one line per segment to `DIR/index.jsonl`.
pub struct PosteriorDump {
    dir: PathBuf,
    index: std::io::BufWriter<std::fs::File>,
    files: usize,
}

impl PosteriorDump {
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let index = std::fs::File::create(dir.join("index.jsonl"))
            .with_context(|| format!("cannot create {}/index.jsonl", dir.display()))?;
        Ok(PosteriorDump {
            dir: dir.to_path_buf(),
            index: std::io::BufWriter::new(index),
            files: 0,
        })
    }

    /// Transcribes one job whole (not in streamed segments, as `transcribe` does: the same
    /// text for files that fit in memory), writing the posteriors it decoded.
    pub fn transcribe(
        &mut self,
        rec: &Recognizer,
        job: &crate::transcribe::Job,
        bias: Option<&EntityTrie>,
        audio_s: &mut f64,
    ) -> Result<Transcript, nomen::Error> {
        let a = nomen::audio::load_wav(&job.path)?;
        *audio_s += a.duration_s();
        crate::transcribe::warn_about_audio(&job.path, a.truncated, a.non_finite);
        let segments = rec.segment_posteriors(&a)?;
        let t = Instant::now();
        let out = rec.decode_segments(&segments, bias);
        let decode_s = t.elapsed().as_secs_f64();
        self.write(&job.id, job.bias_list.as_deref(), &segments, decode_s)
            .map_err(|e| nomen::Error::Invalid(format!("{e:#}")))?;
        Ok(out)
    }

    /// One utterance: its segments as [`Recognizer::segment_posteriors`] gives them, and how
    /// long nomen took to decode them (seconds).
    pub fn write(
        &mut self,
        id: &str,
        bias_list: Option<&Path>,
        segments: &[SegmentPosteriors],
        decode_s: f64,
    ) -> Result<()> {
        for (i, seg) in segments.iter().enumerate() {
            let post = &seg.post;
            let name = format!("{:05}.f32", self.files);
            self.files += 1;
            let mut bytes = Vec::with_capacity(post.data.len() * 4);
            for x in &post.data {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
            std::fs::write(self.dir.join(&name), bytes)
                .with_context(|| format!("cannot write {}/{name}", self.dir.display()))?;
            let v = serde_json::json!({
                "id": id,
                "segment": i,
                "segments": segments.len(),
                "start_s": seg.start as f64 / f64::from(nomen::audio::MODEL_RATE),
                "input_s": seg.len as f64 / f64::from(nomen::audio::MODEL_RATE),
                "frames": post.frames,
                "vocab": post.vocab,
                "frame_shift_s": post.frame_shift_s,
                "file": name,
                "bias_list": bias_list.map(|p| p.display().to_string()),
                "nomen_decode_s": if i == 0 { decode_s } else { 0.0 },
            });
            writeln!(self.index, "{v}")?;
        }
        self.index.flush()?;
        Ok(())
    }
}

/// Appends one JSON line per entity of `trie` to `out`: the list it came from, the entity as
/// written, its spoken words, and the pronunciations nomen searches for it (token symbols;
/// multi-word names with and without the word-boundary token between words).
pub fn dump_entity_prons(
    out: &Path,
    rec: &Recognizer,
    list: Option<&Path>,
    trie: &EntityTrie,
) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .with_context(|| format!("cannot open {}", out.display()))?;
    let tokens = rec.model().tokens();
    let lex = trie.trie();
    let mut text = String::new();
    for w in 0..lex.num_words() as u32 {
        let e = trie.entry(w);
        let prons: Vec<Vec<&str>> = lex
            .prons_of(w)
            .map(|p| p.iter().map(|&u| tokens.get(usize::from(u))).collect())
            .collect();
        let v = serde_json::json!({
            "list": list.map(|p| p.display().to_string()),
            "entity": e.display,
            "words": e.words,
            "partial": e.partial,
            "weight": e.weight,
            "prons": prons,
        });
        text.push_str(&v.to_string());
        text.push('\n');
    }
    f.write_all(text.as_bytes())?;
    Ok(())
}
