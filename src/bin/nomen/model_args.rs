//! The flags every subcommand shares (models, search, biasing, padding) and how they map
//! onto the library's [`RecognizerConfig`].

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use nomen::audio::pad::Fill;
use nomen::model::{ModelKind, Precision};
use nomen::recognizer::{Recognizer, RecognizerConfig, Search};
use nomen::ConfigError;
use std::path::PathBuf;

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
    /// tools/build/make_confusions.py) instead of the similar-phone groups (off by default:
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
        let level = &mut cfg.segment.level;
        level.min_speech_db = self.level_floor.unwrap_or(level.min_speech_db);
        level.remove_dc = !self.keep_dc;
        // Biasing, pass by pass.
        let p = &mut cfg.bias.prons;
        p.g2g_variants = self.g2g_variants.unwrap_or(p.g2g_variants);
        p.g2p_nbest = self.g2p_nbest.unwrap_or(p.g2p_nbest);
        p.max_prons = self.max_prons.unwrap_or(p.max_prons);
        p.pron_weight = self.pron_weight.unwrap_or(p.pron_weight);
        p.anglicize = self.anglicize || p.anglicize;
        let s = &mut cfg.bias.search;
        s.adaptive = !self.no_adaptive;
        s.phone_boost = self.phone_boost.unwrap_or(s.phone_boost);
        s.gap_scale = self.gap_scale.unwrap_or(s.gap_scale);
        s.class_lm = !self.no_class_lm;
        s.class_logprob = self.class_logprob.unwrap_or(s.class_logprob);
        s.entity_bonus = self.entity_bonus.unwrap_or(s.entity_bonus);
        s.short_penalty = self.short_penalty.unwrap_or(s.short_penalty);
        s.family_penalty = self.family_penalty.unwrap_or(s.family_penalty);
        s.list_size_ref = self.list_size_ref.unwrap_or(s.list_size_ref);
        let r = &mut cfg.bias.rescore;
        r.enabled = !self.no_rescore;
        r.confusions = self.confusions || r.confusions;
        r.nbest = self.rescore_nbest.unwrap_or(r.nbest);
        r.floor = self.rescore_floor.unwrap_or(r.floor);
        r.margin = self.rescore_margin.unwrap_or(r.margin);
        r.similar = self.rescore_similar.unwrap_or(r.similar);
        r.anchor = self.rescore_anchor.unwrap_or(r.anchor);
        r.anchor_cost = self.rescore_anchor_cost.unwrap_or(r.anchor_cost);
        cfg.bias.lookup.enabled = !self.no_lookup;
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
        cfg.search = match self.search {
            SearchArg::Beam => Search::Beam,
            SearchArg::Greedy => Search::Greedy,
        };
        cfg.validate().map_err(flag_error)?;
        Ok(cfg)
    }

    /// Loads the recognizer, with a clear error.
    pub fn load(&self) -> Result<Recognizer> {
        let cfg = self.config()?;
        Recognizer::load(cfg).context("cannot load the recognizer")
    }
}

/// The flag that sets each library setting: what a [`ConfigError`]'s field is called on the
/// command line.
const FLAGS: &[(&str, &str)] = &[
    ("decoder.beam_size", "--beam"),
    ("decoder.beam_threshold", "--beam-threshold"),
    ("decoder.lm_weight", "--lm-weight"),
    ("decoder.word_bonus", "--word-bonus"),
    ("decoder.boundary_bonus", "--boundary-bonus"),
    ("bias.search.phone_boost", "--phone-boost"),
    ("bias.search.gap_scale", "--gap-scale"),
    ("bias.search.class_logprob", "--class-logprob"),
    ("bias.search.entity_bonus", "--entity-bonus"),
    ("bias.search.short_penalty", "--short-penalty"),
    ("bias.search.list_size_ref", "--list-size-ref"),
    ("bias.search.family_penalty", "--family-penalty"),
    ("bias.prons.g2g_variants", "--g2g-variants"),
    ("bias.prons.g2p_nbest", "--g2p-nbest"),
    ("bias.prons.max_prons", "--max-prons"),
    ("bias.prons.pron_weight", "--pron-weight"),
    ("bias.rescore.nbest", "--rescore-nbest"),
    ("bias.rescore.floor", "--rescore-floor"),
    ("bias.rescore.margin", "--rescore-margin"),
    ("bias.rescore.similar", "--rescore-similar"),
    ("bias.rescore.anchor", "--rescore-anchor"),
    ("bias.rescore.anchor_cost", "--rescore-anchor-cost"),
    ("model.length_plans", "--length-plans"),
    ("segment.padding.pre_roll_s", "--pre-roll"),
    ("segment.padding.post_roll_s", "--post-roll"),
    ("segment.level.min_speech_db", "--level-floor"),
    // listen
    ("endpoint.segment.padding.pre_roll_s", "--pre-roll"),
    ("endpoint.segment.padding.post_roll_s", "--post-roll"),
    ("endpoint.segment.level.min_speech_db", "--level-floor"),
    ("endpoint.trailing_silence_s", "--trailing-silence"),
    ("endpoint.partial_interval_s", "--partial-interval"),
    ("endpoint.max_utterance_s", "--max-utterance"),
    ("endpoint.early_final_s", "--early-final"),
    ("endpoint.early_check_s", "--early-check"),
    ("sentence_end_min", "--sentence-end-min"),
    ("reconnect_s", "--reconnect"),
];

/// A library setting out of range, said with the flag that sets it.
pub fn flag_error(e: ConfigError) -> anyhow::Error {
    match FLAGS.iter().find(|(field, _)| *field == e.field) {
        Some((_, flag)) => anyhow::anyhow!("{flag} {}", e.message),
        // A setting no flag sets (a default out of range): its library name.
        None => anyhow::anyhow!("{e}"),
    }
}

pub fn find_models_dir() -> Result<PathBuf> {
    Ok(nomen::recognizer::find_models_dir()?)
}
