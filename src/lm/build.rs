//! Packs explicit n-gram lists (as read from an ARPA file) into the bit-packed trie.
//!
//! Steps:
//! 1. sort each order by its trie path (the n-gram's words, last word first);
//! 2. close the set: every n-gram's suffix (its trie parent) and prefix (its context)
//!    must exist one order down. Missing ones are added as "blank" n-grams whose
//!    probability is what back-off would give and whose backoff is 0, which changes
//!    no score (sphinxbase and KenLM do the same);
//! 3. link each order to its children and pack the records, with every distinct
//!    weight of an order in a sorted table so the packing is lossless.

use super::bits::{self, required_bits};
use super::trie::{Backing, LevelSpec, Trie, Unigram};
use super::Bad;
use std::cmp::Ordering;

/// The n-grams of one order `k >= 2`.
pub(crate) struct Grams {
    /// n-gram order.
    pub k: usize,
    /// Trie paths, `k` word ids each: for `w_1 .. w_k`, the path is `w_k, w_(k-1), .., w_1`.
    pub paths: Vec<u32>,
    /// ln p(w_k | w_1 .. w_(k-1)).
    pub prob: Vec<f32>,
    /// ln backoff of `w_1 .. w_k` (0 for the top order).
    pub bo: Vec<f32>,
}

impl Grams {
    fn len(&self) -> usize {
        self.prob.len()
    }

    fn path(&self, i: usize) -> &[u32] {
        &self.paths[i * self.k..(i + 1) * self.k]
    }

    /// Sorts by path; a repeated path is an error.
    fn sort(&mut self) -> Result<(), Bad> {
        let n = self.len();
        let mut idx: Vec<u32> = (0..n as u32).collect();
        idx.sort_unstable_by(|&a, &b| self.path(a as usize).cmp(self.path(b as usize)));
        let mut paths = Vec::with_capacity(self.paths.len());
        let mut prob = Vec::with_capacity(n);
        let mut bo = Vec::with_capacity(n);
        for (j, &i) in idx.iter().enumerate() {
            let p = self.path(i as usize);
            if j > 0 && p == self.path(idx[j - 1] as usize) {
                return Err(Bad::Format(format!(
                    "{}-gram listed twice (word ids, last first: {p:?})",
                    self.k
                )));
            }
            paths.extend_from_slice(p);
            prob.push(self.prob[i as usize]);
            bo.push(self.bo[i as usize]);
        }
        self.paths = paths;
        self.prob = prob;
        self.bo = bo;
        Ok(())
    }

