//! The in-memory LM: a reversed (suffix) trie of bit-packed n-gram records.
//!
//! This is the representation of sphinxbase's "trie" LM (itself KenLM's), shared by
//! both readers: the sphinx reader points it at the memory-mapped file, the ARPA
//! reader packs a buffer of its own with the same layout.
//!
//! Layout:
//! - `unigrams[w]` holds ln p(w), ln backoff(w) and `next`; the records of level 2
//!   whose *last* word is `w` are `unigrams[w].next .. unigrams[w + 1].next`
//!   (one sentinel unigram at the end).
//! - Level `k` (order `k` >= 2) is an array of bit-packed records, sorted by
//!   parent and then by word. The record reached from unigram `w_k` through
//!   `w_{k-1}, ..., w_1` stands for the n-gram `w_1 .. w_k`; it stores the word
//!   `w_1` (the *oldest* word), a quantized ln p(w_k | w_1 .. w_{k-1}), and, below
//!   the top order, a quantized ln backoff of `w_1 .. w_k` as a context plus the
//!   index of its first child in level `k + 1` (the next record's pointer ends the
//!   range; a sentinel record at the end of each array closes the last range).
//! - Record fields, from the lowest bit up: word, backoff index, prob index, next.
//!   The indices select values in per-level tables of f32 (ln).
//!
//! Everything the query path touches is validated once in [`Trie::new`]: the
//! buffer is long enough for every record and its 8-byte read window, child
//! ranges are in bounds and monotone, words are in the vocabulary and strictly
//! increasing among siblings. After that, queries cannot leave their arrays.
//!
//! States ([`Ctx`]) are KenLM-style minimal: slot 0 is the newest context word, and
//! slot `j >= 1` is the index in level `j + 1` of the record for the newest `j + 1`
//! context words, so the word of slot `j` and the context's backoff are one read
//! away. A context is kept only while it can still matter: it has a longer n-gram
//! continuing it to the right, or a non-zero backoff. Each stored value is `x + 1`
//! (0 = empty), so the all-zero state is the empty (unigram) context.

use super::bits;
use crate::cache::{BlobReader, BlobWriter};

/// The layout of [`Trie::analysis`]: bump it whenever [`Trie::analyze`]'s results change
/// meaning, so that remembered analyses of older builds are not taken.
const ANALYSIS_VERSION: u64 = 2;

/// Highest n-gram order supported (sphinxbase's limit too).
pub(crate) const MAX_ORDER: usize = 5;
/// Context slots in a state.
pub(crate) const MAX_CTX: usize = MAX_ORDER - 1;
/// A state's slots: see the module docs.
pub(crate) type Ctx = [u32; MAX_CTX];

/// The bytes the bit-packed levels live in.
pub(crate) enum Backing {
    /// A read-only memory map of the LM file.
    Mmap(memmap2::Mmap),
    /// A buffer of our own (ARPA input, tests).
    Owned(Vec<u8>),
}

impl Backing {
    #[inline(always)]
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Backing::Mmap(m) => m,
            Backing::Owned(v) => v,
        }
    }
}

/// One unigram: ln p, ln backoff, and the start of its children in level 2.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Unigram {
    pub prob: f32,
    pub bo: f32,
    pub next: u32,
}

/// How a reader lays out one level `k >= 2` in the backing buffer.
pub(crate) struct LevelSpec {
    /// Byte offset of record 0 in the backing buffer.
    pub byte_offset: usize,
    /// Records allocated (a sentinel record follows them).
    pub count: u32,
    pub word_bits: u8,
    /// 0 for the top order (no backoff, no children).
    pub bo_bits: u8,
    pub prob_bits: u8,
    /// 0 for the top order.
    pub next_bits: u8,
    /// ln probabilities, at least `1 << prob_bits` of them.
    pub prob_table: Vec<f32>,
    /// ln backoffs, at least `1 << bo_bits` of them.
    pub bo_table: Vec<f32>,
    /// Optional bit set of "inert" records: blanks that only stand in for a
    /// back-off (an ARPA reader's missing suffixes). Their existence changes no
    /// score, so they do not make their context worth keeping in a state.
    /// Empty: every record counts.
    pub inert: Vec<u64>,
}

