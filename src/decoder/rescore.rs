//! Phonetic-distance rescoring (biasing technique 3): after the beam search, spans of the best
//! hypothesis are re-scored against the phone posteriors with an entity in their place.
//!
//! The beam search only follows an entity whose every unit is close to the frame's best unit
//! (token beam, beam pruning). A name the acoustic model hears a little differently from its
//! written pronunciation ("us in the spend" for "Ashwin Deshpande") therefore loses to
//! ordinary words. Here each span of one to `max_span` words is compared with the entities
//! whose pronunciations are within a few edits of the span's best-path units, by a CTC
//! alignment of both over the same frames in which no unit scores more than `floor` below the
//! frame's best (so one unit heard differently costs at most `floor`: a phonetic distance
//! measured on the posteriors). Scores use the decoder's own weights: LM and word bonus for
//! the span's words, the entity class score for the entity, and the LM score of the word after
//! the span in both contexts. The entity replaces the span when it wins by `margin`.

use super::similar::SimilarUnits;
use super::{DecodedWord, DecoderConfig, LanguageModel, TokenRoles};
use crate::bias::{BiasConfig, EntityTrie};
use crate::lexicon::{Lexicon, NodeId, WordId, ROOT};
use std::collections::HashMap;

/// Settings of the rescoring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RescoreConfig {
    /// Longest span of words replaced by one entity.
    pub max_span: usize,
    /// Fewest best-path units under a span for it to be considered.
    pub min_units: usize,
    /// Candidate entities tried per span (the best aligned).
    pub candidates: usize,
    /// Most search states kept per frame when looking for candidates.
    pub max_states: usize,
    /// Frames of pause before and after a span that a name may also use.
    pub slack: usize,
    /// Most an entity's alignment may cost per unit of its pronunciation, in floors: a name
    /// that needs more than this is not heard there, however poor the words are.
    pub max_cost_per_unit: f32,
}

impl Default for RescoreConfig {
    fn default() -> Self {
        RescoreConfig {
            max_span: 4,
            min_units: 3,
            candidates: 8,
            max_states: 4096,
            slack: 10,
            max_cost_per_unit: 1.0,
        }
    }
}

/// What the rescoring reads: the decoder's lexicon, LM, weights and entity trie.
pub struct RescoreContext<'a, L: LanguageModel> {
    pub lex: &'a Lexicon,
    pub lm: &'a L,
    pub ent: &'a EntityTrie,
    pub bias: BiasConfig,
    pub decoder: DecoderConfig,
    pub roles: TokenRoles,
    pub similar: &'a SimilarUnits,
}

/// Frame scores with the floor applied, and the best-path units.
struct Frames<'f> {
    data: &'f [f32],
    v: usize,
    blank: usize,
    boundary: Option<usize>,
    floor: f32,
    max_e: Vec<f32>,
    similar: &'f SimilarUnits,
    similar_cost: f32,
}

impl Frames<'_> {
    #[inline]
    fn unit(&self, t: usize, u: u16) -> f32 {
        let row = &self.data[t * self.v..(t + 1) * self.v];
        let mut s = row[u as usize].max(self.max_e[t] - self.floor);
        for &o in self.similar.of(u) {
            s = s.max(row[o as usize] - self.similar_cost);
        }
        s
    }

    /// Between units: blank or the word boundary, whichever the frame prefers.
    #[inline]
    fn gap(&self, t: usize) -> f32 {
        let row = &self.data[t * self.v..(t + 1) * self.v];
        let b = row[self.blank];
        let wb = self.boundary.map_or(f32::NEG_INFINITY, |w| row[w]);
        b.max(wb).max(self.max_e[t] - self.floor)
    }

    /// Best CTC alignment score of `units` over frames `[s, e)` (word boundaries may fall in
    /// any gap), relative to the best path over those frames: 0 is a perfect match, every
    /// frame spent on a unit other than the frame's best costs up to `floor`.
    fn align(&self, units: &[u16], s: usize, e: usize, buf: &mut Vec<f32>) -> f32 {
        let n = units.len();
        if n == 0 || e <= s || e - s < n {
            return f32::NEG_INFINITY;
        }
        // States 0..2n+1: even = gap before unit i/2, odd = unit (i-1)/2.
        let states = 2 * n + 1;
        buf.clear();
        buf.resize(2 * states, f32::NEG_INFINITY);
        let (mut cur, mut nxt) = buf.split_at_mut(states);
        cur[0] = self.gap(s);
        cur[1] = self.unit(s, units[0]);
        for t in s + 1..e {
            let g = self.gap(t);
            for j in 0..states {
                let mut best = cur[j];
                if j >= 1 {
                    best = best.max(cur[j - 1]);
                }
                // Skip a gap between two different units.
                if j % 2 == 1 && j >= 3 && units[j / 2] != units[j / 2 - 1] {
                    best = best.max(cur[j - 2]);
                }
                nxt[j] = if best == f32::NEG_INFINITY {
                    best
                } else if j % 2 == 0 {
                    best + g
                } else {
                    best + self.unit(t, units[j / 2])
                };
            }
            std::mem::swap(&mut cur, &mut nxt);
        }
        let score = cur[states - 1].max(cur[states - 2]);
        score - self.max_e[s..e].iter().sum::<f32>()
    }
}

