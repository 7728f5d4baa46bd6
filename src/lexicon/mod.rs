//! Pronunciation lexicon: words, their phone sequences in the acoustic model's token ids, and a
//! prefix trie over those sequences that the decoder walks.
//!
//! The trie is stored as flat arrays (compressed sparse rows): node `n`'s children are
//! `edges[first_edge[n]..first_edge[n + 1]]`, sorted by token; the words that end at `n` are
//! `labels[first_label[n]..first_label[n + 1]]`. Each node also keeps the best unigram LM
//! score of any word below it (`lookahead`), which the decoder uses as LM look-ahead.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::cache::{BlobReader, BlobWriter, FileIdentity, StartupCache};

mod spellings;
use spellings::Spellings;

/// The [`StartupCache`] records of built lexicons (named by the lexicon's path).
const BUILT: &str = "lexicon";
/// The layout of [`Lexicon::to_bytes`]: bump it whenever the lexicon's fields or how they
/// are built change, so that lexicons remembered by older builds are not taken.
const BUILT_FORMAT: u64 = 2;

/// Index of a word in the lexicon's own word table.
pub type WordId = u32;
/// Index of a trie node; the root is 0.
pub type NodeId = u32;

/// The root of every trie.
pub const ROOT: NodeId = 0;

/// Why a lexicon could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    /// The file could not be read.
    #[error("cannot read lexicon {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Nothing usable in the file.
    #[error("lexicon {path}: {msg}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
}

/// One edge of the trie: emitting `token` from the parent leads to `child`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// The token (acoustic unit) on this edge.
    pub token: u16,
    /// The node reached.
    pub child: NodeId,
}

/// A pronunciation lexicon with its prefix trie.
#[derive(Debug, Clone)]
pub struct Lexicon {
    words: Spellings,
    lm_ids: Vec<u32>,
    unigram: Vec<f32>,
    /// Word ids in the byte order of their spellings, for [`Lexicon::word_id`]'s binary
    /// search (no hash map to build when the lexicon is read back at start-up).
    by_spelling: Vec<WordId>,
    first_edge: Vec<u32>,
    edges: Vec<Edge>,
    first_label: Vec<u32>,
    labels: Vec<WordId>,
    /// What each label's pronunciation costs (ln, at most 0; see [`Lexicon::build_weighted`]);
    /// empty when every pronunciation costs 0.
    label_cost: Vec<f32>,
    lookahead: Vec<f32>,
    prons: usize,
    /// Word `w`'s pronunciations are `pron_phones[pron_start[p]..pron_start[p + 1]]` for `p`
    /// in `word_first_pron[w]..word_first_pron[w + 1]`.
    word_first_pron: Vec<u32>,
    pron_start: Vec<u32>,
    pron_phones: Vec<u16>,
}

/// Statistics of a built lexicon.
#[derive(Debug, Clone, Copy)]
pub struct LexiconStats {
    /// Distinct words.
    pub words: usize,
    /// Pronunciations (word, phone sequence) pairs.
    pub pronunciations: usize,
    /// Trie nodes.
    pub nodes: usize,
}

