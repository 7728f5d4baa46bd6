//! `nomen transcribe`: files or a manifest in, one line (text or JSON) per input out.

use crate::lists::{prepare_entities, read_entity_list};
use crate::model_args::ModelArgs;
use crate::text_form::{render, tokens_json, TextArgs};
use crate::Format;
use anyhow::{bail, Context, Result};
use clap::Args;
use nomen::bias::{BiasEntry, EntityTrie};
use nomen::recognizer::{Recognizer, Transcript};
use nomen::written::Written;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Args)]
pub struct TranscribeArgs {
    /// WAV files to transcribe.
    #[arg(value_name = "WAV")]
    wavs: Vec<PathBuf>,
    /// A JSONL manifest: one {"id", "audio" (relative to the manifest's folder), ...} per line.
    #[arg(long, value_name = "M.jsonl")]
    manifest: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Entity list to bias toward (repeatable): plain text (one name per line, optional
    /// TAB weight), CSV exported from a phone, or vCard. A manifest row's `bias_list` is
    /// added to these for that row.
    #[arg(long = "entities", value_name = "FILE")]
    entities: Vec<PathBuf>,
    /// Turn all biasing off (the lists are still read, nothing is boosted).
    #[arg(long)]
    no_bias: bool,
    /// No progress on stderr.
    #[arg(long, short)]
    quiet: bool,
    #[cfg(feature = "dev-tools")]
    #[command(flatten)]
    dumps: crate::dev::peer::DumpArgs,
    #[command(flatten)]
    text: TextArgs,
    #[command(flatten)]
    model: ModelArgs,
}

/// One unit of work: an id and a WAV path, or a manifest row that could not be one.
pub(crate) type Job = nomen::manifest::Row;

fn result_json(job: &Job, t: &Transcript, written: Option<&Written>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": job.id,
        "audio": job.audio,
        "text": written.map_or(&t.text, |w| &w.text),
        "spoken": t.text,
        "entities": t.entities.iter().map(|e| serde_json::json!({
            "text": e.text,
            "start": round3(e.start),
            "end": round3(e.end),
            "score": round3(e.score),
        })).collect::<Vec<_>>(),
        "words": t.words.iter().map(|w| serde_json::json!({
            "word": w.word,
            "start": round3(w.start),
            "end": round3(w.end),
            "conf": round3(w.conf),
        })).collect::<Vec<_>>(),
    });
    if let Some(w) = written {
        v["written"] = tokens_json(w);
    }
    v
}

fn round3(x: f32) -> f64 {
    (f64::from(x) * 1000.0).round() / 1000.0
}

/// The entity tries for a batch: the `--entities` lists, plus each manifest row's own list,
/// prepared once per distinct list.
struct EntityLists<'r> {
    rec: &'r Recognizer,
    global: Vec<BiasEntry>,
    no_bias: bool,
    quiet: bool,
    cache: HashMap<Option<PathBuf>, Option<Arc<EntityTrie>>>,
    /// `--dump-entity-prons` (cargo feature `dev-tools`).
    #[cfg(feature = "dev-tools")]
    dump_prons: Option<PathBuf>,
}

impl<'r> EntityLists<'r> {
    fn new(rec: &'r Recognizer, files: &[PathBuf], no_bias: bool, quiet: bool) -> Result<Self> {
        let mut global = Vec::new();
        for f in files {
            global.extend(read_entity_list(f)?);
        }
        Ok(EntityLists {
            rec,
            global,
            no_bias,
            quiet,
            cache: HashMap::new(),
            #[cfg(feature = "dev-tools")]
            dump_prons: None,
        })
    }

    /// The trie for a row with this own list (read and prepared on first use).
    fn trie_for(
        &mut self,
        row_list: Option<&Path>,
    ) -> Result<Option<Arc<EntityTrie>>, nomen::Error> {
        let key = row_list.map(Path::to_path_buf);
        if let Some(t) = self.cache.get(&key) {
            return Ok(t.clone());
        }
        let mut entries = self.global.clone();
        if let Some(p) = row_list {
            entries.extend(nomen::bias::read_lists(&[p])?);
        }
        let trie = if self.no_bias || entries.is_empty() {
            None
        } else {
            let n = entries.len();
            let t = Instant::now();
            let trie = prepare_entities(self.rec, entries, self.quiet).map(Arc::new);
            log::info!(
                "entities: {n} entries, {} pronounceable, prepared in {:.1} ms",
                trie.as_ref().map_or(0, |t| t.entries().len()),
                t.elapsed().as_secs_f64() * 1e3
            );
            trie
        };
        #[cfg(feature = "dev-tools")]
        if let (Some(out), Some(t)) = (&self.dump_prons, &trie) {
            crate::dev::peer::dump_entity_prons(out, self.rec, row_list, t)
                .map_err(|e| nomen::Error::Invalid(format!("{e:#}")))?;
        }
        self.cache.insert(key, trie.clone());
        Ok(trie)
    }
}

