//! `nomen`: the command line. Argument parsing and output formats only; the work is in the
//! library.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use nomen::audio::pad::Fill;
use nomen::bias::{BiasEntry, EntityTrie};
use nomen::entities::EntitySet;
use nomen::model::{ModelKind, Precision};
use nomen::recognizer::{Recognizer, RecognizerConfig, Search, Transcript};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

mod bench;
mod confusions;
mod peer;

#[derive(Parser)]
#[command(
    name = "nomen",
    version,
    about = "Offline English speech recognition that gets your own names right",
    long_about = "Offline English speech recognition for small ARM boards: a quantized phoneme CTC \
model (tract), a pronunciation lexicon and a word trigram LM. Never uses the network."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Transcribe WAV files (any common WAV: 8/16/24/32-bit int, float, any rate, any channels).
    Transcribe(TranscribeArgs),
    /// Measure speed and memory: model and decoder real-time factors, load times, peak RSS.
    Bench(bench::BenchArgs),
    /// Live dictation from the microphone (or a WAV file through the same pipeline): partial
    /// results while you speak, a final line when you stop.
    Listen(ListenArgs),
    /// Write the word LM as an ARPA text LM (for peer comparisons).
    #[command(hide = true)]
    ExportArpa(peer::ExportArpaArgs),
    /// Count which unit the acoustic model hears for each unit said, over transcribed audio
    /// (builds models-quantized/confusions.tsv; see tools/make_confusions.py).
    #[command(hide = true)]
    Confusions(confusions::ConfusionArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The transcript, one line per file.
    Text,
    /// One JSON object per file: {"id","audio","text","words":[{"word","start","end","conf"}]}.
    Jsonl,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SearchArg {
    /// Lexicon + LM beam search.
    Beam,
    /// Greedy phones snapped to the nearest lexicon word (baseline).
    Greedy,
}

/// Where the models are and how to search: shared by all subcommands.
#[derive(Args, Clone)]
pub struct ModelArgs {
    /// Model directory (default: $NOMEN_MODELS, ./models-quantized, or next to the binary).
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// Acoustic model: whisper-tiny (nomen's own: the Whisper tiny.en encoder with a CTC
    /// phone head trained on synthesized speech) or hama (hama 1.3.13's CTC phone model,
    /// the default before; also the only one with --precision int8).
    #[arg(long, value_name = "NAME", value_parser = parse_model_kind, default_value = "whisper-tiny")]
    acoustic_model: ModelKind,
    /// Acoustic model precision.
    #[arg(long, value_parser = parse_precision, default_value = "fp32")]
    precision: Precision,
    /// Word LM file (sphinx binary trie or ARPA); default: <models>/en-us.lm.bin.
    #[arg(long, value_name = "FILE")]
    lm: Option<PathBuf>,
    /// Lexicon file (`word<TAB>phones`); default: <models>/lexicon.txt.
    #[arg(long, value_name = "FILE")]
    lexicon: Option<PathBuf>,
    /// Hypotheses kept per frame.
    #[arg(long)]
    beam: Option<usize>,
    /// Score window of the beam (natural-log units).
    #[arg(long)]
    beam_threshold: Option<f32>,
    /// LM weight.
    #[arg(long)]
    lm_weight: Option<f32>,
    /// Score added per word.
    #[arg(long)]
    word_bonus: Option<f32>,
    /// Score added per word-boundary token.
    #[arg(long)]
    boundary_bonus: Option<f32>,
    /// Search.
    #[arg(long, value_enum, default_value = "beam")]
    search: SearchArg,
    /// Biasing: largest adaptive boost per unit inside an entity (ln units).
    #[arg(long)]
    phone_boost: Option<f32>,
    /// Biasing: gap to the frame's best unit at which the adaptive boost reaches zero.
    #[arg(long)]
    gap_scale: Option<f32>,
    /// Biasing: ln p(entity class) for the class LM.
    #[arg(long)]
    class_logprob: Option<f32>,
    /// Biasing: bonus when an entity completes (times its list weight).
    #[arg(long)]
    entity_bonus: Option<f32>,
    /// Biasing: score added when a given or family name alone, shorter than 5 units,
    /// completes (negative).
    #[arg(long)]
    short_penalty: Option<f32>,
    /// Biasing: lists longer than this many entries give each entry ln(length / this)
    /// less score (0: off).
    #[arg(long)]
    list_size_ref: Option<usize>,
    /// Biasing: subtracted when a family name said alone completes (it is rarer in speech
    /// than the whole name or the given name).
    #[arg(long)]
    family_penalty: Option<f32>,
    /// Biasing: G2G pronunciation variants per word (technique 5; 0 turns them off).
    #[arg(long)]
    g2g_variants: Option<usize>,
    /// Biasing: G2P n-best pronunciations per word (0: lexicon pronunciations only).
    #[arg(long)]
    g2p_nbest: Option<usize>,
    /// Biasing: most pronunciations kept per entry (a multi-word name's combinations of its
    /// words' variants, each with and without the word boundary between them).
    #[arg(long)]
    max_prons: Option<usize>,
    /// Biasing: weight of a pronunciation's own cost (a G2P n-best entry's score below the
    /// best, a G2G variant's cost); 0: all pronunciations count the same.
    #[arg(long)]
    pron_weight: Option<f32>,
    /// Biasing: add English renderings of names the G2P pronounces in another language's
    /// phones (off by default: measured, it does not help on the dev set).
    #[arg(long)]
    anglicize: bool,
    /// Biasing: turn off adaptive boosting (technique 1).
    #[arg(long)]
    no_adaptive: bool,
    /// Biasing: turn off the class LM (technique 2; entities then get no LM score).
    #[arg(long)]
    no_class_lm: bool,
    /// Biasing: turn off the pronunciation lookup after decoding (technique 4).
    #[arg(long)]
    no_lookup: bool,
    /// Biasing: turn off phonetic-distance rescoring after decoding (technique 3).
    #[arg(long)]
    no_rescore: bool,
    /// Biasing, rescoring: use the learned unit confusion costs (confusions.tsv, from
    /// tools/make_confusions.py) instead of the similar-phone groups (off by default:
    /// measured, it finds fewer names on dev).
    #[arg(long)]
    confusions: bool,
    /// Biasing, rescoring: rescore this many of the search's best hypotheses (those within
    /// 2 ln units of the best) and keep the best rescored one (1: the best alone).
    #[arg(long, value_name = "N")]
    rescore_nbest: Option<usize>,
    /// Biasing, rescoring: most one frame of a unit may cost below the frame's best (ln units).
    #[arg(long)]
    rescore_floor: Option<f32>,
    /// Biasing, rescoring: how much better an entity must explain a span to replace it.
    #[arg(long)]
    rescore_margin: Option<f32>,
    /// Biasing, rescoring: cost per frame of a similar unit standing for a name's unit.
    #[arg(long)]
    rescore_similar: Option<f32>,
    /// Biasing, rescoring: bonus for completing a given or family name heard in the span.
    #[arg(long)]
    rescore_anchor: Option<f32>,
    /// Biasing, rescoring: most a name may cost per unit (in floors) to get that bonus.
    #[arg(long)]
    rescore_anchor_cost: Option<f32>,
    /// Acoustic-model plans specialized to an input length kept in memory (0: one plan for
    /// any length, about 2.7x slower but smallest; at most 8).
    #[arg(long, value_name = "N")]
    length_plans: Option<usize>,
    /// Hash every model file at start-up, even one verified before and unchanged since (by
    /// default a stamp in $NOMEN_CACHE_DIR, $XDG_CACHE_HOME/nomen or ~/.cache/nomen spares
    /// hashing an unchanged file again; NOMEN_CACHE_DIR= turns that off too).
    #[arg(long)]
    recheck_models: bool,
    /// Audio the model hears before the first speech frame of an utterance or segment
    /// (seconds).
    #[arg(long, value_name = "S")]
    pre_roll: Option<f32>,
    /// Audio the model hears after the last speech frame of an utterance or segment
    /// (seconds): what follows in the input, the rest made up (--pad-fill).
    #[arg(long, value_name = "S")]
    post_roll: Option<f32>,
    /// How the part of the post-roll the input lacks, and the model's lead-in, are made
    /// up: the quiet heard next to the speech played back and forth, or digital silence.
    #[arg(long, value_enum, value_name = "HOW")]
    pad_fill: Option<FillArg>,
    /// Speech quieter than this (dBFS, the loud 5% of an utterance's 10 ms frames) is raised
    /// to it, by at most 30 dB and without clipping; `off`: never.
    #[arg(long, value_name = "DB|off", value_parser = parse_level_floor, allow_negative_numbers = true)]
    level_floor: Option<f32>,
    /// Keep the input's DC offset (by default a 10 Hz high-pass removes it).
    #[arg(long)]
    keep_dc: bool,
}

fn parse_level_floor(s: &str) -> Result<f32, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(f32::NEG_INFINITY);
    }
    s.parse::<f32>()
        .map_err(|_| format!("{s:?} is not a level in dBFS or `off`"))
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FillArg {
    /// The quiet heard next to the speech, played back and forth.
    Mirror,
    /// Digital silence.
    Silence,
}

