//! Which unit the acoustic model hears when a given unit is said: confusion counts from
//! transcribed audio, and the per-pair costs the rescoring (technique 3) uses instead of
//! one flat cost for every "similar" unit.
//!
//! Counting: the transcript's units are force-aligned to the posteriors (CTC Viterbi, word
//! boundaries and blanks in the gaps between units); at the frame where each said unit `u`
//! scores best among its aligned frames, the heard unit is the frame's best unit other than
//! blank and the word boundary. `tools/build/make_confusions.py` renders English sentences with
//! TTS voices that are not the dev set's, and `nomen confusions` counts them into
//! `models-quantized/confusions.tsv`.
//!
//! Costs: heard as `o` when `u` was said costs `ln((n(u,o) + 0.5) / (n(u,u) + 0.5))`
//! per frame (how much rarer that confusion is than hearing `u` right), kept where the pair
//! was seen at least [`MIN_COUNT`] times and the cost is above the floor.

use crate::decoder::TokenRoles;
use std::collections::HashMap;
use std::path::Path;

/// Pairs seen fewer times than this get no cost of their own.
pub const MIN_COUNT: u32 = 3;

/// Counts of (said unit, heard unit) over aligned utterances.
#[derive(Debug, Default, Clone)]
pub struct ConfusionCounts {
    pub pairs: HashMap<(u16, u16), u32>,
}

impl ConfusionCounts {
    /// Aligns `units` (said, no word boundaries) to `frames` (row-major log-posteriors,
    /// `roles.vocab` per frame) and adds one count per said unit. Returns false (nothing
    /// counted) when the utterance is too short for its units or no alignment exists.
    pub fn add(&mut self, frames: &[f32], roles: TokenRoles, units: &[u16]) -> bool {
        let v = roles.vocab;
        if v == 0 || units.is_empty() {
            return false;
        }
        let t_len = frames.len() / v;
        let n = units.len();
        if t_len < n {
            return false;
        }
        let row = |t: usize| &frames[t * v..(t + 1) * v];
        let gap = |t: usize| {
            let r = row(t);
            let b = r[roles.blank as usize];
            roles.word_boundary.map_or(b, |w| b.max(r[w as usize]))
        };
        let states = 2 * n + 1;
        let score = |t: usize, j: usize| {
            if j % 2 == 0 {
                gap(t)
            } else {
                row(t)[units[j / 2] as usize]
            }
        };
        // back[t * states + j]: how many states the path moved to reach j at frame t.
        let mut back = vec![0u8; t_len * states];
        let mut cur = vec![f32::NEG_INFINITY; states];
        let mut nxt = vec![f32::NEG_INFINITY; states];
        cur[0] = score(0, 0);
        cur[1] = score(0, 1);
        for t in 1..t_len {
            for j in 0..states {
                let mut best = cur[j];
                let mut step = 0u8;
                if j >= 1 && cur[j - 1] > best {
                    best = cur[j - 1];
                    step = 1;
                }
                if j % 2 == 1 && j >= 3 && units[j / 2] != units[j / 2 - 1] && cur[j - 2] > best {
                    best = cur[j - 2];
                    step = 2;
                }
                back[t * states + j] = step;
                nxt[j] = if best.is_finite() {
                    best + score(t, j)
                } else {
                    f32::NEG_INFINITY
                };
            }
            std::mem::swap(&mut cur, &mut nxt);
        }
        let mut j = if cur[states - 1] >= cur[states - 2] {
            states - 1
        } else {
            states - 2
        };
        if !cur[j].is_finite() {
            return false;
        }
        // The best frame of each said unit along the path: (frame, its score).
        let mut peak: Vec<(usize, f32)> = vec![(usize::MAX, f32::NEG_INFINITY); n];
        for t in (0..t_len).rev() {
            if j % 2 == 1 {
                let x = row(t)[units[j / 2] as usize];
                if x > peak[j / 2].1 {
                    peak[j / 2] = (t, x);
                }
            }
            if t > 0 {
                j -= back[t * states + j] as usize;
            }
        }
        for (i, &(t, _)) in peak.iter().enumerate() {
            if t == usize::MAX {
                return false;
            }
            let heard = row(t)
                .iter()
                .enumerate()
                .filter(|&(k, _)| {
                    k != roles.blank as usize && Some(k as u16) != roles.word_boundary
                })
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(k, _)| k as u16);
            if let Some(o) = heard {
                *self.pairs.entry((units[i], o)).or_insert(0) += 1;
            }
        }
        true
    }
}

