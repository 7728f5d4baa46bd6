//! Reader for sphinxbase / pocketsphinx binary "trie" LMs (`*.lm.bin`).
//!
//! File layout (all integers and floats little-endian, as written on x86):
//! ```text
//! "Trie Language Model"            19 bytes, no NUL
//! order: u8                        1..=5
//! counts: u32 x order              records allocated per order
//! -- if order > 1 --
//! u32                              unused
//! quantization tables: f32         (order-2) x [65536 prob, 65536 backoff], then 65536 top-order prob
//! -- always --
//! unigrams: (counts[0] + 1) x { prob: f32, backoff: f32, next: u32 }
//! -- if order > 1 --
//! levels 2..order, each ((counts[k-1] + 1) * bits + 7) / 8 + 8 bytes, bit-packed records:
//!     middle: word (bits(counts[0])), backoff index (16), prob index (16), next (bits(counts[k]))
//!     top:    word, prob index (16)
//! -- always --
//! k: i32, then k bytes: the words, each NUL-terminated, in id order
//! ```
//! Weights are in sphinx's log base 1.0001 (`logmath` units), converted here to ln.
//! The counts may exceed the records actually written: sphinxbase's count fixing
//! overestimates, and the unigram sentinel's `next` (then each level's sentinel)
//! tells how many records are reachable. That mismatch is what makes sphinxbase's
//! own binary-to-ARPA conversion trip its assertion.
//!
//! The levels are read in place from the memory map; only the unigrams and the
//! quantization tables are copied (into ln units).

use super::bits::required_bits;
use super::trie::{Backing, LevelSpec, Trie, Unigram, MAX_ORDER};
use super::vocab::Vocab;
use super::Bad;

/// The file's first bytes.
pub(crate) const MAGIC: &[u8] = b"Trie Language Model";

/// Bits of each quantized weight (fixed by the format).
const QUANT_BITS: u8 = 16;
const QUANT_BINS: usize = 1 << QUANT_BITS;

/// A cursor over the file bytes that reports truncation as [`Bad::Format`].
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Bad> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.data.len() => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            _ => Err(Bad::Format(format!("file truncated in {what}"))),
        }
    }

    fn u32(&mut self, what: &str) -> Result<u32, Bad> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f32(&mut self, what: &str) -> Result<f32, Bad> {
        Ok(f32::from_bits(self.u32(what)?))
    }
}

/// Reads a sphinx trie LM held in `data`.
pub(crate) fn parse(data: Backing) -> Result<(Trie, Vocab), Bad> {
    parse_with(data, None).map(|(t, v, _)| (t, v))
}

/// [`parse`], with the trie's analysis from `known` when it fits ([`Trie::with_analysis`]);
/// `true` when the analysis ran.
pub(crate) fn parse_with(data: Backing, known: Option<&[u8]>) -> Result<(Trie, Vocab, bool), Bad> {
    let bytes = data.bytes();
    let mut r = Reader {
        data: bytes,
        pos: 0,
    };
    if r.take(MAGIC.len(), "the header")? != MAGIC {
        return Err(Bad::Format("not a sphinx trie LM (bad magic)".into()));
    }
    let order = r.take(1, "the header")?[0] as usize;
    if order == 0 {
        return Err(Bad::Format("order 0".into()));
    }
    if order > MAX_ORDER {
        return Err(Bad::Unsupported(format!(
            "order {order} (at most {MAX_ORDER} is supported)"
        )));
    }
    let mut counts = [0u32; MAX_ORDER];
    for c in counts.iter_mut().take(order) {
        *c = r.u32("the header")?;
    }
    let vocab = counts[0];
    if vocab == 0 {
        return Err(Bad::Format("empty vocabulary".into()));
    }
    // 1.0001-based logmath units to ln.
    let to_ln = 1.0001f64.ln();
    let conv = |x: f32| (x as f64 * to_ln) as f32;

    // Quantization tables: [prob, backoff] per middle order, then the top order's prob.
    let mut tables: Vec<Vec<f32>> = Vec::new();
    if order > 1 {
        r.take(4, "the header")?;
        let n_tables = 2 * (order - 2) + 1;
        let raw = r.take(n_tables * QUANT_BINS * 4, "the quantization tables")?;
        for t in raw.chunks_exact(QUANT_BINS * 4) {
            tables.push(
                t.chunks_exact(4)
                    .map(|b| conv(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                    .collect(),
            );
        }
    }

    // Unigrams (+ sentinel). Check the size before allocating.
    let n_uni = vocab as usize + 1;
    if n_uni.saturating_mul(12) > bytes.len() - r.pos {
        return Err(Bad::Format(format!(
            "{vocab} unigrams do not fit in the file"
        )));
    }
    let mut unigrams = Vec::with_capacity(n_uni);
    for _ in 0..n_uni {
        let prob = r.f32("the unigrams")?;
        let bo = r.f32("the unigrams")?;
        let next = r.u32("the unigrams")?;
        unigrams.push(Unigram {
            prob: conv(prob),
            bo: conv(bo),
            next,
        });
    }
    // The sentinel's weights are never used; keep them tidy.
    unigrams[vocab as usize].prob = 0.0;
    unigrams[vocab as usize].bo = 0.0;

    // Bit-packed levels, in place.
    let word_bits = required_bits(vocab);
    let mut specs = Vec::with_capacity(order - 1);
    let mut tables = tables.into_iter();
    for k in 2..=order {
        let top = k == order;
        let (prob_table, bo_table, bo_bits, next_bits) = if top {
            (tables.next().unwrap_or_default(), vec![0.0], 0, 0)
        } else {
            let p = tables.next().unwrap_or_default();
            let b = tables.next().unwrap_or_default();
            (p, b, QUANT_BITS, required_bits(counts[k]))
        };
        let spec = LevelSpec {
            byte_offset: r.pos,
            count: counts[k - 1],
            word_bits,
            bo_bits,
            prob_bits: QUANT_BITS,
            next_bits,
            prob_table,
            bo_table,
            inert: Vec::new(),
        };
        let len = usize::try_from(spec.byte_len())
            .map_err(|_| Bad::Format(format!("level {k} too large")))?;
        r.take(len, &format!("the {k}-gram records"))?;
        specs.push(spec);
    }

    // Vocabulary.
    let k = r.u32("the vocabulary")? as i32;
    if k < 0 {
        return Err(Bad::Format("negative vocabulary size".into()));
    }
    let blob = r.take(k as usize, "the vocabulary")?;
    let words = blob.iter().filter(|&&b| b == 0).count();
    if words != vocab as usize || blob.last() != Some(&0) {
        return Err(Bad::Format(format!(
            "vocabulary has {words} words, header says {vocab}"
        )));
    }
    if r.pos != bytes.len() {
        log::warn!("sphinx LM: {} trailing bytes ignored", bytes.len() - r.pos);
    }
    let blob = String::from_utf8(blob.to_vec())
        .map_err(|e| Bad::Format(format!("vocabulary is not UTF-8: {e}")))?;
    let vocab = Vocab::from_nul_terminated(blob, true)
        .map_err(|d| Bad::Format(format!("duplicate word {:?}", d.0)))?;

    let (trie, analyzed) =
        Trie::with_analysis(data, unigrams, specs, known).map_err(Bad::Format)?;
    Ok((trie, vocab, analyzed))
}