impl Lexicon {
    /// Reads a lexicon file: one pronunciation per line, `word<TAB>tok tok tok`.
    ///
    /// `token_id` maps a token string to the acoustic model's id; pronunciations with a token the
    /// model does not have are skipped (counted in the log). `lm_word` gives each word's LM id
    /// and unigram log-probability for the look-ahead (`None`: the word is not in the LM and is
    /// dropped).
    pub fn load(
        path: &Path,
        token_id: impl Fn(&str) -> Option<u16>,
        lm_word: impl Fn(&str) -> Option<(u32, f32)>,
    ) -> Result<Lexicon, LexiconError> {
        let text = std::fs::read_to_string(path).map_err(|source| LexiconError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Lexicon::parse(&text, path, token_id, lm_word)
    }

    /// [`Lexicon::load`] of a lexicon's text held in memory; `path` names it in messages.
    pub fn parse(
        text: &str,
        path: &Path,
        token_id: impl Fn(&str) -> Option<u16>,
        lm_word: impl Fn(&str) -> Option<(u32, f32)>,
    ) -> Result<Lexicon, LexiconError> {
        let t0 = std::time::Instant::now();
        let (entries, phones) = parse_entries(text, &token_id);
        log::debug!(
            "lexicon: parsed {} entries in {:?}",
            entries.len(),
            t0.elapsed()
        );
        let entries = entries
            .iter()
            .map(|&(w, start, end)| (w, &phones[start as usize..end as usize]));
        Lexicon::build(entries, lm_word).map_err(|msg| LexiconError::Format {
            path: path.to_path_buf(),
            msg,
        })
    }

    /// [`Lexicon::load`], remembering the built lexicon in `cache` ([`StartupCache`]) for
    /// the next start with the same, unchanged `path` and `depends_on` (the files `token_id`
    /// and `lm_word` answer from: the acoustic model's token list, the LM). Building it from
    /// the text costs about 0.5 G instructions at every start; reading it back a tenth.
    pub fn load_cached(
        path: &Path,
        token_id: impl Fn(&str) -> Option<u16>,
        lm_word: impl Fn(&str) -> Option<(u32, f32)>,
        cache: Option<&StartupCache>,
        depends_on: &[&Path],
    ) -> Result<Lexicon, LexiconError> {
        let known = cache.and_then(|c| {
            let mut paths = vec![path];
            paths.extend_from_slice(depends_on);
            FileIdentity::of_all(&paths).map(|(id, metas)| (c, id, metas))
        });
        if let Some((c, id, _)) = &known {
            if let Some(lex) = c
                .get(BUILT, &id.path_key(), id)
                .and_then(|b| Lexicon::from_bytes(&b))
            {
                log::debug!("lexicon: built before ({})", c.dir().display());
                return Ok(lex);
            }
        }
        let lex = Lexicon::load(path, token_id, lm_word)?;
        if let Some((c, id, metas)) = &known {
            c.put(BUILT, &id.path_key(), id, metas, &lex.to_bytes());
        }
        Ok(lex)
    }

    /// The lexicon as bytes for the [`StartupCache`].
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = BlobWriter::default();
        w.u64(BUILT_FORMAT);
        w.nul_terminated(self.words.len(), self.words.text());
        w.u32s(&self.by_spelling);
        w.u32s(&self.lm_ids);
        w.f32s(&self.unigram);
        w.u32s(&self.first_edge);
        w.u16s(&self.edges.iter().map(|e| e.token).collect::<Vec<_>>());
        w.u32s(&self.edges.iter().map(|e| e.child).collect::<Vec<_>>());
        w.u32s(&self.first_label);
        w.u32s(&self.labels);
        w.f32s(&self.label_cost);
        w.f32s(&self.lookahead);
        w.u64(self.prons as u64);
        w.u32s(&self.word_first_pron);
        w.u32s(&self.pron_start);
        w.u16s(&self.pron_phones);
        w.0
    }

    /// Reads [`Lexicon::to_bytes`]'s output back, checking every index the queries follow
    /// stays in range (`None` otherwise). Token ids are not checked against the model's
    /// vocabulary: the record is keyed by the token list's file version too.
    fn from_bytes(bytes: &[u8]) -> Option<Lexicon> {
        let mut r = BlobReader(bytes);
        if r.u64()? != BUILT_FORMAT {
            return None;
        }
        let words = r
            .nul_terminated()
            .and_then(|(n, text)| Spellings::from_text(n, text))?;
        let by_spelling = r.u32s()?;
        let lm_ids = r.u32s()?;
        let unigram = r.f32s()?;
        let first_edge = r.u32s()?;
        let tokens = r.u16s()?;
        let children = r.u32s()?;
        let first_label = r.u32s()?;
        let labels = r.u32s()?;
        let label_cost = r.f32s()?;
        let lookahead = r.f32s()?;
        let prons = usize::try_from(r.u64()?).ok()?;
        let word_first_pron = r.u32s()?;
        let pron_start = r.u32s()?;
        let pron_phones = r.u16s()?;
        // Offsets: start at 0, never go back, end at the length of what they index. (The
        // scans below do not stop early: without a branch per element they run as vector
        // code, and a record that fails is rare.)
        let offsets = |o: &[u32], n: usize, len: usize| {
            o.len() == n + 1
                && o[0] == 0
                && o.iter().zip(&o[1..]).fold(true, |ok, (a, b)| ok & (a <= b))
                && o[n] as usize == len
        };
        let all_below = |v: &[u32], lo: u32, end: usize| {
            v.iter()
                .fold(true, |ok, &x| ok & (x >= lo) & ((x as usize) < end))
        };
        let nw = words.len();
        let nodes = lookahead.len();
        let ok = r.is_empty()
            && nodes >= 1
            && lm_ids.len() == nw
            && unigram.len() == nw
            && tokens.len() == children.len()
            && offsets(&first_edge, nodes, children.len())
            && all_below(&children, 1, nodes)
            && offsets(&first_label, nodes, labels.len())
            && all_below(&labels, 0, nw)
            && (label_cost.is_empty() || label_cost.len() == labels.len())
            && !pron_start.is_empty()
            && offsets(&word_first_pron, nw, pron_start.len() - 1)
            && offsets(&pron_start, pron_start.len() - 1, pron_phones.len());
        if !ok {
            return None;
        }
        // A tree: every node but the root is the child of exactly one node with a smaller id
        // (so the searches that walk it end).
        if children.len() != nodes - 1 {
            return None;
        }
        let mut has_parent = vec![false; nodes];
        for p in 0..nodes {
            let kids = &children[first_edge[p] as usize..first_edge[p + 1] as usize];
            for &c in kids {
                if c as usize <= p || std::mem::replace(&mut has_parent[c as usize], true) {
                    return None;
                }
            }
        }
        // A permutation of the words, strictly increasing by spelling (so distinct).
        let mut seen = vec![false; nw];
        if by_spelling.len() != nw
            || by_spelling
                .iter()
                .any(|&w| (w as usize) >= nw || std::mem::replace(&mut seen[w as usize], true))
            || by_spelling
                .windows(2)
                .any(|p| words.get(p[0] as usize) >= words.get(p[1] as usize))
        {
            return None;
        }
        let edges = tokens
            .into_iter()
            .zip(children)
            .map(|(token, child)| Edge { token, child })
            .collect();
        Some(Lexicon {
            words,
            lm_ids,
            unigram,
            by_spelling,
            first_edge,
            edges,
            first_label,
            labels,
            label_cost,
            lookahead,
            prons,
            word_first_pron,
            pron_start,
            pron_phones,
        })
    }