fn parse_model_kind(s: &str) -> Result<ModelKind, String> {
    s.parse()
        .map_err(|e: nomen::model::ModelError| e.to_string())
}

fn parse_precision(s: &str) -> Result<Precision, String> {
    s.parse()
        .map_err(|e: nomen::model::ModelError| e.to_string())
}

impl ModelArgs {
    /// Builds the recognizer configuration.
    pub fn config(&self) -> Result<RecognizerConfig> {
        let dir = match &self.models {
            Some(d) => d.clone(),
            None => find_models_dir()?,
        };
        let mut cfg = RecognizerConfig::with_dir(dir);
        cfg.set_model_kind(self.acoustic_model);
        cfg.model.precision = self.precision;
        cfg.model.cache = if self.recheck_models {
            None
        } else {
            nomen::cache::StartupCache::user_default()
        };
        if let Some(n) = self.length_plans {
            cfg.model.length_plans = n;
        }
        let pad = &mut cfg.segment.padding;
        pad.pre_roll_s = self.pre_roll.unwrap_or(pad.pre_roll_s);
        pad.post_roll_s = self.post_roll.unwrap_or(pad.post_roll_s);
        pad.fill = match self.pad_fill {
            Some(FillArg::Mirror) => Fill::Mirror,
            Some(FillArg::Silence) => Fill::Silence,
            None => pad.fill,
        };
        if let Err(e) = pad.validate() {
            bail!("--pre-roll/--post-roll: {e}");
        }
        let level = &mut cfg.segment.level;
        level.min_speech_db = self.level_floor.unwrap_or(level.min_speech_db);
        level.remove_dc = !self.keep_dc;
        if let Err(e) = level.validate() {
            bail!("--level-floor: {e}");
        }
        let b = &mut cfg.bias;
        b.phone_boost = self.phone_boost.unwrap_or(b.phone_boost);
        b.gap_scale = self.gap_scale.unwrap_or(b.gap_scale);
        b.class_logprob = self.class_logprob.unwrap_or(b.class_logprob);
        b.entity_bonus = self.entity_bonus.unwrap_or(b.entity_bonus);
        b.short_penalty = self.short_penalty.unwrap_or(b.short_penalty);
        b.family_penalty = self.family_penalty.unwrap_or(b.family_penalty);
        b.list_size_ref = self.list_size_ref.unwrap_or(b.list_size_ref);
        b.g2g_variants = self.g2g_variants.unwrap_or(b.g2g_variants);
        b.g2p_nbest = self.g2p_nbest.unwrap_or(b.g2p_nbest).min(16);
        b.max_prons = self.max_prons.unwrap_or(b.max_prons).clamp(1, 256);
        b.pron_weight = self.pron_weight.unwrap_or(b.pron_weight);
        if !b.pron_weight.is_finite() || b.pron_weight < 0.0 {
            bail!("--pron-weight must be a finite number of at least 0");
        }
        b.adaptive = !self.no_adaptive;
        b.anglicize = self.anglicize || b.anglicize;
        b.class_lm = !self.no_class_lm;
        b.lookup = !self.no_lookup;
        b.rescore = !self.no_rescore;
        b.rescore_confusions = self.confusions || b.rescore_confusions;
        b.rescore_nbest = self.rescore_nbest.unwrap_or(b.rescore_nbest).clamp(1, 16);
        b.rescore_floor = self.rescore_floor.unwrap_or(b.rescore_floor);
        b.rescore_margin = self.rescore_margin.unwrap_or(b.rescore_margin);
        b.rescore_similar = self.rescore_similar.unwrap_or(b.rescore_similar);
        b.rescore_anchor = self.rescore_anchor.unwrap_or(b.rescore_anchor);
        b.rescore_anchor_cost = self.rescore_anchor_cost.unwrap_or(b.rescore_anchor_cost);
        if b.gap_scale.is_nan() || b.gap_scale <= 0.0 {
            bail!("--gap-scale must be positive");
        }
        if !b.rescore_floor.is_finite() || b.rescore_floor <= 0.0 {
            bail!("--rescore-floor must be a positive number");
        }
        cfg.lm = self.lm.clone();
        cfg.lexicon = self.lexicon.clone();
        let d = &mut cfg.decoder;
        // The model's own defaults (set_model_kind), which flags override.
        let def = *d;
        d.beam_size = self.beam.unwrap_or(def.beam_size);
        d.beam_threshold = self.beam_threshold.unwrap_or(def.beam_threshold);
        d.lm_weight = self.lm_weight.unwrap_or(def.lm_weight);
        d.word_bonus = self.word_bonus.unwrap_or(def.word_bonus);
        d.boundary_bonus = self.boundary_bonus.unwrap_or(def.boundary_bonus);
        if d.beam_size == 0 || d.beam_size > 100_000 {
            bail!("--beam must be between 1 and 100000");
        }
        for (name, v) in [
            ("--phone-boost", cfg.bias.phone_boost),
            ("--class-logprob", cfg.bias.class_logprob),
            ("--entity-bonus", cfg.bias.entity_bonus),
            ("--short-penalty", cfg.bias.short_penalty),
            ("--family-penalty", cfg.bias.family_penalty),
            ("--rescore-margin", cfg.bias.rescore_margin),
            ("--rescore-similar", cfg.bias.rescore_similar),
            ("--rescore-anchor", cfg.bias.rescore_anchor),
            ("--rescore-anchor-cost", cfg.bias.rescore_anchor_cost),
            ("--beam-threshold", d.beam_threshold),
            ("--lm-weight", d.lm_weight),
            ("--word-bonus", d.word_bonus),
            ("--boundary-bonus", d.boundary_bonus),
        ] {
            if !v.is_finite() {
                bail!("{name} must be a finite number");
            }
        }
        cfg.search = match self.search {
            SearchArg::Beam => Search::Beam,
            SearchArg::Greedy => Search::Greedy,
        };
        Ok(cfg)
    }

