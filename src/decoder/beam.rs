//! The lexicon-constrained CTC prefix beam search.
//!
//! A hypothesis is a position in the pronunciation trie (`node`), an LM context, the last
//! emitted token and whether a blank followed it. Per frame each hypothesis can
//! - emit blank (stay),
//! - repeat its last token without a blank in between (CTC collapse: stay),
//! - emit a token that is a child of its trie node (advance; LM look-ahead applied), and when
//!   that child ends words, also complete each word (LM scored, back to the root),
//! - at the root, emit the word-boundary token (the model's silence/boundary unit).
//!
//! Hypotheses with the same state merge (max). The best `beam_size` within `beam_threshold`
//! survive. Word histories live in a fixed arena of records linked to their predecessor.

use super::hash::{FxHasher, SlotIndex};
use super::{DecodedWord, DecoderConfig, Hypothesis, LanguageModel, TokenRoles};
use crate::bias::{EntityTrie, SearchBias};
use crate::lexicon::{Lexicon, NodeId, WordId, ROOT};
use std::hash::{Hash, Hasher};

const NONE: u32 = u32::MAX;
const NO_TOKEN: u16 = u16::MAX;

#[derive(Debug, Clone, Copy)]
struct Hyp<S> {
    score: f32,
    node: NodeId,
    lm: S,
    last: u16,
    blank: bool,
    /// Arena index of the last completed word.
    hist: u32,
    /// Frame where the word in progress started.
    word_start: u32,
    /// Sum over the word's frames of (chosen token score - frame's best score).
    word_gap: f32,
    /// A word completed on this frame, not yet in the arena (`NONE`: none).
    new_word: u32,
    new_conf: f32,
    new_start: u32,
}

impl<S: Copy> Hyp<S> {
    /// The hypothesis at the start of an utterance: no words, at the root, LM context `lm`.
    fn start(lm: S) -> Self {
        Hyp {
            score: 0.0,
            node: ROOT,
            lm,
            last: NO_TOKEN,
            blank: true,
            hist: NONE,
            word_start: 0,
            word_gap: 0.0,
            new_word: NONE,
            new_conf: 0.0,
            new_start: 0,
        }
    }

    /// This hypothesis after emitting unit `p` (scored `gap` below the frame's best) into
    /// trie node `node` at frame `t`; `word_begins` when it leaves the root.
    #[inline]
    fn advanced(
        &self,
        node: NodeId,
        p: u16,
        score: f32,
        word_begins: bool,
        t: u32,
        gap: f32,
    ) -> Self {
        let (word_start, word_gap) = if word_begins {
            (t, gap)
        } else {
            (self.word_start, self.word_gap + gap)
        };
        Hyp {
            score,
            node,
            last: p,
            blank: false,
            word_start,
            word_gap,
            new_word: NONE,
            new_conf: 0.0,
            new_start: 0,
            ..*self
        }
    }

    /// Confidence of the word in progress if it ends at frame `t`: the mean per-frame gap
    /// between the path's units and each frame's best, as a probability ratio.
    #[inline]
    fn conf_at(&self, t: u32) -> f32 {
        let frames = (t + 1).saturating_sub(self.word_start).max(1) as f32;
        (self.word_gap / frames).exp()
    }
}

#[derive(Debug, Clone, Copy)]
struct WordRec {
    word: u32,
    start: u32,
    end: u32,
    conf: f32,
    parent: u32,
}

/// The search's state after some frames ([`BeamDecoder::save_state`]): the beam, the word
/// history and the frame count. Going on from it ([`BeamDecoder::load_state`], then
/// [`BeamDecoder::advance`]) gives exactly what feeding every frame again would: live
/// partials decode only the frames after the last state kept. Only valid with a decoder
/// over the same lexicon, LM, entity trie and settings.
#[derive(Debug, Clone)]
pub struct BeamState<S> {
    cur: Vec<Hyp<S>>,
    arena: Vec<WordRec>,
    committed: Vec<DecodedWord>,
    frame: u32,
}

impl<S> Default for BeamState<S> {
    fn default() -> Self {
        BeamState {
            cur: Vec::new(),
            arena: Vec::new(),
            committed: Vec::new(),
            frame: 0,
        }
    }
}