    /// Builds a lexicon from `(word, token ids)` pairs.
    pub fn build<'a, P: AsRef<[u16]>>(
        entries: impl IntoIterator<Item = (&'a str, P)>,
        lm_word: impl Fn(&str) -> Option<(u32, f32)>,
    ) -> Result<Lexicon, String> {
        Self::build_weighted(entries.into_iter().map(|(w, p)| (w, p, 0.0)), lm_word)
    }

    /// Builds a lexicon from `(word, token ids, cost)` triples: `cost` (ln, at most 0) is
    /// how much less likely that pronunciation is than the word's best one (a G2P's second
    /// choice, a letter-to-sound variant); [`Lexicon::label_cost`] gives it back. A
    /// pronunciation given twice keeps its better cost.
    pub fn build_weighted<'a, P: AsRef<[u16]>>(
        entries: impl IntoIterator<Item = (&'a str, P, f32)>,
        lm_word: impl Fn(&str) -> Option<(u32, f32)>,
    ) -> Result<Lexicon, String> {
        let mut words: Vec<String> = Vec::new();
        let mut lm_ids: Vec<u32> = Vec::new();
        let mut word_index: HashMap<String, WordId> = HashMap::new();
        let mut word_score: Vec<f32> = Vec::new();
        // All phone sequences in one buffer: (offset, len, word) per pronunciation.
        let mut phone_buf: Vec<u16> = Vec::new();
        let mut spans: Vec<(u32, u32, WordId)> = Vec::new();
        let mut costs: Vec<f32> = Vec::new();
        let mut dropped = 0usize;
        let mut last: Option<(&str, WordId)> = None;
        for (word, phones, cost) in entries {
            let phones = phones.as_ref();
            if phones.is_empty() {
                continue;
            }
            let id = match last {
                Some((w, id)) if w == word => id,
                _ => match word_index.get(word) {
                    Some(&id) => id,
                    None => {
                        let Some((lm_id, score)) = lm_word(word) else {
                            dropped += 1;
                            continue;
                        };
                        let id = words.len() as WordId;
                        words.push(word.to_string());
                        lm_ids.push(lm_id);
                        word_index.insert(word.to_string(), id);
                        word_score.push(score);
                        id
                    }
                },
            };
            last = Some((word, id));
            spans.push((phone_buf.len() as u32, phones.len() as u32, id));
            costs.push(if cost.is_finite() { cost.min(0.0) } else { 0.0 });
            phone_buf.extend_from_slice(phones);
        }
        if dropped > 0 {
            log::debug!("lexicon: {dropped} pronunciations of words outside the LM dropped");
        }
        if spans.is_empty() {
            return Err("no usable pronunciations".into());
        }
        let weighted = costs.iter().any(|&c| c < 0.0);
        // The cost rides along in the span (its bits: spans are sorted and deduplicated).
        let mut spans: Vec<(u32, u32, WordId, u32)> = spans
            .iter()
            .zip(&costs)
            .map(|(&(o, l, w), c)| (o, l, w, c.to_bits()))
            .collect();
        let seq =
            |&(o, l, _, _): &(u32, u32, WordId, u32)| &phone_buf[o as usize..(o + l) as usize];
        let cost = |s: &(u32, u32, WordId, u32)| f32::from_bits(s.3);
        spans.sort_unstable_by(|a, b| {
            seq(a)
                .cmp(seq(b))
                .then(a.2.cmp(&b.2))
                .then(cost(b).total_cmp(&cost(a)))
        });
        spans.dedup_by(|a, b| a.2 == b.2 && seq(a) == seq(b));
        let prons: Vec<(&[u16], WordId, f32)> =
            spans.iter().map(|s| (seq(s), s.2, cost(s))).collect();
        // Per-word pronunciation table, in the order they were given.
        let mut by_word: Vec<(WordId, u32, u32)> =
            spans.iter().map(|&(o, l, w, _)| (w, o, l)).collect();
        by_word.sort_unstable();
        let mut word_first_pron = vec![0u32; words.len() + 1];
        let mut pron_start = Vec::with_capacity(by_word.len() + 1);
        let mut pron_phones = Vec::with_capacity(phone_buf.len());
        for &(w, o, l) in &by_word {
            word_first_pron[w as usize + 1] += 1;
            pron_start.push(pron_phones.len() as u32);
            pron_phones.extend_from_slice(&phone_buf[o as usize..(o + l) as usize]);
        }
        pron_start.push(pron_phones.len() as u32);
        for i in 0..words.len() {
            word_first_pron[i + 1] += word_first_pron[i];
        }

        // Nodes in depth-first order of the sorted pronunciations.
        let mut parent: Vec<NodeId> = vec![ROOT];
        let mut token: Vec<u16> = vec![0];
        let mut node_labels: Vec<(NodeId, WordId, f32)> = Vec::with_capacity(prons.len());
        let mut path: Vec<NodeId> = vec![ROOT];
        let mut prev: &[u16] = &[];
        for &(phones, word, c) in &prons {
            let common = phones
                .iter()
                .zip(prev.iter())
                .take_while(|(a, b)| a == b)
                .count();
            path.truncate(common + 1);
            for &t in &phones[common..] {
                let id = parent.len() as NodeId;
                parent.push(*path.last().unwrap_or(&ROOT));
                token.push(t);
                path.push(id);
            }
            node_labels.push((*path.last().unwrap_or(&ROOT), word, c));
            prev = phones;
        }
        let n = parent.len();
        // Children as CSR (counting sort by parent keeps token order: siblings were created in
        // sorted order).
        let mut first_edge = vec![0u32; n + 1];
        for &p in &parent[1..] {
            first_edge[p as usize + 1] += 1;
        }
        for i in 0..n {
            first_edge[i + 1] += first_edge[i];
        }
        let mut fill = first_edge.clone();
        let mut edges = vec![Edge { token: 0, child: 0 }; n - 1];
        for c in 1..n {
            let p = parent[c] as usize;
            edges[fill[p] as usize] = Edge {
                token: token[c],
                child: c as NodeId,
            };
            fill[p] += 1;
        }
        node_labels.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(b.2.total_cmp(&a.2)));
        node_labels.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
        let mut first_label = vec![0u32; n + 1];
        for &(node, _, _) in &node_labels {
            first_label[node as usize + 1] += 1;
        }
        for i in 0..n {
            first_label[i + 1] += first_label[i];
        }
        let labels: Vec<WordId> = node_labels.iter().map(|&(_, w, _)| w).collect();
        let label_cost: Vec<f32> = if weighted {
            node_labels.iter().map(|&(_, _, c)| c).collect()
        } else {
            Vec::new()
        };
        // Look-ahead: best unigram below each node. Children have larger ids than parents.
        let mut lookahead = vec![f32::NEG_INFINITY; n];
        for &(node, w, _) in &node_labels {
            let s = word_score[w as usize];
            if s > lookahead[node as usize] {
                lookahead[node as usize] = s;
            }
        }
        for c in (1..n).rev() {
            let p = parent[c] as usize;
            if lookahead[c] > lookahead[p] {
                lookahead[p] = lookahead[c];
            }
        }
        lookahead[ROOT as usize] = 0.0;
        let mut by_spelling: Vec<WordId> = (0..words.len() as WordId).collect();
        by_spelling.sort_unstable_by(|&a, &b| words[a as usize].cmp(&words[b as usize]));
        let words = Spellings::new(words.iter().map(String::as_str))
            .ok_or_else(|| "the words' spellings pass 4 GB".to_string())?;
        Ok(Lexicon {
            words,
            lm_ids,
            unigram: word_score,
            by_spelling,
            first_edge,
            edges,
            first_label,
            labels,
            label_cost,
            lookahead,
            prons: prons.len(),
            word_first_pron,
            pron_start,
            pron_phones,
        })
    }

    /// The children of `node`, sorted by token.
    #[inline]
    pub fn children(&self, node: NodeId) -> &[Edge] {
        let n = node as usize;
        &self.edges[self.first_edge[n] as usize..self.first_edge[n + 1] as usize]
    }

    /// The words whose pronunciation ends at `node`.
    #[inline]
    pub fn labels(&self, node: NodeId) -> &[WordId] {
        let n = node as usize;
        &self.labels[self.first_label[n] as usize..self.first_label[n + 1] as usize]
    }

    /// What the pronunciation ending at `node` costs its word `labels(node)[i]` (ln, at most
    /// 0; 0 for a lexicon built without costs).
    #[inline]
    pub fn label_cost(&self, node: NodeId, i: usize) -> f32 {
        if self.label_cost.is_empty() {
            0.0
        } else {
            self.label_cost[self.first_label[node as usize] as usize + i]
        }
    }

    /// Best unigram log-probability of any word at or below `node` (0 at the root).
    #[inline]
    pub fn lookahead(&self, node: NodeId) -> f32 {
        self.lookahead[node as usize]
    }

    /// The node reached from `node` by `token`, if any.
    pub fn child(&self, node: NodeId, token: u16) -> Option<NodeId> {
        let ch = self.children(node);
        ch.binary_search_by_key(&token, |e| e.token)
            .ok()
            .map(|i| ch[i].child)
    }

    /// The spelling of word `id`.
    pub fn word(&self, id: WordId) -> &str {
        self.words.get(id as usize)
    }

    /// The LM's id for lexicon word `id`.
    #[inline]
    pub fn lm_id(&self, id: WordId) -> u32 {
        self.lm_ids[id as usize]
    }

    /// The id of `word`, if the lexicon has it.
    pub fn word_id(&self, word: &str) -> Option<WordId> {
        self.by_spelling
            .binary_search_by(|&id| self.words.get(id as usize).cmp(word))
            .ok()
            .map(|i| self.by_spelling[i])
    }

    /// Number of words.
    pub fn num_words(&self) -> usize {
        self.words.len()
    }

    /// Number of trie nodes.
    pub fn num_nodes(&self) -> usize {
        self.lookahead.len()
    }

    /// The largest number of children any node has.
    pub fn max_children(&self) -> usize {
        self.first_edge
            .windows(2)
            .map(|w| (w[1] - w[0]) as usize)
            .max()
            .unwrap_or(0)
    }

    /// The largest number of words ending at one node.
    pub fn max_labels(&self) -> usize {
        self.first_label
            .windows(2)
            .map(|w| (w[1] - w[0]) as usize)
            .max()
            .unwrap_or(0)
    }

    /// The pronunciations of `word`, in the order the lexicon file gives them.
    pub fn prons_of(&self, word: WordId) -> impl Iterator<Item = &[u16]> + '_ {
        let w = word as usize;
        let (a, b) = (
            self.word_first_pron[w] as usize,
            self.word_first_pron[w + 1] as usize,
        );
        (a..b).map(move |p| {
            &self.pron_phones[self.pron_start[p] as usize..self.pron_start[p + 1] as usize]
        })
    }

    /// Pronunciations of `word` (token sequences), by walking the trie. For tests and tools.
    pub fn pronunciations(&self, word: WordId) -> Vec<Vec<u16>> {
        let mut out = Vec::new();
        let mut stack: Vec<(NodeId, Vec<u16>)> = vec![(ROOT, Vec::new())];
        while let Some((node, path)) = stack.pop() {
            if self.labels(node).contains(&word) {
                out.push(path.clone());
            }
            for e in self.children(node) {
                let mut p = path.clone();
                p.push(e.token);
                stack.push((e.child, p));
            }
        }
        out.sort();
        out
    }

    /// The unigram LM log-probability of word `id`.
    pub fn unigram(&self, id: WordId) -> f32 {
        self.unigram[id as usize]
    }

    /// The word whose pronunciation is closest to `phones` (Levenshtein distance over tokens;
    /// ties go to the more frequent word), with that distance. A depth-first walk of the trie
    /// that abandons branches which cannot beat the best so far.
    pub fn nearest(&self, phones: &[u16]) -> Option<(WordId, usize)> {
        // rows[d * width..] is the DP row after d trie steps along the current path.
        let mut rows: Vec<usize> = (0..=phones.len()).collect();
        self.nearest_from(ROOT, 0, phones, &mut rows, None)
    }

    /// Words with a pronunciation within `max_dist` edits of `phones` (Levenshtein distance
    /// over tokens), each once with its smallest distance, closest first, at most `k`.
    pub fn within(&self, phones: &[u16], max_dist: usize, k: usize) -> Vec<(WordId, usize)> {
        let mut rows: Vec<usize> = (0..=phones.len()).collect();
        let mut found: Vec<(WordId, usize)> = Vec::new();
        self.within_from(ROOT, 0, phones, max_dist, &mut rows, &mut found);
        found.sort_unstable();
        found.dedup_by_key(|f| f.0);
        found.sort_by(|a, b| {
            a.1.cmp(&b.1)
                .then(self.unigram(b.0).total_cmp(&self.unigram(a.0)))
                .then(a.0.cmp(&b.0))
        });
        found.truncate(k);
        found
    }

    fn within_from(
        &self,
        node: NodeId,
        depth: usize,
        phones: &[u16],
        max_dist: usize,
        rows: &mut Vec<usize>,
        found: &mut Vec<(WordId, usize)>,
    ) {
        let m = phones.len();
        let width = m + 1;
        let row = &rows[depth * width..(depth + 1) * width];
        if row[m] <= max_dist {
            for &w in self.labels(node) {
                found.push((w, row[m]));
            }
        }
        if row.iter().min().copied().unwrap_or(0) > max_dist {
            return;
        }
        for e in self.children(node) {
            edit_row(rows, depth, phones, e.token);
            self.within_from(e.child, depth + 1, phones, max_dist, rows, found);
        }
    }

    fn nearest_from(
        &self,
        node: NodeId,
        depth: usize,
        phones: &[u16],
        rows: &mut Vec<usize>,
        mut best: Option<(WordId, usize, f32)>,
    ) -> Option<(WordId, usize)> {
        let m = phones.len();
        let width = m + 1;
        let row_min;
        {
            let row = &rows[depth * width..(depth + 1) * width];
            let dist = row[m];
            for &w in self.labels(node) {
                let u = self.unigram(w);
                let better = match best {
                    None => true,
                    Some((_, d, bu)) => dist < d || (dist == d && u > bu),
                };
                if better {
                    best = Some((w, dist, u));
                }
            }
            row_min = row.iter().min().copied().unwrap_or(0);
        }
        let bound = best.map_or(usize::MAX, |b| b.1);
        if row_min <= bound {
            for e in self.children(node) {
                edit_row(rows, depth, phones, e.token);
                if let Some((w, d)) = self.nearest_from(e.child, depth + 1, phones, rows, best) {
                    let u = self.unigram(w);
                    let better = match best {
                        None => true,
                        Some((_, bd, bu)) => d < bd || (d == bd && u > bu),
                    };
                    if better {
                        best = Some((w, d, u));
                    }
                }
            }
        }
        best.map(|(w, d, _)| (w, d))
    }

    /// Sizes.
    pub fn stats(&self) -> LexiconStats {
        LexiconStats {
            words: self.words.len(),
            pronunciations: self.prons,
            nodes: self.num_nodes(),
        }
    }
}

