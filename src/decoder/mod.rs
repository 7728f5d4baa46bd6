//! Word decoding of CTC posteriors: a lexicon-constrained prefix beam search scored by a word
//! n-gram LM.
//!
//! The core ([`BeamDecoder`]) takes frames of log-posteriors and returns hypotheses: no I/O,
//! no threads, and no allocation inside the frame loop. Every buffer is sized when the decoder
//! is built (see `tests/no_alloc.rs`).

mod beam;
pub mod confusion;
pub(crate) mod hash;
pub mod lookup;
pub mod rescore;
pub mod similar;

pub use beam::BeamDecoder;

/// What a word LM must offer the decoder. Scores are natural-log probabilities.
pub trait LanguageModel {
    /// The context after some words. Equal contexts must compare equal (hypotheses merge on it).
    type State: Copy + Eq + std::hash::Hash + Default + std::fmt::Debug;
    /// The context at the start of an utterance.
    fn start(&self) -> Self::State;
    /// `ln p(word | state)` and the context after `word`.
    fn score(&self, state: Self::State, word: u32) -> (f32, Self::State);
    /// `ln p(</s> | state)`.
    fn end(&self, state: Self::State) -> f32;
    /// The empty context (after a word the LM does not know, e.g. an entity).
    fn null(&self) -> Self::State;
}

impl LanguageModel for crate::lm::WordLm {
    type State = crate::lm::LmState;
    fn start(&self) -> Self::State {
        self.start_state()
    }
    #[inline]
    fn score(&self, state: Self::State, word: u32) -> (f32, Self::State) {
        crate::lm::WordLm::score(self, state, word)
    }
    fn end(&self, state: Self::State) -> f32 {
        crate::lm::WordLm::score(self, state, self.eos()).0
    }
    fn null(&self) -> Self::State {
        self.null_state()
    }
}

/// The special tokens of the acoustic model's inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRoles {
    /// Number of tokens per frame.
    pub vocab: usize,
    /// The CTC blank.
    pub blank: u16,
    /// The word-boundary token, if the model has one (used as an optional unit between words).
    pub word_boundary: Option<u16>,
}

/// Search settings. The defaults were tuned on the dev set with hama (see BENCHMARKS.md);
/// `RecognizerConfig::set_model_kind` sets each acoustic model's own LM weight and word bonus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecoderConfig {
    /// Hypotheses kept per frame.
    pub beam_size: usize,
    /// Hypotheses scoring more than this below the frame's best are dropped (ln units).
    pub beam_threshold: f32,
    /// Tokens scoring more than this below the frame's best token are not expanded.
    pub token_beam: f32,
    /// Weight of the LM log-probability.
    pub lm_weight: f32,
    /// Added once per word (positive: more, shorter words).
    pub word_bonus: f32,
    /// Added each time the word-boundary token is emitted.
    pub boundary_bonus: f32,
    /// Hypotheses returned by [`BeamDecoder::finish`].
    pub nbest: usize,
    /// Capacity of the word-history arena (words alive across all hypotheses).
    pub history_capacity: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            beam_size: 48,
            beam_threshold: 16.0,
            token_beam: 10.0,
            lm_weight: 0.5,
            word_bonus: -1.5,
            boundary_bonus: 0.0,
            nbest: 5,
            history_capacity: 1 << 16,
        }
    }
}

/// One decoded word, in lexicon ids and frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodedWord {
    /// Lexicon word id.
    pub word: u32,
    /// First frame of the word.
    pub start: u32,
    /// One past the frame where its last unit was emitted.
    pub end: u32,
    /// Acoustic confidence in `[0, 1]`: how closely the path followed each frame's best token.
    pub conf: f32,
}

/// A complete hypothesis. Word ids below the lexicon's word count are lexicon words; the
/// ones above are entries of the entity trie (id - lexicon words).
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// The words.
    pub words: Vec<DecodedWord>,
    /// Total score: acoustic + weighted LM + bonuses.
    pub score: f32,
}
