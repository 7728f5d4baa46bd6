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

use super::confusion::Confusions;
use super::similar::SimilarUnits;
use crate::bias::{EntityTrie, SearchBias};
use crate::decoder::hash::FxHasher;
use crate::decoder::{DecodedWord, DecoderConfig, LanguageModel, TokenRoles};
use crate::lexicon::{Lexicon, WordId, ROOT};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Settings of the rescoring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RescoreConfig {
    /// Run the rescoring at all (technique 3).
    pub enabled: bool,
    /// Most a unit may cost on one frame below the frame's best (ln units).
    pub floor: f32,
    /// How much better (ln units) an entity must explain a span to replace it.
    pub margin: f32,
    /// What a frame costs when a similar unit (vowel for vowel, s for ʃ ...) stands for the
    /// name's unit, below that unit's own score.
    pub similar: f32,
    /// How many of the search's best hypotheses (within
    /// [`crate::recognizer::NBEST_RESCORE_WITHIN`] of the best) are rescored and re-ranked
    /// by their search score plus what their replacements gain; 1: the best alone. Lists
    /// longer than [`LARGE_LIST`] rescore the best alone.
    pub nbest: usize,
    /// Use the learned unit confusion costs of the model directory (`confusions.tsv`)
    /// instead of the similar-phone groups where the file exists (off: measured, the
    /// hand-made groups find more names on dev).
    pub confusions: bool,
    /// Added when the span holds a given or family name of the entity that would replace it
    /// (the rest of that person's name is likely next to it), and when the rescoring itself
    /// finds a given name over the span's first words.
    pub anchor: f32,
    /// The anchor bonus only goes to a name whose alignment costs at most this many floors
    /// per unit of its pronunciation (at most this share of its units heard as something
    /// else): words swallowed after a given name are mostly well heard.
    pub anchor_cost: f32,
    /// Longest span of words replaced by one entity.
    pub max_span: usize,
    /// Fewest best-path units under a span for it to be considered.
    pub min_units: usize,
    /// Candidate entities tried per span (the best aligned).
    pub candidates: usize,
    /// Most search states kept per frame when looking for candidates.
    pub max_states: usize,
    /// Search states further than this below the frame's best search state are dropped.
    pub state_beam: f32,
    /// Most units of a name that may be heard as nothing like them (no similar unit close to
    /// the frame's best): a name needing more is not heard there.
    pub max_floored: u8,
    /// Frames of pause before and after a span that a name may also use, and how many frames
    /// after the span's first word starts a name may still start (a name's edges need not
    /// be the decoded words' edges: "message Hahyoon" may be decoded as one long "message").
    pub slack: usize,
    /// Most an entity's alignment may cost per unit of its pronunciation, in floors: a name
    /// that needs more than this is not heard there, however poor the words are.
    pub max_cost_per_unit: f32,
}

impl Default for RescoreConfig {
    fn default() -> Self {
        RescoreConfig {
            enabled: true,
            floor: 3.0,
            margin: 1.0,
            similar: 2.0,
            nbest: 1,
            confusions: false,
            anchor: 6.0,
            anchor_cost: 0.5,
            max_span: 5,
            min_units: 3,
            candidates: 8,
            max_states: 1024,
            state_beam: 10.0,
            max_floored: u8::MAX,
            slack: 30,
            max_cost_per_unit: 1.0,
        }
    }
}

/// Lists longer than this are rescored with a smaller search (see [`RescoreConfig::for_list`]).
pub const LARGE_LIST: usize = 2_000;

impl RescoreConfig {
    /// Checks every setting: `Err` names the first out of its range.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ranges::{count, positive, within};
        for (name, v) in [
            ("margin", self.margin),
            ("similar", self.similar),
            ("anchor", self.anchor),
            ("anchor_cost", self.anchor_cost),
        ] {
            within(name, v, -100.0, 100.0)?;
        }
        positive("floor", self.floor, 100.0)?;
        count("nbest", self.nbest, 1, 16)?;
        count("max_span", self.max_span, 1, 16)?;
        count("min_units", self.min_units, 0, 1000)?;
        count("candidates", self.candidates, 1, 1024)?;
        count("max_states", self.max_states, 1, 1 << 20)?;
        positive("state_beam", self.state_beam, 1000.0)?;
        count("slack", self.slack, 0, 1000)?;
        positive("max_cost_per_unit", self.max_cost_per_unit, 100.0)
    }

    /// These settings for a list of `entries` entries. The search's cost grows with the list
    /// (more names share each prefix); beyond [`LARGE_LIST`] entries a name may have at most
    /// one unit heard as nothing like it and the search keeps 512 states per frame, which
    /// keeps a 10k list within 1.2x the no-list run at some cost in recall (BENCHMARKS.md).
    pub fn for_list(&self, entries: usize) -> Self {
        let mut c = *self;
        if entries > LARGE_LIST {
            c.max_floored = 1;
            c.max_states = 512;
        }
        c
    }
}