/// Warns about a file read with trouble that did not stop it.
pub(crate) fn warn_about_audio(path: &Path, truncated: bool, non_finite: usize) {
    if truncated {
        log::warn!(
            "{}: data chunk cut short; transcribed what is there",
            path.display()
        );
    }
    if non_finite > 0 {
        log::warn!(
            "{}: {non_finite} samples are not numbers (NaN or infinite); heard as silence",
            path.display(),
        );
    }
}

pub fn run(args: TranscribeArgs) -> Result<bool> {
    let mut jobs = Vec::new();
    if let Some(m) = &args.manifest {
        jobs.extend(
            nomen::manifest::read_file(m)
                .with_context(|| format!("cannot open manifest {}", m.display()))?,
        );
    }
    for w in &args.wavs {
        jobs.push(Job {
            id: w
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            audio: w.display().to_string(),
            path: w.clone(),
            bias_list: None,
            error: None,
        });
    }
    if jobs.is_empty() {
        bail!("nothing to transcribe: give WAV files or --manifest M.jsonl");
    }
    let written_cfg = args.text.config()?;
    let rec = args.model.load()?;
    let mut lists = EntityLists::new(&rec, &args.entities, args.no_bias, args.quiet)?;
    #[cfg(feature = "dev-tools")]
    let mut dump = {
        lists.dump_prons = args.dumps.entity_prons()?;
        args.dumps.posteriors()?
    };
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let progress = !args.quiet && jobs.len() > 1;
    let tty = std::io::stderr().is_terminal();
    let mut failed = 0usize;
    let mut audio_s = 0.0f64;
    for (i, job) in jobs.iter().enumerate() {
        let result = if let Some(e) = &job.error {
            Err(e.clone())
        } else {
            let result = lists.trie_for(job.bias_list.as_deref()).and_then(|bias| {
                #[cfg(feature = "dev-tools")]
                if let Some(dump) = dump.as_mut() {
                    return dump.transcribe(&rec, job, bias.as_deref(), &mut audio_s);
                }
                let f = rec.transcribe_file_with(&job.path, bias.as_deref())?;
                audio_s += f.duration_s;
                warn_about_audio(&job.path, f.truncated, f.non_finite);
                Ok(f.transcript)
            });
            // The message names the file once (most audio errors already do).
            let path = job.path.display().to_string();
            result.map_err(|e| match e.to_string() {
                m if m.contains(&path) => m,
                m => format!("{path}: {m}"),
            })
        };
        match result {
            Ok(t) => {
                let written = render(written_cfg.as_ref(), &t.words, &t.entities);
                match args.format {
                    Format::Text => {
                        writeln!(out, "{}", written.as_ref().map_or(&t.text, |w| &w.text))?
                    }
                    Format::Jsonl => writeln!(out, "{}", result_json(job, &t, written.as_ref()))?,
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("nomen: {e}");
                // Still one line per input: an empty one in text, the error in JSONL.
                match args.format {
                    Format::Text => writeln!(out)?,
                    Format::Jsonl => {
                        let v = serde_json::json!({
                            "id": job.id, "audio": job.audio, "text": "", "spoken": "", "words": [],
                            "entities": [], "error": e,
                        });
                        writeln!(out, "{v}")?;
                    }
                }
            }
        }
        out.flush()?;
        if progress && (tty || (i + 1) % 25 == 0 || i + 1 == jobs.len()) {
            let end = if tty && i + 1 < jobs.len() {
                "\r"
            } else {
                "\n"
            };
            eprint!(
                "nomen: {}/{} files, {:.1} s audio in {:.1} s{end}",
                i + 1,
                jobs.len(),
                audio_s,
                started.elapsed().as_secs_f64()
            );
        }
    }
    if failed > 0 {
        eprintln!("nomen: {failed} of {} files failed", jobs.len());
    }
    Ok(failed == 0)
}