    /// Index of `path` (sorted order required).
    fn find(&self, path: &[u32]) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.path(mid).cmp(path) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

/// Sorted distinct values (by bit pattern, so the table is exact) and the table
/// index of every value.
fn quantize_exact(values: &[f32]) -> (Vec<f32>, Vec<u32>, u8) {
    let mut table: Vec<f32> = values.to_vec();
    table.sort_unstable_by(|a, b| a.total_cmp(b));
    table.dedup_by(|a, b| a.to_bits() == b.to_bits());
    let idx = values
        .iter()
        .map(|v| table.binary_search_by(|t| t.total_cmp(v)).unwrap_or(0) as u32)
        .collect();
    let bits = required_bits(table.len().saturating_sub(1) as u32);
    // Pad to a power of two so any index the field can hold is in the table.
    let last = table.last().copied().unwrap_or(0.0);
    table.resize(1 << bits, last);
    (table, idx, bits)
}

/// Builds the trie from unigram weights (ln, one per word id) and the higher orders
/// `2..=order` (`levels[i].k == i + 2`), all weights finite.
pub(crate) fn build(
    uni_prob: Vec<f32>,
    uni_bo: Vec<f32>,
    mut levels: Vec<Grams>,
) -> Result<Trie, Bad> {
    let vocab = uni_prob.len();
    let v32 = u32::try_from(vocab).map_err(|_| Bad::Format("vocabulary too large".into()))?;
    for g in &mut levels {
        g.sort()?;
    }
    let order = levels.len() + 1;
    let mut dummy: Vec<Vec<bool>> = levels.iter().map(|g| vec![false; g.len()]).collect();

    // 2. Closure, top order down: parents and contexts of order k exist at k-1.
    for k in (3..=order).rev() {
        let (lower, upper) = levels.split_at_mut(k - 2);
        let (lower, upper) = (&mut lower[k - 3], &upper[0]);
        let mut missing: Vec<u32> = Vec::new();
        for i in 0..upper.len() {
            let p = upper.path(i);
            for need in [&p[..k - 1], &p[1..]] {
                if lower.find(need).is_none() {
                    missing.extend_from_slice(need);
                }
            }
        }
        if missing.is_empty() {
            continue;
        }
        let mut miss: Vec<&[u32]> = missing.chunks_exact(k - 1).collect();
        miss.sort_unstable();
        miss.dedup();
        log::debug!("ARPA: adding {} blank {}-grams", miss.len(), k - 1);
        let first_new = lower.len();
        for m in &miss {
            lower.paths.extend_from_slice(m);
            lower.prob.push(f32::NAN);
            lower.bo.push(0.0);
        }
        // Re-sort; the blanks are recognised by their NaN placeholder.
        lower.sort()?;
        dummy[k - 3] = lower.prob.iter().map(|p| p.is_nan()).collect();
        debug_assert_eq!(
            dummy[k - 3].iter().filter(|&&d| d).count(),
            lower.len() - first_new
        );
    }

    // Blank probabilities, bottom up: p(w_k | w_1..) = bo(w_1 .. w_(k-1)) + p(w_k | w_2..).
    for li in 0..levels.len() {
        if !dummy[li].iter().any(|&d| d) {
            continue;
        }
        let k = li + 2;
        for (i, _) in dummy[li].iter().enumerate().filter(|(_, &d)| d) {
            let p = levels[li].path(i).to_vec();
            let (parent_prob, ctx_bo) = if k == 2 {
                (uni_prob[p[0] as usize], uni_bo[p[1] as usize])
            } else {
                let lower = &levels[li - 1];
                let parent = lower.find(&p[..k - 1]).ok_or_else(|| internal("parent"))?;
                let ctx = lower.find(&p[1..]).ok_or_else(|| internal("context"))?;
                (lower.prob[parent], lower.bo[ctx])
            };
            levels[li].prob[i] = ctx_bo + parent_prob;
        }
    }

    // Blanks that are nobody's context (only some n-gram's suffix) are inert: they
    // hold exactly the back-off value, so they must not make a state keep their
    // context. Top down: a record matters if it is real or the context of a
    // record that matters.
    let mut matters: Vec<Vec<bool>> = dummy
        .iter()
        .map(|d| d.iter().map(|&b| !b).collect())
        .collect();
    for li in (1..levels.len()).rev() {
        let k = li + 2;
        for i in 0..levels[li].len() {
            if matters[li][i] {
                let ctx = &levels[li].path(i)[1..k];
                let j = levels[li - 1]
                    .find(ctx)
                    .ok_or_else(|| internal("context"))?;
                matters[li - 1][j] = true;
            }
        }
    }

    // 3. Child links. Unigram w's children: level-2 paths starting with w.
    let mut unigrams: Vec<Unigram> = (0..=vocab)
        .map(|w| Unigram {
            prob: uni_prob.get(w).copied().unwrap_or(0.0),
            bo: uni_bo.get(w).copied().unwrap_or(0.0),
            next: 0,
        })
        .collect();
    if let Some(l2) = levels.first() {
        let mut j = 0;
        for (w, u) in unigrams.iter_mut().enumerate() {
            while j < l2.len() && (l2.path(j)[0] as usize) < w {
                j += 1;
            }
            u.next = j as u32;
        }
        if l2.len() > 0 && l2.path(l2.len() - 1)[0] >= v32 {
            return Err(Bad::Format("word id out of range".into()));
        }
    }
    let mut nexts: Vec<Vec<u32>> = Vec::new();
    for li in 0..levels.len().saturating_sub(1) {
        let (parent, child) = (&levels[li], &levels[li + 1]);
        let k = li + 2;
        let mut next = Vec::with_capacity(parent.len() + 1);
        let mut j = 0;
        for i in 0..parent.len() {
            next.push(j as u32);
            while j < child.len() && &child.path(j)[..k] == parent.path(i) {
                j += 1;
            }
        }
        next.push(j as u32);
        if j != child.len() {
            return Err(internal("orphan n-gram"));
        }
        nexts.push(next);
    }

    // Pack.
    let word_bits = required_bits(v32);
    let mut specs = Vec::new();
    let mut fields = Vec::new();
    let mut offset = 0usize;
    for (li, g) in levels.iter().enumerate() {
        let top = li + 1 == levels.len();
        let count = u32::try_from(g.len()).map_err(|_| Bad::Format("too many n-grams".into()))?;
        let (prob_table, prob_idx, prob_bits) = quantize_exact(&g.prob);
        let (bo_table, bo_idx, bo_bits) = if top {
            (vec![0.0], vec![0; g.len()], 0)
        } else {
            quantize_exact(&g.bo)
        };
        let next_bits = if top {
            0
        } else {
            required_bits(levels[li + 1].len() as u32)
        };
        let mut inert = Vec::new();
        if matters[li].iter().any(|&m| !m) {
            inert = vec![0u64; g.len().div_ceil(64)];
            for (i, _) in matters[li].iter().enumerate().filter(|(_, &m)| !m) {
                inert[i / 64] |= 1 << (i % 64);
            }
        }
        let spec = LevelSpec {
            byte_offset: offset,
            count,
            word_bits,
            bo_bits,
            prob_bits,
            next_bits,
            prob_table,
            bo_table,
            inert,
        };
        offset += spec.byte_len() as usize;
        specs.push(spec);
        fields.push((prob_idx, bo_idx));
    }
    let mut buf = vec![0u8; offset];
    for (li, (spec, (prob_idx, bo_idx))) in specs.iter().zip(&fields).enumerate() {
        let g = &levels[li];
        let total = spec.total_bits();
        let base = spec.byte_offset as u64 * 8;
        let bo_at = spec.word_bits as u64;
        let prob_at = bo_at + spec.bo_bits as u64;
        let next_at = prob_at + spec.prob_bits as u64;
        for i in 0..g.len() {
            let bit = base + i as u64 * total;
            // The word stored is the path's last (oldest) word.
            bits::write(&mut buf, bit, g.path(i)[g.k - 1] as u64);
            bits::write(&mut buf, bit + bo_at, bo_idx[i] as u64);
            bits::write(&mut buf, bit + prob_at, prob_idx[i] as u64);
        }
        if let Some(next) = nexts.get(li) {
            for (i, &n) in next.iter().enumerate() {
                bits::write(&mut buf, base + i as u64 * total + next_at, n as u64);
            }
        }
    }
    Trie::new(Backing::Owned(buf), unigrams, specs).map_err(|e| internal(&e))
}

fn internal(what: &str) -> Bad {
    Bad::Format(format!("internal error while building the trie: {what}"))
}