/// What the rescoring reads: the decoder's lexicon, LM, weights and entity trie.
pub struct RescoreContext<'a, L: LanguageModel> {
    pub lex: &'a Lexicon,
    pub lm: &'a L,
    pub ent: &'a EntityTrie,
    /// How completing an entity scores (as in the search).
    pub search: SearchBias,
    pub decoder: DecoderConfig,
    pub roles: TokenRoles,
    pub similar: &'a SimilarUnits,
    /// Learned per-pair costs; used instead of `similar` when not empty.
    pub confusions: &'a Confusions,
    /// Searches of earlier calls on the same utterance, reused where their frames are
    /// unchanged ([`SearchMemo`]); `None`: every search is run.
    pub memo: Option<&'a RefCell<SearchMemo>>,
}

/// The entity searches of the rescoring, kept from one call to the next on the same
/// growing utterance: live partials are rescored from the utterance's start again every
/// few hundred milliseconds, while the words and frames of all but its last second rarely
/// change. A search is reused when its settings, span and threshold are the same and the
/// frames it reads hash the same (frames are hashed row by row, bit for bit); so the result
/// is exactly what the search would give, at the cost of the recent words only.
///
/// The owner keeps one memo per utterance and entity trie: [`SearchMemo::clear`] when
/// either changes. At most [`SearchMemo::MAX_ENTRIES`] searches are kept.
#[derive(Debug, Default)]
pub struct SearchMemo {
    results: HashMap<SearchKey, (u64, Found), BuildHasherDefault<FxHasher>>,
    /// Searches answered from the memo, and run.
    pub hits: u64,
    /// Searches run.
    pub misses: u64,
}

/// One walk of the entity trie the rescoring asks for ([`Frames::search`]): from frame `s`,
/// names starting before frame `root_until`, the entities found at each of `ends`
/// (ascending), states scoring below `threshold` dropped.
#[derive(Debug, Clone, Copy)]
struct Walk<'a> {
    s: usize,
    root_until: usize,
    ends: &'a [usize],
    threshold: f32,
}

/// What a search found: per end frame asked for, the entities with their scores.
type Found = Vec<Vec<(WordId, f32)>>;

/// What a search depends on besides the trie and the frames it reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SearchKey {
    s: usize,
    root_until: usize,
    ends: Vec<usize>,
    threshold: u32,
    max_states: usize,
    state_beam: u32,
    max_floored: u8,
    floor: u32,
}

impl SearchMemo {
    /// Searches kept at most (then the memo starts over).
    pub const MAX_ENTRIES: usize = 4_096;

    /// Forgets every search (a new utterance, or another entity trie).
    pub fn clear(&mut self) {
        self.results.clear();
    }
}

/// Frame scores with the floor and similar units applied, worked out once per utterance.
struct Frames {
    v: usize,
    floor: f32,
    /// Best score per frame.
    max_e: Vec<f32>,
    /// `unit[t * v + u]`: what unit `u` scores at frame `t` (at least `max_e - floor`, at
    /// least a similar unit's score minus the similar cost).
    unit: Vec<f32>,
    /// Between units: blank or the word boundary, whichever the frame prefers (floored).
    gap: Vec<f32>,
    /// A hash of each frame's scores, bit for bit (only for a [`SearchMemo`]).
    row_hash: Vec<u64>,
}

impl Frames {
    #[allow(clippy::too_many_arguments)]
    fn new(
        data: &[f32],
        v: usize,
        roles: TokenRoles,
        floor: f32,
        similar: &SimilarUnits,
        similar_cost: f32,
        confusions: &Confusions,
        hash_rows: bool,
    ) -> Frames {
        let learned = !confusions.is_empty();
        let t_len = data.len() / v.max(1);
        let mut f = Frames {
            v,
            floor,
            max_e: Vec::with_capacity(t_len),
            unit: Vec::with_capacity(t_len * v),
            gap: Vec::with_capacity(t_len),
            row_hash: Vec::with_capacity(if hash_rows { t_len } else { 0 }),
        };
        for row in data.chunks_exact(v) {
            if hash_rows {
                f.row_hash.push(crate::decoder::hash::row_hash(row));
            }
            // A frame of NaN or -inf carries no evidence.
            let best = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let me = if best.is_finite() { best } else { 0.0 };
            f.max_e.push(me);
            for (u, &x) in row.iter().enumerate() {
                let mut s = x.max(me - floor);
                for &(o, c) in confusions.of(u as u16) {
                    s = s.max(row[o as usize] + c);
                }
                if !learned {
                    for &o in similar.of(u as u16) {
                        s = s.max(row[o as usize] - similar_cost);
                    }
                }
                f.unit.push(s);
            }
            let b = row[roles.blank as usize];
            let wb = roles
                .word_boundary
                .map_or(f32::NEG_INFINITY, |w| row[w as usize]);
            f.gap.push(b.max(wb).max(me - floor));
        }
        f
    }

