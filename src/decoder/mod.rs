//! Word decoding of CTC posteriors: a lexicon-constrained prefix beam search scored by a word
//! n-gram LM.
//!
//! The core ([`BeamDecoder`]) takes frames of log-posteriors and returns hypotheses: no I/O,
//! no threads, and no allocation inside the frame loop. Every buffer is sized when the decoder
//! is built (see `tests/no_alloc.rs`).

mod beam;
pub(crate) mod hash;

pub use beam::{BeamDecoder, BeamState};

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

impl DecoderConfig {
    /// The widest beam [`DecoderConfig::validate`] accepts.
    pub const MAX_BEAM: usize = 100_000;

    /// Checks that every setting is usable: `Err` names the first field that is not, with
    /// its allowed range. (A NaN or huge weight would not fail anywhere: it would decode to
    /// garbage.)
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ranges::{count, positive, within};
        count("beam_size", self.beam_size, 1, Self::MAX_BEAM)?;
        positive("beam_threshold", self.beam_threshold, 1000.0)?;
        positive("token_beam", self.token_beam, 1000.0)?;
        within("lm_weight", self.lm_weight, 0.0, 10.0)?;
        within("word_bonus", self.word_bonus, -100.0, 100.0)?;
        within("boundary_bonus", self.boundary_bonus, -100.0, 100.0)?;
        count("nbest", self.nbest, 1, 1024)?;
        count("history_capacity", self.history_capacity, 1, 1 << 26)
    }
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

#[cfg(test)]
mod tests {
    use super::DecoderConfig;

    #[test]
    fn settings_out_of_range_are_named_with_their_range() {
        assert_eq!(DecoderConfig::default().validate(), Ok(()));
        let bad = |f: fn(&mut DecoderConfig)| {
            let mut c = DecoderConfig::default();
            f(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert!(bad(|c| c.beam_size = 0).starts_with("beam_size must be within 1..=100000"));
        assert!(bad(|c| c.beam_threshold = f32::NAN).starts_with("beam_threshold"));
        assert!(bad(|c| c.beam_threshold = 0.0).starts_with("beam_threshold"));
        assert!(bad(|c| c.token_beam = -1.0).starts_with("token_beam"));
        assert!(bad(|c| c.lm_weight = f32::INFINITY).starts_with("lm_weight must be within 0..=10"));
        assert!(bad(|c| c.word_bonus = 1e30).starts_with("word_bonus"));
        assert!(bad(|c| c.boundary_bonus = f32::NAN).starts_with("boundary_bonus"));
        assert!(bad(|c| c.nbest = 0).starts_with("nbest"));
        assert!(bad(|c| c.history_capacity = 0).starts_with("history_capacity"));
    }
}