impl LevelSpec {
    /// Bits in one record.
    pub(crate) fn total_bits(&self) -> u64 {
        self.word_bits as u64 + self.bo_bits as u64 + self.prob_bits as u64 + self.next_bits as u64
    }

    /// Bytes the level takes: all records, the sentinel, rounded up, plus the
    /// 8-byte read window (sphinxbase's `base_size`).
    pub(crate) fn byte_len(&self) -> u64 {
        ((self.count as u64 + 1) * self.total_bits()).div_ceil(8) + 8
    }
}

/// One validated level.
struct Level {
    /// Bit offset of record 0.
    base: u64,
    /// Reachable records (indices `0..count`; the sentinel is `count`).
    count: u32,
    total: u64,
    word_mask: u64,
    bo_shift: u64,
    bo_mask: u64,
    prob_shift: u64,
    prob_mask: u64,
    next_shift: u64,
    next_mask: u64,
    prob_table: Box<[f32]>,
    bo_table: Box<[f32]>,
    /// Bit set: keep this context in a state (empty for the top order).
    keep: Vec<u64>,
    /// See [`LevelSpec::inert`].
    inert: Vec<u64>,
}

impl Level {
    #[inline(always)]
    fn bit(&self, i: u32) -> u64 {
        self.base + i as u64 * self.total
    }

    #[inline(always)]
    fn word(&self, data: &[u8], i: u32) -> u32 {
        bits::read(data, self.bit(i), self.word_mask) as u32
    }

    #[inline(always)]
    fn prob(&self, data: &[u8], i: u32) -> f32 {
        self.prob_table[bits::read(data, self.bit(i) + self.prob_shift, self.prob_mask) as usize]
    }

    #[inline(always)]
    fn bo(&self, data: &[u8], i: u32) -> f32 {
        self.bo_table[bits::read(data, self.bit(i) + self.bo_shift, self.bo_mask) as usize]
    }

    #[inline(always)]
    fn next(&self, data: &[u8], i: u32) -> u32 {
        bits::read(data, self.bit(i) + self.next_shift, self.next_mask) as u32
    }

    #[inline(always)]
    fn keep(&self, i: u32) -> bool {
        self.keep[(i >> 6) as usize] >> (i & 63) & 1 != 0
    }

    /// Index of the record with word `key` among records `begin..end` (sorted by
    /// word), by interpolation search as in KenLM / sphinxbase. Words are below
    /// `vocab`. Always terminates inside the range, even on unsorted data.
    #[inline]
    fn find(&self, data: &[u8], begin: u32, end: u32, key: u32, vocab: u32) -> Option<u32> {
        if key >= vocab {
            return None;
        }
        let key = key as u64;
        // Invariant: records lo and hi (exclusive bounds) hold words lo_v <= key < hi_v.
        let (mut lo, mut lo_v) = (begin as i64 - 1, 0u64);
        let (mut hi, mut hi_v) = (end as i64, vocab as u64);
        while hi - lo > 1 {
            let width = (hi - lo - 1) as u64;
            let pivot = lo + 1 + ((key - lo_v) * width / (hi_v - lo_v + 1)) as i64;
            let mid = self.word(data, pivot as u32) as u64;
            if mid < key {
                lo = pivot;
                lo_v = mid;
            } else if mid > key {
                hi = pivot;
                hi_v = mid;
            } else {
                return Some(pivot as u32);
            }
        }
        None
    }
}

/// What [`Trie::for_each_ngram`] calls: words oldest first, ln prob, ln backoff.
pub(crate) type NgramVisitor<'a> = dyn FnMut(&[u32], f32, Option<f32>) + 'a;

