//! Names' pronunciations remembered between runs.
//!
//! Pronouncing a name the lexicon does not know runs the G2P (an n-best search in tract),
//! then the English renderings and letter-group variants: 2.4 s for a 1,000-entry list on a
//! desktop core, 14 G instructions (about 10 s) on a Raspberry Pi 4 core, at every start.
//! What comes out depends only on the word, the G2P and token files, the settings and the
//! program itself, so it is kept in the start-up cache ([`crate::cache`]) keyed by the
//! versions of those files (the running executable's included: a new build pronounces
//! afresh) and the settings. A later start with the same list reads it back and does not
//! load the G2P at all; a changed list only pronounces its new words.
//!
//! At most [`MAX_WORDS`] words are kept (about 70 bytes each: 35 MB when full, a list of
//! 200,000 names or more); beyond that, only the words used by this process, and of a list
//! with more new words than that, the words past it are pronounced again at every start.
//! A missing, damaged or unwritable record only means pronouncing again.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::cache::{BlobReader, BlobWriter, FileIdentity, StartupCache};

/// Pronunciations in model token ids, each with its cost (ln, at most 0).
pub(crate) type Prons = Vec<(Vec<u16>, f32)>;

const KIND: &str = "g2p-prons";
const FORMAT: u64 = 1;
/// The most words a record keeps.
pub(crate) const MAX_WORDS: usize = 500_000;

/// Pronunciations worked out before (see the module docs).
#[derive(Default)]
pub(crate) struct PronMemo {
    store: Option<Store>,
    words: HashMap<String, Prons>,
    /// Words asked for or added by this process.
    used: HashSet<String>,
    /// Whether a word was added since the record was read.
    added: bool,
}

/// Where the record lives and what it is valid for.
struct Store {
    cache: StartupCache,
    identity: FileIdentity,
    metas: Vec<std::fs::Metadata>,
    name: String,
}

impl PronMemo {
    /// The record for pronunciations that depend on `files` (their versions) and
    /// `settings`, read back if there is one. Without a cache, or when a file's version
    /// cannot be told, nothing is remembered. `vocab`: the number of model tokens (a record
    /// holding another id reads as none).
    pub(crate) fn open(
        cache: Option<&StartupCache>,
        files: &[&Path],
        settings: &str,
        vocab: usize,
    ) -> Self {
        let Some(cache) = cache else {
            return Self::default();
        };
        let Some((identity, metas)) = FileIdentity::of_all(files) else {
            return Self::default();
        };
        let identity = identity.with_note(&format!("format {FORMAT} {settings}"));
        let name = identity.path_key();
        let words = cache
            .get(KIND, &name, &identity)
            .and_then(|b| read(&b, vocab))
            .unwrap_or_default();
        if !words.is_empty() {
            log::debug!(
                "pronunciations of {} words remembered in {}",
                words.len(),
                cache.dir().display()
            );
        }
        Self {
            store: Some(Store {
                cache: cache.clone(),
                identity,
                metas,
                name,
            }),
            words,
            used: HashSet::new(),
            added: false,
        }
    }

    /// The remembered pronunciations of `word`.
    pub(crate) fn get(&mut self, word: &str) -> Option<&Prons> {
        if self.words.contains_key(word) && !self.used.contains(word) {
            self.used.insert(word.to_string());
        }
        self.words.get(word)
    }

    /// Remembers `word`'s pronunciations.
    pub(crate) fn insert(&mut self, word: &str, prons: Prons) {
        self.used.insert(word.to_string());
        self.words.insert(word.to_string(), prons);
        self.added = true;
    }

    /// Writes the record back if words were added (best effort).
    pub(crate) fn save(&mut self) {
        let Some(store) = self.store.as_ref().filter(|_| self.added) else {
            return;
        };
        if self.words.len() > MAX_WORDS {
            let used = &self.used;
            self.words.retain(|w, _| used.contains(w));
        }
        let mut entries: Vec<(&String, &Prons)> = self.words.iter().take(MAX_WORDS).collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        store.cache.put(
            KIND,
            &store.name,
            &store.identity,
            &store.metas,
            &write(&entries),
        );
        self.added = false;
    }
}

