//! Biasing's first pass: the pronunciations of a list's words, in the acoustic model's units.
//!
//! Each spoken word of an entry gets the G2P's n-best pronunciations (with their English
//! renderings and letter-group variants when asked: technique 5) and the lexicon's, each
//! with a cost (ln, at most 0). Words are pronounced once per process (a changed list costs
//! only its new words) and, through the start-up cache's pronunciation record, once per
//! machine. The pronunciations then make the entity trie ([`EntityTrie`]).

use super::{BiasEntry, EntityTrie};
use crate::cache::StartupCache;
use crate::g2p::memo::PronMemo;
use crate::g2p::G2p;
use crate::lexicon::Lexicon;
use crate::model::Tokens;
use crate::recognizer::G2P_ENCODER_FILE;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// A word's pronunciations (model token ids) with their costs (ln, at most 0).
pub(crate) type WordProns = Vec<(Vec<u16>, f32)>;

/// Adds pronunciation `p` at `cost` (ln, at most 0; not finite: 0) to `out`; one already
/// there keeps the cheaper of the two costs.
fn add_pron(p: Vec<u16>, cost: f32, out: &mut WordProns) {
    let cost = if cost.is_finite() { cost.min(0.0) } else { 0.0 };
    match out.iter_mut().find(|(q, _)| *q == p) {
        Some(slot) => slot.1 = slot.1.max(cost),
        None => out.push((p, cost)),
    }
}

/// How the words of a list are pronounced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PronConfig {
    /// Most pronunciations kept per entity (a multi-word name's combinations of its words'
    /// variants, each with and without the word boundary between them).
    pub max_prons: usize,
    /// G2P pronunciations tried per word (n-best). 0: no G2P, the lexicon's only.
    pub g2p_nbest: usize,
    /// Add each G2P pronunciation as an English speaker says it (foreign phones mapped to
    /// English ones, see [`crate::g2p::anglicize`]).
    pub anglicize: bool,
    /// G2G variants per word (technique 5): alternative sounds of letter groups. 0: off.
    pub g2g_variants: usize,
    /// Weight of a pronunciation's own cost (ln, at most 0: a G2P n-best entry's score
    /// below the G2P's best, a G2G variant's cost, an English rendering's): an entity
    /// heard through a less likely pronunciation scores that much less. 0: every
    /// pronunciation counts the same.
    pub pron_weight: f32,
}

impl PronConfig {
    /// Checks every setting: `Err` names the first out of its range.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ranges::{count, within};
        count("max_prons", self.max_prons, 1, 256)?;
        count("g2p_nbest", self.g2p_nbest, 0, 16)?;
        count("g2g_variants", self.g2g_variants, 0, 256)?;
        within("pron_weight", self.pron_weight, 0.0, 100.0)
    }
}

impl Default for PronConfig {
    fn default() -> Self {
        PronConfig {
            max_prons: 16,
            g2p_nbest: 3,
            anglicize: false,
            g2g_variants: 0,
            pron_weight: 0.5,
        }
    }
}

/// Pronounces the words of entity lists for one model directory and one set of settings.
pub struct Pronouncer {
    /// The model directory (the G2P's files).
    dir: PathBuf,
    /// Where pronunciations are remembered between runs (`None`: nowhere).
    cache: Option<StartupCache>,
    settings: PronConfig,
    /// The model's word-boundary unit (between the words of a multi-word name).
    word_boundary: Option<u16>,
    /// The on-device G2P for names, loaded on first use (absent: lexicon pronunciations only).
    g2p: OnceLock<Option<G2p>>,
    /// Pronunciations already worked out per spoken word, so a changed list only costs its
    /// new words.
    known: Mutex<HashMap<String, WordProns>>,
    /// The G2P's share of them remembered between runs (opened on first use).
    memo: Mutex<Option<PronMemo>>,
}