/// Per-pair costs: what a frame costs when `o` is heard for a said `u` (ln, negative).
#[derive(Debug, Default, Clone)]
pub struct Confusions {
    of: Vec<Vec<(u16, f32)>>,
}

impl Confusions {
    /// Costs from counts for a model of `vocab` units; pairs costing `floor` or more are
    /// left to the floor.
    pub fn from_counts(counts: &ConfusionCounts, vocab: usize, floor: f32) -> Confusions {
        let mut right = vec![0u32; vocab];
        for (&(u, o), &c) in &counts.pairs {
            if u == o && (u as usize) < vocab {
                right[u as usize] = c;
            }
        }
        let mut of: Vec<Vec<(u16, f32)>> = vec![Vec::new(); vocab];
        for (&(u, o), &c) in &counts.pairs {
            if u == o || u as usize >= vocab || o as usize >= vocab || c < MIN_COUNT {
                continue;
            }
            let cost = ((c as f32 + 0.5) / (right[u as usize] as f32 + 0.5))
                .ln()
                .min(0.0);
            if cost > -floor {
                of[u as usize].push((o, cost));
            }
        }
        for v in &mut of {
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        Confusions { of }
    }

    /// Reads counts written by `nomen confusions` (`said<TAB>heard<TAB>count`, unit
    /// symbols), mapping symbols with `id`; unknown symbols are skipped.
    pub fn read_counts(
        path: &Path,
        id: impl Fn(&str) -> Option<u16>,
    ) -> std::io::Result<ConfusionCounts> {
        let text = std::fs::read_to_string(path)?;
        let mut counts = ConfusionCounts::default();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() != 3 {
                continue;
            }
            let (Some(u), Some(o), Ok(c)) = (id(f[0]), id(f[1]), f[2].trim().parse::<u32>()) else {
                continue;
            };
            *counts.pairs.entry((u, o)).or_insert(0) += c;
        }
        Ok(counts)
    }

    /// The units heard for `u` that cost less than the floor, with their costs (cheapest
    /// first).
    #[inline]
    pub fn of(&self, u: u16) -> &[(u16, f32)] {
        self.of.get(u as usize).map_or(&[], Vec::as_slice)
    }

    /// True when no pair has a cost of its own.
    pub fn is_empty(&self) -> bool {
        self.of.iter().all(Vec::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 0 blank, 1 word boundary, 2.. units.
    const V: usize = 6;
    fn roles() -> TokenRoles {
        TokenRoles {
            vocab: V,
            blank: 0,
            word_boundary: Some(1),
        }
    }
    fn frame(best: usize) -> Vec<f32> {
        (0..V)
            .map(|k| if k == best { -0.1 } else { -8.0 })
            .collect()
    }

    #[test]
    fn a_said_unit_is_counted_as_what_is_heard_at_its_frame() {
        // Said 2 3 4; heard 2, then 5 where 3 should be, then 4.
        let frames: Vec<f32> = [0, 2, 0, 5, 0, 4, 0]
            .iter()
            .flat_map(|&b| frame(b))
            .collect();
        let mut c = ConfusionCounts::default();
        assert!(c.add(&frames, roles(), &[2, 3, 4]));
        assert_eq!(c.pairs.get(&(2, 2)), Some(&1));
        assert_eq!(c.pairs.get(&(3, 5)), Some(&1));
        assert_eq!(c.pairs.get(&(4, 4)), Some(&1));
        // Too few frames for the units: nothing counted.
        assert!(!c.add(&frames[..2 * V], roles(), &[2, 3, 4]));
    }

    #[test]
    fn costs_follow_how_often_a_pair_is_heard() {
        let mut c = ConfusionCounts::default();
        c.pairs.insert((2, 2), 99);
        c.pairs.insert((2, 3), 33); // a third as often as right: ln(1/3)
        c.pairs.insert((2, 4), 1); // too rare to count
        c.pairs.insert((3, 3), 10);
        c.pairs.insert((3, 5), 0);
        let k = Confusions::from_counts(&c, V, 3.0);
        let of2 = k.of(2);
        assert_eq!(of2.len(), 1);
        assert_eq!(of2[0].0, 3);
        assert!((of2[0].1 - (33.5f32 / 99.5).ln()).abs() < 1e-5);
        assert!(k.of(3).is_empty());
        assert!(k.of(200).is_empty());
    }
}
