//! The LM vocabulary: word id <-> word string.
//!
//! All words live in one string (each followed by a NUL), indexed by an offset
//! table; lookup by string goes through a small open-addressing hash table of
//! ids, so loading 70k words costs one allocation per table and a few ms.

/// Word strings and the string -> id index.
pub(crate) struct Vocab {
    /// Every word followed by `'\0'`, in id order.
    blob: String,
    /// `starts[i]` is the byte offset of word `i` in `blob`; one extra entry at the end.
    starts: Vec<u32>,
    /// Open-addressing table of `id + 1` (0 = empty slot); length is a power of two.
    slots: Vec<u32>,
}

/// A word that appears twice in the vocabulary.
#[derive(Debug)]
pub(crate) struct Duplicate(pub String);

#[inline]
fn hash(word: &[u8]) -> u64 {
    // FNV-1a, then a final mix so the low bits are usable as a table index.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in word {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 29)
}

impl Vocab {
    /// Builds the vocabulary from a blob of NUL-terminated words (`blob` must end
    /// with `'\0'`, or be empty). Returns the number of words via `len()`.
    ///
    /// With `keep_first_duplicate`, a repeated word keeps the id of its first
    /// occurrence (sphinxbase's behaviour); otherwise a repeat is an error.
    pub(crate) fn from_nul_terminated(
        blob: String,
        keep_first_duplicate: bool,
    ) -> Result<Vocab, Duplicate> {
        debug_assert!(blob.is_empty() || blob.ends_with('\0'));
        let mut starts = Vec::with_capacity(blob.len() / 4 + 2);
        let mut at = 0u32;
        starts.push(0);
        for (i, b) in blob.bytes().enumerate() {
            if b == 0 {
                at = i as u32 + 1;
                starts.push(at);
            }
        }
        debug_assert_eq!(at as usize, blob.len());
        let n = starts.len() - 1;
        let cap = (n * 2).next_power_of_two().max(16);
        let mut vocab = Vocab {
            blob,
            starts,
            slots: vec![0u32; cap],
        };
        let mask = cap - 1;
        for id in 0..n as u32 {
            let w = vocab.word(id).as_bytes();
            let mut s = hash(w) as usize & mask;
            loop {
                let e = vocab.slots[s];
                if e == 0 {
                    vocab.slots[s] = id + 1;
                    break;
                }
                if vocab.word(e - 1).as_bytes() == w {
                    if keep_first_duplicate {
                        log::warn!("duplicate word in LM vocabulary: {:?}", vocab.word(id));
                        break;
                    }
                    return Err(Duplicate(vocab.word(id).to_string()));
                }
                s = (s + 1) & mask;
            }
        }
        Ok(vocab)
    }

    /// Number of words.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// The word with this id. Panics if `id >= len()`.
    #[inline]
    pub(crate) fn word(&self, id: u32) -> &str {
        let i = id as usize;
        &self.blob[self.starts[i] as usize..self.starts[i + 1] as usize - 1]
    }

    /// The id of `word`, if it is in the vocabulary.
    pub(crate) fn id(&self, word: &str) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let w = word.as_bytes();
        let mut s = hash(w) as usize & mask;
        loop {
            let e = self.slots[s];
            if e == 0 {
                return None;
            }
            if self.word(e - 1).as_bytes() == w {
                return Some(e - 1);
            }
            s = (s + 1) & mask;
        }
    }

    /// Heap bytes held (for memory reports).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.blob.capacity() + self.starts.capacity() * 4 + self.slots.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_round_trips() {
        let v = Vocab::from_nul_terminated("<s>\0</s>\0the\0\0é\0".to_string(), false).unwrap();
        assert_eq!(v.len(), 5);
        for id in 0..5 {
            assert_eq!(v.id(v.word(id)), Some(id));
        }
        assert_eq!(v.word(2), "the");
        assert_eq!(v.word(3), "");
        assert_eq!(v.id("é"), Some(4));
        assert_eq!(v.id("cat"), None);
    }

    #[test]
    fn duplicates() {
        assert!(Vocab::from_nul_terminated("a\0b\0a\0".to_string(), false).is_err());
        let v = Vocab::from_nul_terminated("a\0b\0a\0".to_string(), true).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v.id("a"), Some(0));
        assert_eq!(v.word(2), "a");
    }

    #[test]
    fn empty() {
        let v = Vocab::from_nul_terminated(String::new(), false).unwrap();
        assert_eq!(v.len(), 0);
        assert_eq!(v.id("a"), None);
    }
}