/// The whole LM minus its vocabulary strings.
pub(crate) struct Trie {
    data: Backing,
    order: usize,
    vocab: u32,
    /// `vocab + 1` entries (the last one is the sentinel).
    unigrams: Vec<Unigram>,
    /// Bit set over words: keep a one-word context.
    uni_keep: Vec<u64>,
    /// Orders 2..=order.
    levels: Vec<Level>,
}

fn bitset(n: usize) -> Vec<u64> {
    vec![0u64; n.div_ceil(64)]
}

#[inline]
fn set_bit(set: &mut [u64], i: u32) {
    set[(i >> 6) as usize] |= 1 << (i & 63);
}

#[inline(always)]
fn get_bit(set: &[u64], i: u32) -> bool {
    set[(i >> 6) as usize] >> (i & 63) & 1 != 0
}

impl Trie {
    /// Validates a trie laid out by a reader and precomputes the state-minimization
    /// bits. `unigrams` has `vocab + 1` entries; `levels` has `order - 1` specs.
    /// Errors are human-readable reasons the data is malformed.
    pub(crate) fn new(
        data: Backing,
        unigrams: Vec<Unigram>,
        specs: Vec<LevelSpec>,
    ) -> Result<Trie, String> {
        Self::with_analysis(data, unigrams, specs, None).map(|(t, _)| t)
    }

    /// [`Trie::new`], taking the result of the full walk from `known` when it was made on
    /// these very bytes before (the caller's promise, see `crate::cache`) and fits the
    /// layout; `true` when the walk ran (its result is then [`Trie::analysis`]).
    pub(crate) fn with_analysis(
        data: Backing,
        unigrams: Vec<Unigram>,
        specs: Vec<LevelSpec>,
        known: Option<&[u8]>,
    ) -> Result<(Trie, bool), String> {
        let order = specs.len() + 1;
        if order > MAX_ORDER {
            return Err(format!("order {order} is above the supported {MAX_ORDER}"));
        }
        if unigrams.is_empty() {
            return Err("no unigram table".into());
        }
        let vocab = u32::try_from(unigrams.len() - 1).map_err(|_| "vocabulary too large")?;
        for (w, u) in unigrams[..vocab as usize].iter().enumerate() {
            if !u.prob.is_finite() || !u.bo.is_finite() {
                return Err(format!("unigram {w} has a non-finite weight"));
            }
        }
        let bytes = data.bytes();
        let mut levels = Vec::with_capacity(specs.len());
        for (li, s) in specs.into_iter().enumerate() {
            let k = li + 2;
            let top = k == order;
            if s.word_bits > 32 || s.prob_bits > 30 || s.bo_bits > 30 || s.next_bits > 32 {
                return Err(format!("level {k}: field widths out of range"));
            }
            if top && (s.next_bits != 0 || s.bo_bits != 0) {
                return Err(format!("level {k}: top order with backoffs or children"));
            }
            let end = (s.byte_offset as u64).checked_add(s.byte_len());
            if end.is_none_or(|e| e > bytes.len() as u64) {
                return Err(format!(
                    "level {k}: {} records do not fit in the file",
                    s.count
                ));
            }
            if !s.inert.is_empty() && s.inert.len() < (s.count as usize).div_ceil(64) {
                return Err(format!("level {k}: inert bit set too short"));
            }
            if s.prob_table.len() < 1 << s.prob_bits || s.bo_table.len() < 1 << s.bo_bits {
                return Err(format!("level {k}: quantization table too short"));
            }
            if s.prob_table
                .iter()
                .chain(&s.bo_table)
                .any(|v| !v.is_finite())
            {
                return Err(format!("level {k}: non-finite value in quantization table"));
            }
            let bo_shift = s.word_bits as u64;
            let prob_shift = bo_shift + s.bo_bits as u64;
            let next_shift = prob_shift + s.prob_bits as u64;
            levels.push(Level {
                base: s.byte_offset as u64 * 8,
                count: s.count,
                total: s.total_bits(),
                word_mask: bits::mask(s.word_bits),
                bo_shift,
                bo_mask: bits::mask(s.bo_bits),
                prob_shift,
                prob_mask: bits::mask(s.prob_bits),
                next_shift,
                next_mask: bits::mask(s.next_bits),
                prob_table: s.prob_table.into_boxed_slice(),
                bo_table: s.bo_table.into_boxed_slice(),
                keep: Vec::new(),
                inert: s.inert,
            });
        }
        let mut trie = Trie {
            data,
            order,
            vocab,
            unigrams,
            uni_keep: bitset(vocab as usize),
            levels,
        };
        if known.is_some_and(|k| trie.apply(k)) {
            return Ok((trie, false));
        }
        let t0 = std::time::Instant::now();
        trie.analyze()?;
        log::debug!("LM trie: validated in {:?}", t0.elapsed());
        Ok((trie, true))
    }

