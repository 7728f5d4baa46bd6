//! The offline recognizer: audio -> acoustic model -> posteriors -> word decoder -> transcript.
//!
//! Loads the model, the LM and the lexicon once; [`Recognizer::transcribe`] can then be called
//! for any number of utterances (from several threads: it holds no mutable state).

use crate::audio::level::DcBlocker;
use crate::audio::pad::Fill;
use crate::audio::segment::{speech_segments, SegmentConfig};
use crate::audio::utterance::ModelInput;
use crate::audio::Audio16k;
use crate::bias::confusion::Confusions;
use crate::bias::lookup::lookup_entities;
use crate::bias::rescore::{rescore_entities_scored, RescoreContext, SearchMemo, LARGE_LIST};
use crate::bias::similar::SimilarUnits;
use crate::bias::{BiasConfig, BiasEntry, EntityTrie, Pronouncer};
use crate::decoder::{BeamDecoder, DecoderConfig, Hypothesis, TokenRoles};
use crate::lexicon::Lexicon;
use crate::lm::WordLm;
use crate::model::{AcousticModel, ModelConfig, ModelKind, Posteriors};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod file;
mod partial;
pub use file::FileTranscript;
pub use partial::PartialDecoding;

/// File name of the word LM in the model directory.
pub const LM_FILE: &str = "en-us.lm.bin";
/// File name of the pronunciation lexicon in the model directory.
pub const LEXICON_FILE: &str = "lexicon.txt";
/// With [`crate::bias::RescoreConfig::nbest`] above 1, hypotheses scoring more than
/// this below the best (ln units) are not rescored: they would need more than any
/// replacement gains on dev to win, and each costs a full rescoring.
pub const NBEST_RESCORE_WITHIN: f32 = 2.0;
/// Learned unit confusion counts in the model directory (optional; `tools/build/make_confusions.py`).
pub const CONFUSIONS_FILE: &str = "confusions.tsv";
/// The G2P model's encoder in the model directory (its presence turns the G2P on).
pub const G2P_ENCODER_FILE: &str = "g2p_encoder.onnx";

/// Anything that stops recognition: the library's one error type.
pub use crate::error::Error;

/// How words are found in the posteriors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Search {
    /// Lexicon + LM beam search (the product).
    #[default]
    Beam,
    /// Best token per frame, split at word boundaries, each span snapped to the lexicon word
    /// with the closest pronunciation (a baseline).
    Greedy,
}

/// One stretch of speech of an input, as the model heard it.
#[derive(Debug, Clone)]
pub struct SegmentPosteriors {
    /// The input sample the segment starts at (time 0 of `post`).
    pub start: usize,
    /// Input samples it covers; the frames after them are the made-up rest of its post-roll.
    pub len: usize,
    /// The model's log-posteriors.
    pub post: Posteriors,
}

/// Appends the words and entities of `t`, decoded from `seg`, to `out`: times made
/// seconds from the start of the input; a word heard in the segment's made-up post-roll
/// ends where the input does.
fn append_segment(out: &mut Transcript, seg: &SegmentPosteriors, t: Transcript) {
    let rate = crate::audio::MODEL_RATE as f32;
    let offset = seg.start as f32 / rate;
    let until = seg.len as f32 / rate;
    for mut w in t.words {
        w.end = w.end.min(until);
        w.start = w.start.min(w.end);
        w.start += offset;
        w.end += offset;
        out.words.push(w);
    }
    for mut e in t.entities {
        e.end = e.end.min(until);
        e.start = e.start.min(e.end);
        e.start += offset;
        e.end += offset;
        out.entities.push(e);
    }
}

