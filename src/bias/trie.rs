//! Biasing's second pass: the entity trie the beam search walks beside the general lexicon.

use crate::lexicon::{Lexicon, WordId};

/// How the search scores the entity trie: adaptive boosting (technique 1), the class LM
/// (technique 2) and what completing an entity adds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchBias {
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
}

impl SearchBias {
    /// Checks every setting: `Err` names the first out of its range.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ranges::{count, positive, within};
        for (name, v) in [
            ("phone_boost", self.phone_boost),
            ("class_logprob", self.class_logprob),
            ("entity_bonus", self.entity_bonus),
            ("short_penalty", self.short_penalty),
            ("family_penalty", self.family_penalty),
        ] {
            within(name, v, -100.0, 100.0)?;
        }
        positive("gap_scale", self.gap_scale, 1000.0)?;
        count("short_units", self.short_units, 0, 64)?;
        count("list_size_ref", self.list_size_ref, 0, 10_000_000)
    }
}

impl Default for SearchBias {
    fn default() -> Self {
        SearchBias {
            adaptive: true,
            phone_boost: 0.5,
            gap_scale: 6.0,
            class_lm: true,
            class_logprob: -9.0,
            entity_bonus: 1.0,
            short_units: 5,
            short_penalty: -6.0,
            family_penalty: 1.0,
            list_size_ref: 128,
        }
    }
}

/// One entity as the decoder knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BiasEntry {
    /// As written in the list ("Siobhan Nguyen").
    pub display: String,
    /// Normalized spoken words.
    pub words: Vec<String>,
    /// List weight (multiplies the completion bonus).
    pub weight: f32,
    /// A given or family name said alone (or a nickname) rather than a list entry as written:
    /// such short parts are easily heard in ordinary words, see [`SearchBias::short_penalty`].
    pub partial: bool,
    /// A family name said alone ("call Nguyen"): rarer in speech than the whole name or the
    /// given name, see [`SearchBias::family_penalty`].
    pub family: bool,
}

impl From<&crate::entities::Entity> for BiasEntry {
    fn from(e: &crate::entities::Entity) -> Self {
        BiasEntry {
            display: e.display.clone(),
            words: e.words.clone(),
            weight: e.weight,
            partial: e.kind != crate::entities::EntityKind::Full,
            family: e.kind == crate::entities::EntityKind::FamilyName,
        }
    }
}

/// What the decoder adds when an entity completes, worked out once per entry.
#[derive(Debug, Clone, Copy, PartialEq)]
struct EntryScore {
    /// Units in the entry's shortest pronunciation.
    min_units: usize,
}

/// The entity trie and its entries.
#[derive(Debug, Clone)]
pub struct EntityTrie {
    trie: Lexicon,
    entries: Vec<BiasEntry>,
    scores: Vec<EntryScore>,
    /// Entries as listed (full names; not their given or family names alone) and its `ln`,
    /// for [`SearchBias::list_size_ref`].
    listed: usize,
    ln_listed: f32,
}

impl EntityTrie {
    /// Builds the trie. `word_prons(word)` gives the pronunciations of one spoken word (in
    /// acoustic-model token ids); an entity whose words cannot all be pronounced is skipped.
    /// `boundary` is the model's word-boundary token, optional between an entity's words.
    pub fn build(
        entries: Vec<BiasEntry>,
        mut word_prons: impl FnMut(&str) -> Vec<Vec<u16>>,
        boundary: Option<u16>,
        max_prons: usize,
    ) -> Option<EntityTrie> {
        Self::build_weighted(
            entries,
            |w| word_prons(w).into_iter().map(|p| (p, 0.0)).collect(),
            boundary,
            max_prons,
        )
    }