    /// Loads the recognizer, with a clear error.
    pub fn load(&self) -> Result<Recognizer> {
        let cfg = self.config()?;
        Recognizer::load(cfg).context("cannot load the recognizer")
    }
}

fn find_models_dir() -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("NOMEN_MODELS") {
        candidates.push(PathBuf::from(d));
    }
    candidates.push(PathBuf::from("models-quantized"));
    if let Ok(exe) = std::env::current_exe() {
        // Next to an installed binary, or the repository of a `cargo build` binary.
        for up in exe.ancestors().skip(1).take(4) {
            candidates.push(up.join("models-quantized"));
        }
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models-quantized"));
    for c in &candidates {
        if c.join("SHA256SUMS").is_file() {
            return Ok(c.clone());
        }
    }
    bail!(
        "no model directory found (looked in {}); pass --models DIR or set NOMEN_MODELS",
        candidates
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[derive(Args)]
struct TranscribeArgs {
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
    /// Also write the log-posteriors decoded, per file and segment, to DIR (peer comparison).
    #[arg(long, value_name = "DIR", hide = true)]
    dump_posteriors: Option<PathBuf>,
    /// Also append the pronunciations of every entity list used to FILE (JSONL).
    #[arg(long, value_name = "FILE", hide = true)]
    dump_entity_prons: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
}

/// One unit of work: an id and a WAV path, or a manifest row that could not be one.
type Job = nomen::manifest::Row;

fn result_json(job: &Job, t: &Transcript) -> serde_json::Value {
    serde_json::json!({
        "id": job.id,
        "audio": job.audio,
        "text": t.text,
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
    })
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
            dump_prons: None,
        })
    }

    /// The trie for a row with this own list (read and prepared on first use).
    fn trie_for(
        &mut self,
        row_list: Option<&Path>,
    ) -> Result<Option<Arc<EntityTrie>>, nomen::recognizer::Error> {
        let key = row_list.map(Path::to_path_buf);
        if let Some(t) = self.cache.get(&key) {
            return Ok(t.clone());
        }
        let mut entries = self.global.clone();
        if let Some(p) = row_list {
            entries.extend(
                read_entity_list(p)
                    .map_err(|e| nomen::recognizer::Error::Config(format!("{e:#}")))?,
            );
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
        if let (Some(out), Some(t)) = (&self.dump_prons, &trie) {
            peer::dump_entity_prons(out, self.rec, row_list, t)
                .map_err(|e| nomen::recognizer::Error::Config(format!("{e:#}")))?;
        }
        self.cache.insert(key, trie.clone());
        Ok(trie)
    }
}