impl<S> BeamState<S> {
    /// Frames decoded to reach this state (0: none, the start).
    pub fn frames(&self) -> u32 {
        self.frame
    }
}

/// A beam search decoder over one lexicon and LM. Build once, reuse for many utterances.
pub struct BeamDecoder<'a, L: LanguageModel> {
    lex: &'a Lexicon,
    lm: &'a L,
    /// The entity trie and its settings, when biasing is on. Its nodes are numbered after
    /// the lexicon's (`ent_base + node`) and its words after the lexicon's words.
    bias: Option<(&'a EntityTrie, SearchBias)>,
    ent_base: NodeId,
    ent_words: WordId,
    roles: TokenRoles,
    cfg: DecoderConfig,
    cur: Vec<Hyp<L::State>>,
    next: Vec<Hyp<L::State>>,
    index: SlotIndex,
    tok: Vec<f32>,
    arena: Vec<WordRec>,
    remap: Vec<u32>,
    /// Words moved out of the arena when it overflowed (rare; allocation allowed there).
    committed: Vec<DecodedWord>,
    frame: u32,
}

impl<'a, L: LanguageModel> BeamDecoder<'a, L> {
    /// Allocates every buffer the search will need.
    pub fn new(lex: &'a Lexicon, lm: &'a L, roles: TokenRoles, cfg: DecoderConfig) -> Self {
        Self::with_bias(lex, lm, roles, cfg, None)
    }