impl std::fmt::Debug for Pronouncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pronouncer")
            .field("dir", &self.dir)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Pronouncer {
    /// A pronouncer for the G2P of model directory `dir`, remembering in `cache`.
    pub fn new(
        dir: &Path,
        cache: Option<StartupCache>,
        settings: PronConfig,
        word_boundary: Option<u16>,
    ) -> Self {
        Pronouncer {
            dir: dir.to_path_buf(),
            cache,
            settings,
            word_boundary,
            g2p: OnceLock::new(),
            known: Mutex::new(HashMap::new()),
            memo: Mutex::new(None),
        }
    }

    /// The entity trie of `entries`: each word pronounced (new words only, calling
    /// `progress(done, total)` after each), in `tokens`' ids, with `lexicon`'s
    /// pronunciations of words it knows. `None` when no entity could be pronounced.
    pub fn prepare(
        &self,
        entries: Vec<BiasEntry>,
        tokens: &Tokens,
        lexicon: &Lexicon,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Option<EntityTrie> {
        let mut cache = self.known.lock().unwrap_or_else(|e| e.into_inner());
        // The words not pronounced yet, each once, in order (a set beside the list: lists
        // of 100,000 names and more stay linear).
        let mut missing: Vec<&str> = Vec::new();
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for e in &entries {
            for w in &e.words {
                if !cache.contains_key(w.as_str()) && seen.insert(w.as_str()) {
                    missing.push(w);
                }
            }
        }
        if !missing.is_empty() {
            let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
            let memo = memo.get_or_insert_with(|| self.open_memo(tokens));
            let total = missing.len();
            for (i, w) in missing.into_iter().enumerate() {
                let prons = self.word_prons(w, memo, tokens, lexicon);
                cache.insert(w.to_string(), prons);
                progress(i + 1, total);
            }
            memo.save();
        }
        let weight = self.settings.pron_weight;
        EntityTrie::build_weighted(
            entries,
            |w| {
                let prons = cache.get(w).map(Vec::as_slice).unwrap_or_default();
                prons.iter().map(|(p, c)| (p.clone(), weight * c)).collect()
            },
            self.word_boundary,
            self.settings.max_prons,
        )
    }

    /// The G2P, loaded the first time a name needs it (it costs ~80 ms and ~10 MB, which
    /// transcription without entities does not pay). `None` if the model directory has no
    /// G2P or it fails to load (logged): names are then pronounced from the lexicon only.
    fn g2p(&self) -> Option<&G2p> {
        self.g2p
            .get_or_init(|| {
                let dir = &self.dir;
                if !dir.join(G2P_ENCODER_FILE).exists() {
                    log::warn!(
                        "no G2P model in {}: only names the lexicon knows can be biased toward",
                        dir.display()
                    );
                    return None;
                }
                let t = Instant::now();
                match G2p::load_cached(dir, self.cache.clone()) {
                    Ok(g) => {
                        log::info!("G2P loaded in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
                        Some(g)
                    }
                    Err(e) => {
                        log::error!("{e}: only names the lexicon knows can be biased toward");
                        None
                    }
                }
            })
            .as_ref()
    }

    /// The record of names' G2P pronunciations for this model directory and these settings
    /// ([`PronMemo`]; nothing is remembered without a start-up cache).
    fn open_memo(&self, tokens: &Tokens) -> PronMemo {
        let dir = &self.dir;
        let exe = std::env::current_exe().ok();
        let mut files = vec![
            dir.join(G2P_ENCODER_FILE),
            dir.join(crate::g2p::DECODER_FILE),
            dir.join(crate::g2p::SYMBOLS_FILE),
            dir.join(crate::model::TOKENS_FILE),
        ];
        files.extend(exe);
        let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let b = &self.settings;
        let settings = format!(
            "g2p_nbest {} anglicize {} g2g_variants {}",
            b.g2p_nbest, b.anglicize, b.g2g_variants
        );
        PronMemo::open(self.cache.as_ref(), &paths, &settings, tokens.len())
    }

    /// Pronunciations of one spoken word in model token ids with their costs (ln, at most 0:
    /// a G2P n-best entry's score below the best, a G2G variant's cost; the lexicon's and the
    /// G2P's best cost 0), no duplicates (a pronunciation found twice keeps the cheaper cost).
    /// The G2P's share comes from `memo` when it has the word (the G2P is then not needed).
    fn word_prons(
        &self,
        word: &str,
        memo: &mut PronMemo,
        tokens: &Tokens,
        lexicon: &Lexicon,
    ) -> WordProns {
        let mut out = match memo.get(word) {
            Some(p) => p.clone(),
            None => {
                let p = self.g2p_prons(word, tokens);
                // Only what a loaded G2P said is remembered (not its absence).
                if self.settings.g2p_nbest > 0 && self.g2p().is_some() {
                    memo.insert(word, p.clone());
                }
                p
            }
        };
        if let Some(id) = lexicon.word_id(word) {
            for p in lexicon.prons_of(id) {
                add_pron(p.to_vec(), 0.0, &mut out);
            }
        }
        out
    }

    /// The G2P's pronunciations of `word` (its n-best, their English renderings and
    /// letter-group variants; none without a G2P), as [`Pronouncer::word_prons`] describes.
    fn g2p_prons(&self, word: &str, tokens: &Tokens) -> WordProns {
        let to_ids = |phones: &[String]| -> Option<Vec<u16>> {
            let ids: Option<Vec<u16>> = crate::g2p::lexicon_phones(phones)
                .iter()
                .map(|p| tokens.id(p).and_then(|i| u16::try_from(i).ok()))
                .collect();
            ids.filter(|v| !v.is_empty())
        };
        let mut out: Vec<(Vec<u16>, f32)> = Vec::new();
        let g2p = if self.settings.g2p_nbest > 0 {
            self.g2p()
        } else {
            None
        };
        if let Some(g2p) = g2p {
            match g2p.nbest_aligned(word, self.settings.g2p_nbest) {
                Ok(bases) => {
                    let best = bases.first().map_or(0.0, |b| b.log_prob);
                    let cost = |b: &crate::g2p::Pronunciation| b.log_prob - best;
                    for b in &bases {
                        if let Some(ids) = to_ids(&b.phones) {
                            add_pron(ids, cost(b), &mut out);
                        }
                    }
                    // The same as an English speaker says it (foreign phones mapped).
                    if self.settings.anglicize {
                        for b in &bases {
                            let phones = crate::g2p::lexicon_phones(&b.phones);
                            let known = |p: &str| tokens.id(p).is_some();
                            // The same pronunciation in English phones: as likely as its base.
                            if let Some(a) = crate::g2p::anglicize::anglicize(&phones, known) {
                                if let Some(ids) = to_ids(&a) {
                                    add_pron(ids, cost(b), &mut out);
                                }
                            }
                        }
                    }
                    // G2G variants: other sounds of the word's letter groups (technique 5).
                    if self.settings.g2g_variants > 0 {
                        let opts = crate::g2p::variants::VariantOptions {
                            max_variants: self.settings.g2g_variants,
                            ..Default::default()
                        };
                        for v in crate::g2p::variants::variants(word, &bases, &opts) {
                            if let Some(ids) = to_ids(&v.phones) {
                                add_pron(ids, -v.cost, &mut out);
                            }
                        }
                    }
                }
                Err(e) => log::warn!("G2P failed on {word:?}: {e}"),
            }
        }
        out
    }
}
