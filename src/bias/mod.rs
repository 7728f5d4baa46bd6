//! Biasing toward a user's entity list (address book): the entity trie the decoder walks
//! beside the general lexicon, and the settings of each biasing technique.
//!
//! Each entity (a full name, or a given or family name alone) becomes one unit of the
//! search: its pronunciation is the concatenation of its words' pronunciations, with and
//! without the model's word-boundary token between them. Entities enter the word LM through
//! a class: completing one scores `ln p(class)` instead of an LM word probability, and the
//! LM context restarts after it (the LM file is unchanged). Inside the entity trie a
//! hypothesis gets an adaptive boost per unit: the closer the unit's score to the frame's
//! best, the larger the boost (`phone_boost * max(0, 1 - gap / gap_scale)`), so a clear
//! acoustic winner elsewhere is not overridden; a partial match that fails never
//! completes, so it keeps nothing.

pub mod confusion;
pub mod lookup;
pub mod prons;
pub mod rescore;
pub mod similar;
mod trie;

pub use prons::Pronouncer;
pub use trie::{BiasEntry, EntityTrie};

use std::path::Path;

/// Biasing's list pass: the entries of contact lists (plain text, CSV or vCard; see
/// [`crate::entities`]) as the decoder knows them, each file's in its order, one file
/// after another (each file is one [`crate::entities::EntitySet`]). The error names the
/// file that could not be read.
pub fn read_lists<P: AsRef<Path>>(
    paths: &[P],
) -> Result<Vec<BiasEntry>, crate::entities::EntityError> {
    let mut entries = Vec::new();
    for p in paths {
        let mut set = crate::entities::EntitySet::new();
        set.add_file(p.as_ref())?;
        entries.extend(set.entities().iter().map(BiasEntry::from));
    }
    Ok(entries)
}

/// Settings of the biasing techniques. Defaults tuned on the dev set (BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiasConfig {
    /// Adaptive boosting inside the entity trie (technique 1).
    pub adaptive: bool,
    /// Largest boost per unit (ln units), given when the unit is the frame's best.
    pub phone_boost: f32,
    /// Gap to the frame's best unit (ln units) at which the boost falls to zero.
    pub gap_scale: f32,
    /// Class LM boosting (technique 2): entities are words of the LM through a class.
    pub class_lm: bool,
    /// `ln p(entity class | any context)`, weighted by the LM weight like any LM score.
    pub class_logprob: f32,
    /// Added when an entity completes, times its list weight.
    pub entity_bonus: f32,
    /// Most pronunciations kept per entity.
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
    /// Partial names (a given or family name alone) whose shortest pronunciation has fewer
    /// units than this are easily heard in ordinary words ("Minh", "Xie"): they get
    /// `short_penalty` on completion.
    pub short_units: usize,
    /// Added (negative) when a short partial name completes.
    pub short_penalty: f32,
    /// Subtracted when a family name said alone completes (ln units): people say "call
    /// Siobhan" or "call Siobhan Nguyen" far more often than "call Nguyen", so where the
    /// audio fits both about as well the whole name or the given name should win.
    pub family_penalty: f32,
    /// Lists of up to this many entries give each the full class score; a list `k` times
    /// longer gives each `ln k` less (the class's probability is shared by more members),
    /// so a long list does not fill ordinary speech with its entries. 0: no such sharing.
    pub list_size_ref: usize,
    /// Pronunciation-based lookup after decoding (technique 4).
    pub lookup: bool,
    /// Phonetic-distance rescoring of word spans after decoding (technique 3).
    pub rescore: bool,
    /// Rescoring: most a unit may cost on one frame below the frame's best (ln units).
    pub rescore_floor: f32,
    /// Rescoring: how much better (ln units) an entity must explain a span to replace it.
    pub rescore_margin: f32,
    /// Rescoring: what a frame costs when a similar unit (vowel for vowel, s for ʃ ...)
    /// stands for the name's unit, below that unit's own score.
    pub rescore_similar: f32,
    /// Rescoring: how many of the search's best hypotheses (within
    /// [`crate::recognizer::NBEST_RESCORE_WITHIN`] of the best) are rescored and re-ranked
    /// by their search score plus what their replacements gain; 1: the best alone. Lists
    /// longer than [`rescore::LARGE_LIST`] rescore the best alone.
    pub rescore_nbest: usize,
    /// Rescoring: use the learned unit confusion costs of the model directory
    /// (`confusions.tsv`) instead of the similar-phone groups where the file exists (off:
    /// measured, the hand-made groups find more names on dev).
    pub rescore_confusions: bool,
    /// Rescoring: added when the span holds a given or family name of the entity that would
    /// replace it (the rest of that person's name is likely next to it), and when the
    /// rescoring itself finds a given name over the span's first words.
    pub rescore_anchor: f32,
    /// Rescoring: the anchor bonus only goes to a name whose alignment costs at most this
    /// many floors per unit of its pronunciation (at most this share of its units heard as
    /// something else): words swallowed after a given name are mostly well heard.
    pub rescore_anchor_cost: f32,
}