/// The model directory: `$NOMEN_MODELS`, `./models-quantized`, a `models-quantized` next to
/// the running program (or up to four folders above it: the repository of a `cargo build`
/// binary), or this crate's own; the first that holds a `SHA256SUMS`.
pub fn find_models_dir() -> Result<PathBuf, Error> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("NOMEN_MODELS") {
        candidates.push(PathBuf::from(d));
    }
    candidates.push(PathBuf::from("models-quantized"));
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            candidates.push(up.join("models-quantized"));
        }
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models-quantized"));
    if let Some(c) = candidates.iter().find(|c| c.join("SHA256SUMS").is_file()) {
        return Ok(c.clone());
    }
    Err(Error::Invalid(format!(
        "no model directory found (looked in {}); pass --models DIR or set NOMEN_MODELS",
        candidates
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Everything the recognizer is built from.
#[derive(Debug, Clone)]
pub struct RecognizerConfig {
    /// The acoustic model (its `dir` also holds the LM and lexicon by default).
    pub model: ModelConfig,
    /// The word LM (`None`: `<model dir>/en-us.lm.bin`).
    pub lm: Option<PathBuf>,
    /// The lexicon (`None`: `<model dir>/lexicon.txt`).
    pub lexicon: Option<PathBuf>,
    /// Beam search settings.
    pub decoder: DecoderConfig,
    /// Which search.
    pub search: Search,
    /// How long audio is cut at pauses.
    pub segment: SegmentConfig,
    /// Biasing toward entity lists.
    pub bias: BiasConfig,
}

impl RecognizerConfig {
    /// Defaults with the model files in `dir`.
    pub fn with_dir(dir: impl Into<PathBuf>) -> Self {
        let mut cfg = RecognizerConfig {
            model: ModelConfig::with_dir(dir),
            lm: None,
            lexicon: None,
            decoder: DecoderConfig::default(),
            search: Search::default(),
            segment: SegmentConfig::default(),
            bias: BiasConfig::default(),
        };
        cfg.set_model_kind(ModelKind::default());
        cfg
    }

    /// Defaults with the model directory found by [`find_models_dir`].
    pub fn find() -> Result<Self, Error> {
        Ok(Self::with_dir(find_models_dir()?))
    }

    /// Defaults with the model files in `dir` and acoustic model `kind`, with the settings
    /// that suit it ([`RecognizerConfig::set_model_kind`]).
    pub fn with_model(dir: impl Into<PathBuf>, kind: ModelKind) -> Self {
        let mut cfg = Self::with_dir(dir);
        cfg.set_model_kind(kind);
        cfg
    }

    /// Selects acoustic model `kind` and the padding fill it was measured best with:
    /// hama hears a made-up post-roll best as the quiet next to the speech played back and
    /// forth ([`Fill::Mirror`]); the Whisper-encoder model, trained with quiet or noise
    /// after every utterance, hears phantom phones in a mirrored tail of a tightly trimmed
    /// file and gets digital silence ([`Fill::Silence`]): real2 WER 56.5% with mirror,
    /// 17.5% with silence (BENCHMARKS.md, "nomen's own acoustic model").
    ///
    /// It also sets the LM weight and word bonus tuned for that model on the dev set (D1 and
    /// D2 together, biased WER): the two models' posteriors are not equally sharp, so one
    /// pair does not suit both (whisper-tiny with hama's 0.5 / -1.5: dev WER 8.49%, with
    /// 0.7 / 0.0: 7.35%; BENCHMARKS.md, "Decoder weights per acoustic model").
    pub fn set_model_kind(&mut self, kind: ModelKind) {
        self.model.kind = kind;
        self.segment.padding.fill = match kind {
            ModelKind::Hama => Fill::Mirror,
            ModelKind::WhisperTiny => Fill::Silence,
        };
        let (lm_weight, word_bonus) = match kind {
            ModelKind::Hama => {
                let d = DecoderConfig::default();
                (d.lm_weight, d.word_bonus)
            }
            ModelKind::WhisperTiny => (0.7, 0.0),
        };
        self.decoder.lm_weight = lm_weight;
        self.decoder.word_bonus = word_bonus;
    }

    /// Checks every setting (model window, search, segmenter, biasing): `Err` names the
    /// first that is out of its range. [`Recognizer::load`] calls it.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        self.model.validate().map_err(|e| e.within("model"))?;
        self.decoder.validate().map_err(|e| e.within("decoder"))?;
        self.segment.validate().map_err(|e| e.within("segment"))?;
        self.bias.validate().map_err(|e| e.within("bias"))
    }

    fn lm_path(&self) -> PathBuf {
        self.lm
            .clone()
            .unwrap_or_else(|| self.model.dir.join(LM_FILE))
    }

    fn lexicon_path(&self) -> PathBuf {
        self.lexicon
            .clone()
            .unwrap_or_else(|| self.model.dir.join(LEXICON_FILE))
    }
}

/// A recognized word with its time span in seconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Word {
    /// The word as written in the lexicon.
    pub word: String,
    /// Start time (s).
    pub start: f32,
    /// End time (s).
    pub end: f32,
    /// Confidence in `[0, 1]`.
    pub conf: f32,
}

/// An entity of the user's list found in the audio.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EntityHit {
    /// As written in the list.
    pub text: String,
    /// Start time (s).
    pub start: f32,
    /// End time (s).
    pub end: f32,
    /// Acoustic confidence in `[0, 1]`.
    pub score: f32,
}