/// Parses `word<TAB>tok tok ...` lines; lines with unknown tokens are skipped.
/// The entries of a lexicon text as `(word, start, end)` of their token ids in the returned
/// buffer (one buffer and one lookup per distinct symbol: this runs at every start-up).
#[allow(clippy::type_complexity)]
fn parse_entries<'a>(
    text: &'a str,
    token_id: &impl Fn(&str) -> Option<u16>,
) -> (Vec<(&'a str, u32, u32)>, Vec<u16>) {
    type Fx = std::hash::BuildHasherDefault<crate::decoder::hash::FxHasher>;
    let mut ids: HashMap<&str, Option<u16>, Fx> = HashMap::default();
    let mut out = Vec::new();
    let mut buf: Vec<u16> = Vec::with_capacity(text.len() / 4);
    let mut unknown = 0usize;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let Some((word, phones)) = line.split_once('\t') else {
            continue;
        };
        let word = word.trim();
        if word.is_empty() || word.starts_with('#') {
            continue;
        }
        let start = buf.len();
        let mut known = true;
        for symbol in phones.split_whitespace() {
            match *ids.entry(symbol).or_insert_with(|| token_id(symbol)) {
                Some(id) => buf.push(id),
                None => {
                    known = false;
                    break;
                }
            }
        }
        if !known {
            buf.truncate(start);
            unknown += 1;
        } else if buf.len() > start {
            out.push((word, start as u32, buf.len() as u32));
        }
    }
    if unknown > 0 {
        log::debug!("lexicon: {unknown} pronunciations with tokens the model lacks skipped");
    }
    (out, buf)
}