    /// What [`Trie::analyze`] found, as bytes ([`BlobWriter`]): a version, then the one-word
    /// keep bits and each level's reachable count and keep bits.
    pub(crate) fn analysis(&self) -> Vec<u8> {
        let mut w = BlobWriter::default();
        w.u64(ANALYSIS_VERSION);
        w.u64s(&self.uni_keep);
        for l in &self.levels {
            w.u64(u64::from(l.count));
            w.u64s(&l.keep);
        }
        w.0
    }

    /// Takes [`Trie::analysis`]'s bytes if they fit this trie's layout (version, sizes, counts
    /// within the records the file holds); `false` leaves the trie as it was.
    fn apply(&mut self, bytes: &[u8]) -> bool {
        /// The one-word keep bits, then each level's reachable count and keep bits.
        type Analysis = (Vec<u64>, Vec<(u32, Vec<u64>)>);
        let parse = |r: &mut BlobReader| -> Option<Analysis> {
            if r.u64()? != ANALYSIS_VERSION {
                return None;
            }
            let uni = r
                .u64s()
                .filter(|u| u.len() == bitset(self.vocab as usize).len())?;
            let mut levels = Vec::with_capacity(self.levels.len());
            let mut bound = self.unigrams[self.vocab as usize].next;
            for (li, l) in self.levels.iter().enumerate() {
                let count = u32::try_from(r.u64()?).ok()?;
                // The reachable records are those the level above points into.
                if count > l.count || count != bound {
                    return None;
                }
                let top = li + 1 == self.levels.len();
                let words = if top { 0 } else { bitset(count as usize).len() };
                let keep = r.u64s().filter(|k| k.len() == words)?;
                bound = if top {
                    0
                } else {
                    l.next(self.data.bytes(), count)
                };
                levels.push((count, keep));
            }
            r.is_empty().then_some((uni, levels))
        };
        let Some((uni, levels)) = parse(&mut BlobReader(bytes)) else {
            return false;
        };
        self.uni_keep = uni;
        for (l, (count, keep)) in self.levels.iter_mut().zip(levels) {
            l.count = count;
            l.keep = keep;
        }
        true
    }