/// [`Recognizer::prepare_entities`], showing on stderr how far the pronouncing of a long
/// list's new words has come (not with `quiet`, nor for fewer than 500 new words): the
/// line rewritten on a terminal, every 10% otherwise.
fn prepare_entities(rec: &Recognizer, entries: Vec<BiasEntry>, quiet: bool) -> Option<EntityTrie> {
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut shown = 0;
    rec.prepare_entities_with_progress(entries, &mut |done, total| {
        if quiet || total < 500 {
            return;
        }
        let step = if tty { total / 200 } else { total / 10 }.max(1);
        if done == total || done >= shown + step {
            shown = done;
            let end = if tty && done < total { "\r" } else { "\n" };
            eprint!(
                "nomen: pronouncing the list's new words: {done}/{total} in {:.0} s{end}",
                started.elapsed().as_secs_f64()
            );
        }
    })
}

/// Reads an entity list (plain text, CSV or vCard) into decoder entries.
fn read_entity_list(path: &Path) -> Result<Vec<BiasEntry>> {
    let mut set = EntitySet::new();
    set.add_file(path)?; // the error names the file
    Ok(set.entities().iter().map(BiasEntry::from).collect())
}

/// Warns about a file read with trouble that did not stop it.
fn warn_about_audio(path: &Path, truncated: bool, non_finite: usize) {
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

fn transcribe(args: TranscribeArgs) -> Result<bool> {
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
    let rec = args.model.load()?;
    let mut lists = EntityLists::new(&rec, &args.entities, args.no_bias, args.quiet)?;
    if let Some(p) = &args.dump_entity_prons {
        std::fs::write(p, "").with_context(|| format!("cannot create {}", p.display()))?;
        lists.dump_prons = Some(p.clone());
    }
    let mut dump = match &args.dump_posteriors {
        Some(d) => Some(peer::PosteriorDump::create(d)?),
        None => None,
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
                let Some(dump) = dump.as_mut() else {
                    let f = rec.transcribe_file_with(&job.path, bias.as_deref())?;
                    audio_s += f.duration_s;
                    warn_about_audio(&job.path, f.truncated, f.non_finite);
                    return Ok(f.transcript);
                };
                let a = nomen::audio::load_wav(&job.path)?;
                audio_s += a.duration_s();
                warn_about_audio(&job.path, a.truncated, a.non_finite);
                let segments = rec.segment_posteriors(&a)?;
                let t = Instant::now();
                let out = rec.decode_segments(&segments, bias.as_deref());
                let decode_s = t.elapsed().as_secs_f64();
                dump.write(&job.id, job.bias_list.as_deref(), &segments, decode_s)
                    .map_err(|e| nomen::recognizer::Error::Config(format!("{e:#}")))?;
                Ok(out)
            });
            // The message names the file once (most audio errors already do).
            let path = job.path.display().to_string();
            result.map_err(|e| match e.to_string() {
                m if m.contains(&path) => m,
                m => format!("{path}: {m}"),
            })
        };
        match result {
            Ok(t) => match args.format {
                Format::Text => writeln!(out, "{}", t.text)?,
                Format::Jsonl => writeln!(out, "{}", result_json(job, &t))?,
            },
            Err(e) => {
                failed += 1;
                eprintln!("nomen: {e}");
                // Still one line per input: an empty one in text, the error in JSONL.
                match args.format {
                    Format::Text => writeln!(out)?,
                    Format::Jsonl => {
                        let v = serde_json::json!({
                            "id": job.id, "audio": job.audio, "text": "", "words": [],
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

#[derive(Args)]
struct ListenArgs {
    /// Stream this WAV file through the live pipeline instead of the microphone.
    #[arg(long, value_name = "WAV")]
    input: Option<PathBuf>,
    /// With --input: feed the file at real-time pace, as a microphone would (else as fast as
    /// possible, every partial computed).
    #[arg(long, requires = "input")]
    realtime: bool,
    /// With --input: seconds of quiet (white noise at -70 dBFS) streamed after the file, as a
    /// microphone would go on listening (the endpoint then comes from trailing silence, not
    /// the end of the file).
    #[arg(long, value_name = "S", requires = "input", default_value_t = 0.0)]
    append_silence: f32,
    /// Entity list to bias toward (repeatable): plain text, CSV or vCard.
    #[arg(long = "entities", value_name = "FILE")]
    entities: Vec<PathBuf>,
    /// Input device (a name, or part of one, as --list-devices shows); default: the
    /// system's default input.
    #[arg(long, value_name = "NAME", conflicts_with = "input")]
    device: Option<String>,
    /// List the input devices and exit.
    #[arg(long)]
    list_devices: bool,
    /// Output: text (partial line rewritten in place on a terminal, final lines kept) or
    /// JSONL events {"type":"partial"|"final"|"error","text","entities","start","end","latency_ms"}.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Silence after speech that ends an utterance (seconds).
    #[arg(long, default_value_t = 0.6, value_name = "S")]
    trailing_silence: f32,
    /// Early finals: a pause this long ends the sentence when its last words end a sentence
    /// for the language model (seconds; 0: only --trailing-silence ends an utterance). What
    /// is said before --trailing-silence then comes as new words of the same utterance.
    #[arg(long, default_value_t = 0.16, value_name = "S")]
    early_final: f32,
    /// With --early-final: the pause after which the sentence so far is decoded, so that
    /// its result is ready when the pause reaches --early-final (seconds).
    #[arg(long, default_value_t = 0.08, value_name = "S")]
    early_check: f32,
    /// With --early-final: how likely the last words must end a sentence, as the natural
    /// log of the language model's p(</s> | last words); -inf: at any pause.
    #[arg(long, default_value_t = nomen::pipeline::DEFAULT_SENTENCE_END_MIN, value_name = "LN_P",
          allow_negative_numbers = true)]
    sentence_end_min: f32,
    /// Audio between partial results (seconds); 0: finals only.
    #[arg(long, default_value_t = 0.3, value_name = "S")]
    partial_interval: f32,
    /// Longest utterance (seconds): longer speech is cut.
    #[arg(long, default_value_t = 20.0, value_name = "S")]
    max_utterance: f32,
    /// Partial results from the whole-utterance model run again over the utterance so far
    /// for each one (their cost grows with the utterance's length), instead of the
    /// streaming model (whose frames see no audio after each partial).
    #[arg(long)]
    whole_partials: bool,
    /// How long to try to reopen a lost input device before exiting (seconds).
    #[arg(long, default_value_t = 10.0, value_name = "S")]
    reconnect: f32,
    /// No session summary on stderr.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    model: ModelArgs,
}

/// Ctrl-C (and SIGTERM): the first asks the session to stop (the pending final is flushed),
/// a second one exits at once.
#[cfg(unix)]
mod interrupt {
    use std::sync::atomic::{AtomicBool, Ordering};

    static HIT: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_signal(_: libc::c_int) {
        if HIT.swap(true, Ordering::SeqCst) {
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(130) };
        }
    }

    pub fn install() {
        let handler = on_signal as extern "C" fn(libc::c_int);
        // SAFETY: the handler only touches an atomic and calls _exit.
        unsafe {
            libc::signal(libc::SIGINT, handler as libc::sighandler_t);
            libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        }
    }

    pub fn hit() -> bool {
        HIT.load(Ordering::SeqCst)
    }
}

#[cfg(not(unix))]
mod interrupt {
    pub fn install() {}
    pub fn hit() -> bool {
        false
    }
}

fn listen(args: ListenArgs) -> Result<bool> {
    use nomen::pipeline::{self, Event, EventKind, PartialPolicy, Pipeline, PipelineConfig};
    use std::sync::atomic::{AtomicBool, Ordering};

    if args.list_devices {
        #[cfg(feature = "mic")]
        {
            let devices = nomen::pipeline::mic::list_devices().context("cannot list devices")?;
            if devices.is_empty() {
                bail!("no audio input devices found");
            }
            for d in devices {
                let mark = if d.is_default { " (default)" } else { "" };
                println!("{}{mark}\t{}\t{}", d.name, d.description, d.config);
            }
            return Ok(true);
        }
        #[cfg(not(feature = "mic"))]
        bail!("this nomen was built without microphone support (cargo feature `mic`); use --input WAV");
    }
    for (name, v, lo, hi) in [
        ("--trailing-silence", args.trailing_silence, 0.05, 10.0),
        ("--partial-interval", args.partial_interval, 0.0, 60.0),
        ("--max-utterance", args.max_utterance, 2.0, 60.0),
        ("--reconnect", args.reconnect, 0.0, 3600.0),
        ("--append-silence", args.append_silence, 0.0, 3600.0),
        ("--early-final", args.early_final, 0.0, 10.0),
        ("--early-check", args.early_check, 0.0, 10.0),
    ] {
        if !(v >= lo && v <= hi) {
            bail!("{name} must be between {lo} and {hi} seconds");
        }
    }
    #[cfg(not(feature = "mic"))]
    if args.input.is_none() {
        bail!("this nomen was built without microphone support (cargo feature `mic`); use --input WAV");
    }
    let source = match &args.input {
        Some(p) => {
            let mut src = pipeline::WavSource::open(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            src.append_silence(args.append_silence, -70.0);
            Some(src)
        }
        None => None,
    };
    let mut rec_cfg = args.model.config()?;
    rec_cfg.model.streaming = !args.whole_partials && args.partial_interval > 0.0;
    let rec = Arc::new(Recognizer::load(rec_cfg).context("cannot load the recognizer")?);
    // Changed lists are reloaded while listening (checked once a second, from now on).
    let mut watcher = nomen::entities::watch::ListWatcher::new(&args.entities);
    let mut reloading: Option<std::thread::JoinHandle<()>> = None;
    let mut entries = Vec::new();
    for f in &args.entities {
        entries.extend(read_entity_list(f)?);
    }
    let bias = if entries.is_empty() {
        None
    } else {
        prepare_entities(&rec, entries, args.quiet).map(Arc::new)
    };
    let mut cfg = PipelineConfig::default();
    cfg.endpoint.trailing_silence_s = args.trailing_silence;
    cfg.endpoint.partial_interval_s = args.partial_interval;
    cfg.endpoint.max_utterance_s = args.max_utterance;
    // Utterances are padded (and their level set) as offline segments are.
    cfg.endpoint.segment = rec.config().segment;
    cfg.endpoint.early_final_s = args.early_final;
    cfg.endpoint.early_check_s = args.early_check;
    if args.sentence_end_min.is_nan() {
        bail!("--sentence-end-min must be a number (or -inf)");
    }
    cfg.sentence_end_min = args.sentence_end_min;
    cfg.partials = if source.is_some() && !args.realtime {
        PartialPolicy::All
    } else {
        PartialPolicy::Latest
    };
    interrupt::install();
    let stop = Arc::new(AtomicBool::new(false));
    let (input_tx, input_rx) = pipeline::input_channel();
    let mut feeder = None;
    #[cfg(feature = "mic")]
    let mut mic = None;
    match source {
        Some(src) => {
            let pacing = if args.realtime {
                pipeline::Pacing::Realtime
            } else {
                pipeline::Pacing::Fast
            };
            let ring = (src.rate() as usize) * 2;
            use nomen::pipeline::SampleSource;
            feeder = Some(pipeline::spawn_feeder(
                Box::new(src),
                pacing,
                ring,
                input_tx,
                stop.clone(),
            ));
        }
        None => {
            #[cfg(feature = "mic")]
            {
                let opts = pipeline::mic::MicOptions {
                    device: args.device.clone(),
                    ring_s: 2.0,
                    reconnect_s: args.reconnect,
                };
                let (desc, handle) = pipeline::mic::start(opts, input_tx, stop.clone())?;
                if !args.quiet {
                    eprintln!("nomen: listening on {desc}; Ctrl-C to stop");
                }
                mic = Some(handle);
            }
            #[cfg(not(feature = "mic"))]
            drop(input_tx);
        }
    }
    let pipe = Pipeline::start(rec.clone(), bias, cfg, input_rx);
    let mut next_check = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal() && args.format == Format::Text;
    let mut out = stdout.lock();
    let mut partial_shown = false;
    loop {
        if interrupt::hit() && !stop.swap(true, Ordering::SeqCst) && !args.quiet {
            if partial_shown {
                writeln!(out)?;
                partial_shown = false;
            }
            eprintln!("nomen: stopping (finishing the current utterance)");
        }
        if !args.entities.is_empty() && std::time::Instant::now() >= next_check {
            next_check = std::time::Instant::now() + std::time::Duration::from_secs(1);
            // One reload at a time, on its own thread: a big list takes seconds to prepare
            // and results keep coming meanwhile (with the previous list).
            if reloading.as_ref().is_none_or(|h| h.is_finished()) && watcher.changed() {
                let (rec, paths, handle) = (
                    rec.clone(),
                    watcher.paths().to_vec(),
                    pipe.entities().clone(),
                );
                let quiet = args.quiet;
                reloading = Some(std::thread::spawn(move || {
                    reload_lists(&rec, &paths, &handle, quiet)
                }));
            }
        }
        let ev: Event = match pipe
            .events()
            .recv_timeout(std::time::Duration::from_millis(50))
        {
            Ok(ev) => ev,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        };
        match args.format {
            Format::Jsonl => writeln!(out, "{}", ev.to_json())?,
            Format::Text => match ev.kind {
                EventKind::Partial if tty => {
                    write!(out, "\r\x1b[K{}", ev.text)?;
                    partial_shown = true;
                }
                EventKind::Partial => {}
                EventKind::Final => {
                    if tty {
                        write!(out, "\r\x1b[K")?;
                    }
                    if !ev.text.is_empty() {
                        writeln!(out, "{}", ev.text)?;
                    }
                    partial_shown = false;
                }
                EventKind::Error => {
                    if partial_shown {
                        writeln!(out)?;
                        partial_shown = false;
                    }
                    out.flush()?;
                    eprintln!("nomen: {}", ev.text);
                }
            },
        }
        out.flush()?;
    }
    if partial_shown {
        writeln!(out)?;
    }
    let stats = pipe.join();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    // A lost device that did not come back ends the session with exit code 1.
    #[cfg(feature = "mic")]
    let ok = !matches!(
        mic.map(|m| m.join()),
        Some(Ok(pipeline::mic::MicEnd::Lost(_)))
    );
    #[cfg(not(feature = "mic"))]
    let ok = true;
    if !args.quiet {
        eprintln!(
            "nomen: {:.1} s of audio, {} final ({} early) and {} partial results ({} stale partials skipped), {} frames dropped",
            stats.samples_16k as f64 / 16_000.0,
            stats.finals,
            stats.early_finals,
            stats.partials,
            stats.partials_skipped,
            stats.dropped_frames
        );
    }
    Ok(ok)
}

/// Reads the lists again and hands the result to the running pipeline. A list that cannot be
/// read keeps the entities in use (the file may be half written; the next change retries).
fn reload_lists(
    rec: &nomen::recognizer::Recognizer,
    paths: &[PathBuf],
    handle: &nomen::pipeline::EntityHandle,
    quiet: bool,
) {
    let t = std::time::Instant::now();
    let mut entries = Vec::new();
    for p in paths {
        match read_entity_list(p) {
            Ok(e) => entries.extend(e),
            Err(e) => {
                eprintln!("nomen: warning: list not reloaded, keeping the previous one: {e:#}");
                return;
            }
        }
    }
    let n = entries.len();
    let trie = prepare_entities(rec, entries, quiet).map(Arc::new);
    let kept = trie.as_ref().map_or(0, |t| t.entries().len());
    handle.set(trie);
    if !quiet {
        eprintln!(
            "nomen: entity lists reloaded: {n} entries, {kept} pronounceable ({:.0} ms)",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}

fn main() {
    // tract reports many expected failures inside its graph rewrites as `anyhow` errors;
    // with RUST_BACKTRACE set (common on developer machines) each one captured a backtrace
    // nobody sees (nomen prints error chains, never their backtraces): 8% of a start. Panics
    // still follow RUST_BACKTRACE. Set before any thread exists.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format_timestamp(None)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Transcribe(a) => transcribe(a),
        Command::Bench(a) => bench::run(a).map(|()| true),
        Command::Listen(a) => listen(a),
        Command::ExportArpa(a) => peer::export_arpa(a).map(|()| true),
        Command::Confusions(a) => confusions::run(a).map(|()| true),
    };
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("nomen: error: {e:#}");
            std::process::exit(2);
        }
    }
}
