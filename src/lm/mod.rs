//! Word n-gram language model (read-only), for the decoder's LM scores.
//!
//! [`WordLm::load`] reads either of two formats and builds the same in-memory model:
//! - sphinxbase / pocketsphinx binary "trie" LMs (`*.lm.bin`, e.g. the CMU en-us
//!   trigram shipped by Debian's `pocketsphinx-en-us`), read in place from a
//!   memory map (`sphinx.rs`);
//! - ARPA text LMs (any order up to 5), packed into the same trie with exact
//!   (lossless) weight tables (`arpa.rs` parses, `build.rs` packs).
//!
//! The shared representation (`trie.rs`) is the reversed, bit-packed trie of
//! sphinxbase and KenLM; see its docs for the layout and the state encoding.
//!
//! Scores are natural-log probabilities with the usual back-off. States
//! ([`LmState`]) are minimal in KenLM's sense: a state keeps only the context words
//! that can still change a later score, so equal contexts compare equal and the
//! decoder can recombine hypotheses on them.
//!
//! ```no_run
//! # use nomen::lm::WordLm;
//! let lm = WordLm::load("models-quantized/en-us.lm.bin".as_ref())?;
//! let mut state = lm.start_state();
//! let mut total = 0.0;
//! for w in ["the", "cat", "sat", "</s>"] {
//!     let (p, next) = lm.score(state, lm.word_id(w).unwrap());
//!     total += p;
//!     state = next;
//! }
//! # Ok::<(), nomen::lm::LmError>(())
//! ```

mod arpa;
mod bits;
mod build;
mod sphinx;
mod trie;
mod vocab;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use trie::{Backing, Ctx, Trie, MAX_CTX};
use vocab::Vocab;

use crate::cache::{FileIdentity, StartupCache};

/// The [`StartupCache`] records of LM analyses (named by the LM's path).
const ANALYSIS: &str = "lm-analysis";

/// Highest n-gram order [`WordLm`] supports.
pub const MAX_ORDER: usize = trie::MAX_ORDER;

/// Why an LM could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LmError {
    /// The file could not be opened, mapped or read.
    #[error("cannot read LM {}: {source}", path.display())]
    Io {
        /// The LM file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a well-formed LM (truncated, corrupt, wrong format, ...).
    #[error("malformed LM {}: {msg}", path.display())]
    Format {
        /// The LM file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// The file is well-formed but uses something this reader does not support
    /// (an order above [`MAX_ORDER`], sphinx's old DMP format, ...).
    #[error("unsupported LM {}: {msg}", path.display())]
    Unsupported {
        /// The LM file.
        path: PathBuf,
        /// What is not supported.
        msg: String,
    },
}

/// A load failure before the path is attached.
#[derive(Debug)]
pub(crate) enum Bad {
    Format(String),
    Unsupported(String),
}

impl Bad {
    fn at(self, path: &Path) -> LmError {
        let path = path.to_path_buf();
        match self {
            Bad::Format(msg) => LmError::Format { path, msg },
            Bad::Unsupported(msg) => LmError::Unsupported { path, msg },
        }
    }
}

/// A decoder's LM context: the last few words that still matter.
///
/// Compact (16 bytes), `Copy`, and canonical: two histories whose relevant
/// contexts are equal give equal states, so states can key hypothesis
/// recombination. `LmState::default()` is the empty (unigram) context, the same as
/// [`WordLm::null_state`]. A state is only meaningful for the [`WordLm`] that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct LmState(Ctx);

impl LmState {
    /// Number of context words kept (0 ..= order - 1).
    pub fn len(&self) -> usize {
        self.0.iter().take_while(|&&s| s != 0).count()
    }

    /// True for the empty (unigram) context.
    pub fn is_empty(&self) -> bool {
        self.0[0] == 0
    }
}

/// A word n-gram LM (trigram or any order up to [`MAX_ORDER`]), read-only,
/// shareable between threads (`Send + Sync`).
pub struct WordLm {
    trie: Trie,
    vocab: Vocab,
    bos: u32,
    eos: u32,
    unk: Option<u32>,
    start: LmState,
}

impl std::fmt::Debug for WordLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordLm")
            .field("order", &self.order())
            .field("counts", &self.trie.counts())
            .finish_non_exhaustive()
    }
}