    /// A decoder that also walks an entity trie (see [`crate::bias`]).
    pub fn with_bias(
        lex: &'a Lexicon,
        lm: &'a L,
        roles: TokenRoles,
        cfg: DecoderConfig,
        bias: Option<(&'a EntityTrie, SearchBias)>,
    ) -> Self {
        let beam = cfg.beam_size.max(1);
        // Each hypothesis yields at most: blank, repeat, boundary, one per child, one per word
        // ending at any one child (children of both tries at the root).
        let (ent_children, ent_labels) = bias.map_or((0, 0), |(b, _)| {
            (b.trie().max_children(), b.trie().max_labels())
        });
        let per_hyp =
            3 + (lex.max_children() + ent_children) * (1 + lex.max_labels().max(ent_labels));
        let cand = beam * per_hyp;
        let history = cfg.history_capacity.max(4 * beam);
        let mut d = BeamDecoder {
            lex,
            lm,
            bias,
            ent_base: lex.num_nodes() as NodeId,
            ent_words: lex.num_words() as WordId,
            roles,
            cfg: DecoderConfig {
                beam_size: beam,
                history_capacity: history,
                ..cfg
            },
            cur: Vec::with_capacity(beam),
            next: Vec::with_capacity(cand),
            index: SlotIndex::new(cand),
            tok: vec![f32::NEG_INFINITY; roles.vocab],
            arena: Vec::with_capacity(history),
            remap: vec![NONE; history],
            committed: Vec::new(),
            frame: 0,
        };
        d.reset();
        d
    }

    /// The settings in use.
    pub fn config(&self) -> &DecoderConfig {
        &self.cfg
    }

    /// Starts a new utterance.
    pub fn reset(&mut self) {
        self.cur.clear();
        self.arena.clear();
        self.committed.clear();
        self.frame = 0;
        self.cur.push(Hyp::start(self.lm.start()));
    }

    /// Frames decoded since the last reset.
    pub fn frames(&self) -> u32 {
        self.frame
    }

    /// Copies the search's state into `out` (its buffers reused).
    pub fn save_state(&self, out: &mut BeamState<L::State>) {
        out.cur.clear();
        out.cur.extend_from_slice(&self.cur);
        out.arena.clear();
        out.arena.extend_from_slice(&self.arena);
        out.committed.clear();
        out.committed.extend_from_slice(&self.committed);
        out.frame = self.frame;
    }

    /// Goes back to a state saved by [`BeamDecoder::save_state`]; a state of no frames
    /// ([`BeamState::default`]) starts the utterance ([`BeamDecoder::reset`]).
    pub fn load_state(&mut self, state: &BeamState<L::State>) {
        if state.frame == 0 && state.cur.is_empty() {
            self.reset();
            return;
        }
        self.cur.clear();
        self.cur.extend_from_slice(&state.cur);
        self.arena.clear();
        self.arena.extend_from_slice(&state.arena);
        self.committed.clear();
        self.committed.extend_from_slice(&state.committed);
        self.frame = state.frame;
    }

    /// Feeds frames of log-posteriors (`frames.len()` a multiple of the vocabulary size).
    /// Allocates nothing.
    pub fn advance(&mut self, frames: &[f32]) {
        let v = self.roles.vocab;
        if v == 0 {
            return;
        }
        for row in frames.chunks_exact(v) {
            self.step(row);
        }
    }

    fn key_hash(h: &Hyp<L::State>) -> u64 {
        let mut s = FxHasher::default();
        h.node.hash(&mut s);
        h.lm.hash(&mut s);
        h.last.hash(&mut s);
        h.blank.hash(&mut s);
        s.finish()
    }

    /// Adds a candidate, merging with an equal state (keeping the better).
    #[inline]
    fn push(&mut self, h: Hyp<L::State>, floor: &mut f32, best: &mut f32) {
        if h.score < *floor || !h.score.is_finite() {
            return;
        }
        let hash = Self::key_hash(&h);
        let next = &self.next;
        let found = self.index.find(hash, |slot| {
            let o = &next[slot as usize];
            o.node == h.node && o.last == h.last && o.blank == h.blank && o.lm == h.lm
        });
        match found {
            Ok(slot) => {
                let o = &mut self.next[slot as usize];
                if h.score > o.score {
                    *o = h;
                }
            }
            Err(pos) => {
                if self.next.len() == self.next.capacity() {
                    return; // cannot happen by construction; never grow in the frame loop
                }
                self.index.insert_at(pos, self.next.len() as u32);
                self.next.push(h);
            }
        }
        // The pruning floor follows the best hypothesis outside the entity trie: ordinary
        // words are never pruned because a half-heard name looks better for a while.
        if h.score > *best && h.node < self.ent_base {
            *best = h.score;
            *floor = h.score - self.cfg.beam_threshold;
        }
    }

    fn step(&mut self, e: &[f32]) {
        let t = self.frame;
        let cfg = self.cfg;
        let blank = self.roles.blank as usize;
        let wb = self.roles.word_boundary;
        let mut max_e = f32::NEG_INFINITY;
        for &x in e {
            if x > max_e {
                max_e = x;
            }
        }
        if !max_e.is_finite() {
            // A frame of NaN or -inf carries no evidence: skip it rather than poison scores.
            self.frame += 1;
            return;
        }
        let cut = max_e - cfg.token_beam;
        for (dst, &x) in self.tok.iter_mut().zip(e) {
            *dst = if x >= cut { x } else { f32::NEG_INFINITY };
        }
        // Blank is never cut: waiting must stay possible for every hypothesis, or a frame
        // whose few likely units continue no word can leave only hypotheses stuck inside a
        // name that can never end.
        if e[blank].is_finite() {
            self.tok[blank] = e[blank];
        }
        self.next.clear();
        self.index.clear();
        let mut best = f32::NEG_INFINITY;
        let mut floor = f32::NEG_INFINITY;
        for i in 0..self.cur.len() {
            let h = self.cur[i];
            let base = Hyp {
                new_word: NONE,
                ..h
            };
            // Blank: stay.
            let sb = self.tok[blank];
            if sb.is_finite() {
                let mut n = base;
                n.score += sb;
                n.blank = true;
                n.word_gap += sb - max_e;
                self.push(n, &mut floor, &mut best);
            }
            // Repeat of the last token: stay.
            if h.last != NO_TOKEN && !h.blank {
                let s = self.tok[h.last as usize];
                if s.is_finite() {
                    let mut n = base;
                    n.score += s;
                    n.word_gap += s - max_e;
                    self.push(n, &mut floor, &mut best);
                }
            }
            // Word boundary, between words only.
            if let Some(wb) = wb {
                if h.node == ROOT && (h.last != wb || h.blank) {
                    let s = self.tok[wb as usize];
                    if s.is_finite() {
                        let mut n = base;
                        n.score += s + cfg.boundary_bonus;
                        n.last = wb;
                        n.blank = false;
                        self.push(n, &mut floor, &mut best);
                    }
                }
            }
            // Advance in the lexicon trie, or in the entity trie.
            if h.node < self.ent_base {
                self.expand_lexicon(&h, t, max_e, &mut floor, &mut best);
            }
            if let Some((ent, bcfg)) = self.bias {
                if h.node == ROOT {
                    self.expand_entities(&h, ent, bcfg, ROOT, t, max_e, &mut floor, &mut best);
                } else if h.node >= self.ent_base {
                    let local = h.node - self.ent_base;
                    self.expand_entities(&h, ent, bcfg, local, t, max_e, &mut floor, &mut best);
                }
            }
        }

        // Prune: threshold, then the best `beam_size`.
        // Words compete with the best word hypothesis; names with the best of all.
        let floor = best - cfg.beam_threshold;
        let best_all = self
            .next
            .iter()
            .fold(f32::NEG_INFINITY, |m, h| m.max(h.score));
        let ent_floor = best_all - cfg.beam_threshold;
        let base = self.ent_base;
        self.next
            .retain(|h| h.score >= if h.node >= base { ent_floor } else { floor });
        if self.next.len() > cfg.beam_size {
            keep_best(&mut self.next, cfg.beam_size, base);
        }
        if self.next.is_empty() {
            // Every path died (all tokens pruned): keep the old beam.
            self.frame += 1;
            return;
        }
        if self.arena.len() + self.next.len() > self.arena.capacity() {
            self.compact_history();
        }
        self.cur.clear();
        for i in 0..self.next.len() {
            let mut h = self.next[i];
            if h.new_word != NONE {
                h.hist = self.record(WordRec {
                    word: h.new_word,
                    start: h.new_start,
                    end: t + 1,
                    conf: h.new_conf,
                    parent: h.hist,
                });
                h.new_word = NONE;
            }
            self.cur.push(h);
        }
        self.frame += 1;
    }

    /// Children of `h` in the general lexicon: phones, and word completions scored by the LM.
    #[inline]
    fn expand_lexicon(
        &mut self,
        h: &Hyp<L::State>,
        t: u32,
        max_e: f32,
        floor: &mut f32,
        best: &mut f32,
    ) {
        let cfg = self.cfg;
        let lex = self.lex;
        let lm = self.lm;
        let la_here = lex.lookahead(h.node);
        for edge in lex.children(h.node) {
            let p = edge.token;
            let s = self.tok[p as usize];
            if !s.is_finite() || (p == h.last && !h.blank) {
                continue;
            }
            let la_child = lex.lookahead(edge.child);
            let score = h.score + s + cfg.lm_weight * (la_child - la_here);
            if score < *floor {
                continue;
            }
            let n = h.advanced(edge.child, p, score, h.node == ROOT, t, s - max_e);
            if !lex.children(edge.child).is_empty() {
                self.push(n, floor, best);
            }
            let (word_start, conf) = (n.word_start, n.conf_at(t));
            for &w in lex.labels(edge.child) {
                let (lp, st) = lm.score(h.lm, lex.lm_id(w));
                let done = Hyp {
                    score: score + cfg.lm_weight * (lp - la_child) + cfg.word_bonus,
                    node: ROOT,
                    lm: st,
                    word_start: t + 1,
                    word_gap: 0.0,
                    new_word: w,
                    new_conf: conf,
                    new_start: word_start,
                    ..n
                };
                self.push(done, floor, best);
            }
        }
    }

    /// Children of `h` in the entity trie (`local` is its node there): units with the
    /// adaptive boost, and entity completions scored through the class LM.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn expand_entities(
        &mut self,
        h: &Hyp<L::State>,
        ent: &EntityTrie,
        b: SearchBias,
        local: NodeId,
        t: u32,
        max_e: f32,
        floor: &mut f32,
        best: &mut f32,
    ) {
        let cfg = self.cfg;
        let trie = ent.trie();
        let la_here = ent.lookahead(local, &b, cfg.lm_weight);
        for edge in trie.children(local) {
            let p = edge.token;
            let s = self.tok[p as usize];
            if !s.is_finite() || (p == h.last && !h.blank) {
                continue;
            }
            let boost = if b.adaptive {
                b.phone_boost * (1.0 - (max_e - s) / b.gap_scale).max(0.0)
            } else {
                0.0
            };
            let la_child = ent.lookahead(edge.child, &b, cfg.lm_weight);
            let score = h.score + s + boost + (la_child - la_here);
            if score < *floor {
                continue;
            }
            let n = h.advanced(
                self.ent_base + edge.child,
                p,
                score,
                local == ROOT,
                t,
                s - max_e,
            );
            if !trie.children(edge.child).is_empty() {
                self.push(n, floor, best);
            }
            let labels = trie.labels(edge.child);
            if labels.is_empty() {
                continue;
            }
            let (word_start, conf) = (n.word_start, n.conf_at(t));
            for (i, &w) in labels.iter().enumerate() {
                let done = Hyp {
                    score: score + ent.completion_score(w, &b, cfg.lm_weight) - la_child
                        + trie.label_cost(edge.child, i)
                        + cfg.word_bonus,
                    node: ROOT,
                    lm: self.lm.null(),
                    word_start: t + 1,
                    word_gap: 0.0,
                    new_word: self.ent_words + w,
                    new_conf: conf,
                    new_start: word_start,
                    ..n
                };
                self.push(done, floor, best);
            }
        }
    }