impl Frames<'_> {
    /// Every entity whose best alignment over frames `[s, e)` (as [`Frames::align`], word
    /// boundaries inside a name falling in gaps) scores at least `threshold`, with that score:
    /// a Viterbi walk of the entity trie. Scores only fall from frame to frame, so states
    /// below `threshold` are dropped without losing an answer; `max_states` caps the rest.
    fn search(
        &self,
        trie: &Lexicon,
        boundary: Option<u16>,
        s: usize,
        e: usize,
        threshold: f32,
        max_states: usize,
    ) -> Vec<(WordId, f32)> {
        // (node, last unit, in a gap after it), score.
        type State = (NodeId, u16, bool);
        let mut cur: HashMap<State, f32> = HashMap::new();
        cur.insert((ROOT, u16::MAX, true), 0.0);
        let mut nxt: HashMap<State, f32> = HashMap::new();
        let put = |m: &mut HashMap<State, f32>, k: State, v: f32| {
            if v >= threshold {
                let slot = m.entry(k).or_insert(f32::NEG_INFINITY);
                if v > *slot {
                    *slot = v;
                }
            }
        };
        for t in s..e {
            nxt.clear();
            let me = self.max_e[t];
            let g = self.gap(t) - me;
            for (&(node, last, gap), &sc) in &cur {
                // Stay: in the gap, or on the same unit.
                if gap {
                    put(&mut nxt, (node, last, true), sc + g);
                } else {
                    put(&mut nxt, (node, last, false), sc + self.unit(t, last) - me);
                    put(&mut nxt, (node, last, true), sc + g);
                }
                for edge in trie.children(node) {
                    if Some(edge.token) == boundary || (!gap && edge.token == last) {
                        continue;
                    }
                    put(
                        &mut nxt,
                        (edge.child, edge.token, false),
                        sc + self.unit(t, edge.token) - me,
                    );
                }
            }
            if nxt.len() > max_states {
                let mut v: Vec<f32> = nxt.values().copied().collect();
                let (_, &mut cut, _) =
                    v.select_nth_unstable_by(max_states - 1, |a, b| b.total_cmp(a));
                nxt.retain(|_, sc| *sc >= cut);
            }
            std::mem::swap(&mut cur, &mut nxt);
            if cur.is_empty() {
                return Vec::new();
            }
        }
        let mut found: HashMap<WordId, f32> = HashMap::new();
        for (&(node, _, _), &sc) in &cur {
            for &w in trie.labels(node) {
                let slot = found.entry(w).or_insert(f32::NEG_INFINITY);
                if sc > *slot {
                    *slot = sc;
                }
            }
        }
        let mut out: Vec<(WordId, f32)> = found.into_iter().collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// Replaces spans of `words` by entities where the entity explains the frames better (see the
/// module docs). `frames` are the log-posteriors the words were decoded from; `floor` and
/// `margin` come from the bias settings.
pub fn rescore_entities<L: LanguageModel>(
    words: &[DecodedWord],
    frames: &[f32],
    ctx: &RescoreContext<'_, L>,
    cfg: &RescoreConfig,
) -> Vec<DecodedWord> {
    let v = ctx.roles.vocab;
    if v == 0 || words.is_empty() || frames.len() < v {
        return words.to_vec();
    }
    let t_len = frames.len() / v;
    let mut f = Frames {
        data: &frames[..t_len * v],
        v,
        blank: ctx.roles.blank as usize,
        boundary: ctx.roles.word_boundary.map(usize::from),
        floor: ctx.bias.rescore_floor,
        max_e: Vec::with_capacity(t_len),
        similar: ctx.similar,
        similar_cost: ctx.bias.rescore_similar,
    };
    for t in 0..t_len {
        let row = &f.data[t * v..(t + 1) * v];
        let best = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // A frame of NaN or -inf carries no evidence.
        f.max_e.push(if best.is_finite() { best } else { 0.0 });
    }
    if f.max_e.iter().any(|x| !x.is_finite()) {
        return words.to_vec();
    }
    let n_lex = ctx.lex.num_words() as u32;
    let wb = ctx.roles.word_boundary;
    let dcfg = ctx.decoder;
    let strip = |p: &[u16]| -> Vec<u16> { p.iter().copied().filter(|&u| Some(u) != wb).collect() };
    let prons_of = |w: u32| -> Vec<Vec<u16>> {
        if w < n_lex {
            ctx.lex.prons_of(w).map(strip).collect()
        } else {
            ctx.ent.trie().prons_of(w - n_lex).map(strip).collect()
        }
    };
    // What a word adds to the score in LM context `st`, and the context after it.
    let word_score = |w: u32, st: L::State| -> (f32, L::State) {
        if w < n_lex {
            let (lp, st) = ctx.lm.score(st, ctx.lex.lm_id(w));
            (dcfg.lm_weight * lp + dcfg.word_bonus, st)
        } else {
            let c = ctx
                .ent
                .completion_score(w - n_lex, &ctx.bias, dcfg.lm_weight);
            (c + dcfg.word_bonus, ctx.lm.null())
        }
    };
    // The LM score of whatever follows position `j` (the next word, or the sentence end).
    let next_score = |j: usize, st: L::State| -> f32 {
        match words.get(j) {
            Some(w) if w.word < n_lex => dcfg.lm_weight * ctx.lm.score(st, ctx.lex.lm_id(w.word)).0,
            Some(_) => 0.0,
            None => dcfg.lm_weight * ctx.lm.end(st),
        }
    };
    let is_full_entity = |w: u32| w >= n_lex && !ctx.ent.entry(w - n_lex).partial;
    // The most an entity's completion can add (an upper bound: no short-name penalty).
    let best_completion = ctx
        .ent
        .trie()
        .children(ROOT)
        .iter()
        .map(|e| ctx.ent.lookahead(e.child, &ctx.bias, dcfg.lm_weight))
        .fold(f32::NEG_INFINITY, f32::max)
        + dcfg.word_bonus;

    let mut buf = Vec::new();
    let mut out: Vec<DecodedWord> = Vec::with_capacity(words.len());
    let mut state = ctx.lm.start();
    let mut i = 0;
    while i < words.len() {
        // (gain, span length, entity word, range)
        let mut best: Option<(f32, usize, u32)> = None;
        for k in 1..=cfg.max_span.min(words.len() - i) {
            let span = &words[i..i + k];
            if span.iter().any(|w| is_full_entity(w.word)) {
                break;
            }
            if span.iter().all(|w| w.word >= n_lex) {
                continue;
            }
            // The frames: the span's, with the pauses around it up to `slack` frames.
            let (ss, se) = (
                span[0].start as usize,
                (span[k - 1].end as usize).min(t_len),
            );
            let s = if i == 0 { 0 } else { words[i - 1].end as usize };
            let e = words.get(i + k).map_or(t_len, |w| w.start as usize);
            let s = s.max(ss.saturating_sub(cfg.slack)).min(ss);
            let e = e.min(se + cfg.slack).max(se).min(t_len);
            // The span as decoded: its words' best pronunciations, its LM and bonus scores.
            let mut orig_units: Vec<u16> = Vec::new();
            let mut st = state;
            let mut orig = 0.0;
            for w in span {
                let (ws, we) = (w.start as usize, (w.end as usize).min(t_len));
                let mut bp: Option<(f32, Vec<u16>)> = None;
                for p in prons_of(w.word) {
                    let a = f.align(&p, ws, we.max(ws + 1), &mut buf);
                    if bp.as_ref().is_none_or(|b| a > b.0) {
                        bp = Some((a, p));
                    }
                }
                let Some((_, p)) = bp else { continue };
                orig_units.extend_from_slice(&p);
                let (sc, nst) = word_score(w.word, st);
                orig += sc;
                st = nst;
            }
            if orig_units.len() < cfg.min_units {
                continue;
            }
            orig += f.align(&orig_units, s, e, &mut buf) + next_score(i + k, st);
            if !orig.is_finite() {
                continue;
            }
            let after = next_score(i + k, ctx.lm.null());
            // An entity can only win if its alignment scores at least this.
            let anchored = span.iter().any(|w| w.word >= n_lex);
            let threshold = ctx.bias.rescore_margin + orig
                - after
                - best_completion
                - if anchored {
                    ctx.bias.rescore_anchor.max(0.0)
                } else {
                    0.0
                };
            let found = f.search(ctx.ent.trie(), wb, s, e, threshold, cfg.max_states);
            log::trace!(
                "span {i}+{k} frames {s}..{e}: words score {orig:.2}, {} entities above {threshold:.2}",
                found.len()
            );
            for &(c, ac) in found.iter().take(cfg.candidates) {
                if span.len() == 1 && span[0].word == n_lex + c {
                    continue;
                }
                let units = ctx
                    .ent
                    .trie()
                    .prons_of(c)
                    .map(|p| p.iter().filter(|&&u| Some(u) != wb).count())
                    .max()
                    .unwrap_or(0);
                if -ac > cfg.max_cost_per_unit * f.floor * units as f32 {
                    continue;
                }
                let (sc, _) = word_score(n_lex + c, state);
                let mut gain = ac + sc + after - orig;
                // A given or family name heard in the span makes the whole name it belongs to
                // likely: in an address book, "Haoran" is mostly followed by "Zheng".
                let full = ctx.ent.entry(c);
                if !full.partial
                    && span.iter().any(|w| {
                        w.word >= n_lex && {
                            let part = ctx.ent.entry(w.word - n_lex);
                            part.partial && is_part_of(&part.words, &full.words)
                        }
                    })
                {
                    gain += ctx.bias.rescore_anchor;
                }
                log::trace!(
                    "span {i}+{k} entity {:?}: acoustic {ac:.2} score {:.2} vs words {orig:.2}: gain {gain:.2}",
                    ctx.ent.entry(c).display,
                    sc + after
                );
                if gain > ctx.bias.rescore_margin && best.is_none_or(|b| gain > b.0) {
                    best = Some((gain, k, c));
                }
            }
        }
        match best {
            Some((_, k, c)) => {
                let span = &words[i..i + k];
                out.push(DecodedWord {
                    word: n_lex + c,
                    start: span[0].start,
                    end: span[k - 1].end,
                    conf: span.iter().map(|w| w.conf).sum::<f32>() / k as f32,
                });
                state = ctx.lm.null();
                i += k;
            }
            None => {
                let w = words[i];
                state = word_score(w.word, state).1;
                out.push(w);
                i += 1;
            }
        }
    }
    out
}

/// Whether `part` is the first or last words of `whole` (a given or family name of it).
fn is_part_of(part: &[String], whole: &[String]) -> bool {
    !part.is_empty()
        && part.len() < whole.len()
        && (whole.starts_with(part) || whole.ends_with(part))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bias::BiasEntry;

    /// A unigram LM over word ids for tests.
    struct Uni(f32);
    impl LanguageModel for Uni {
        type State = u8;
        fn start(&self) -> u8 {
            0
        }
        fn score(&self, _: u8, _: u32) -> (f32, u8) {
            (self.0, 0)
        }
        fn end(&self, _: u8) -> f32 {
            0.0
        }
        fn null(&self) -> u8 {
            0
        }
    }

    const V: usize = 12;
    const ROLES: TokenRoles = TokenRoles {
        vocab: V,
        blank: 0,
        word_boundary: Some(1),
    };

    /// Frames where `seq[t]` is the best token, the second choice `alt[t]` close behind.
    fn frames(seq: &[(u16, u16)]) -> Vec<f32> {
        seq.iter()
            .flat_map(|&(s, alt)| {
                (0..V).map(move |i| {
                    if i == s as usize {
                        -0.1
                    } else if i == alt as usize {
                        -3.0
                    } else {
                        -12.0
                    }
                })
            })
            .collect()
    }

    fn setup() -> (Lexicon, EntityTrie) {
        // Words "us" = 2 3, "in" = 4 5, "pend" = 6 7 8; the entity "Ashwin" = 9 3 4 5.
        let lex = Lexicon::build(
            [
                ("in", vec![4u16, 5]),
                ("pend", vec![6, 7, 8]),
                ("us", vec![2, 3]),
            ],
            |w| Some((w.len() as u32, -3.0)),
        )
        .unwrap();
        let ent = EntityTrie::build(
            vec![BiasEntry {
                display: "Ashwin".into(),
                words: vec!["ashwin".into()],
                weight: 1.0,
                partial: false,
            }],
            |_| vec![vec![9, 3, 4, 5]],
            Some(1),
            4,
        )
        .unwrap();
        (lex, ent)
    }

    fn word(w: u32, start: u32, end: u32) -> DecodedWord {
        DecodedWord {
            word: w,
            start,
            end,
            conf: 0.9,
        }
    }

    #[test]
    fn a_name_heard_a_little_differently_replaces_the_words() {
        let (lex, ent) = setup();
        let lm = Uni(-10.0);
        let ctx = RescoreContext {
            lex: &lex,
            lm: &lm,
            ent: &ent,
            bias: BiasConfig::default(),
            decoder: DecoderConfig::default(),
            roles: ROLES,
            similar: &SimilarUnits::none(),
        };
        // Audio: 2 (9 close behind) 3 _ 4 5 _ 6 7 8: "us in pend".
        let f = frames(&[
            (2, 9),
            (3, 0),
            (0, 1),
            (4, 0),
            (5, 0),
            (1, 0),
            (6, 0),
            (7, 0),
            (8, 0),
        ]);
        let (us, inn, pend) = (
            lex.word_id("us").unwrap(),
            lex.word_id("in").unwrap(),
            lex.word_id("pend").unwrap(),
        );
        let words = vec![word(us, 0, 2), word(inn, 3, 5), word(pend, 6, 9)];
        let out = rescore_entities(&words, &f, &ctx, &RescoreConfig::default());
        let n = lex.num_words() as u32;
        assert_eq!(
            out.iter().map(|w| w.word).collect::<Vec<_>>(),
            vec![n, pend]
        );
        assert_eq!((out[0].start, out[0].end), (0, 5));

        // Off: the same words when the first unit is clearly not the name's.
        let f2 = frames(&[
            (2, 0),
            (3, 0),
            (0, 1),
            (4, 0),
            (5, 0),
            (1, 0),
            (6, 0),
            (7, 0),
            (8, 0),
        ]);
        let strict = RescoreContext {
            bias: BiasConfig {
                rescore_floor: 12.0,
                ..BiasConfig::default()
            },
            ..ctx
        };
        assert_eq!(
            rescore_entities(&words, &f2, &strict, &RescoreConfig::default()),
            words
        );
    }

    #[test]
    fn alignment_cost_is_zero_on_the_best_path_and_bounded_by_the_floor() {
        let f = frames(&[(2, 0), (0, 1), (3, 0), (0, 1)]);
        let fr = Frames {
            data: &f,
            v: V,
            blank: 0,
            boundary: Some(1),
            floor: 5.0,
            max_e: vec![-0.1; 4],
            similar: &SimilarUnits::none(),
            similar_cost: 1.0,
        };
        let mut buf = Vec::new();
        assert!(fr.align(&[2, 3], 0, 4, &mut buf).abs() < 1e-5);
        // One unit wrong: costs exactly the floor on its frame.
        assert!((fr.align(&[2, 4], 0, 4, &mut buf) + 5.0).abs() < 1e-4);
        // More units than frames: impossible.
        assert_eq!(
            fr.align(&[2, 3, 4, 5, 6], 0, 4, &mut buf),
            f32::NEG_INFINITY
        );
    }
}