/// Log-probability (ln) given to word ids outside the vocabulary: ARPA's "-99" floor.
const FLOOR: f32 = -99.0 * std::f32::consts::LN_10;

impl WordLm {
    /// Loads an LM, sniffing its format: a sphinx binary trie LM (by its magic
    /// bytes) or an ARPA text LM (a `\data\` section, whatever the file name).
    /// The vocabulary must contain `<s>` and `</s>`.
    ///
    /// A sphinx file is memory-mapped and read in place; it must not change while
    /// the `WordLm` lives.
    pub fn load(path: &Path) -> Result<WordLm, LmError> {
        Self::load_cached(path, None)
    }

    /// [`WordLm::load`], remembering the validation and analysis of a sphinx file in
    /// `cache` ([`StartupCache`]): the next start with the same, unchanged file skips the
    /// walk over every n-gram (about 0.5 G instructions for the bundled LM).
    pub fn load_cached(path: &Path, cache: Option<&StartupCache>) -> Result<WordLm, LmError> {
        let io = |source| LmError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        let len = meta.len();
        if len == 0 {
            return Err(Bad::Format("empty file".into()).at(path));
        }
        // SAFETY: the map is read-only and private to this process; like every
        // memory-mapped reader we rely on the file not being truncated or rewritten
        // while it is mapped (documented above).
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map_err(io)?;
        let (trie, vocab) = if map.starts_with(sphinx::MAGIC) {
            let id = cache.and_then(|_| FileIdentity::of(path, &meta));
            let known = match (cache, &id) {
                (Some(c), Some(id)) => c.get(ANALYSIS, &id.path_key(), id),
                _ => None,
            };
            let parsed = sphinx::parse_with(Backing::Mmap(map), known.as_deref());
            if let (Ok((trie, _, analyzed)), Some(c), Some(id)) = (&parsed, cache, &id) {
                if *analyzed {
                    let meta = std::slice::from_ref(&meta);
                    c.put(ANALYSIS, &id.path_key(), id, meta, &trie.analysis());
                } else {
                    log::debug!("LM: analysis remembered in {}", c.dir().display());
                }
            }
            parsed.map(|(t, v, _)| (t, v))
        } else if map.get(4..20) == Some(b"Darpa Trigram LM") {
            Err(Bad::Unsupported(
                "sphinx DMP format; convert it with sphinx_lm_convert".into(),
            ))
        } else {
            arpa::parse(&map)
        }
        .map_err(|b| b.at(path))?;
        Self::from_parts(trie, vocab).map_err(|b| b.at(path))
    }

    /// Wraps a parsed trie and vocabulary, looking up the sentence markers.
    pub(crate) fn from_parts(trie: Trie, vocab: Vocab) -> Result<WordLm, Bad> {
        if vocab.len() != trie.vocab() as usize {
            return Err(Bad::Format("vocabulary size mismatch".into()));
        }
        let bos = vocab
            .id("<s>")
            .ok_or_else(|| Bad::Format("no <s> in the vocabulary".into()))?;
        let eos = vocab
            .id("</s>")
            .ok_or_else(|| Bad::Format("no </s> in the vocabulary".into()))?;
        let unk = vocab.id("<unk>").or_else(|| vocab.id("<UNK>"));
        let start = LmState(trie.word_ctx(bos));
        Ok(WordLm {
            trie,
            vocab,
            bos,
            eos,
            unk,
            start,
        })
    }

    /// Parses an LM held in memory (either format, sniffed as [`WordLm::load`] does);
    /// `name` stands for the file in messages.
    pub fn parse_bytes(bytes: Vec<u8>, name: &Path) -> Result<WordLm, LmError> {
        Self::from_bytes(bytes).map_err(|b| b.at(name))
    }