    fn record(&mut self, rec: WordRec) -> u32 {
        if self.arena.len() == self.arena.capacity() {
            return rec.parent; // arena full even after compaction: drop (logged there)
        }
        self.arena.push(rec);
        (self.arena.len() - 1) as u32
    }

    /// Drops word records no surviving hypothesis refers to. If the live history alone fills
    /// the arena (a very long utterance), the best hypothesis' words are committed to the
    /// output and the beam continues from it alone.
    fn compact_history(&mut self) {
        let need = self.next.len();
        self.gc();
        if self.arena.len() + need <= self.arena.capacity() {
            return;
        }
        // Commit the best pending hypothesis' history and continue from it alone.
        let best = (0..self.next.len())
            .max_by(|&a, &b| self.next[a].score.total_cmp(&self.next[b].score))
            .unwrap_or(0);
        let mut chain = Vec::new();
        let mut at = self.next[best].hist;
        while at != NONE {
            let r = self.arena[at as usize];
            chain.push(DecodedWord {
                word: r.word,
                start: r.start,
                end: r.end,
                conf: r.conf,
            });
            at = r.parent;
        }
        chain.reverse();
        log::debug!(
            "decoder history full at frame {}: committing {} words",
            self.frame,
            chain.len()
        );
        self.committed.extend(chain);
        let keep = self.next[best];
        self.next.clear();
        self.next.push(Hyp { hist: NONE, ..keep });
        self.arena.clear();
    }