    #[inline]
    fn unit(&self, t: usize, u: u16) -> f32 {
        self.unit[t * self.v + u as usize]
    }

    #[inline]
    fn gap(&self, t: usize) -> f32 {
        self.gap[t]
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

impl Frames {
    /// For each end frame in `walk.ends` (ascending), every entity whose best alignment over
    /// frames `[s, end)` (as [`Frames::align`], word boundaries inside a name falling in gaps)
    /// scores at least `threshold`, with that score: one Viterbi walk of the entity trie from
    /// `s`, names starting before frame `root_until`. Scores only fall from frame to frame, so states below `threshold` are dropped
    /// without losing an answer; `cfg`'s `state_beam` and `max_states` bound the rest.
    fn search(
        &self,
        trie: &Lexicon,
        boundary: Option<u16>,
        walk: &Walk<'_>,
        cfg: &RescoreConfig,
    ) -> Found {
        let Walk {
            s,
            root_until,
            ends,
            threshold,
        } = *walk;
        let (max_states, state_beam, max_floored) =
            (cfg.max_states, cfg.state_beam, cfg.max_floored);
        // Key: node * 2 + (in the gap after its unit); value: score, the node's unit, and how
        // many of the name's units so far were heard as nothing like them (floored).
        type Map = HashMap<u32, (f32, u16, u8), BuildHasherDefault<FxHasher>>;
        let mut out: Vec<Vec<(WordId, f32)>> = vec![Vec::new(); ends.len()];
        let Some(&last_end) = ends.last() else {
            return out;
        };
        let mut cur = Map::default();
        cur.insert(ROOT * 2 + 1, (0.0, u16::MAX, 0));
        let mut nxt = Map::default();
        let put = |m: &mut Map, key: u32, unit: u16, v: f32, subs: u8| {
            if v >= threshold {
                let slot = m.entry(key).or_insert((f32::NEG_INFINITY, unit, subs));
                if v > slot.0 || (v == slot.0 && subs < slot.2) {
                    *slot = (v, unit, subs);
                }
            }
        };
        let mut scores: Vec<f32> = Vec::new();
        for t in s..last_end {
            nxt.clear();
            let me = self.max_e[t];
            let g = self.gap(t) - me;
            let row = &self.unit[t * self.v..(t + 1) * self.v];
            let floored = me - self.floor;
            for (&key, &(sc, last, subs)) in &cur {
                let (node, gap) = (key / 2, key & 1 == 1);
                if node == ROOT && t >= root_until {
                    // Too late to start a name here: a later span's search starts it.
                    continue;
                }
                // Stay: in the gap, or on the same unit.
                put(&mut nxt, node * 2 + 1, last, sc + g, subs);
                if !gap {
                    put(&mut nxt, key, last, sc + row[last as usize] - me, subs);
                }
                for edge in trie.children(node) {
                    if Some(edge.token) == boundary || (!gap && edge.token == last) {
                        continue;
                    }
                    let x = row[edge.token as usize];
                    let sub = u8::from(x <= floored);
                    if subs + sub > max_floored {
                        continue;
                    }
                    put(
                        &mut nxt,
                        edge.child * 2,
                        edge.token,
                        sc + x - me,
                        subs + sub,
                    );
                }
            }
            let best = nxt.values().fold(f32::NEG_INFINITY, |m, x| m.max(x.0));
            let mut cut = best - state_beam;
            if nxt.len() > max_states {
                scores.clear();
                scores.extend(nxt.values().map(|x| x.0));
                let (_, &mut nth, _) =
                    scores.select_nth_unstable_by(max_states - 1, |a, b| b.total_cmp(a));
                cut = cut.max(nth);
            }
            nxt.retain(|_, x| x.0 >= cut);
            std::mem::swap(&mut cur, &mut nxt);
            if cur.is_empty() {
                break;
            }
            for (k, &end) in ends.iter().enumerate() {
                if end != t + 1 {
                    continue;
                }
                let mut found: HashMap<WordId, f32, BuildHasherDefault<FxHasher>> =
                    HashMap::default();
                for (&key, &(sc, _, _)) in &cur {
                    for (i, &w) in trie.labels(key / 2).iter().enumerate() {
                        // The pronunciation's own cost counts as acoustic evidence against it.
                        let sc = sc + trie.label_cost(key / 2, i);
                        let slot = found.entry(w).or_insert(f32::NEG_INFINITY);
                        if sc > *slot {
                            *slot = sc;
                        }
                    }
                }
                let mut v: Vec<(WordId, f32)> = found.into_iter().collect();
                v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                out[k] = v;
            }
        }
        out
    }
}

impl Frames {
    /// [`Frames::search`], answered from `memo` when it holds the same search over frames
    /// that hash the same.
    fn search_memo(
        &self,
        memo: Option<&RefCell<SearchMemo>>,
        trie: &Lexicon,
        boundary: Option<u16>,
        walk: &Walk<'_>,
        cfg: &RescoreConfig,
    ) -> Found {
        let run = || self.search(trie, boundary, walk, cfg);
        let Some(memo) = memo.filter(|_| !self.row_hash.is_empty()) else {
            return run();
        };
        let s = walk.s;
        let last = walk
            .ends
            .last()
            .copied()
            .unwrap_or(s)
            .min(self.row_hash.len());
        let mut h = FxHasher::default();
        for &r in &self.row_hash[s.min(last)..last] {
            h.write_u64(r);
        }
        let print = h.finish();
        let key = SearchKey {
            s,
            root_until: walk.root_until,
            ends: walk.ends.to_vec(),
            threshold: walk.threshold.to_bits(),
            max_states: cfg.max_states,
            state_beam: cfg.state_beam.to_bits(),
            max_floored: cfg.max_floored,
            floor: self.floor.to_bits(),
        };
        let mut m = memo.borrow_mut();
        if let Some((p, found)) = m.results.get(&key) {
            if *p == print {
                let found = found.clone();
                m.hits += 1;
                return found;
            }
        }
        let found = run();
        m.misses += 1;
        if m.results.len() >= SearchMemo::MAX_ENTRIES {
            m.results.clear();
        }
        m.results.insert(key, (print, found.clone()));
        found
    }
}

/// Replaces spans of `words` by entities where the entity explains the frames better (see the
/// module docs). `frames` are the log-posteriors the words were decoded from.
pub fn rescore_entities<L: LanguageModel>(
    words: &[DecodedWord],
    frames: &[f32],
    ctx: &RescoreContext<'_, L>,
    cfg: &RescoreConfig,
) -> Vec<DecodedWord> {
    rescore_entities_scored(words, frames, ctx, cfg).0
}

/// As [`rescore_entities`], with what the replacements gain together over `words` (ln
/// units, each less the margin; 0 when nothing is replaced): added to the hypothesis'
/// search score it ranks rescored hypotheses of an n-best list against each other.
pub fn rescore_entities_scored<L: LanguageModel>(
    words: &[DecodedWord],
    frames: &[f32],
    ctx: &RescoreContext<'_, L>,
    cfg: &RescoreConfig,
) -> (Vec<DecodedWord>, f32) {
    let v = ctx.roles.vocab;
    if v == 0 || words.is_empty() || frames.len() < v {
        return (words.to_vec(), 0.0);
    }
    let t_len = frames.len() / v;
    let f = Frames::new(
        &frames[..t_len * v],
        v,
        ctx.roles,
        cfg.floor,
        ctx.similar,
        cfg.similar,
        ctx.confusions,
        ctx.memo.is_some(),
    );
    let r = Rescorer::new(words, &f, t_len, ctx, cfg);
    // The best replacement of each span: `found_at[i]`: (gain, span length, entity) for the
    // spans starting at word `i`, scored in the LM context of the words before it as decoded.
    let mut found_at: Vec<Vec<(f32, usize, u32)>> = vec![Vec::new(); words.len()];
    let mut state = ctx.lm.start();
    let mut buf = Vec::new();
    for (i, found) in found_at.iter_mut().enumerate() {
        *found = r.best_at(i, state, &mut buf);
        state = r.word_score(words[i].word, state).1;
    }
    r.choose(&found_at)
}

/// A span of words the rescoring may replace: `k` words from the one it starts at, whose
/// frames end at `e`; `orig`: the words' score as decoded, `after`: the LM score of what
/// follows it after an entity, `threshold`: the least an entity's alignment must score
/// there to win.
#[derive(Debug, Clone, Copy)]
struct Span {
    k: usize,
    e: usize,
    orig: f32,
    after: f32,
    threshold: f32,
}

/// One call of [`rescore_entities_scored`]: the words, their frames and what scores them.
struct Rescorer<'a, 'c, L: LanguageModel> {
    words: &'a [DecodedWord],
    f: &'a Frames,
    t_len: usize,
    ctx: &'a RescoreContext<'c, L>,
    cfg: &'a RescoreConfig,
    /// Words below this id are the lexicon's, the rest the entity trie's.
    n_lex: u32,
    wb: Option<u16>,
    dcfg: DecoderConfig,
    /// The most an entity's completion can add (an upper bound: no short-name penalty).
    best_completion: f32,
}

impl<'a, 'c, L: LanguageModel> Rescorer<'a, 'c, L> {
    fn new(
        words: &'a [DecodedWord],
        f: &'a Frames,
        t_len: usize,
        ctx: &'a RescoreContext<'c, L>,
        cfg: &'a RescoreConfig,
    ) -> Self {
        let dcfg = ctx.decoder;
        let best_completion = ctx
            .ent
            .trie()
            .children(ROOT)
            .iter()
            .map(|e| ctx.ent.lookahead(e.child, &ctx.search, dcfg.lm_weight))
            .fold(f32::NEG_INFINITY, f32::max)
            + dcfg.word_bonus;
        Rescorer {
            words,
            f,
            t_len,
            ctx,
            cfg,
            n_lex: ctx.lex.num_words() as u32,
            wb: ctx.roles.word_boundary,
            dcfg,
            best_completion,
        }
    }

    /// A word's pronunciations without word boundaries (lexicon word or entity).
    fn prons_of(&self, w: u32) -> Vec<Vec<u16>> {
        let wb = self.wb;
        let strip =
            |p: &[u16]| -> Vec<u16> { p.iter().copied().filter(|&u| Some(u) != wb).collect() };
        if w < self.n_lex {
            self.ctx.lex.prons_of(w).map(strip).collect()
        } else {
            self.ctx
                .ent
                .trie()
                .prons_of(w - self.n_lex)
                .map(strip)
                .collect()
        }
    }

    /// What a word adds to the score in LM context `st`, and the context after it.
    fn word_score(&self, w: u32, st: L::State) -> (f32, L::State) {
        let (ctx, dcfg) = (self.ctx, self.dcfg);
        if w < self.n_lex {
            let (lp, st) = ctx.lm.score(st, ctx.lex.lm_id(w));
            (dcfg.lm_weight * lp + dcfg.word_bonus, st)
        } else {
            let c = ctx
                .ent
                .completion_score(w - self.n_lex, &ctx.search, dcfg.lm_weight);
            (c + dcfg.word_bonus, ctx.lm.null())
        }
    }

    /// The LM score of whatever follows position `j` (the next word, or the sentence end).
    fn next_score(&self, j: usize, st: L::State) -> f32 {
        let (ctx, dcfg) = (self.ctx, self.dcfg);
        match self.words.get(j) {
            Some(w) if w.word < self.n_lex => {
                dcfg.lm_weight * ctx.lm.score(st, ctx.lex.lm_id(w.word)).0
            }
            Some(_) => 0.0,
            None => dcfg.lm_weight * ctx.lm.end(st),
        }
    }

    fn is_full_entity(&self, w: u32) -> bool {
        w >= self.n_lex && !self.ctx.ent.entry(w - self.n_lex).partial
    }

    /// The first frame a name over the spans from word `i` may use: the end of the word
    /// before, at most `slack` frames before word `i`'s start.
    fn first_frame(&self, i: usize) -> usize {
        let s = if i == 0 {
            0
        } else {
            self.words[i - 1].end as usize
        };
        let ss = self.words[i].start as usize;
        s.max(ss.saturating_sub(self.cfg.slack)).min(ss)
    }

    /// The spans starting at word `i` (in LM context `state`) an entity may replace.
    fn spans_at(&self, i: usize, state: L::State, buf: &mut Vec<f32>) -> Vec<Span> {
        let (words, cfg, f, t_len, n_lex) = (self.words, self.cfg, self.f, self.t_len, self.n_lex);
        let s = self.first_frame(i);
        let mut spans = Vec::new();
        for k in 1..=cfg.max_span.min(words.len() - i) {
            let span = &words[i..i + k];
            if span.iter().any(|w| self.is_full_entity(w.word)) {
                break;
            }
            if span.iter().all(|w| w.word >= n_lex) {
                continue;
            }
            // The frames: the span's, with the pauses around it up to `slack` frames.
            let se = (span[k - 1].end as usize).min(t_len);
            let e = words.get(i + k).map_or(t_len, |w| w.start as usize);
            let e = e.min(se + cfg.slack).max(se).min(t_len);
            // The span as decoded: its words' best pronunciations, its LM and bonus scores.
            let mut orig_units: Vec<u16> = Vec::new();
            let mut st = state;
            let mut orig = 0.0;
            for w in span {
                let (ws, we) = (w.start as usize, (w.end as usize).min(t_len));
                let mut bp: Option<(f32, Vec<u16>)> = None;
                for p in self.prons_of(w.word) {
                    let a = f.align(&p, ws, we.max(ws + 1), buf);
                    if bp.as_ref().is_none_or(|b| a > b.0) {
                        bp = Some((a, p));
                    }
                }
                let Some((_, p)) = bp else { continue };
                orig_units.extend_from_slice(&p);
                let (sc, nst) = self.word_score(w.word, st);
                orig += sc;
                st = nst;
            }
            if orig_units.len() < cfg.min_units {
                continue;
            }
            orig += f.align(&orig_units, s, e, buf) + self.next_score(i + k, st);
            if !orig.is_finite() {
                continue;
            }
            let after = self.next_score(i + k, self.ctx.lm.null());
            // An entity can only win if its alignment scores at least this.
            let anchored = span.iter().any(|w| w.word >= n_lex);
            let threshold = cfg.margin + orig
                - after
                - self.best_completion
                - if anchored { cfg.anchor.max(0.0) } else { 0.0 };
            spans.push(Span {
                k,
                e,
                orig,
                after,
                threshold,
            });
        }
        spans.sort_by_key(|x| x.e);
        spans
    }

    /// The best entity per span length for the spans from word `i`: (gain, span length,
    /// entity word).
    fn best_at(&self, i: usize, state: L::State, buf: &mut Vec<f32>) -> Vec<(f32, usize, u32)> {
        let (words, cfg, n_lex) = (self.words, self.cfg, self.n_lex);
        let spans = self.spans_at(i, state, buf);
        let mut best: Vec<(f32, usize, u32)> = Vec::new();
        self.try_spans(i, state, &spans, None, &mut best);
        // A given name the rescoring found over the span's first words (not decoded as one)
        // anchors its whole names over the longer spans from here, as a decoded one would.
        let part = best
            .iter()
            .filter(|b| {
                let e = self.ctx.ent.entry(b.2);
                e.partial && !e.family
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .copied();
        if let Some((_, kp, cp)) = part.filter(|_| cfg.anchor > 0.0) {
            let longer: Vec<Span> = spans
                .iter()
                .filter(|x| x.k > kp && !words[i..i + x.k].iter().any(|w| w.word >= n_lex))
                .map(|&x| Span {
                    threshold: x.threshold - cfg.anchor.max(0.0),
                    ..x
                })
                .collect();
            self.try_spans(i, state, &longer, Some(cp), &mut best);
        }
        best
    }

    /// Walks the entity trie once for `spans` (all from word `i`, by end frame) and keeps
    /// in `best` each length's best entity that gains more than the margin. With
    /// `found_part` (a given name found over the first words), only whole names that
    /// start with it.
    fn try_spans(
        &self,
        i: usize,
        state: L::State,
        spans: &[Span],
        found_part: Option<u32>,
        best: &mut Vec<(f32, usize, u32)>,
    ) {
        if spans.is_empty() {
            return;
        }
        let (words, cfg, f, ctx, n_lex, wb) =
            (self.words, self.cfg, self.f, self.ctx, self.n_lex, self.wb);
        let ends: Vec<usize> = spans.iter().map(|x| x.e).collect();
        let lowest = spans
            .iter()
            .map(|x| x.threshold)
            .fold(f32::INFINITY, f32::min);
        let walk = Walk {
            s: self.first_frame(i),
            root_until: words[i].start as usize + cfg.slack,
            ends: &ends,
            threshold: lowest,
        };
        let found = f.search_memo(ctx.memo, ctx.ent.trie(), wb, &walk, cfg);
        for (x, found) in spans.iter().zip(&found) {
            let (k, orig, after) = (x.k, x.orig, x.after);
            let span = &words[i..i + k];
            for &(c, ac) in found
                .iter()
                .filter(|y| y.1 >= x.threshold)
                .filter(|y| {
                    found_part.is_none_or(|p| {
                        let full = ctx.ent.entry(y.0);
                        !full.partial && full.words.starts_with(&ctx.ent.entry(p).words)
                    })
                })
                .take(cfg.candidates)
            {
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
                let (sc, _) = self.word_score(n_lex + c, state);
                let mut gain = ac + sc + after - orig;
                // A given or family name heard in the span makes the whole name it belongs
                // to likely: in an address book, "Haoran" is mostly followed by "Zheng".
                // The name part is one of the decoded words, or one found here over the
                // span's first words (`found_part`). The bonus only goes to a name that
                // sounds like itself over most of its units: the words swallowed after a
                // given name are usually well heard.
                let full = ctx.ent.entry(c);
                let anchored = found_part.is_some()
                    || !full.partial
                        && span.iter().any(|w| {
                            w.word >= n_lex && {
                                let part = ctx.ent.entry(w.word - n_lex);
                                part.partial && is_part_of(&part.words, &full.words)
                            }
                        });
                if anchored && -ac <= cfg.anchor_cost * f.floor * units as f32 {
                    gain += cfg.anchor;
                }
                log::trace!(
                    "span {i}+{k} entity {:?}: acoustic {ac:.2} score {:.2} vs words {orig:.2}: gain {gain:.2}",
                    full.display,
                    sc + after
                );
                if gain > cfg.margin {
                    match best.iter_mut().find(|b| b.1 == k) {
                        Some(b) if gain > b.0 => *b = (gain, k, c),
                        Some(_) => {}
                        None => best.push((gain, k, c)),
                    }
                }
            }
        }
    }

    /// The replacements that together gain the most, none overlapping (a name found early
    /// in a long span must not hide a better one a word later): the words with them, and
    /// the gain.
    fn choose(&self, found_at: &[Vec<(f32, usize, u32)>]) -> (Vec<DecodedWord>, f32) {
        let words = self.words;
        let n = words.len();
        let mut total = vec![0.0f32; n + 1];
        let mut choice: Vec<Option<(usize, u32)>> = vec![None; n];
        for i in (0..n).rev() {
            total[i] = total[i + 1];
            for &(gain, k, c) in &found_at[i] {
                let v = gain - self.cfg.margin + total[i + k];
                if v > total[i] {
                    total[i] = v;
                    choice[i] = Some((k, c));
                }
            }
        }
        let mut out: Vec<DecodedWord> = Vec::with_capacity(n);
        let mut i = 0;
        while i < n {
            match choice[i] {
                Some((k, c)) => {
                    let span = &words[i..i + k];
                    out.push(DecodedWord {
                        word: self.n_lex + c,
                        start: span[0].start,
                        end: span[k - 1].end,
                        conf: span.iter().map(|w| w.conf).sum::<f32>() / k as f32,
                    });
                    i += k;
                }
                None => {
                    out.push(words[i]);
                    i += 1;
                }
            }
        }
        (out, total[0])
    }
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
                family: false,
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

    /// The rescored words as text: ordinary words as in the lexicon, entities as listed.
    fn rescored_text(
        words: &[DecodedWord],
        f: &[f32],
        lex: &Lexicon,
        lm: &Uni,
        ent: &EntityTrie,
        cfg: RescoreConfig,
    ) -> Vec<String> {
        let ctx = RescoreContext {
            lex,
            lm,
            ent,
            search: SearchBias::default(),
            decoder: DecoderConfig::default(),
            roles: ROLES,
            similar: &SimilarUnits::none(),
            confusions: &Confusions::default(),
            memo: None,
        };
        let n = lex.num_words() as u32;
        rescore_entities(words, f, &ctx, &cfg)
            .iter()
            .map(|w| {
                if w.word >= n {
                    ent.entry(w.word - n).display.clone()
                } else {
                    lex.word(w.word).to_string()
                }
            })
            .collect()
    }

    #[test]
    fn a_name_heard_a_little_differently_replaces_the_words() {
        let (lex, ent) = setup();
        let lm = Uni(-10.0);
        let ctx = RescoreContext {
            lex: &lex,
            lm: &lm,
            ent: &ent,
            search: SearchBias::default(),
            decoder: DecoderConfig::default(),
            roles: ROLES,
            similar: &SimilarUnits::none(),
            confusions: &Confusions::default(),
            memo: None,
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
        // What the replacement gains is reported (it ranks rescored n-best hypotheses).
        let (same, gain) = rescore_entities_scored(&words, &f, &ctx, &RescoreConfig::default());
        assert_eq!(same, out);
        assert!(gain > 0.0, "{gain}");

        // With a memo: the same, and the second call on the same frames searches nothing;
        // a changed frame is searched again.
        let memo = RefCell::new(SearchMemo::default());
        let with_memo = RescoreContext {
            memo: Some(&memo),
            ..ctx
        };
        let cfg = RescoreConfig::default();
        assert_eq!(
            rescore_entities_scored(&words, &f, &with_memo, &cfg),
            (out.clone(), gain)
        );
        let run = memo.borrow().misses;
        assert!(run > 0 && memo.borrow().hits == 0);
        assert_eq!(
            rescore_entities_scored(&words, &f, &with_memo, &cfg),
            (out.clone(), gain)
        );
        assert_eq!((memo.borrow().hits, memo.borrow().misses), (run, run));
        let mut g = f.clone();
        g[V * 7 + 7] -= 0.5;
        let fresh = rescore_entities_scored(&words, &g, &ctx, &cfg);
        assert_eq!(rescore_entities_scored(&words, &g, &with_memo, &cfg), fresh);
        assert!(memo.borrow().misses > run);

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
        let strict = RescoreConfig {
            floor: 12.0,
            ..RescoreConfig::default()
        };
        assert_eq!(
            rescore_entities_scored(&words, &f2, &ctx, &strict),
            (words, 0.0)
        );
    }

    #[test]
    fn overlapping_candidates_the_best_combination_wins_not_the_first() {
        // Words "x" = 2 11 9, "y" = 3 4, "z" = 5 6 8 9 10. "Early" fits "x y" with one unit
        // wrong; "Later" fits "y z" exactly.
        let lex = Lexicon::build(
            [
                ("x", vec![2u16, 11, 9]),
                ("y", vec![3, 4]),
                ("z", vec![5, 6, 8, 9, 10]),
            ],
            |w| Some((w.len() as u32, -3.0)),
        )
        .unwrap();
        let entry = |name: &str| BiasEntry {
            display: name.into(),
            words: vec![name.to_lowercase()],
            weight: 1.0,
            partial: false,
            family: false,
        };
        let prons = |w: &str| match w {
            "early" => vec![vec![2u16, 11, 9, 3, 7]],
            _ => vec![vec![3u16, 4, 5, 6, 8, 9, 10]],
        };
        let lm = Uni(-10.0);
        let f = frames(&[
            (2, 0),
            (11, 0),
            (9, 0),
            (0, 1),
            (3, 0),
            (4, 0),
            (0, 1),
            (5, 0),
            (6, 0),
            (8, 0),
            (9, 0),
            (10, 0),
        ]);
        let (x, y, z) = (
            lex.word_id("x").unwrap(),
            lex.word_id("y").unwrap(),
            lex.word_id("z").unwrap(),
        );
        let words = vec![word(x, 0, 3), word(y, 4, 6), word(z, 7, 12)];
        let run = |names: &[&str]| {
            let ent = EntityTrie::build(
                names.iter().map(|n| entry(n)).collect(),
                |w| prons(w),
                Some(1),
                4,
            )
            .unwrap();
            rescored_text(&words, &f, &lex, &lm, &ent, RescoreConfig::default())
        };
        // Alone, "Early" wins its span (a first-come choice would take it and lose "Later")...
        assert_eq!(run(&["Early"]), vec!["Early", "z"]);
        // ...but with both, the better one is written.
        assert_eq!(run(&["Early", "Later"]), vec!["x", "Later"]);
    }

    #[test]
    fn a_given_name_found_here_anchors_its_whole_name_over_the_next_word() {
        // Words "us" = 2 3, "win" = 4 5 6, "pend" = 7 8 10; "Ashwin" = 9 3 4 5 6 is one
        // contact's given name, "Pande" = 7 11 9 their family name: two units (11, 9) are
        // heard as something else (8, 10).
        let lex = Lexicon::build(
            [
                ("pend", vec![7u16, 8, 10]),
                ("us", vec![2, 3]),
                ("win", vec![4, 5, 6]),
            ],
            |w| Some((w.len() as u32, -3.0)),
        )
        .unwrap();
        let entry = |words: &[&str], partial: bool| BiasEntry {
            display: words.join(" "),
            words: words.iter().map(|w| w.to_string()).collect(),
            weight: 1.0,
            partial,
            family: false,
        };
        let ent = EntityTrie::build(
            vec![entry(&["ashwin", "pande"], false), entry(&["ashwin"], true)],
            |w| match w {
                "ashwin" => vec![vec![9u16, 3, 4, 5, 6]],
                _ => vec![vec![7u16, 11, 9]],
            },
            Some(1),
            4,
        )
        .unwrap();
        let lm = Uni(-6.0);
        let f = frames(&[
            (2, 9),
            (3, 0),
            (0, 1),
            (4, 0),
            (5, 0),
            (6, 0),
            (1, 0),
            (7, 0),
            (8, 0),
            (10, 0),
        ]);
        let words = vec![
            word(lex.word_id("us").unwrap(), 0, 2),
            word(lex.word_id("win").unwrap(), 3, 6),
            word(lex.word_id("pend").unwrap(), 7, 10),
        ];
        let run = |cfg: RescoreConfig| rescored_text(&words, &f, &lex, &lm, &ent, cfg);
        // The rescoring finds "Ashwin" over "us win"; that anchors the whole name over the
        // next word too, although "Pande" alone would not replace "pend".
        assert_eq!(run(RescoreConfig::default()), vec!["ashwin pande"]);
        let no_anchor = RescoreConfig {
            anchor: 0.0,
            ..RescoreConfig::default()
        };
        assert_eq!(run(no_anchor), vec!["ashwin", "pend"]);
        // A name that costs more per unit than `anchor_cost` floors gets no bonus:
        // here 2 of its 8 units are heard as something else, and one is only second best.
        let strict = RescoreConfig {
            anchor_cost: 0.25,
            ..RescoreConfig::default()
        };
        assert_eq!(run(strict), vec!["ashwin", "pend"]);
    }

    #[test]
    fn alignment_cost_is_zero_on_the_best_path_and_bounded_by_the_floor() {
        let f = frames(&[(2, 0), (0, 1), (3, 0), (0, 1)]);
        let fr = Frames::new(
            &f,
            V,
            ROLES,
            5.0,
            &SimilarUnits::none(),
            1.0,
            &Confusions::default(),
            false,
        );
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