    /// One pass per level that validates the records and computes the state bits.
    ///
    /// Validation: every child range lies in the next level and ranges are
    /// monotone (so they tile `0..reachable`), every word is in the vocabulary.
    /// Each level's `count` shrinks to the records actually reachable (sphinxbase
    /// may allocate a few more than it writes). Siblings out of order are only
    /// counted: sphinxbase writes a few, and its search (the same interpolation
    /// search as ours) may then miss them, so scores still agree.
    ///
    /// State bits: a context is kept in a state if its backoff is non-zero or some
    /// longer n-gram extends it to the right. The trie is keyed by the *last* word,
    /// so "does `w_1 .. w_k x` exist for some `x`" needs a join: every record
    /// `w_1 .. w_k x` of order `k + 1` is bucketed under the record of `w_2 .. w_k`
    /// (known from its parent `w_2 .. w_k x`) and looked up among that record's
    /// children by its word `w_1`.
    fn analyze(&mut self) -> Result<(), String> {
        const NONE: u32 = u32::MAX;
        let data = self.data.bytes();
        let v = self.vocab;
        let nl = self.levels.len();
        if self.unigrams[0].next != 0 {
            return Err("children of the first unigram do not start at record 0".into());
        }
        for w in 0..v as usize {
            if self.unigrams[w + 1].next < self.unigrams[w].next {
                return Err(format!("unigram {w}: child pointers go backwards"));
            }
            if self.unigrams[w].bo != 0.0 {
                set_bit(&mut self.uni_keep, w as u32);
            }
        }
        let mut hi = self.unigrams[v as usize].next;
        let mut unsorted = 0usize;
        let mut missing = 0usize;
        let mut keeps: Vec<Vec<u64>> = Vec::with_capacity(nl);
        // Join of level li: children counts per key, filled while reading the parents.
        let mut key_counts: Vec<u32> = Vec::new();
        // ctx[p]: the record (one order down) of record p's context, for the level above.
        let mut ctx: Vec<u32> = Vec::new();
        // Word -> (key stamp << 32 | record) for the join lookups.
        let mut pos: Vec<u64> = Vec::new();
        for li in 0..nl {
            let k = li + 2;
            let top = li + 1 == nl;
            let lvl = &self.levels[li];
            if hi > lvl.count {
                return Err(format!(
                    "level {k}: child pointer {hi} beyond {} records",
                    lvl.count
                ));
            }
            let parents = if li == 0 {
                v
            } else {
                self.levels[li - 1].count
            };
            let parent_end = |p: u32| {
                if li == 0 {
                    self.unigrams[p as usize + 1].next
                } else {
                    self.levels[li - 1].next(data, p + 1)
                }
            };
            // Join keys: a parent's context record (li >= 1). Words for li == 1.
            let key_of = |p: u32| {
                if li == 1 {
                    self.levels[0].word(data, p)
                } else {
                    ctx[p as usize]
                }
            };
            let n_keys = match li {
                0 => 0,
                1 => v as usize,
                _ => self.levels[li - 2].count as usize,
            };
            if li >= 2 {
                key_counts = vec![0u32; n_keys + 1];
                let mut b = 0;
                for p in 0..parents {
                    let e = parent_end(p);
                    let key = key_of(p);
                    if key != NONE {
                        key_counts[key as usize] += e - b;
                    }
                    b = e;
                }
            }
            // Bucket starts (exclusive prefix sums).
            let mut fill = Vec::new();
            let mut words = Vec::new();
            let mut recs = Vec::new();
            if li >= 1 {
                let mut acc = 0u32;
                fill = key_counts
                    .iter()
                    .map(|&c| {
                        let s = acc;
                        acc += c;
                        s
                    })
                    .collect::<Vec<u32>>();
                words = vec![0u32; acc as usize];
                if !top {
                    recs = vec![0u32; acc as usize];
                }
            }
            let mut next_counts = if li == 0 && nl >= 2 {
                vec![0u32; v as usize + 1]
            } else {
                Vec::new()
            };
            let mut keep = if top { Vec::new() } else { bitset(hi as usize) };
            let mut nprev = 0;
            if !top && lvl.next(data, 0) != 0 {
                return Err(format!("level {k}: children do not start at record 0"));
            }
            let mut i = 0u32;
            for p in 0..parents {
                let e = parent_end(p);
                let key = if li >= 1 { key_of(p) } else { NONE };
                let mut prev_w = None;
                while i < e {
                    let w = lvl.word(data, i);
                    if w >= v {
                        return Err(format!("level {k}: word id {w} out of range"));
                    }
                    if prev_w.is_some_and(|pw| w <= pw) {
                        unsorted += 1;
                    }
                    prev_w = Some(w);
                    let real = lvl.inert.is_empty() || !get_bit(&lvl.inert, i);
                    if li == 0 {
                        if real {
                            set_bit(&mut self.uni_keep, w);
                        }
                    } else if key != NONE {
                        let at = &mut fill[key as usize];
                        words[*at as usize] = w;
                        if !top {
                            recs[*at as usize] = i;
                        }
                        *at += 1;
                    }
                    if !top {
                        if lvl.bo(data, i) != 0.0 {
                            set_bit(&mut keep, i);
                        }
                        let n = lvl.next(data, i + 1);
                        if n < nprev {
                            return Err(format!("level {k}: child pointers go backwards"));
                        }
                        if li == 0 && nl >= 2 {
                            next_counts[w as usize] += n - nprev;
                        }
                        nprev = n;
                    }
                    i += 1;
                }
            }
            debug_assert_eq!(i, hi);
            // Resolve the join: mark the extended contexts one level down.
            if li >= 1 {
                if pos.is_empty() {
                    pos = vec![0u64; v as usize];
                } else {
                    pos.fill(0);
                }
                let lower = &self.levels[li - 1];
                let lower_keep = &mut keeps[li - 1];
                let mut next_ctx = if top {
                    Vec::new()
                } else {
                    vec![NONE; hi as usize]
                };
                let mut start = 0usize;
                for (key, &end) in fill.iter().enumerate().take(n_keys) {
                    let bucket = start..end as usize;
                    start = end as usize;
                    if bucket.is_empty() {
                        continue;
                    }
                    let kids = if li == 1 {
                        self.unigrams[key].next..self.unigrams[key + 1].next
                    } else {
                        let kl = &self.levels[li - 2];
                        kl.next(data, key as u32)..kl.next(data, key as u32 + 1)
                    };
                    let stamp = (key as u64 + 1) << 32;
                    for r in kids {
                        pos[lower.word(data, r) as usize] = stamp | r as u64;
                    }
                    for at in bucket {
                        let hit = pos[words[at] as usize];
                        if hit & !0xffff_ffff != stamp {
                            missing += 1;
                            continue;
                        }
                        if top || lvl.inert.is_empty() || !get_bit(&lvl.inert, recs[at]) {
                            set_bit(lower_keep, hit as u32);
                        }
                        if !top {
                            next_ctx[recs[at] as usize] = hit as u32;
                        }
                    }
                }
                ctx = next_ctx;
            }
            if li == 0 {
                key_counts = next_counts;
            }
            keeps.push(keep);
            self.levels[li].count = hi;
            hi = nprev;
        }
        for (lvl, k) in self.levels.iter_mut().zip(keeps) {
            lvl.keep = k;
        }
        if unsorted > 0 {
            log::debug!("LM: {unsorted} n-gram records out of order among their siblings");
        }
        if missing > 0 {
            log::warn!(
                "LM: {missing} n-grams lack their prefix n-gram; contexts through them back off"
            );
        }
        Ok(())
    }

