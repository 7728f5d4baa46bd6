//! Biasing toward a user's entity list (address book), as its passes: the lists read
//! ([`read_lists`]), their words pronounced ([`prons`]), the entity trie the search walks
//! beside the general lexicon ([`EntityTrie`]), the rescoring of word spans after the search
//! ([`rescore`]) and the pronunciation lookup after that ([`lookup`]); [`BiasConfig`] holds
//! one settings type per pass.
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

pub use lookup::LookupConfig;
pub use prons::{PronConfig, Pronouncer};
pub use rescore::RescoreConfig;
pub use trie::{BiasEntry, EntityTrie, SearchBias};

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

/// Settings of biasing, one type per pass: the lists' pronunciations, the entity trie in
/// the search, the rescoring after it, the lookup after that. Defaults tuned on the dev set
/// (BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BiasConfig {
    /// How list words are pronounced ([`prons`]).
    pub prons: PronConfig,
    /// How the search scores the entity trie (techniques 1 and 2; [`EntityTrie`]).
    pub search: SearchBias,
    /// Phonetic-distance rescoring after the search (technique 3; [`rescore`]).
    pub rescore: RescoreConfig,
    /// Pronunciation lookup after the rescoring (technique 4; [`lookup`]).
    pub lookup: LookupConfig,
}

impl BiasConfig {
    /// Checks every setting of every pass: `Err` names the first that is not usable, with
    /// its allowed range (a NaN weight or a million pronunciations per word would load and
    /// then bias badly or take memory without end).
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        self.prons.validate().map_err(|e| e.within("prons"))?;
        self.search.validate().map_err(|e| e.within("search"))?;
        self.rescore.validate().map_err(|e| e.within("rescore"))?;
        self.lookup.validate().map_err(|e| e.within("lookup"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_out_of_range_are_named_with_their_pass_and_range() {
        assert_eq!(BiasConfig::default().validate(), Ok(()));
        let bad = |f: fn(&mut BiasConfig)| {
            let mut c = BiasConfig::default();
            f(&mut c);
            c.validate().unwrap_err().to_string()
        };
        let phone_boost = bad(|c| c.search.phone_boost = f32::NAN);
        assert!(
            phone_boost.starts_with("search.phone_boost must be within"),
            "{phone_boost}"
        );
        assert!(bad(|c| c.search.entity_bonus = 1e30).starts_with("search.entity_bonus"));
        assert!(bad(|c| c.prons.pron_weight = -1.0).starts_with("prons.pron_weight"));
        assert!(bad(|c| c.search.gap_scale = 0.0).starts_with("search.gap_scale must be above 0"));
        assert!(bad(|c| c.rescore.floor = f32::INFINITY).starts_with("rescore.floor"));
        assert!(
            bad(|c| c.prons.max_prons = 0).starts_with("prons.max_prons must be within 1..=256")
        );
        assert!(bad(|c| c.prons.g2p_nbest = 1000).starts_with("prons.g2p_nbest"));
        assert!(bad(|c| c.search.list_size_ref = 20_000_000).starts_with("search.list_size_ref"));
        assert!(bad(|c| c.rescore.nbest = 17).starts_with("rescore.nbest"));
        assert!(bad(|c| c.rescore.max_states = 0).starts_with("rescore.max_states"));
        assert!(bad(|c| c.lookup.units_per_edit = 0).starts_with("lookup.units_per_edit"));
    }
}