/// The result for one utterance.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Transcript {
    /// Words joined by spaces.
    pub text: String,
    /// The words with times (an entity is one entry, written as in the list).
    pub words: Vec<Word>,
    /// The entities found.
    pub entities: Vec<EntityHit>,
}

impl Transcript {
    /// Drops the words and entities that start before `from_s` (seconds) and writes the text
    /// of the rest.
    pub fn keep_from(&mut self, from_s: f32) {
        self.words.retain(|w| w.start >= from_s);
        self.entities.retain(|e| e.start >= from_s);
        self.text = join_words(&self.words);
    }
}

/// Load times, for the benchmark and logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadTimes {
    /// Acoustic model (read, verify, optimize), seconds.
    pub model_s: f64,
    /// Word LM, seconds.
    pub lm_s: f64,
    /// Lexicon and trie, seconds.
    pub lexicon_s: f64,
}

/// The loaded recognizer.
pub struct Recognizer {
    model: AcousticModel,
    lm: WordLm,
    lexicon: Lexicon,
    roles: TokenRoles,
    /// Which units sound alike (for the rescoring).
    similar: SimilarUnits,
    /// Learned unit confusion costs for the rescoring (empty without `confusions.tsv`).
    confusions: Confusions,
    cfg: RecognizerConfig,
    load_times: LoadTimes,
    entities: Option<std::sync::Arc<EntityTrie>>,
    /// Pronounces the words of entity lists (biasing's first pass).
    pronouncer: Pronouncer,
}

impl Recognizer {
    /// Loads model, LM and lexicon.
    pub fn load(cfg: RecognizerConfig) -> Result<Recognizer, Error> {
        cfg.validate()?;
        let t = Instant::now();
        let model = AcousticModel::load(&cfg.model)?;
        let model_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let lm = WordLm::load_cached(&cfg.lm_path(), cfg.model.cache.as_ref())?;
        let lm_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let tokens = model.tokens();
        let lexicon = Lexicon::load_cached(
            &cfg.lexicon_path(),
            |s| tokens.id(s).and_then(|i| u16::try_from(i).ok()),
            |w| lm.word_id(w).map(|id| (id, lm.unigram(id))),
            cfg.model.cache.as_ref(),
            &[
                &cfg.model.dir.join(crate::model::TOKENS_FILE),
                &cfg.lm_path(),
            ],
        )?;
        let lexicon_s = t.elapsed().as_secs_f64();

        let stats = lexicon.stats();
        log::info!(
            "loaded model {:.0} ms, LM {:.0} ms ({} words), lexicon {:.0} ms ({} words, {} pronunciations, {} nodes)",
            model_s * 1e3,
            lm_s * 1e3,
            lm.vocab_size(),
            lexicon_s * 1e3,
            stats.words,
            stats.pronunciations,
            stats.nodes
        );
        let to_u16 = |i: usize| {
            u16::try_from(i).map_err(|_| Error::Invalid(format!("token id {i} too large")))
        };
        let roles = TokenRoles {
            vocab: tokens.len(),
            blank: to_u16(tokens.blank())?,
            word_boundary: tokens.word_boundary().map(to_u16).transpose()?,
        };
        let similar = SimilarUnits::from_symbols(tokens.symbols());
        // Learned confusion costs, if the model directory has them (a model without them
        // gets the similar-phone groups).
        let conf_path = cfg.model.dir.join(CONFUSIONS_FILE);
        let confusions = if cfg.bias.rescore.confusions && conf_path.exists() {
            let id = |s: &str| tokens.id(s).and_then(|i| u16::try_from(i).ok());
            match Confusions::read_counts(&conf_path, id) {
                Ok(c) => Confusions::from_counts(&c, tokens.len(), cfg.bias.rescore.floor),
                Err(e) => {
                    log::warn!("{}: {e}; using similar-phone groups", conf_path.display());
                    Confusions::default()
                }
            }
        } else {
            Confusions::default()
        };
        Ok(Recognizer {
            model,
            lm,
            lexicon,
            roles,
            similar,
            confusions,
            load_times: LoadTimes {
                model_s,
                lm_s,
                lexicon_s,
            },
            entities: None,
            pronouncer: Pronouncer::new(
                &cfg.model.dir,
                cfg.model.cache.clone(),
                cfg.bias.prons,
                roles.word_boundary,
            ),
            cfg,
        })
    }