    /// Order of the LM.
    #[inline]
    pub(crate) fn order(&self) -> usize {
        self.order
    }

    /// Vocabulary size.
    #[inline]
    pub(crate) fn vocab(&self) -> u32 {
        self.vocab
    }

    /// ln p(w) from the unigram table. `w < vocab`.
    #[inline]
    pub(crate) fn unigram(&self, w: u32) -> f32 {
        self.unigrams[w as usize].prob
    }

    /// Records per order (reachable ones), for reports.
    pub(crate) fn counts(&self) -> Vec<u32> {
        let mut c = vec![self.vocab];
        c.extend(self.levels.iter().map(|l| l.count));
        c
    }

    /// The minimal state for the one-word context `w`.
    pub(crate) fn word_ctx(&self, w: u32) -> Ctx {
        let mut c = [0; MAX_CTX];
        if get_bit(&self.uni_keep, w) {
            c[0] = w + 1;
        }
        c
    }

    /// Context words of a state, newest first.
    pub(crate) fn ctx_words(&self, ctx: &Ctx) -> Vec<u32> {
        let data = self.data.bytes();
        let mut out = Vec::new();
        for (j, &s) in ctx.iter().enumerate() {
            if s == 0 {
                break;
            }
            out.push(if j == 0 {
                s - 1
            } else {
                self.levels[j - 1].word(data, s - 1)
            });
        }
        out
    }