    /// As [`EntityTrie::build`], each pronunciation with its cost (ln, at most 0, already
    /// weighted): a multi-word entity's pronunciation costs the sum of its words', and the
    /// `max_prons` kept are the cheapest.
    pub fn build_weighted(
        entries: Vec<BiasEntry>,
        mut word_prons: impl FnMut(&str) -> Vec<(Vec<u16>, f32)>,
        boundary: Option<u16>,
        max_prons: usize,
    ) -> Option<EntityTrie> {
        let max_prons = max_prons.max(1);
        let mut keys: Vec<String> = Vec::new();
        let mut prons: Vec<(usize, Vec<u16>, f32)> = Vec::new();
        let mut kept: Vec<BiasEntry> = Vec::new();
        let mut scores: Vec<EntryScore> = Vec::new();
        for e in entries {
            let per_word: Vec<Vec<(Vec<u16>, f32)>> =
                e.words.iter().map(|w| word_prons(w)).collect();
            if per_word.is_empty() || per_word.iter().any(|p| p.is_empty()) {
                log::debug!("entity {:?}: no pronunciation, skipped", e.display);
                continue;
            }
            let idx = kept.len();
            let mut min_units = usize::MAX;
            for (p, c) in combine(&per_word, boundary, max_prons) {
                min_units = min_units.min(p.iter().filter(|&&u| Some(u) != boundary).count());
                prons.push((idx, p, c));
            }
            keys.push(idx.to_string());
            kept.push(e);
            scores.push(EntryScore { min_units });
        }
        if kept.is_empty() {
            return None;
        }
        // The trie's "unigram" of an entry is its list weight, so a node's look-ahead is the
        // largest weight below it.
        let trie = Lexicon::build_weighted(
            prons
                .iter()
                .map(|(i, p, c)| (keys[*i].as_str(), p.as_slice(), *c)),
            |k| {
                let i = k.parse::<u32>().ok()?;
                Some((i, kept[i as usize].weight))
            },
        )
        .ok()?;
        let listed = kept.iter().filter(|e| !e.partial).count().max(1);
        Some(EntityTrie {
            listed,
            ln_listed: (listed as f32).ln(),
            trie,
            entries: kept,
            scores,
        })
    }

    /// The trie (its "words" are entries; `lm_id(w)` is the entry index).
    pub fn trie(&self) -> &Lexicon {
        &self.trie
    }

    /// The entry that trie word `w` stands for.
    pub fn entry(&self, w: WordId) -> &BiasEntry {
        &self.entries[self.trie.lm_id(w) as usize]
    }

    /// What completing trie word `w` adds to a hypothesis' score under `cfg` (class LM with
    /// `lm_weight`, completion bonus times the list weight, short-name penalty).
    pub fn completion_score(&self, w: WordId, cfg: &SearchBias, lm_weight: f32) -> f32 {
        let i = self.trie.lm_id(w) as usize;
        let class = if cfg.class_lm {
            lm_weight * cfg.class_logprob
        } else {
            0.0
        };
        let short = if self.entries[i].partial && self.scores[i].min_units < cfg.short_units {
            cfg.short_penalty
        } else {
            0.0
        };
        let family = if self.entries[i].family {
            -cfg.family_penalty
        } else {
            0.0
        };
        class + cfg.entity_bonus * self.entries[i].weight + short + family
            - self.list_size_penalty(cfg)
    }

    /// What a long list costs each of its entries: the class's probability is shared by
    /// its members, so an entry of a list `k` times longer than `list_size_ref` is `ln k`
    /// less likely (0 for lists up to that size).
    #[inline]
    pub fn list_size_penalty(&self, cfg: &SearchBias) -> f32 {
        if cfg.list_size_ref == 0 || self.listed <= cfg.list_size_ref {
            return 0.0;
        }
        self.ln_listed - (cfg.list_size_ref as f32).ln()
    }

    /// The best completion score of any entry below trie node `node` (0 at the root), short-
    /// name penalty left out: the decoder charges it as a hypothesis enters and walks the
    /// trie, as the lexicon's unigram look-ahead is charged, so that half-walked names do not
    /// look cheaper than ordinary words that already paid their LM score.
    #[inline]
    pub fn lookahead(&self, node: crate::lexicon::NodeId, cfg: &SearchBias, lm_weight: f32) -> f32 {
        if node == crate::lexicon::ROOT {
            return 0.0;
        }
        let class = if cfg.class_lm {
            lm_weight * cfg.class_logprob
        } else {
            0.0
        };
        class + cfg.entity_bonus * self.trie.lookahead(node) - self.list_size_penalty(cfg)
    }