    /// The acoustic model's blank and word-boundary tokens and its vocabulary size.
    pub fn roles(&self) -> TokenRoles {
        self.roles
    }

    /// The learned unit confusion costs the rescoring uses (empty unless
    /// [`crate::bias::RescoreConfig::confusions`] is set and the model directory has
    /// [`CONFUSIONS_FILE`]).
    pub fn confusions(&self) -> &Confusions {
        &self.confusions
    }

    /// How long loading took.
    pub fn load_times(&self) -> LoadTimes {
        self.load_times
    }

    /// The acoustic model.
    pub fn model(&self) -> &AcousticModel {
        &self.model
    }

    /// The lexicon.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// The word LM.
    pub fn lm(&self) -> &WordLm {
        &self.lm
    }

    /// The settings.
    pub fn config(&self) -> &RecognizerConfig {
        &self.cfg
    }

    /// Transcribes 16 kHz mono audio. Long audio is cut at pauses and each stretch of speech
    /// is recognized on its own (see [`crate::audio::segment`]).
    pub fn transcribe(&self, audio: &Audio16k) -> Result<Transcript, Error> {
        self.transcribe_with(audio, self.entities.as_deref())
    }

    /// Transcribes with another entity trie than the one set (`None`: no biasing).
    pub fn transcribe_with(
        &self,
        audio: &Audio16k,
        bias: Option<&EntityTrie>,
    ) -> Result<Transcript, Error> {
        let segments = self.segment_posteriors(audio)?;
        Ok(self.decode_segments(&segments, bias))
    }

    /// The stretches of speech [`Recognizer::transcribe`] cuts `audio` into, each padded
    /// ([`crate::audio::pad::Padding`]) and with its log-posteriors (what the decoder
    /// searches). The input's DC offset is removed first and quiet speech raised
    /// ([`crate::audio::level`]).
    pub fn segment_posteriors(&self, audio: &Audio16k) -> Result<Vec<SegmentPosteriors>, Error> {
        // The same DC blocker as the live path's, over the whole input.
        let samples: std::borrow::Cow<[f32]> = if self.cfg.segment.level.remove_dc {
            let mut s = audio.samples.clone();
            DcBlocker::default().process(&mut s);
            s.into()
        } else {
            (&audio.samples[..]).into()
        };
        speech_segments(&samples, &self.cfg.segment)
            .into_iter()
            .map(|seg| self.posteriors_of(&samples[seg.clone()], seg.start))
            .collect()
    }

    /// Decodes the segments of [`Recognizer::segment_posteriors`] into one transcript. Times
    /// are seconds from the start of the input; a word heard in a segment's made-up post-roll
    /// ends where the input does.
    pub fn decode_segments(
        &self,
        segments: &[SegmentPosteriors],
        bias: Option<&EntityTrie>,
    ) -> Transcript {
        let mut out = Transcript::default();
        for seg in segments {
            append_segment(&mut out, seg, self.decode_with(&seg.post, bias));
        }
        out.text = join_words(&out.words);
        out
    }