    /// [`WordLm::parse_bytes`] before the name is attached.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Result<WordLm, Bad> {
        if bytes.is_empty() {
            return Err(Bad::Format("empty file".into()));
        }
        let (trie, vocab) = if bytes.starts_with(sphinx::MAGIC) {
            sphinx::parse(Backing::Owned(bytes))?
        } else {
            arpa::parse(&bytes)?
        };
        Self::from_parts(trie, vocab)
    }

    /// The n-gram order (3 for a trigram LM).
    pub fn order(&self) -> usize {
        self.trie.order()
    }

    /// Number of words; ids are `0..vocab_size()`.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The id of `word` (exact, case-sensitive match), if the LM knows it.
    pub fn word_id(&self, word: &str) -> Option<u32> {
        self.vocab.id(word)
    }

    /// The word with id `id`. Panics if `id >= vocab_size()`.
    pub fn word(&self, id: u32) -> &str {
        self.vocab.word(id)
    }

    /// Id of the sentence-start marker `<s>`.
    pub fn bos(&self) -> u32 {
        self.bos
    }

    /// Id of the sentence-end marker `</s>`.
    pub fn eos(&self) -> u32 {
        self.eos
    }

    /// Id of the unknown-word token `<unk>`, if the LM has one (en-us.lm.bin has not).
    pub fn unk(&self) -> Option<u32> {
        self.unk
    }

    /// The state at the start of a sentence: context `<s>`.
    pub fn start_state(&self) -> LmState {
        self.start
    }

    /// The empty context: scores from it are plain unigram probabilities.
    pub fn null_state(&self) -> LmState {
        LmState::default()
    }

    /// Natural-log probability of `word` after the context `state`, backing off to
    /// shorter contexts as needed, and the minimal state after `word`.
    ///
    /// Allocation-free and lock-free. An id outside the vocabulary scores ARPA's
    /// floor (-99 in log10, about -228 in ln) and leads to the empty context.
    #[inline]
    pub fn score(&self, state: LmState, word: u32) -> (f32, LmState) {
        if word >= self.trie.vocab() {
            return (FLOOR, LmState::default());
        }
        let (p, ctx) = self.trie.score(&state.0, word);
        (p, LmState(ctx))
    }

    /// ln p(`word`) from the unigram table (no context), e.g. for LM lookahead.
    /// An id outside the vocabulary gets the same floor as in [`WordLm::score`].
    #[inline]
    pub fn unigram(&self, word: u32) -> f32 {
        if word >= self.trie.vocab() {
            return FLOOR;
        }
        self.trie.unigram(word)
    }

    /// The context words a state keeps, newest first (for debugging and tests).
    pub fn state_words(&self, state: LmState) -> Vec<u32> {
        self.trie.ctx_words(&state.0)
    }

    /// N-gram records per order, as stored (order 1 = vocabulary size).
    pub fn counts(&self) -> Vec<u32> {
        self.trie.counts()
    }

    /// Writes the model as an ARPA text LM (log10 weights; tabs after the weight and
    /// before the backoff, as KenLM requires), e.g. for another decoder to load. Every stored n-gram is written with the weights this reader uses
    /// (after the file's quantization); reading the result back gives the same scores.
    pub fn write_arpa(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let order = self.order();
        let mut counts = vec![0usize; order];
        for (n, c) in counts.iter_mut().enumerate() {
            self.trie.for_each_ngram(n + 1, &mut |_, _, _| *c += 1);
        }
        writeln!(out, "\\data\\")?;
        for (n, c) in counts.iter().enumerate() {
            writeln!(out, "ngram {}={c}", n + 1)?;
        }
        let log10 = |x: f32| f64::from(x) / std::f64::consts::LN_10;
        for n in 1..=order {
            writeln!(out, "\n\\{n}-grams:")?;
            let mut err = Ok(());
            let mut line = String::new();
            self.trie.for_each_ngram(n, &mut |words, p, bo| {
                if err.is_err() {
                    return;
                }
                use std::fmt::Write as _;
                line.clear();
                let _ = write!(line, "{:.6}", log10(p));
                for (i, &w) in words.iter().enumerate() {
                    line.push(if i == 0 { '\t' } else { ' ' });
                    line.push_str(self.vocab.word(w));
                }
                if let Some(b) = bo {
                    let _ = write!(line, "\t{:.6}", log10(b));
                }
                line.push('\n');
                err = out.write_all(line.as_bytes());
            });
            err?;
        }
        writeln!(out, "\n\\end\\")?;
        Ok(())
    }

    /// Approximate memory held: (heap bytes, mapped or buffered n-gram bytes).
    pub fn memory_bytes(&self) -> (usize, usize) {
        let (heap, data) = self.trie.memory();
        (heap + self.vocab.heap_bytes(), data)
    }
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<WordLm>();
    assert!(std::mem::size_of::<LmState>() == 4 * MAX_CTX);
};