impl BiasConfig {
    /// Checks that every setting is usable: `Err` names the first field that is not, with
    /// its allowed range (a NaN weight or a million pronunciations per word would load and
    /// then bias badly or take memory without end).
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ranges::{count, positive, within};
        for (name, v) in [
            ("phone_boost", self.phone_boost),
            ("class_logprob", self.class_logprob),
            ("entity_bonus", self.entity_bonus),
            ("short_penalty", self.short_penalty),
            ("family_penalty", self.family_penalty),
            ("rescore_margin", self.rescore_margin),
            ("rescore_similar", self.rescore_similar),
            ("rescore_anchor", self.rescore_anchor),
            ("rescore_anchor_cost", self.rescore_anchor_cost),
        ] {
            within(name, v, -100.0, 100.0)?;
        }
        within("pron_weight", self.pron_weight, 0.0, 100.0)?;
        positive("gap_scale", self.gap_scale, 1000.0)?;
        positive("rescore_floor", self.rescore_floor, 100.0)?;
        count("max_prons", self.max_prons, 1, 256)?;
        count("g2p_nbest", self.g2p_nbest, 0, 16)?;
        count("g2g_variants", self.g2g_variants, 0, 256)?;
        count("short_units", self.short_units, 0, 64)?;
        count("list_size_ref", self.list_size_ref, 0, 10_000_000)?;
        count("rescore_nbest", self.rescore_nbest, 1, 16)
    }
}

impl Default for BiasConfig {
    fn default() -> Self {
        BiasConfig {
            adaptive: true,
            phone_boost: 0.5,
            gap_scale: 6.0,
            class_lm: true,
            class_logprob: -9.0,
            entity_bonus: 1.0,
            max_prons: 16,
            g2p_nbest: 3,
            anglicize: false,
            g2g_variants: 0,
            pron_weight: 0.5,
            short_units: 5,
            short_penalty: -6.0,
            family_penalty: 1.0,
            list_size_ref: 128,
            lookup: true,
            rescore: true,
            rescore_floor: 3.0,
            rescore_margin: 1.0,
            rescore_similar: 2.0,
            rescore_nbest: 1,
            rescore_confusions: false,
            rescore_anchor: 6.0,
            rescore_anchor_cost: 0.5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_out_of_range_are_named_with_their_range() {
        assert_eq!(BiasConfig::default().validate(), Ok(()));
        let bad = |f: fn(&mut BiasConfig)| {
            let mut c = BiasConfig::default();
            f(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert!(bad(|c| c.phone_boost = f32::NAN).starts_with("phone_boost must be within"));
        assert!(bad(|c| c.entity_bonus = 1e30).starts_with("entity_bonus"));
        assert!(bad(|c| c.pron_weight = -1.0).starts_with("pron_weight"));
        assert!(bad(|c| c.gap_scale = 0.0).starts_with("gap_scale must be above 0"));
        assert!(bad(|c| c.rescore_floor = f32::INFINITY).starts_with("rescore_floor"));
        assert!(bad(|c| c.max_prons = 0).starts_with("max_prons must be within 1..=256"));
        assert!(bad(|c| c.g2p_nbest = 1000).starts_with("g2p_nbest"));
        assert!(bad(|c| c.list_size_ref = 20_000_000).starts_with("list_size_ref"));
        assert!(bad(|c| c.rescore_nbest = 17).starts_with("rescore_nbest"));
    }
}
