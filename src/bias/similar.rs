//! Which acoustic units sound alike: groups of IPA phones that a speaker, a voice or the
//! acoustic model easily swaps (vowels for vowels, s for ʃ, d for ð, m for n ...). The
//! rescoring (technique 3) lets a name's unit be matched by a similar unit at a small cost, so
//! "young" can still be heard as "Zheng" while "table" cannot.
//!
//! The table is built from the model's token symbols, so it follows whatever phone inventory
//! the model has; tokens that are not IPA phones (characters, subwords) have no similar units
//! and are matched only by themselves.

/// Groups of similar phones. A phone may be in several groups.
const GROUPS: &[&[&str]] = &[
    // Vowels and diphthongs.
    &[
        "a", "aɪ", "aʊ", "e", "eə", "eɪ", "i", "o", "oʊ", "u", "y", "à", "ã", "ä", "å", "æ", "ì",
        "ø", "œ", "ũ", "ǐ", "ɐ", "ɑ", "ɒ", "ɔ", "ɔɪ", "ɘ", "ə", "ɚ", "ɛ", "ɜ", "ɝ", "ɤ", "ɨ", "ɪ",
        "ɪə", "ɯ", "ɯi", "ɵ", "ʉ", "ʊ", "ʌ", "ʏ", "ĩ", "õ", "ẽ", "ᵊ", "ja", "je", "jo", "ju", "jʌ",
        "wa", "we", "wi", "wʌ",
    ],
    // Sibilants and affricates.
    &[
        "s", "s͈", "z", "ʃ", "ʒ", "ɕ", "ʑ", "ʂ", "ʐ", "ç", "d͡ʒ", "t͡ʃ", "t͡ɕ", "t͡ɕʰ", "t͡ɕ͈",
    ],
    // Affricates and the stops they start with.
    &["d͡ʒ", "t͡ʃ", "t͡ɕ", "t͡ɕʰ", "t͡ɕ͈", "t", "d", "tʰ", "ɟ", "c"],
    // Labial stops.
    &["p", "b", "pʰ", "p͈", "ɓ"],
    // Coronal stops and dental fricatives.
    &["t", "d", "tʰ", "t͈", "ʈ", "ɖ", "ɗ", "θ", "ð", "ɾ"],
    // Velar and palatal stops.
    &["k", "g", "ɡ", "kʰ", "k͈", "c", "ɟ", "q"],
    // Labial and dental fricatives.
    &["f", "v", "ɸ", "β", "ʋ", "θ", "ð"],
    // Nasals.
    &["m", "n", "ŋ", "ɲ", "ɱ", "ɴ", "ñ"],
    // Liquids and rhotics.
    &[
        "l", "ɫ", "ɹ", "r", "ɾ", "ɻ", "ɽ", "ʀ", "ʁ", "ɮ", "ʎ", "ɚ", "ɝ",
    ],
    // Glides and the vowels they come from.
    &["j", "w", "ɥ", "ʝ", "ɰ", "i", "u", "ʋ", "v"],
    // Back fricatives and h.
    &["h", "ħ", "x", "χ", "ɣ", "ɦ", "ʔ"],
];

/// For each token id, the ids of the tokens that sound like it.
#[derive(Debug, Clone, Default)]
pub struct SimilarUnits {
    similar: Vec<Vec<u16>>,
}

impl SimilarUnits {
    /// The table for a token inventory (`symbols[id]`).
    pub fn from_symbols<S: AsRef<str>>(symbols: &[S]) -> Self {
        let mut similar: Vec<Vec<u16>> = vec![Vec::new(); symbols.len()];
        for group in GROUPS {
            let ids: Vec<u16> = symbols
                .iter()
                .enumerate()
                .filter(|(_, s)| group.contains(&s.as_ref()))
                .filter_map(|(i, _)| u16::try_from(i).ok())
                .collect();
            for &a in &ids {
                for &b in &ids {
                    if a != b && !similar[a as usize].contains(&b) {
                        similar[a as usize].push(b);
                    }
                }
            }
        }
        SimilarUnits { similar }
    }

    /// No unit is like any other (exact matching only).
    pub fn none() -> Self {
        SimilarUnits::default()
    }

    /// The tokens that sound like `unit` (not `unit` itself).
    #[inline]
    pub fn of(&self, unit: u16) -> &[u16] {
        self.similar
            .get(unit as usize)
            .map_or(&[], |v| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_units_follow_the_symbols_and_ignore_unknown_ones() {
        let syms = ["<blank>", "s", "ʃ", "ɛ", "ʌ", "k", "x", "A"];
        let t = SimilarUnits::from_symbols(&syms);
        assert_eq!(t.of(1), &[2]);
        assert_eq!(t.of(3), &[4]);
        assert!(t.of(5).is_empty(), "k and x are not in one group");
        assert!(t.of(0).is_empty());
        assert!(t.of(7).is_empty());
        assert!(t.of(99).is_empty());
        assert!(SimilarUnits::none().of(1).is_empty());
    }
}