    /// All entries that have a pronunciation.
    pub fn entries(&self) -> &[BiasEntry] {
        &self.entries
    }
}

/// Pronunciations of a multi-word entity with their costs: the combinations of its words'
/// variants, cheapest first (ties: earlier variants first), each joined without and with
/// the boundary token, at most `cap` in all.
fn combine(
    per_word: &[Vec<(Vec<u16>, f32)>],
    boundary: Option<u16>,
    cap: usize,
) -> Vec<(Vec<u16>, f32)> {
    // Each word's variants cheapest first (a stable sort: ties keep the given order), at
    // most `cap` of them: no combination of more could be among the `cap` cheapest.
    let per_word: Vec<Vec<&(Vec<u16>, f32)>> = per_word
        .iter()
        .map(|v| {
            let mut v: Vec<&(Vec<u16>, f32)> = v.iter().collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1));
            v.truncate(cap);
            v
        })
        .collect();
    // The `cap` cheapest combinations (variant index per word), word by word.
    let mut combos: Vec<(f32, Vec<usize>)> = vec![(0.0, Vec::new())];
    for variants in &per_word {
        let mut next: Vec<(f32, Vec<usize>)> = Vec::new();
        for (c, idx) in &combos {
            for (k, (_, vc)) in variants.iter().enumerate() {
                let mut i = idx.clone();
                i.push(k);
                next.push((c + vc, i));
            }
        }
        next.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        next.truncate(cap);
        combos = next;
    }
    let mut out: Vec<(Vec<u16>, f32)> = Vec::new();
    for (c, idx) in combos {
        // Joined without, then with, the boundary at each junction; never more than `cap`
        // (a name of many words must not make 2^words paths).
        let mut joins: Vec<Vec<u16>> = vec![Vec::new()];
        for (w, &k) in idx.iter().enumerate() {
            let v = &per_word[w][k].0;
            let mut next = Vec::new();
            for j in &joins {
                let mut p = j.clone();
                p.extend_from_slice(v);
                next.push(p);
                if w > 0 {
                    if let Some(b) = boundary {
                        let mut p = j.clone();
                        p.push(b);
                        p.extend_from_slice(v);
                        next.push(p);
                    }
                }
            }
            next.truncate(cap);
            joins = next;
        }
        for j in joins {
            if out.len() < cap && !out.iter().any(|(p, _)| *p == j) {
                out.push((j, c));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_word_entities_allow_an_optional_boundary() {
        let z = |v: Vec<Vec<u16>>| v.into_iter().map(|p| (p, 0.0)).collect::<Vec<_>>();
        let c = combine(
            &[z(vec![vec![1, 2]]), z(vec![vec![3], vec![4]])],
            Some(9),
            10,
        );
        let paths: Vec<Vec<u16>> = c.into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            vec![
                vec![1, 2, 3],
                vec![1, 2, 9, 3],
                vec![1, 2, 4],
                vec![1, 2, 9, 4]
            ]
        );
        assert_eq!(
            combine(&[z(vec![vec![1]]), z(vec![vec![3], vec![4]])], None, 1).len(),
            1
        );
    }

    #[test]
    fn the_cheapest_combinations_are_kept_with_their_summed_costs() {
        // Given name: 3 variants, family name: 3; the third given-name variant is the
        // lexicon's (cost 0) and must not be cut by the cap as it was in list order.
        let given = vec![(vec![1], -0.5), (vec![2], -2.0), (vec![3], 0.0)];
        let family = vec![(vec![7], 0.0), (vec![8], -1.0), (vec![9], -3.0)];
        let c = combine(&[given, family], None, 4);
        assert_eq!(
            c,
            vec![
                (vec![3, 7], 0.0),
                (vec![1, 7], -0.5),
                (vec![3, 8], -1.0),
                (vec![1, 8], -1.5)
            ]
        );
    }

    #[test]
    fn a_name_of_many_words_keeps_at_most_cap_paths() {
        let word = vec![(vec![1u16, 2], 0.0), (vec![3], -1.0)];
        let c = combine(&vec![word; 40], Some(9), 16);
        assert_eq!(c.len(), 16);
        // The cheapest first: every word's best variant, no boundary.
        assert_eq!(c[0], ([1u16, 2].repeat(40), 0.0));
    }

    #[test]
    fn a_family_name_alone_scores_below_the_whole_and_the_given_name() {
        let e = |display: &str, partial: bool, family: bool| BiasEntry {
            display: display.into(),
            words: vec![display.to_lowercase()],
            weight: 1.0,
            partial,
            family,
        };
        let entries = vec![
            e("Burak", true, false),
            e("Yildirim", true, true),
            e("Burakyildirim", false, false),
        ];
        let t = EntityTrie::build(entries, |_| vec![vec![1, 2, 3, 4, 5, 6]], None, 4).unwrap();
        let cfg = SearchBias::default();
        let score = |name: &str| {
            let w = (0..3u32).find(|&w| t.entry(w).display == name).unwrap();
            t.completion_score(w, &cfg, 0.5)
        };
        assert!((score("Burak") - score("Yildirim") - cfg.family_penalty).abs() < 1e-6);
        assert_eq!(score("Burak"), score("Burakyildirim"));
        let off = SearchBias {
            family_penalty: 0.0,
            ..cfg
        };
        let w = (0..3u32)
            .find(|&w| t.entry(w).display == "Yildirim")
            .unwrap();
        assert_eq!(t.completion_score(w, &off, 0.5), score("Burak"));
    }

    #[test]
    fn entries_of_long_lists_share_the_class_score() {
        let list = |n: usize| {
            let entries = (0..n)
                .map(|i| BiasEntry {
                    display: format!("Name {i}"),
                    words: vec![format!("n{i}")],
                    weight: 1.0,
                    partial: false,
                    family: false,
                })
                .collect();
            EntityTrie::build(entries, |_| vec![vec![1, 2, 3]], None, 4).unwrap()
        };
        let cfg = SearchBias::default();
        let (short, long) = (list(100), list(1024));
        assert_eq!(short.list_size_penalty(&cfg), 0.0);
        let want = (1024.0f32 / cfg.list_size_ref as f32).ln();
        assert!((long.list_size_penalty(&cfg) - want).abs() < 1e-5);
        let diff = short.completion_score(0, &cfg, 0.5) - long.completion_score(0, &cfg, 0.5);
        assert!((diff - want).abs() < 1e-5);
        // Charged as the name is entered (look-ahead) as well, so it is paid once.
        let node = short.trie().children(crate::lexicon::ROOT)[0].child;
        let node_long = long.trie().children(crate::lexicon::ROOT)[0].child;
        let la = short.lookahead(node, &cfg, 0.5) - long.lookahead(node_long, &cfg, 0.5);
        assert!((la - want).abs() < 1e-5);
        let off = SearchBias {
            list_size_ref: 0,
            ..cfg
        };
        assert_eq!(long.list_size_penalty(&off), 0.0);
    }

    #[test]
    fn entities_without_pronunciations_are_skipped() {
        let entries = vec![
            BiasEntry {
                display: "Ann Lee".into(),
                words: vec!["ann".into(), "lee".into()],
                weight: 1.0,
                partial: false,
                family: false,
            },
            BiasEntry {
                display: "Xq".into(),
                words: vec!["xq".into()],
                weight: 1.0,
                partial: false,
                family: false,
            },
        ];
        let t = EntityTrie::build(
            entries,
            |w| match w {
                "ann" => vec![vec![1, 2]],
                "lee" => vec![vec![3, 4]],
                _ => vec![],
            },
            Some(9),
            8,
        )
        .unwrap();
        assert_eq!(t.entries().len(), 1);
        let mut node = crate::lexicon::ROOT;
        for tok in [1, 2, 9, 3, 4] {
            node = t.trie().child(node, tok).unwrap();
        }
        let w = t.trie().labels(node)[0];
        assert_eq!(t.entry(w).display, "Ann Lee");
    }
}