    /// ln p(w | ctx) with backoff, and the minimal state after `w`. `w < vocab`.
    #[inline]
    pub(crate) fn score(&self, ctx: &Ctx, w: u32) -> (f32, Ctx) {
        let data = self.data.bytes();
        let wi = w as usize;
        let mut prob = self.unigrams[wi].prob;
        let mut begin = self.unigrams[wi].next;
        let mut end = self.unigrams[wi + 1].next;
        let mut out = [0u32; MAX_CTX];
        out[0] = w + 1;
        let mut keep_len = get_bit(&self.uni_keep, w) as usize;
        let ctx_len = ctx.iter().take_while(|&&s| s != 0).count();
        let middles = self.levels.len().saturating_sub(1);
        let mut matched = 0;
        while matched < ctx_len && begin < end {
            let key = if matched == 0 {
                ctx[0] - 1
            } else {
                self.levels[matched - 1].word(data, ctx[matched] - 1)
            };
            let lvl = &self.levels[matched];
            let Some(i) = lvl.find(data, begin, end, key, self.vocab) else {
                break;
            };
            prob = lvl.prob(data, i);
            if matched >= middles {
                matched += 1;
                break;
            }
            matched += 1;
            out[matched] = i + 1;
            if lvl.keep(i) {
                keep_len = matched + 1;
            }
            begin = lvl.next(data, i);
            end = lvl.next(data, i + 1);
        }
        // Back off through the contexts that were not matched.
        for (j, &s) in ctx.iter().enumerate().take(ctx_len).skip(matched) {
            prob += if j == 0 {
                self.unigrams[s as usize - 1].bo
            } else {
                self.levels[j - 1].bo(data, s - 1)
            };
        }
        for s in &mut out[keep_len..] {
            *s = 0;
        }
        (prob, out)
    }

    /// Calls `f(words, ln prob, ln backoff)` for every stored n-gram of order `n`
    /// (`1..=order`), words oldest first, backoff `None` at the top order. Inert blanks
    /// (back-off stand-ins of an ARPA reader) are skipped, their children are not.
    pub(crate) fn for_each_ngram(&self, n: usize, f: &mut NgramVisitor) {
        if n == 0 || n > self.order {
            return;
        }
        let top = n == self.order;
        let mut rev = vec![0u32; n];
        for w in 0..self.vocab {
            let u = &self.unigrams[w as usize];
            if n == 1 {
                f(&[w], u.prob, if top { None } else { Some(u.bo) });
                continue;
            }
            rev[0] = w;
            let end = self.unigrams[w as usize + 1].next;
            self.walk_ngrams(0, u.next, end, n, &mut rev, f);
        }
    }

    /// [`Trie::for_each_ngram`] below a record range of level `li` (order `li + 2`).
    fn walk_ngrams(
        &self,
        li: usize,
        begin: u32,
        end: u32,
        n: usize,
        rev: &mut Vec<u32>,
        f: &mut NgramVisitor,
    ) {
        let data = self.data.bytes();
        let lvl = &self.levels[li];
        let end = end.min(lvl.count);
        for i in begin..end {
            rev[li + 1] = lvl.word(data, i);
            if li + 2 == n {
                if !lvl.inert.is_empty() && get_bit(&lvl.inert, i) {
                    continue;
                }
                let words: Vec<u32> = rev.iter().rev().copied().collect();
                let bo = (li + 1 < self.levels.len()).then(|| lvl.bo(data, i));
                f(&words, lvl.prob(data, i), bo);
            } else {
                let (b, e) = (lvl.next(data, i), lvl.next(data, i + 1));
                self.walk_ngrams(li + 1, b, e, n, rev, f);
            }
        }
    }

    /// Heap and mapped bytes, for reports: (tables and bit sets, backing buffer).
    pub(crate) fn memory(&self) -> (usize, usize) {
        let mut heap =
            self.unigrams.capacity() * std::mem::size_of::<Unigram>() + self.uni_keep.len() * 8;
        for l in &self.levels {
            heap += (l.prob_table.len() + l.bo_table.len()) * 4 + l.keep.len() * 8;
        }
        (heap, self.data.bytes().len())
    }
}
