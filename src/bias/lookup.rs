//! Pronunciation-based entity lookup (biasing technique 4): after decoding, a span of one to
//! three words whose phones (the best path's units under the span) match an entity's
//! pronunciation closely enough becomes that entity.
//!
//! This catches names the search spelled as ordinary words ("my limit it off" for
//! "Maialen Iturriaga") when the name's pronunciation lost in the beam. The match must be
//! near exact: short spans need an exact match, longer ones allow one edit per
//! `units_per_edit` units, so ordinary words are not turned into names.

use crate::bias::EntityTrie;
use crate::decoder::{DecodedWord, TokenRoles};

/// Settings of the lookup.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookupConfig {
    /// Run the lookup at all (technique 4).
    pub enabled: bool,
    /// Longest span of words considered, in words.
    pub max_span: usize,
    /// Shortest span, in units: shorter spans are never replaced.
    pub min_units: usize,
    /// One edit allowed per this many units of the span.
    pub units_per_edit: usize,
}

impl LookupConfig {
    /// Checks every setting: `Err` names the first out of its range.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ranges::count;
        count("max_span", self.max_span, 1, 16)?;
        count("min_units", self.min_units, 0, 1000)?;
        count("units_per_edit", self.units_per_edit, 1, 1000)
    }
}

impl Default for LookupConfig {
    fn default() -> Self {
        LookupConfig {
            enabled: true,
            max_span: 3,
            min_units: 4,
            units_per_edit: 6,
        }
    }
}

/// Replaces word spans whose best-path units match an entity. `words` are decoded words
/// (entity words have ids at or above `lexicon_words`); `frames` the log-posteriors.
pub fn lookup_entities(
    words: &[DecodedWord],
    frames: &[f32],
    roles: TokenRoles,
    ent: &EntityTrie,
    lexicon_words: u32,
    cfg: &LookupConfig,
) -> Vec<DecodedWord> {
    let v = roles.vocab;
    if v == 0 || words.is_empty() {
        return words.to_vec();
    }
    // Best unit per frame, repeats collapsed: (unit, frame of its first occurrence).
    let mut units: Vec<(u16, u32)> = Vec::new();
    let mut prev = u16::MAX;
    for (t, row) in frames.chunks_exact(v).enumerate() {
        let best = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(roles.blank, |(i, _)| i as u16);
        if best != prev && best != roles.blank && Some(best) != roles.word_boundary {
            units.push((best, t as u32));
        }
        prev = best;
    }
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let mut replaced = false;
        for k in (1..=cfg.max_span.min(words.len() - i)).rev() {
            let span = &words[i..i + k];
            if span.iter().any(|w| w.word >= lexicon_words) {
                continue;
            }
            let (s, e) = (span[0].start, span[k - 1].end);
            let phones: Vec<u16> = units
                .iter()
                .filter(|&&(_, t)| t >= s && t < e)
                .map(|&(u, _)| u)
                .collect();
            if phones.len() < cfg.min_units {
                continue;
            }
            // Only matches within the allowed distance count: searching no further keeps the
            // walk of a large list's trie short.
            let allowed = phones.len() / cfg.units_per_edit.max(1);
            let Some(&(w, _)) = ent.trie().within(&phones, allowed, 1).first() else {
                continue;
            };
            let conf = span.iter().map(|w| w.conf).sum::<f32>() / k as f32;
            out.push(DecodedWord {
                word: lexicon_words + w,
                start: s,
                end: e,
                conf,
            });
            i += k;
            replaced = true;
            break;
        }
        if !replaced {
            out.push(words[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bias::BiasEntry;

    fn frames(seq: &[u16], v: usize) -> Vec<f32> {
        seq.iter()
            .flat_map(|&s| (0..v).map(move |i| if i == s as usize { -0.1 } else { -5.0 }))
            .collect()
    }

    #[test]
    fn a_span_whose_units_match_an_entity_becomes_the_entity() {
        let roles = TokenRoles {
            vocab: 10,
            blank: 0,
            word_boundary: Some(1),
        };
        let ent = EntityTrie::build(
            vec![BiasEntry {
                display: "Maia Lee".into(),
                words: vec!["maia".into(), "lee".into()],
                weight: 1.0,
                partial: false,
                family: false,
            }],
            |w| match w {
                "maia" => vec![vec![2, 3, 4]],
                "lee" => vec![vec![5, 6]],
                _ => vec![],
            },
            Some(1),
            4,
        )
        .unwrap();
        // frames: 2 3 | 4 5 6 | 7 8 9  ("my" "alley" "the" as decoded words 100, 101, 102)
        let f = frames(&[2, 3, 1, 4, 5, 6, 1, 7, 8, 9], 10);
        let w = |word, start, end| DecodedWord {
            word,
            start,
            end,
            conf: 0.9,
        };
        let words = vec![w(100, 0, 2), w(101, 3, 6), w(102, 7, 10)];
        let out = lookup_entities(&words, &f, roles, &ent, 1000, &LookupConfig::default());
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].word, 1000);
        assert_eq!((out[0].start, out[0].end), (0, 6));
        assert_eq!(out[1].word, 102);
        // Nothing close: unchanged.
        let f = frames(&[7, 8, 9, 7, 8, 9, 7, 8, 9, 7], 10);
        let out = lookup_entities(&words, &f, roles, &ent, 1000, &LookupConfig::default());
        assert_eq!(out, words);
    }
}