fn write(entries: &[(&String, &Prons)]) -> Vec<u8> {
    let mut text = String::new();
    let (mut counts, mut lens, mut phones, mut costs) = (vec![], vec![], vec![], vec![]);
    for (w, prons) in entries {
        text.push_str(w);
        text.push('\0');
        counts.push(prons.len() as u32);
        for (p, c) in prons.iter() {
            lens.push(p.len() as u32);
            phones.extend_from_slice(p);
            costs.push(*c);
        }
    }
    let mut b = BlobWriter::default();
    b.u64(FORMAT);
    b.nul_terminated(entries.len(), &text);
    b.u32s(&counts);
    b.u32s(&lens);
    b.u16s(&phones);
    b.f32s(&costs);
    b.0
}

/// What [`write`] wrote, every count and id checked (`None` otherwise).
fn read(bytes: &[u8], vocab: usize) -> Option<HashMap<String, Prons>> {
    let mut r = BlobReader(bytes);
    if r.u64()? != FORMAT {
        return None;
    }
    let (n, text) = r.nul_terminated()?;
    let counts = r.u32s()?;
    let lens = r.u32s()?;
    let phones = r.u16s()?;
    let costs = r.f32s()?;
    let prons: usize = counts.iter().map(|&c| c as usize).sum();
    let units: usize = lens.iter().map(|&l| l as usize).sum();
    if !r.is_empty()
        || counts.len() != n
        || lens.len() != prons
        || costs.len() != prons
        || phones.len() != units
        || phones.iter().any(|&p| p as usize >= vocab)
        || costs.iter().any(|c| !(c.is_finite() && *c <= 0.0))
    {
        return None;
    }
    let mut out = HashMap::with_capacity(n);
    let (mut pron, mut unit) = (0, 0);
    for (word, &count) in text.split_terminator('\0').zip(&counts) {
        let mut list = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let len = lens[pron] as usize;
            list.push((phones[unit..unit + len].to_vec(), costs[pron]));
            unit += len;
            pron += 1;
        }
        out.insert(word.to_string(), list);
    }
    (out.len() == n).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("nomen-memo-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn pronunciations_come_back_in_a_later_run_for_the_same_files_and_settings() {
        let dir = scratch("round");
        let file = dir.join("g2p.onnx");
        std::fs::write(&file, b"model").unwrap();
        let cache = StartupCache::new(dir.join("cache")).without_settling();
        let prons: Prons = vec![(vec![3, 1, 4], 0.0), (vec![1, 5], -0.7)];
        let mut m = PronMemo::open(Some(&cache), &[&file], "n=3", 10);
        assert!(m.get("Niamh").is_none());
        m.insert("Niamh", prons.clone());
        m.insert("Ō", vec![]);
        m.save();
        let mut again = PronMemo::open(Some(&cache), &[&file], "n=3", 10);
        assert_eq!(again.get("Niamh"), Some(&prons));
        assert_eq!(again.get("Ō"), Some(&vec![]));
        // Other settings, another vocabulary or a changed file: nothing remembered.
        assert!(PronMemo::open(Some(&cache), &[&file], "n=2", 10)
            .get("Niamh")
            .is_none());
        assert!(PronMemo::open(Some(&cache), &[&file], "n=3", 5)
            .get("Niamh")
            .is_none());
        std::fs::write(&file, b"other model").unwrap();
        assert!(PronMemo::open(Some(&cache), &[&file], "n=3", 10)
            .get("Niamh")
            .is_none());
        // No cache: nothing kept, nothing fails.
        let mut none = PronMemo::open(None, &[&file], "n=3", 10);
        none.insert("x", vec![]);
        none.save();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn damaged_records_read_as_none() {
        let prons: Prons = vec![(vec![3, 1, 4], 0.0), (vec![1, 5], -0.7)];
        let (a, b) = (String::from("ab"), String::from("c"));
        let good = write(&[(&a, &prons), (&b, &vec![])]);
        assert_eq!(read(&good, 10).map(|m| m.len()), Some(2));
        for cut in [0, 8, good.len() / 2, good.len() - 1] {
            assert!(read(&good[..cut], 10).is_none(), "cut at {cut}");
        }
        // A phone id beyond the vocabulary, a positive cost.
        assert!(read(&good, 5).is_none());
        let bad = write(&[(&a, &vec![(vec![1], 0.5)])]);
        assert!(read(&bad, 10).is_none());
    }
}