    /// The posteriors of one segment of `samples` (its audio, padded as
    /// [`Recognizer::segment_posteriors`] pads it).
    fn posteriors_of(&self, samples: &[f32], start: usize) -> Result<SegmentPosteriors, Error> {
        let input = ModelInput::new(samples, &self.cfg.segment);
        Ok(SegmentPosteriors {
            start,
            len: samples.len(),
            post: self
                .model
                .posteriors_led(input.lead.as_deref(), &input.samples)?,
        })
    }

    /// Prepares entities for biasing: each word's pronunciations (the G2P's best ones, then
    /// the lexicon's when it knows the word), then the entity trie. `None` when no entity
    /// could be pronounced. Pronunciations are cached per word across calls.
    pub fn prepare_entities(&self, entries: Vec<BiasEntry>) -> Option<EntityTrie> {
        self.prepare_entities_with_progress(entries, &mut |_, _| {})
    }

    /// [`Recognizer::prepare_entities`], calling `progress(done, total)` after each word it
    /// had to pronounce (`total`: the words of the list not pronounced before, in this
    /// process or, through the start-up cache, an earlier one).
    pub fn prepare_entities_with_progress(
        &self,
        entries: Vec<BiasEntry>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Option<EntityTrie> {
        self.pronouncer
            .prepare(entries, self.model.tokens(), &self.lexicon, progress)
    }

    /// The entity trie of contact list files (plain text, CSV or vCard), ready to bias
    /// toward: [`crate::bias::read_lists`], then [`Recognizer::prepare_entities`]. `None`
    /// when no entry could be pronounced (or no file given).
    pub fn load_entities<P: AsRef<Path>>(&self, lists: &[P]) -> Result<Option<EntityTrie>, Error> {
        let entries = crate::bias::read_lists(lists)?;
        if entries.is_empty() {
            return Ok(None);
        }
        Ok(self.prepare_entities(entries))
    }

    /// Loads the recognizer and biases it toward the contact lists in `lists`
    /// ([`Recognizer::load_entities`], [`Recognizer::set_entities`]): one call from files to
    /// a recognizer that gets the user's names right.
    pub fn load_biased<P: AsRef<Path>>(
        cfg: RecognizerConfig,
        lists: &[P],
    ) -> Result<Recognizer, Error> {
        let mut rec = Recognizer::load(cfg)?;
        let entities = rec.load_entities(lists)?;
        rec.set_entities(entities);
        Ok(rec)
    }

    /// Sets (or clears) the entities [`Recognizer::transcribe`] biases toward.
    pub fn set_entities(&mut self, entities: Option<EntityTrie>) {
        self.entities = entities.map(std::sync::Arc::new);
    }

    /// Decodes posteriors with the configured search, biased toward the set entities.
    pub fn decode(&self, post: &Posteriors) -> Transcript {
        self.decode_with(post, self.entities.as_deref())
    }

    /// Decodes posteriors with the configured search and the given entity trie.
    pub fn decode_with(&self, post: &Posteriors, bias: Option<&EntityTrie>) -> Transcript {
        match self.cfg.search {
            Search::Beam => self.transcript_of(self.nbest_with(post, bias), post, bias, None),
            Search::Greedy => self.greedy(post),
        }
    }

    /// The transcript of the beam search's n-best `hyps` of `post`: the entity rescoring
    /// (its searches kept in `memo` for the next call on the same utterance and trie, see
    /// [`SearchMemo`]) and lookup, then words, entities and times.
    fn transcript_of(
        &self,
        hyps: Vec<Hypothesis>,
        post: &Posteriors,
        bias: Option<&EntityTrie>,
        memo: Option<&std::cell::RefCell<SearchMemo>>,
    ) -> Transcript {
        let Some(mut best) = hyps.first().cloned() else {
            return Transcript::default();
        };
        if let Some(b) = bias.filter(|_| self.cfg.bias.rescore.enabled) {
            let ctx = RescoreContext {
                lex: &self.lexicon,
                lm: &self.lm,
                ent: b,
                search: self.cfg.bias.search,
                decoder: self.cfg.decoder,
                roles: self.roles,
                similar: &self.similar,
                confusions: &self.confusions,
                memo,
            };
            let rcfg = self.cfg.bias.rescore.for_list(b.entries().len());
            // The n-best hypotheses close to the best are rescored each and re-ranked
            // by search score plus rescoring gain (large lists: the best only).
            let n = if b.entries().len() > LARGE_LIST {
                1
            } else {
                rcfg.nbest.max(1)
            };
            let mut top = f32::NEG_INFINITY;
            let first = hyps[0].score;
            for h in hyps
                .iter()
                .take(n)
                .filter(|h| h.score >= first - NBEST_RESCORE_WITHIN)
            {
                let (words, gain) = rescore_entities_scored(&h.words, &post.data, &ctx, &rcfg);
                if h.score + gain > top {
                    top = h.score + gain;
                    best = Hypothesis {
                        words,
                        score: h.score + gain,
                    };
                }
            }
        }
        if let Some(b) = bias.filter(|_| self.cfg.bias.lookup.enabled) {
            best.words = lookup_entities(
                &best.words,
                &post.data,
                self.roles,
                b,
                self.lexicon.num_words() as u32,
                &self.cfg.bias.lookup,
            );
        }
        self.to_transcript(&best, post.frame_shift_s, bias)
    }

    /// How likely the words end a sentence: `ln p(</s> | last words)` in the word LM. Words
    /// the LM does not know (entities, a list's names) leave the empty context, as in the
    /// search.
    pub fn sentence_end_logprob(&self, words: &[Word]) -> f32 {
        use crate::decoder::LanguageModel;
        let mut st = self.lm.start();
        for w in words {
            let id = self
                .lexicon
                .word_id(&w.word)
                .or_else(|| self.lexicon.word_id(lm_form(&w.word)));
            st = match id {
                Some(id) => self.lm.score(st, self.lexicon.lm_id(id)).1,
                None => self.lm.null(),
            };
        }
        self.lm.end(st)
    }

    /// The n-best hypotheses of the beam search, best first (no biasing).
    pub fn nbest(&self, post: &Posteriors) -> Vec<Hypothesis> {
        self.nbest_with(post, None)
    }

    /// The n-best hypotheses of the beam search with an entity trie, best first.
    pub fn nbest_with(&self, post: &Posteriors, bias: Option<&EntityTrie>) -> Vec<Hypothesis> {
        let mut dec = self.beam_decoder(bias);
        dec.advance(&post.data);
        dec.finish()
    }

    /// A beam search over the lexicon, the LM and `bias`, with the configured settings.
    fn beam_decoder<'s>(&'s self, bias: Option<&'s EntityTrie>) -> BeamDecoder<'s, WordLm> {
        BeamDecoder::with_bias(
            &self.lexicon,
            &self.lm,
            self.roles,
            self.cfg.decoder,
            bias.map(|b| (b, self.cfg.bias.search)),
        )
    }

    /// Turns a hypothesis into words, entities and times (`bias`: the trie it was decoded
    /// with, which names its entity words).
    pub fn to_transcript(
        &self,
        h: &Hypothesis,
        frame_shift_s: f32,
        bias: Option<&EntityTrie>,
    ) -> Transcript {
        let n_words = self.lexicon.num_words() as u32;
        let mut words = Vec::with_capacity(h.words.len());
        let mut entities = Vec::new();
        for w in &h.words {
            let (start, end) = (w.start as f32 * frame_shift_s, w.end as f32 * frame_shift_s);
            let text = if w.word < n_words {
                spoken_form(self.lexicon.word(w.word))
            } else {
                let Some(b) = bias else { continue };
                let e = b.entry(w.word - n_words);
                entities.push(EntityHit {
                    text: e.display.clone(),
                    start,
                    end,
                    score: w.conf,
                });
                e.display.clone()
            };
            words.push(Word {
                word: text,
                start,
                end,
                conf: w.conf,
            });
        }
        Transcript {
            text: join_words(&words),
            words,
            entities,
        }
    }

    fn greedy(&self, post: &Posteriors) -> Transcript {
        let blank = usize::from(self.roles.blank);
        let wb = self.roles.word_boundary.map(usize::from);
        let mut words = Vec::new();
        let mut span: Vec<u16> = Vec::new();
        let mut span_start = 0usize;
        let mut prev = usize::MAX;
        let flush = |span: &mut Vec<u16>, start: usize, end: usize, words: &mut Vec<Word>| {
            if span.is_empty() {
                return;
            }
            if let Some((w, dist)) = self.lexicon.nearest(span) {
                let conf = 1.0 - dist as f32 / span.len().max(1) as f32;
                words.push(Word {
                    word: spoken_form(self.lexicon.word(w)),
                    start: start as f32 * post.frame_shift_s,
                    end: end as f32 * post.frame_shift_s,
                    conf: conf.clamp(0.0, 1.0),
                });
            }
            span.clear();
        };
        for t in 0..post.frames {
            let row = post.frame(t);
            let best = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i)
                .unwrap_or(blank);
            if best != prev && best != blank {
                if Some(best) == wb {
                    flush(&mut span, span_start, t, &mut words);
                } else {
                    if span.is_empty() {
                        span_start = t;
                    }
                    span.push(best as u16);
                }
            }
            prev = best;
        }
        flush(&mut span, span_start, post.frames, &mut words);
        Transcript {
            text: join_words(&words),
            words,
            entities: Vec::new(),
        }
    }
}