/// The Levenshtein DP row after one more trie step (unit `token`) at `depth`: `rows` holds
/// one row of `phones.len() + 1` distances per depth along the current trie path.
fn edit_row(rows: &mut Vec<usize>, depth: usize, phones: &[u16], token: u16) {
    let width = phones.len() + 1;
    let need = (depth + 2) * width;
    if rows.len() < need {
        rows.resize(need, 0);
    }
    let (prev, next) = rows.split_at_mut((depth + 1) * width);
    let prev = &prev[depth * width..];
    let next = &mut next[..width];
    next[0] = depth + 1;
    for j in 1..width {
        let sub = prev[j - 1] + usize::from(phones[j - 1] != token);
        next[j] = sub.min(prev[j] + 1).min(next[j - 1] + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Lexicon {
        let entries = vec![
            ("to", vec![1, 2]),
            ("two", vec![1, 2]),
            ("tow", vec![1, 2, 3]),
            ("a", vec![4]),
            ("at", vec![4, 1]),
            ("to", vec![1, 5]),
            ("oov", vec![7]),
        ];
        Lexicon::build(entries, |w| match w {
            "to" => Some((0, -1.0)),
            "two" => Some((1, -3.0)),
            "tow" => Some((2, -5.0)),
            "a" => Some((3, -2.0)),
            "at" => Some((4, -4.0)),
            _ => None,
        })
        .unwrap()
    }

    /// Every query over every node, word and label: what must never panic.
    fn poke(lx: &Lexicon) -> usize {
        let mut seen = 0;
        for node in 0..lx.num_nodes() as NodeId {
            seen += lx.children(node).len() + lx.labels(node).len();
            for (i, _) in lx.labels(node).iter().enumerate() {
                let _ = lx.label_cost(node, i);
            }
            let _ = lx.lookahead(node);
            for e in lx.children(node) {
                let _ = lx.child(node, e.token);
            }
        }
        for w in 0..lx.num_words() as WordId {
            let _ = (lx.word(w), lx.lm_id(w), lx.unigram(w), lx.pronunciations(w));
        }
        let _ = (
            lx.max_children(),
            lx.max_labels(),
            lx.nearest(&[1, 2]),
            lx.stats(),
        );
        seen
    }

    #[test]
    fn a_lexicon_read_back_is_the_same_and_damaged_bytes_never_panic() {
        let lx = tiny();
        let bytes = lx.to_bytes();
        let back = Lexicon::from_bytes(&bytes).expect("reads back");
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(poke(&back), poke(&lx));
        assert_eq!(back.word_id("tow"), lx.word_id("tow"));
        // Every byte changed, and every truncation: refused or still safe to query.
        for i in 0..bytes.len() {
            for flip in [1u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                if let Some(l) = Lexicon::from_bytes(&b) {
                    poke(&l);
                }
            }
            assert!(Lexicon::from_bytes(&bytes[..i]).is_none());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_remembered_lexicon_is_the_one_built_and_a_changed_input_builds_again() {
        let dir = std::env::temp_dir().join(format!("nomen-lex-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (path, dep) = (dir.join("lexicon.txt"), dir.join("lm"));
        std::fs::write(&path, "to\ta b\ntwo\ta b\nat\tb a\n").unwrap();
        std::fs::write(&dep, "v1").unwrap();
        let cache = StartupCache::new(dir.join("cache")).without_settling();
        let ids = |t: &str| match t {
            "a" => Some(1u16),
            "b" => Some(2),
            _ => None,
        };
        let lm = |w: &str| (w != "at").then_some((7, -1.0));
        let load = |lm: &dyn Fn(&str) -> Option<(u32, f32)>| {
            Lexicon::load_cached(&path, ids, lm, Some(&cache), &[&dep]).unwrap()
        };
        let built = load(&lm);
        assert_eq!(built.num_words(), 2);
        let id = FileIdentity::of_all(&[&path, &dep]).unwrap().0;
        let remembered = cache.get(BUILT, &id.path_key(), &id).expect("remembered");
        assert_eq!(remembered, built.to_bytes());
        // Read back, not built: an LM answer that changed without its file changing (which
        // cannot happen outside a test) is not seen.
        let all = |_: &str| Some((7, -1.0));
        assert_eq!(load(&all).to_bytes(), remembered);
        // The LM file changed: built again.
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(&dep, "v2").unwrap();
        assert_eq!(load(&all).num_words(), 3);
        // ... and its record replaced the old one (one record per lexicon path).
        assert_eq!(
            std::fs::read_dir(dir.join("cache").join(BUILT))
                .unwrap()
                .count(),
            1
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn trie_shares_prefixes_and_keeps_homophones_at_one_node() {
        let lx = tiny();
        // root, 1, 1-2, 1-2-3, 1-5, 4, 4-1
        assert_eq!(lx.num_nodes(), 7);
        let n12 = lx.child(lx.child(ROOT, 1).unwrap(), 2).unwrap();
        let mut ws: Vec<&str> = lx.labels(n12).iter().map(|&w| lx.word(w)).collect();
        ws.sort();
        assert_eq!(ws, vec!["to", "two"]);
        assert_eq!(
            lx.children(ROOT)
                .iter()
                .map(|e| e.token)
                .collect::<Vec<_>>(),
            vec![1, 4]
        );
    }

    #[test]
    fn words_missing_from_the_lm_are_dropped() {
        let lx = tiny();
        assert!(lx.word_id("oov").is_none());
        assert!(lx.child(ROOT, 7).is_none());
    }

    #[test]
    fn lookahead_is_best_unigram_below() {
        let lx = tiny();
        let n1 = lx.child(ROOT, 1).unwrap();
        assert_eq!(lx.lookahead(n1), -1.0);
        let n123 = lx.child(lx.child(n1, 2).unwrap(), 3).unwrap();
        assert_eq!(lx.lookahead(n123), -5.0);
        assert_eq!(lx.lookahead(lx.child(ROOT, 4).unwrap()), -2.0);
        assert_eq!(lx.lookahead(ROOT), 0.0);
    }

    #[test]
    fn pronunciation_costs_ride_with_their_labels() {
        let lx = Lexicon::build_weighted(
            [
                ("ann", vec![1u16, 2], 0.0),
                ("ann", vec![1, 3], -1.5),
                // Given twice: the better cost stays.
                ("ann", vec![1, 3], -0.5),
                ("anne", vec![1, 3], -2.0),
            ],
            |_| Some((0, -1.0)),
        )
        .unwrap();
        let n1 = lx.child(ROOT, 1).unwrap();
        let n12 = lx.child(n1, 2).unwrap();
        let n13 = lx.child(n1, 3).unwrap();
        assert_eq!(lx.label_cost(n12, 0), 0.0);
        let costs: Vec<(String, f32)> = lx
            .labels(n13)
            .iter()
            .enumerate()
            .map(|(i, &w)| (lx.word(w).to_string(), lx.label_cost(n13, i)))
            .collect();
        assert_eq!(costs, vec![("ann".into(), -0.5), ("anne".into(), -2.0)]);
        // Built without costs: every label costs 0.
        let plain = tiny();
        let n = plain.child(ROOT, 4).unwrap();
        assert_eq!(plain.label_cost(n, 0), 0.0);
    }

    #[test]
    fn pronunciations_round_trip() {
        let lx = tiny();
        let to = lx.word_id("to").unwrap();
        assert_eq!(lx.pronunciations(to), vec![vec![1, 2], vec![1, 5]]);
        let table: Vec<&[u16]> = lx.prons_of(to).collect();
        assert_eq!(table, vec![&[1u16, 2][..], &[1, 5][..]]);
        let a = lx.word_id("a").unwrap();
        assert_eq!(lx.prons_of(a).collect::<Vec<_>>(), vec![&[4u16][..]]);
    }

    #[test]
    fn nearest_finds_closest_pronunciation_and_prefers_frequent_words() {
        let lx = tiny();
        let name = |p: &[u16]| lx.nearest(p).map(|(w, d)| (lx.word(w).to_string(), d));
        assert_eq!(name(&[1, 2, 3]), Some(("tow".into(), 0)));
        assert_eq!(name(&[1, 2]), Some(("to".into(), 0))); // "two" is a homophone, rarer
        assert_eq!(name(&[4, 1, 6]), Some(("at".into(), 1)));
        assert_eq!(name(&[1, 9]), Some(("to".into(), 1)));
    }

    #[test]
    fn parse_skips_unknown_tokens_and_junk_lines() {
        let ids = |t: &str| match t {
            "a" => Some(1u16),
            "b" => Some(2),
            _ => None,
        };
        let (e, buf) = parse_entries(
            "x\ta b\ny\ta zz\n\nno tab here\n#c\ta\nz\t \nw\tb b a\n",
            &ids,
        );
        assert_eq!(e, vec![("x", 0, 2), ("w", 2, 5)]);
        assert_eq!(buf, vec![1, 2, 2, 2, 1]);
    }
}