    /// Mark-and-compact of the word arena, without allocating. Parents always precede their
    /// children in the arena, so one forward pass rewrites it in place.
    fn gc(&mut self) {
        let n = self.arena.len();
        self.remap[..n].fill(NONE);
        const LIVE: u32 = NONE - 1;
        for h in self.next.iter().chain(self.cur.iter()) {
            let mut at = h.hist;
            while at != NONE && self.remap[at as usize] == NONE {
                self.remap[at as usize] = LIVE;
                at = self.arena[at as usize].parent;
            }
        }
        let mut w = 0usize;
        for i in 0..n {
            if self.remap[i] == NONE {
                continue;
            }
            let mut r = self.arena[i];
            if r.parent != NONE {
                r.parent = self.remap[r.parent as usize];
            }
            self.arena[w] = r;
            self.remap[i] = w as u32;
            w += 1;
        }
        self.arena.truncate(w);
        for h in self.next.iter_mut().chain(self.cur.iter_mut()) {
            if h.hist != NONE {
                h.hist = self.remap[h.hist as usize];
            }
        }
    }

    fn words_of(&self, mut at: u32, extra: Option<DecodedWord>) -> Vec<DecodedWord> {
        let mut out = Vec::new();
        if let Some(w) = extra {
            out.push(w);
        }
        while at != NONE {
            let r = self.arena[at as usize];
            out.push(DecodedWord {
                word: r.word,
                start: r.start,
                end: r.end,
                conf: r.conf,
            });
            at = r.parent;
        }
        out.reverse();
        let mut all = self.committed.clone();
        all.extend(out);
        all
    }

    /// The best hypothesis so far (complete words only). For partial results.
    pub fn best_partial(&self) -> Hypothesis {
        let best = self.cur.iter().max_by(|a, b| a.score.total_cmp(&b.score));
        match best {
            Some(h) => Hypothesis {
                words: self.words_of(h.hist, None),
                score: h.score,
            },
            None => Hypothesis {
                words: self.committed.clone(),
                score: 0.0,
            },
        }
    }