fn join_words(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.word.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// LM abbreviations and how dictation writes them.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("mr", "mister"),
    ("mrs", "missus"),
    ("dr", "doctor"),
    ("st", "saint"),
];

/// The lexicon's spelling of a transcript word ([`spoken_form`] undone where it changed it).
fn lm_form(word: &str) -> &str {
    ABBREVIATIONS
        .iter()
        .find(|(_, spoken)| *spoken == word)
        .map_or(word, |(lm, _)| lm)
}

/// How a word is written in the transcript: dictation output is in spoken form, as said
/// ("mister", not the LM's "mr"; the letters "u s", not "u.s.").
pub fn spoken_form(word: &str) -> String {
    if let Some((_, spoken)) = ABBREVIATIONS.iter().find(|(lm, _)| *lm == word) {
        return (*spoken).to_string();
    }
    match word {
        // Letters and initialisms: "s." -> "s", "u.s." -> "u s".
        w if w.len() > 1 && w.ends_with('.') => w
            .split('.')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        w => w.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_are_written_as_said() {
        assert_eq!(spoken_form("mr"), "mister");
        assert_eq!(spoken_form("s."), "s");
        assert_eq!(spoken_form("u.s."), "u s");
        assert_eq!(spoken_form("."), ".");
        assert_eq!(spoken_form("hello"), "hello");
    }

    #[test]
    fn each_acoustic_model_gets_its_own_settings_and_switching_back_restores_them() {
        let hama = RecognizerConfig::with_model("m", ModelKind::Hama);
        let mut cfg = RecognizerConfig::with_model("m", ModelKind::WhisperTiny);
        assert_eq!(cfg.segment.padding.fill, Fill::Silence);
        assert_ne!(cfg.decoder, hama.decoder);
        assert_eq!(hama.decoder, DecoderConfig::default());
        assert_eq!(hama.segment.padding.fill, Fill::Mirror);
        cfg.set_model_kind(ModelKind::Hama);
        assert_eq!(cfg.decoder, hama.decoder);
        assert_eq!(cfg.segment.padding.fill, hama.segment.padding.fill);
        // Only the model-dependent fields change.
        cfg.set_model_kind(ModelKind::WhisperTiny);
        let mut back = cfg.decoder;
        back.lm_weight = hama.decoder.lm_weight;
        back.word_bonus = hama.decoder.word_bonus;
        assert_eq!(back, hama.decoder);
    }
}