    /// Ends the utterance: completes words, adds the end-of-sentence LM score and returns the
    /// best distinct word sequences, best first.
    pub fn finish(&mut self) -> Vec<Hypothesis> {
        let cfg = self.cfg;
        let end = self.frame;
        let mut out: Vec<Hypothesis> = Vec::new();
        for h in &self.cur {
            if h.node == ROOT {
                out.push(Hypothesis {
                    words: self.words_of(h.hist, None),
                    score: h.score + cfg.lm_weight * self.lm.end(h.lm),
                });
                continue;
            }
            // A word whose last unit was just emitted (its completion may have been pruned).
            let conf = h.conf_at(end.saturating_sub(1));
            let extra = |w: u32| DecodedWord {
                word: w,
                start: h.word_start,
                end,
                conf,
            };
            if h.node >= self.ent_base {
                let Some((ent, b)) = self.bias else { continue };
                let local = h.node - self.ent_base;
                let la = ent.lookahead(local, &b, cfg.lm_weight);
                for (i, &w) in ent.trie().labels(local).iter().enumerate() {
                    let score = h.score + ent.completion_score(w, &b, cfg.lm_weight) - la
                        + ent.trie().label_cost(local, i)
                        + cfg.word_bonus
                        + cfg.lm_weight * self.lm.end(self.lm.null());
                    out.push(Hypothesis {
                        words: self.words_of(h.hist, Some(extra(self.ent_words + w))),
                        score,
                    });
                }
                continue;
            }
            let la = self.lex.lookahead(h.node);
            for &w in self.lex.labels(h.node) {
                let (lp, st) = self.lm.score(h.lm, self.lex.lm_id(w));
                let score = h.score + cfg.lm_weight * (lp - la + self.lm.end(st)) + cfg.word_bonus;
                out.push(Hypothesis {
                    words: self.words_of(h.hist, Some(extra(w))),
                    score,
                });
            }
        }
        log::debug!(
            "finish: {} hyps, {} at root, {} in entities, {} ended",
            self.cur.len(),
            self.cur.iter().filter(|h| h.node == ROOT).count(),
            self.cur.iter().filter(|h| h.node >= self.ent_base).count(),
            out.len()
        );
        if out.is_empty() {
            // Nothing ended cleanly: fall back to the best path's completed words.
            out.push(self.best_partial());
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut uniq: Vec<Hypothesis> = Vec::new();
        for h in out {
            let same = |u: &Hypothesis| {
                u.words.len() == h.words.len()
                    && u.words.iter().zip(&h.words).all(|(a, b)| a.word == b.word)
            };
            if !uniq.iter().any(same) {
                uniq.push(h);
            }
            if uniq.len() >= cfg.nbest.max(1) {
                break;
            }
        }
        uniq
    }
}

/// Keeps the best `beam` hypotheses of `hyps`, half of the places kept for ordinary words
/// (nodes below `ent_base`) while there are that many: boosted hypotheses inside names can
/// outscore every word for a while, and a beam holding only half-heard names has nothing
/// left to continue with when the name does not fit ("Selam Tesfamariam" swallowing
/// "asking about the tickets"). Allocation-free: reorders and truncates in place.
fn keep_best<S: Copy>(hyps: &mut Vec<Hyp<S>>, beam: usize, ent_base: NodeId) {
    if hyps.len() <= beam {
        return;
    }
    let by_score = |a: &Hyp<S>, b: &Hyp<S>| b.score.total_cmp(&a.score);
    // Words first.
    let mut words = 0;
    for i in 0..hyps.len() {
        if hyps[i].node < ent_base {
            hyps.swap(i, words);
            words += 1;
        }
    }
    let reserved = words.min(beam / 2);
    if reserved > 0 && reserved < words {
        hyps[..words].select_nth_unstable_by(reserved - 1, by_score);
    }
    let rest = beam - reserved;
    if rest > 0 && hyps.len() - reserved > rest {
        hyps[reserved..].select_nth_unstable_by(rest - 1, by_score);
    }
    hyps.truncate(beam);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unigram LM over word ids for tests.
    struct Uni(Vec<f32>);
    impl LanguageModel for Uni {
        type State = u8;
        fn start(&self) -> u8 {
            0
        }
        fn score(&self, _: u8, w: u32) -> (f32, u8) {
            (self.0[w as usize], 0)
        }
        fn end(&self, _: u8) -> f32 {
            0.0
        }
        fn null(&self) -> u8 {
            0
        }
    }

    fn hyp(score: f32, node: NodeId) -> Hyp<u8> {
        Hyp {
            score,
            node,
            ..Hyp::start(0)
        }
    }

    #[test]
    fn names_never_take_more_than_half_the_beam_from_words() {
        // Nodes >= 100 are inside names; the six names all outscore the four words.
        let mut v: Vec<Hyp<u8>> = (0..6).map(|i| hyp(10.0 - i as f32, 100 + i)).collect();
        v.extend((0..4).map(|i| hyp(-(i as f32), i)));
        keep_best(&mut v, 4, 100);
        let mut kept: Vec<NodeId> = v.iter().map(|h| h.node).collect();
        kept.sort_unstable();
        // Two places for the best two words, two for the best of the rest (two names).
        assert_eq!(kept, vec![0, 1, 100, 101]);
        // Fewer words than half the beam: names fill the other places.
        let mut v: Vec<Hyp<u8>> = (0..6).map(|i| hyp(10.0 - i as f32, 100 + i)).collect();
        v.push(hyp(-5.0, 3));
        keep_best(&mut v, 4, 100);
        let mut kept: Vec<NodeId> = v.iter().map(|h| h.node).collect();
        kept.sort_unstable();
        assert_eq!(kept, vec![3, 100, 101, 102]);
        // Words that outscore names are kept by score as before.
        let mut v: Vec<Hyp<u8>> = (0..6).map(|i| hyp(-10.0 - i as f32, 100 + i)).collect();
        v.extend((0..4).map(|i| hyp(-(i as f32), i)));
        keep_best(&mut v, 4, 100);
        assert!(v.iter().all(|h| h.node < 100));
    }

    // Tokens: 0 blank, 1 wb, 2.. phones.
    const V: usize = 8;
    fn roles() -> TokenRoles {
        TokenRoles {
            vocab: V,
            blank: 0,
            word_boundary: Some(1),
        }
    }

    fn lexicon() -> Lexicon {
        let entries = vec![
            ("cat", vec![2, 3, 4]),
            ("cap", vec![2, 3, 5]),
            ("at", vec![3, 4]),
            ("a", vec![3]),
            ("tack", vec![4, 3, 2]),
            ("see", vec![6, 6]),
        ];
        let ids = ["cat", "cap", "at", "a", "tack", "see"];
        Lexicon::build(entries, |w| {
            ids.iter().position(|x| *x == w).map(|i| (i as u32, -1.0))
        })
        .unwrap()
    }

    /// Frames where `seq[i]` has probability 0.9 and the rest share 0.1.
    fn frames(seq: &[u16]) -> Vec<f32> {
        let mut out = Vec::new();
        for &s in seq {
            for v in 0..V {
                out.push(if v == s as usize {
                    0.9f32.ln()
                } else {
                    (0.1f32 / 7.0).ln()
                });
            }
        }
        out
    }

    fn decode(seq: &[u16]) -> Vec<String> {
        let lex = lexicon();
        let lm = Uni(vec![-1.0; 6]);
        let mut d = BeamDecoder::new(&lex, &lm, roles(), DecoderConfig::default());
        d.advance(&frames(seq));
        let best = d.finish().remove(0);
        best.words
            .iter()
            .map(|w| lex.word(w.word).to_string())
            .collect()
    }

    #[test]
    fn decodes_words_separated_by_boundary_and_blanks() {
        assert_eq!(
            decode(&[0, 2, 2, 3, 0, 4, 1, 1, 4, 3, 0, 2, 0]),
            vec!["cat", "tack"]
        );
    }

    #[test]
    fn a_name_that_looks_far_better_for_a_while_does_not_prune_every_word() {
        // "Catz" = 2 3 4 5, boosted hugely: after "cat" it leads every word path by far, then
        // the audio goes on with "tack" and the name can never end.
        let lex = lexicon();
        let lm = Uni(vec![-1.0; 6]);
        let ent = EntityTrie::build(
            vec![crate::bias::BiasEntry {
                display: "Catz".into(),
                words: vec!["catz".into()],
                weight: 1.0,
                partial: false,
                family: false,
            }],
            |_| vec![vec![2, 3, 4, 5]],
            Some(1),
            4,
        )
        .unwrap();
        let bias = SearchBias {
            phone_boost: 10.0,
            class_lm: false,
            ..SearchBias::default()
        };
        let mut d = BeamDecoder::with_bias(
            &lex,
            &lm,
            roles(),
            DecoderConfig::default(),
            Some((&ent, bias)),
        );
        // Every other unit far below the frame's best: unit 5 never comes.
        let seq = [0u16, 2, 0, 3, 0, 4, 1, 4, 0, 3, 0, 2, 0];
        let f: Vec<f32> = seq
            .iter()
            .flat_map(|&s| (0..V).map(move |v| if v == s as usize { -0.1 } else { -12.0 }))
            .collect();
        d.advance(&f);
        let best = d.finish().remove(0);
        let n = lex.num_words() as u32;
        let words: Vec<&str> = best
            .words
            .iter()
            .map(|w| if w.word < n { lex.word(w.word) } else { "Catz" })
            .collect();
        assert_eq!(words, vec!["cat", "tack"]);
    }

    #[test]
    fn repeated_unit_needs_a_blank_to_count_twice() {
        assert_eq!(decode(&[0, 6, 0, 6, 0]), vec!["see"]);
        // Without the blank, 6 6 is one emission of 6: no word has that pronunciation.
        assert!(decode(&[0, 6, 6, 0]).is_empty());
    }

    #[test]
    fn word_times_come_from_the_alignment() {
        let lex = lexicon();
        let lm = Uni(vec![-1.0; 6]);
        let mut d = BeamDecoder::new(&lex, &lm, roles(), DecoderConfig::default());
        d.advance(&frames(&[0, 0, 2, 3, 5, 1, 1, 1, 3, 4, 0]));
        let h = d.finish().remove(0);
        let got: Vec<(&str, u32, u32)> = h
            .words
            .iter()
            .map(|w| (lex.word(w.word), w.start, w.end))
            .collect();
        assert_eq!(got, vec![("cap", 2, 5), ("at", 8, 10)]);
        assert!(h.words.iter().all(|w| w.conf > 0.8 && w.conf <= 1.0));
    }

    #[test]
    fn lm_breaks_acoustic_ties() {
        // "a" + "tack"... vs "at" + ...: the acoustics 3 4 3 2 fit "at" then nothing, or
        // "a" "tack"? (3)(4 3 2) = a tack. Only "a tack" covers all units.
        assert_eq!(decode(&[3, 0, 4, 3, 2, 0]), vec!["a", "tack"]);
    }

    #[test]
    fn empty_and_silent_input_give_no_words() {
        assert!(decode(&[]).is_empty());
        assert!(decode(&[0, 0, 1, 1, 0]).is_empty());
    }

    #[test]
    fn long_input_commits_history_instead_of_failing() {
        let lex = lexicon();
        let lm = Uni(vec![-1.0; 6]);
        let cfg = DecoderConfig {
            history_capacity: 8,
            beam_size: 2,
            ..DecoderConfig::default()
        };
        let mut d = BeamDecoder::new(&lex, &lm, roles(), cfg);
        let mut seq = Vec::new();
        for _ in 0..50 {
            seq.extend_from_slice(&[2, 3, 4, 1]);
        }
        d.advance(&frames(&seq));
        let h = d.finish().remove(0);
        assert_eq!(h.words.len(), 50);
        assert!(h.words.iter().all(|w| lex.word(w.word) == "cat"));
        assert!(h.words.windows(2).all(|p| p[0].end <= p[1].start));
    }

    #[test]
    fn nan_frames_are_skipped() {
        let lex = lexicon();
        let lm = Uni(vec![-1.0; 6]);
        let mut d = BeamDecoder::new(&lex, &lm, roles(), DecoderConfig::default());
        let mut f = frames(&[2, 3, 4]);
        f.extend(std::iter::repeat_n(f32::NAN, V));
        d.advance(&f);
        let h = d.finish().remove(0);
        assert_eq!(h.words.len(), 1);
    }
}
