//! Tests of the word LM: both readers against each other and against a naive
//! back-off reference, minimal states, and corrupt input.
//!
//! Fixtures (tests/fixtures/lm/): `tiny.arpa`, a hand-written trigram LM with 13
//! words, and `tiny.lm.bin`, the same LM converted by Debian's `sphinx_lm_convert`
//! (sphinxbase-utils 0.8+5prealpha+1): `sphinx_lm_convert -i tiny.arpa -o tiny.lm.bin`.

use super::*;
use std::collections::HashMap;
use std::f64::consts::LN_10;

const TINY_ARPA: &str = include_str!("../../tests/fixtures/lm/tiny.arpa");
const TINY_BIN: &[u8] = include_bytes!("../../tests/fixtures/lm/tiny.lm.bin");

fn tiny_arpa() -> WordLm {
    WordLm::from_bytes(TINY_ARPA.as_bytes().to_vec()).expect("tiny.arpa loads")
}

fn tiny_bin() -> WordLm {
    WordLm::from_bytes(TINY_BIN.to_vec()).expect("tiny.lm.bin loads")
}

/// A plain-map ARPA model scored with the textbook back-off recursion over the
/// full history: the reference the tries must reproduce.
struct Naive {
    order: usize,
    grams: HashMap<Vec<String>, (f64, f64)>,
    /// Every context that some longer n-gram starts with.
    extended: std::collections::HashSet<Vec<String>>,
}

impl Naive {
    fn parse(text: &str) -> Naive {
        let mut grams = HashMap::new();
        let mut k = 0;
        let mut order = 0;
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix('\\') {
                k = rest
                    .strip_suffix("-grams:")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                order = order.max(k);
                continue;
            }
            if k == 0 || line.is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            let words: Vec<String> = f[1..=k].iter().map(|s| s.to_string()).collect();
            let bo = f.get(k + 1).map_or(0.0, |b| b.parse().unwrap());
            grams.insert(words, (f[0].parse().unwrap(), bo));
        }
        let extended = grams
            .keys()
            .flat_map(|g| (1..g.len()).map(|j| g[..j].to_vec()))
            .collect();
        Naive {
            order,
            grams,
            extended,
        }
    }

    /// Whether a context (oldest first) matters for later words: something extends
    /// it, or it has a non-zero backoff.
    fn matters(&self, ctx: &[&str]) -> bool {
        let ctx: Vec<String> = ctx.iter().map(|s| s.to_string()).collect();
        self.extended.contains(&ctx) || self.grams.get(&ctx).is_some_and(|g| g.1 != 0.0)
    }

    /// ln p(w | hist), hist oldest first.
    fn prob(&self, hist: &[&str], w: &str) -> f64 {
        let keep = hist.len().min(self.order - 1);
        self.log10(&hist[hist.len() - keep..], w) * LN_10
    }

    fn log10(&self, ctx: &[&str], w: &str) -> f64 {
        let mut key: Vec<String> = ctx.iter().map(|s| s.to_string()).collect();
        key.push(w.to_string());
        if let Some(&(p, _)) = self.grams.get(&key) {
            return p;
        }
        assert!(!ctx.is_empty(), "unigram {w} missing");
        key.pop();
        let bo = self.grams.get(&key).map_or(0.0, |g| g.1);
        bo + self.log10(&ctx[1..], w)
    }
}

fn words_of(lm: &WordLm) -> Vec<String> {
    (0..lm.vocab_size() as u32)
        .map(|i| lm.word(i).to_string())
        .collect()
}

/// Every word sequence of length 1..=max_len over the vocabulary.
fn sequences(v: usize, max_len: usize) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    let mut layer: Vec<Vec<u32>> = vec![vec![]];
    for _ in 0..max_len {
        let mut next = Vec::new();
        for s in &layer {
            for w in 0..v as u32 {
                let mut t = s.clone();
                t.push(w);
                next.push(t);
            }
        }
        out.extend(next.iter().cloned());
        layer = next;
    }
    out
}

/// Scores `seq` word by word from `state`; returns the per-word scores and the final state.
fn run(lm: &WordLm, mut state: LmState, seq: &[u32]) -> (Vec<f32>, LmState) {
    let mut scores = Vec::new();
    for &w in seq {
        let (p, s) = lm.score(state, w);
        scores.push(p);
        state = s;
    }
    (scores, state)
}

/// Checks every sequence up to `max_len` words, from the empty context and from
/// `<s>`, against the naive model: each score, and that states are canonical
/// (they depend only on the last order-1 words) and agree with `state_words`.
fn check_against_naive(lm: &WordLm, naive: &Naive, max_len: usize, tol: f64) -> usize {
    let words = words_of(lm);
    let n = lm.order() - 1;
    let mut checked = 0;
    let mut canonical: HashMap<Vec<u32>, LmState> = HashMap::new();
    for seq in sequences(words.len(), max_len) {
        for from_bos in [false, true] {
            let mut hist: Vec<&str> = if from_bos { vec!["<s>"] } else { vec![] };
            let mut full: Vec<u32> = if from_bos { vec![lm.bos()] } else { vec![] };
            let mut state = if from_bos {
                lm.start_state()
            } else {
                lm.null_state()
            };
            for &w in &seq {
                let (p, s) = lm.score(state, w);
                let want = naive.prob(&hist, &words[w as usize]);
                // f32 holds ln p to about 1e-7 relative (p(<s>) is about -228).
                assert!(
                    (p as f64 - want).abs() < tol * (1.0 + want.abs() / 10.0),
                    "p({} | {hist:?}) = {p}, want {want}",
                    words[w as usize]
                );
                checked += 1;
                hist.push(&words[w as usize]);
                full.push(w);
                state = s;
                // The kept words are a suffix of the history (newest first) ...
                let kept = lm.state_words(state);
                assert!(kept.len() <= n && kept.len() == state.len());
                for (j, &k) in kept.iter().enumerate() {
                    assert_eq!(k, full[full.len() - 1 - j]);
                }
                // ... it is minimal: its oldest context matters, one more word would not ...
                let suffix = |len: usize| -> Vec<&str> {
                    full[full.len() - len..]
                        .iter()
                        .map(|&w| words[w as usize].as_str())
                        .collect()
                };
                if !kept.is_empty() {
                    assert!(
                        naive.matters(&suffix(kept.len())),
                        "order {} kept {:?}",
                        lm.order(),
                        suffix(kept.len())
                    );
                }
                if kept.len() < n && kept.len() < full.len() {
                    assert!(
                        !naive.matters(&suffix(kept.len() + 1)),
                        "dropped from {full:?}"
                    );
                }
                // ... and the state depends only on the last order-1 words.
                let tail = full[full.len().saturating_sub(n)..].to_vec();
                let prev = canonical.entry(tail.clone()).or_insert(state);
                assert_eq!(*prev, state, "two states for the context {tail:?}");
            }
        }
    }
    checked
}

#[test]
fn tiny_fixtures_load() {
    for lm in [tiny_arpa(), tiny_bin()] {
        assert_eq!(lm.order(), 3);
        assert_eq!(lm.vocab_size(), 13);
        assert_eq!(lm.word(lm.bos()), "<s>");
        assert_eq!(lm.word(lm.eos()), "</s>");
        assert_eq!(lm.unk(), lm.word_id("<unk>"));
        assert!(lm.unk().is_some());
        assert_eq!(lm.word_id("cat").map(|i| lm.word(i)), Some("cat"));
        assert_eq!(lm.word_id("Cat"), None);
        assert_eq!(lm.counts(), vec![13, 19, 14]); // one blank bigram ("a mat")
        assert_eq!(lm.start_state(), lm.score(lm.null_state(), lm.bos()).1);
        assert_eq!(lm.null_state(), LmState::default());
        assert!(lm.null_state().is_empty());
    }
}

#[test]
fn both_readers_agree_with_naive_backoff() {
    let mut naive = Naive::parse(TINY_ARPA);
    let arpa = tiny_arpa();
    let bin = tiny_bin();
    let n = check_against_naive(&arpa, &naive, 4, 1e-5);
    assert!(n > 50_000);
    // sphinxbase stores a wrong probability in the blank bigram "a mat" it adds
    // for the trigram "<s> a mat" (-1.5 instead of bo(a) + p(mat) = -2.55; the
    // pocketsphinx Python module answers -1.5 too). The binary reader reads the
    // file as it is, so the reference gets that bigram for the binary.
    let blank = vec!["a".to_string(), "mat".to_string()];
    naive.grams.insert(blank.clone(), (-1.5, 0.0));
    // The binary's tables are in base-1.0001 log units rounded to f32.
    check_against_naive(&bin, &naive, 4, 1e-4);
    naive.grams.remove(&blank);
    // Same scores and states (as word lists) from both readers, except through
    // that blank.
    let (a, mat) = (arpa.word_id("a").unwrap(), arpa.word_id("mat").unwrap());
    for seq in sequences(13, 3) {
        let (pa, sa) = run(&arpa, arpa.start_state(), &seq);
        let (pb, sb) = run(&bin, bin.start_state(), &seq);
        for (i, (x, y)) in pa.iter().zip(&pb).enumerate() {
            let via_blank = i > 0 && seq[i - 1] == a && seq[i] == mat;
            assert!(via_blank || (x - y).abs() < 1e-4, "{seq:?}: {x} vs {y}");
        }
        assert_eq!(arpa.state_words(sa), bin.state_words(sb));
    }
}

#[test]
fn hand_computed_backoffs() {
    let l = |x: f64| (x * LN_10) as f32;
    for (lm, is_bin) in [(tiny_arpa(), false), (tiny_bin(), true)] {
        let id = |w: &str| lm.word_id(w).unwrap();
        let ctx = |ws: &[&str]| {
            run(
                &lm,
                lm.null_state(),
                &ws.iter().map(|w| id(w)).collect::<Vec<_>>(),
            )
            .1
        };
        let p = |c: &[&str], w: &str| lm.score(ctx(c), id(w)).0;
        let close = |a: f32, b: f32| assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        // Stored trigram, bigram, unigram.
        close(p(&["<s>", "the"], "cat"), l(-0.3));
        close(p(&["the"], "cat"), l(-0.7));
        close(p(&[], "cat"), l(-1.8));
        close(lm.unigram(id("cat")), l(-1.8));
        // Trigram missing: bo(the dog) + p(ran | dog).
        close(p(&["the", "dog"], "ran"), l(-0.15 - 0.5));
        // Trigram and bigram missing: bo(on the) + bo(the) + p(quickly).
        close(p(&["on", "the"], "quickly"), l(-0.22 - 0.4 - 2.5));
        // Bigram missing, one-word context: bo(cat) + p(dog).
        close(p(&["cat"], "dog"), l(-0.3 - 1.9));
        // Context (<s> dog) has no trigrams and no backoff: only bo(dog) applies.
        close(p(&["<s>", "dog"], "mat"), l(-0.35 - 2.1));
        // Blank bigram (a mat): only there because of the trigram "<s> a mat".
        close(p(&["<s>", "a"], "mat"), l(-1.3));
        // ... elsewhere it is p(mat | a) = bo(a) + p(mat); sphinxbase stored -1.5.
        close(
            p(&["the", "a"], "mat"),
            l(if is_bin { -1.5 } else { -0.45 - 2.1 }),
        );
        // End of sentence.
        close(p(&["ran", "away"], "</s>"), l(-0.2));
        close(p(&["dog", "away"], "</s>"), l(-0.6));
        close(p(&["<s>"], "</s>"), l(-0.5 - 1.0));
        // Out-of-vocabulary id: the floor, and the empty context.
        let (f, s) = lm.score(lm.start_state(), 999);
        close(f, l(-99.0));
        assert!(s.is_empty());
        close(lm.unigram(999), l(-99.0));
    }
}

#[test]
fn states_are_minimal() {
    for lm in [tiny_arpa(), tiny_bin()] {
        let id = |w: &str| lm.word_id(w).unwrap();
        let after = |ws: &[&str]| {
            let s = run(
                &lm,
                lm.null_state(),
                &ws.iter().map(|w| id(w)).collect::<Vec<_>>(),
            )
            .1;
            let kept: Vec<String> = lm
                .state_words(s)
                .iter()
                .map(|&w| lm.word(w).to_string())
                .collect();
            (s, kept)
        };
        // "<s> the" starts trigrams: both words kept (newest first).
        assert_eq!(after(&["<s>", "the"]).1, ["the", "<s>"]);
        // "<s> dog" ends every trigram path and has backoff 0: only "dog" matters.
        assert_eq!(after(&["<s>", "dog"]).1, ["dog"]);
        assert_eq!(after(&["<s>", "dog"]).0, after(&["dog"]).0);
        assert_eq!(
            after(&["<s>", "dog"]).0,
            after(&["the", "cat", "<s>", "dog"]).0
        );
        // "dog sat" continues nowhere but has a non-zero backoff: kept.
        assert_eq!(after(&["dog", "sat"]).1, ["sat", "dog"]);
        assert_ne!(after(&["dog", "sat"]).0, after(&["cat", "sat"]).0);
        // "ran quickly": no continuation, backoff 0; "quickly" has a backoff: kept alone.
        assert_eq!(after(&["ran", "quickly"]).1, ["quickly"]);
        // "</s>" and "<unk>" start nothing and have no backoff: empty context.
        assert!(after(&["the", "mat", "</s>"]).0.is_empty());
        assert!(after(&["<unk>"]).0.is_empty());
        // "mat" continues ("mat </s>") even though "the mat" is a longer match.
        assert_eq!(after(&["<s>", "mat"]).1, ["mat"]);
        assert_eq!(after(&["the", "mat"]).1, ["mat", "the"]);
        // Longest state: order - 1 words.
        assert_eq!(after(&["a", "cat", "sat", "on", "the"]).1, ["the", "on"]);
        assert_eq!(LmState::default().len(), 0);
    }
}

/// A deterministic pseudo-random generator for the synthetic LMs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn weight(&mut self) -> f64 {
        -((self.below(30_000) as f64) / 10_000.0 + 0.0001)
    }
}

/// A random ARPA LM of the given order over `v` words (`<s>`, `</s>`, w2, ...).
/// Higher orders are drawn freely, so prefixes and suffixes are often missing
/// (the builder must add blanks); a third of the backoffs are omitted.
fn random_arpa(order: usize, v: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let words: Vec<String> = (0..v)
        .map(|i| match i {
            0 => "<s>".into(),
            1 => "</s>".into(),
            _ => format!("w{i}"),
        })
        .collect();
    let mut sections = Vec::new();
    for k in 1..=order {
        let mut lines = std::collections::BTreeSet::new();
        let target = if k == 1 {
            v
        } else {
            (v.pow(k as u32) / 3).min(60)
        };
        let mut tries = 0;
        while lines.len() < target && tries < 10_000 {
            tries += 1;
            let ids: Vec<usize> = if k == 1 {
                vec![lines.len()]
            } else {
                (0..k).map(|_| rng.below(v as u64) as usize).collect()
            };
            let gram: Vec<&str> = ids.iter().map(|&i| words[i].as_str()).collect();
            lines.insert(gram.join(" "));
        }
        let mut body = Vec::new();
        for g in &lines {
            let p = if g == "<s>" { -99.0 } else { rng.weight() };
            let bo = if k < order && rng.below(3) != 0 {
                format!("\t{:.4}", rng.weight() / 3.0)
            } else {
                String::new()
            };
            body.push(format!("{p:.4}\t{g}{bo}"));
        }
        sections.push(body);
    }
    let mut out = String::from("random test LM\n\n\\data\\\n");
    for (k, s) in sections.iter().enumerate() {
        out += &format!("ngram {}={}\n", k + 1, s.len());
    }
    for (k, s) in sections.iter().enumerate() {
        out += &format!("\n\\{}-grams:\n", k + 1);
        for l in s {
            out += l;
            out.push('\n');
        }
    }
    out + "\n\\end\\\n"
}

#[test]
fn random_arpa_lms_of_every_order_match_naive() {
    for order in 1..=MAX_ORDER {
        for seed in 1..=4u64 {
            let v = if order >= 4 { 5 } else { 7 };
            let text = random_arpa(order, v, seed * 7919 + order as u64);
            let lm = WordLm::from_bytes(text.clone().into_bytes())
                .unwrap_or_else(|e| panic!("order {order} seed {seed}: {e:?}\n{text}"));
            assert_eq!(lm.order(), order);
            let naive = Naive::parse(&text);
            let max_len = (order + 1).min(if order >= 4 { 5 } else { 4 });
            check_against_naive(&lm, &naive, max_len, 1e-4);
        }
    }
}

#[test]
fn arpa_blanks_for_missing_prefixes_and_suffixes() {
    // Trigram "a b c" without bigrams "a b" or "b c".
    let text = "\\data\\\nngram 1=5\nngram 2=1\nngram 3=1\n\n\\1-grams:\n\
        -1 <s> -0.5\n-1 </s>\n-1 a -0.25\n-1.5 b -0.125\n-2 c\n\n\
        \\2-grams:\n-0.5 <s> a -0.0625\n\n\\3-grams:\n-0.1 a b c\n\\end\\\n";
    let lm = WordLm::from_bytes(text.as_bytes().to_vec()).unwrap();
    assert_eq!(lm.counts(), vec![5, 3, 1]);
    check_against_naive(&lm, &Naive::parse(text), 4, 1e-5);
    let id = |w: &str| lm.word_id(w).unwrap();
    let (_, s) = run(&lm, lm.null_state(), &[id("a"), id("b")]);
    assert_eq!(lm.state_words(s), [id("b"), id("a")]);
    let (p, _) = lm.score(s, id("c"));
    assert!((p as f64 - -0.1 * LN_10).abs() < 1e-6);
}

#[test]
fn load_from_files() {
    let dir = std::env::temp_dir().join(format!("nomen-lm-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("tiny.lm.bin");
    let arpa = dir.join("tiny.txt"); // ARPA is sniffed, not told by the name
    std::fs::write(&bin, TINY_BIN).unwrap();
    std::fs::write(&arpa, TINY_ARPA).unwrap();
    let a = WordLm::load(&arpa).unwrap();
    let b = WordLm::load(&bin).unwrap();
    let id = b.word_id("sat").unwrap();
    assert!((a.score(a.start_state(), id).0 - b.score(b.start_state(), id).0).abs() < 1e-4);
    // Shareable between threads.
    let b = std::sync::Arc::new(b);
    let t = {
        let b = b.clone();
        std::thread::spawn(move || b.score(b.start_state(), id).0)
    };
    assert_eq!(t.join().unwrap(), b.score(b.start_state(), id).0);

    let empty = dir.join("empty.lm");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(WordLm::load(&empty), Err(LmError::Format { .. })));
    let dmp = dir.join("old.DMP");
    let mut d = 17i32.to_le_bytes().to_vec();
    d.extend_from_slice(b"Darpa Trigram LM\0");
    std::fs::write(&dmp, d).unwrap();
    assert!(matches!(
        WordLm::load(&dmp),
        Err(LmError::Unsupported { .. })
    ));
    let missing = dir.join("missing.lm");
    let err = WordLm::load(&missing).unwrap_err();
    assert!(matches!(err, LmError::Io { .. }));
    assert!(err.to_string().contains("missing.lm"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Loads `bytes`; when that succeeds, exercises every query of up to 3 words.
fn load_and_poke(bytes: Vec<u8>) -> bool {
    match WordLm::from_bytes(bytes) {
        Err(_) => false,
        Ok(lm) => {
            let v = lm.vocab_size();
            for seq in sequences(v.min(13) + 1, 3) {
                let (s, st) = run(&lm, lm.start_state(), &seq);
                assert!(s.iter().all(|p| !p.is_nan()));
                lm.state_words(st);
            }
            true
        }
    }
}

/// Byte offset of the unigram table in tiny.lm.bin: header, unused word, tables.
const TINY_UNIGRAMS: usize = 19 + 1 + 12 + 4 + 3 * 65536 * 4;

#[test]
fn truncated_binary_is_an_error() {
    let len = TINY_BIN.len();
    let mut cuts: Vec<usize> = (0..200).collect();
    cuts.extend((200..TINY_UNIGRAMS).step_by(4093));
    cuts.extend(TINY_UNIGRAMS - 8..len);
    for cut in cuts {
        assert!(
            !load_and_poke(TINY_BIN[..cut].to_vec()),
            "cut at {cut} loaded"
        );
    }
    assert!(load_and_poke(TINY_BIN.to_vec()));
}

#[test]
fn corrupt_binary_headers_are_errors() {
    let patched = |at: usize, bytes: &[u8]| {
        let mut b = TINY_BIN.to_vec();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        WordLm::from_bytes(b)
    };
    let format = |r: Result<WordLm, Bad>| matches!(r, Err(Bad::Format(_)));
    assert!(format(WordLm::from_bytes(Vec::new())));
    assert!(format(patched(0, b"X")), "wrong magic");
    assert!(format(patched(19, &[0])), "order 0");
    assert!(
        matches!(patched(19, &[9]), Err(Bad::Unsupported(_))),
        "order 9"
    );
    assert!(format(patched(19, &[2])), "order 2 with a trigram layout");
    for (i, c) in [u32::MAX, 1 << 30, 0, 12, 14].into_iter().enumerate() {
        assert!(format(patched(20, &c.to_le_bytes())), "unigram count {i}");
    }
    for c in [u32::MAX, 1 << 28, 0, 18] {
        assert!(format(patched(24, &c.to_le_bytes())), "bigram count {c}");
    }
    for c in [u32::MAX, 0, 13] {
        assert!(format(patched(28, &c.to_le_bytes())), "trigram count {c}");
    }
    // A NaN in a quantization table.
    assert!(format(patched(36 + 4 * 100, &f32::NAN.to_le_bytes())));
    // Unigram child pointers: past the end, backwards, not starting at 0.
    let next = |w: usize| TINY_UNIGRAMS + 12 * w + 8;
    assert!(format(patched(next(13), &1000u32.to_le_bytes())));
    assert!(format(patched(next(5), &100u32.to_le_bytes())));
    assert!(format(patched(next(0), &1u32.to_le_bytes())));
    // A unigram weight that is not finite.
    assert!(format(patched(
        TINY_UNIGRAMS + 12 * 3,
        &f32::INFINITY.to_le_bytes()
    )));
    // Vocabulary: invalid UTF-8, a missing NUL, a wrong length.
    let vocab = TINY_BIN.len() - 57;
    assert_eq!(&TINY_BIN[vocab..vocab + 5], b"</s>\0");
    assert!(format(patched(vocab + 1, &[0xff])));
    assert!(format(patched(TINY_BIN.len() - 1, b"x")));
    assert!(format(patched(vocab - 4, &58u32.to_le_bytes())));
    assert!(format(patched(vocab - 4, &(-1i32).to_le_bytes())));
    // No <s>.
    assert!(format(patched(vocab + 6, b"x")));
}

#[test]
fn flipped_bytes_never_panic() {
    // Every byte of the unigrams, the bit-packed levels and the vocabulary, with
    // a few bit patterns: loading may fail or succeed, but never panic, and a
    // loaded LM must answer every query.
    let mut loaded = 0;
    for at in TINY_UNIGRAMS..TINY_BIN.len() {
        for x in [0x01u8, 0x10, 0x80, 0xff] {
            let mut b = TINY_BIN.to_vec();
            b[at] ^= x;
            loaded += load_and_poke(b) as usize;
        }
    }
    assert!(loaded > 0);
}

#[test]
fn truncated_and_corrupt_arpa_is_an_error() {
    let text = TINY_ARPA.as_bytes();
    // Cuts after the last n-gram line still load (a missing "\end\" is tolerated,
    // a partial one is not).
    let last = TINY_ARPA.find("sat on a\n").unwrap() + "sat on a".len();
    let end = TINY_ARPA.find("\\end\\").unwrap();
    for cut in 0..text.len() {
        let ok = load_and_poke(text[..cut].to_vec());
        assert_eq!(
            ok,
            (last..=end).contains(&cut) || cut >= end + 5,
            "cut at {cut}"
        );
    }
    let bad = |from: &str, to: &str| {
        assert!(TINY_ARPA.contains(from));
        WordLm::from_bytes(TINY_ARPA.replacen(from, to, 1).into_bytes()).map(|_| ())
    };
    let format = |r: Result<(), Bad>| matches!(r, Err(Bad::Format(_)));
    assert!(format(bad("ngram 2=18", "ngram 2=17")), "fewer announced");
    assert!(format(bad("ngram 2=18", "ngram 2=19")), "more announced");
    assert!(format(bad("ngram 2=18", "ngram 3=18")), "out of sequence");
    assert!(
        format(bad("-0.7000\tthe cat", "-0.7000\tthe kat")),
        "unknown word"
    );
    assert!(
        format(bad("-0.7000\tthe cat", "-0.7000\tthe dog")),
        "repeated bigram"
    );
    assert!(format(bad("quickly\t", "cat\t")), "repeated unigram");
    assert!(format(bad("-0.7000\tthe cat", "nan\tthe cat")), "NaN");
    assert!(format(bad("-0.7000\tthe cat", "inf\tthe cat")), "+inf");
    assert!(
        format(bad("-0.7000\tthe cat", "x\tthe cat")),
        "not a number"
    );
    assert!(
        format(bad("-0.7000\tthe cat", "-0.7\tthe")),
        "too few words"
    );
    assert!(
        format(bad("-0.7000\tthe cat\t-0.1", "-0.7\tthe cat -0.1 3")),
        "too many fields"
    );
    assert!(format(bad("\\2-grams:", "\\4-grams:")), "wrong section");
    assert!(format(bad("\\end\\", "\\4-grams:")), "no end");
    assert!(format(bad("<s>", "x")), "no <s>");
    let mut invalid = TINY_ARPA.as_bytes().to_vec();
    let at = TINY_ARPA.find("mat").unwrap();
    invalid[at] = 0xff;
    assert!(
        matches!(WordLm::from_bytes(invalid), Err(Bad::Format(_))),
        "not UTF-8"
    );
    // -inf is read as the usual -99 floor.
    assert!(bad("-2.0000\t<unk>", "-inf\t<unk>").is_ok());
    // Order above the maximum.
    let six = "\\data\\\nngram 1=1\nngram 2=0\nngram 3=0\nngram 4=0\nngram 5=0\nngram 6=0\n";
    assert!(matches!(
        WordLm::from_bytes(six.as_bytes().to_vec()),
        Err(Bad::Unsupported(_))
    ));
    // Absurd counts must not allocate absurdly.
    let huge = "\\data\\\nngram 1=4000000000\nngram 2=4000000000\n\n\\1-grams:\n-1 <s>\n";
    assert!(format(
        WordLm::from_bytes(huge.as_bytes().to_vec()).map(|_| ())
    ));
}

/// Path of a file given by an environment variable, or a default under the crate root.
fn env_path(var: &str, default: &str) -> std::path::PathBuf {
    std::env::var_os(var)
        .map(Into::into)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(default))
}

/// Compares with pocketsphinx on the real en-us LM: run tools/eval/check_lm.py first
/// (see its docstring). NOMEN_LM_CHECK overrides the TSV path, NOMEN_LM the LM.
#[test]
#[ignore = "needs build/lm_check.tsv from tools/eval/check_lm.py and models-quantized/en-us.lm.bin"]
fn matches_pocketsphinx() {
    let tsv = env_path("NOMEN_LM_CHECK", "build/lm_check.tsv");
    let text = std::fs::read_to_string(&tsv).expect("run tools/eval/check_lm.py first");
    let lm_path = env_path("NOMEN_LM", "models-quantized/en-us.lm.bin");
    let lm = WordLm::load(&lm_path).unwrap();
    let mut worst: HashMap<&str, (f64, usize, String)> = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let (cat, want): (&str, f64) = (f[0], f[1].parse().unwrap());
        let ids: Vec<u32> = f[2].split(' ').map(|w| lm.word_id(w).unwrap()).collect();
        let (scores, _) = run(&lm, lm.null_state(), &ids);
        let got = *scores.last().unwrap() as f64;
        let e = worst.entry(cat).or_insert((0.0, 0, String::new()));
        e.1 += 1;
        if (got - want).abs() >= e.0 {
            *e = (
                (got - want).abs(),
                e.1,
                format!("{}: {got} vs {want}", f[2]),
            );
        }
    }
    let mut overall: f64 = 0.0;
    let mut cats: Vec<_> = worst.into_iter().collect();
    cats.sort_by(|a, b| a.0.cmp(b.0));
    for (cat, (d, n, ex)) in &cats {
        println!("{cat:8} {n:5} queries, max |ln diff| {d:.2e}  ({ex})");
        overall = overall.max(*d);
    }
    println!("overall max |ln diff| {overall:.2e}");
    assert!(overall < 2e-4, "max abs difference {overall}");
}

fn proc_status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// CPU time of this thread, ns (Linux).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Load time, memory and score speed on the real en-us LM. Run alone:
/// `cargo test --release lm::tests::bench_en_us -- --ignored --nocapture`.
#[test]
#[ignore = "needs models-quantized/en-us.lm.bin; a benchmark"]
fn bench_en_us() {
    use std::hint::black_box;
    use std::time::Instant;
    let path = env_path("NOMEN_LM", "models-quantized/en-us.lm.bin");
    println!("RSS before load: {}", proc_status("VmRSS"));
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut lm = None;
    for _ in 0..7 {
        drop(lm.take());
        let (t, c) = (Instant::now(), thread_cpu_ns());
        lm = Some(WordLm::load(&path).unwrap());
        walls.push(t.elapsed().as_secs_f64() * 1e3);
        cpus.push((thread_cpu_ns() - c) as f64 / 1e6);
        if walls.len() == 1 {
            println!(
                "after first load: VmRSS {} (RssAnon {}, RssFile {}), VmHWM {}",
                proc_status("VmRSS"),
                proc_status("RssAnon"),
                proc_status("RssFile"),
                proc_status("VmHWM")
            );
        }
    }
    let lm = lm.unwrap();
    walls.sort_by(f64::total_cmp);
    cpus.sort_by(f64::total_cmp);
    println!(
        "load wall ms: min {:.1} median {:.1}; thread CPU ms: min {:.1} median {:.1}",
        walls[0], walls[3], cpus[0], cpus[3]
    );
    println!("{lm:?}, memory (heap, mapped) = {:?}", lm.memory_bytes());

    // Realistic contexts: walk sentences, picking each next word among 64 random
    // candidates by its LM score (so contexts are mostly seen bigrams).
    let v = lm.vocab_size() as u64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut states = Vec::new();
    let mut state = lm.start_state();
    for _ in 0..20_000 {
        let best = (0..64)
            .map(|_| rng.below(v) as u32)
            .map(|w| (lm.score(state, w), w))
            .max_by(|a, b| a.0 .0.total_cmp(&b.0 .0))
            .unwrap();
        state = if rng.below(12) == 0 {
            lm.start_state()
        } else {
            best.0 .1
        };
        states.push(state);
    }
    let lens = states.iter().fold([0usize; 3], |mut a, s| {
        a[s.len()] += 1;
        a
    });
    println!("context lengths of the walk's states (0, 1, 2 words): {lens:?}");

    // (a) random state, random word: cold caches, the worst case.
    let n = 2_000_000;
    let queries: Vec<(LmState, u32)> = (0..n)
        .map(|_| {
            (
                states[rng.below(states.len() as u64) as usize],
                rng.below(v) as u32,
            )
        })
        .collect();
    let t = Instant::now();
    let mut acc = 0.0f32;
    for &(s, w) in &queries {
        acc += black_box(lm.score(black_box(s), w)).0;
    }
    let ns = t.elapsed().as_nanos() as f64 / n as f64;
    println!("score, random (state, word): {ns:.0} ns/call ({acc})");

    // (b) decoder-like: each state scores the whole vocabulary, in id order.
    let t = Instant::now();
    let mut calls = 0;
    for s in states.iter().take(30) {
        for w in 0..v as u32 {
            acc += black_box(lm.score(black_box(*s), w)).0;
            calls += 1;
        }
    }
    let ns = t.elapsed().as_nanos() as f64 / calls as f64;
    println!("score, one state x all words: {ns:.0} ns/call ({acc})");

    // (c) two-word contexts only, random words.
    let two: Vec<LmState> = states.iter().copied().filter(|s| s.len() == 2).collect();
    let t = Instant::now();
    for i in 0..n {
        let s = two[i % two.len()];
        acc += black_box(lm.score(black_box(s), rng.below(v) as u32)).0;
    }
    let ns = t.elapsed().as_nanos() as f64 / n as f64;
    println!("score, two-word states x random words: {ns:.0} ns/call ({acc})");

    // (d) likely words: each state scores 64 random words.
    let t = Instant::now();
    let mut calls = 0;
    for s in &states {
        for _ in 0..64 {
            acc += black_box(lm.score(black_box(*s), rng.below(v) as u32)).0;
            calls += 1;
        }
    }
    let ns = t.elapsed().as_nanos() as f64 / calls as f64;
    println!("score, walk states x 64 random words: {ns:.0} ns/call ({acc})");
}

/// Writes `lm` as ARPA, reads it back and checks every sequence scores the same.
fn check_arpa_round_trip(lm: &WordLm, max_len: usize) -> String {
    let mut buf = Vec::new();
    lm.write_arpa(&mut buf).expect("writes");
    let text = String::from_utf8(buf).expect("utf-8");
    let back = WordLm::from_bytes(text.clone().into_bytes())
        .unwrap_or_else(|e| panic!("written ARPA does not load: {e:?}\n{text}"));
    assert_eq!(back.order(), lm.order());
    assert_eq!(words_of(&back), words_of(lm));
    for seq in sequences(lm.vocab_size(), max_len) {
        for start in [lm.null_state(), lm.start_state()] {
            let (a, _) = run(lm, start, &seq);
            let start_back = if start.is_empty() {
                back.null_state()
            } else {
                back.start_state()
            };
            let (b, _) = run(&back, start_back, &seq);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-4, "{seq:?}: {x} vs {y}\n{text}");
            }
        }
    }
    text
}

#[test]
fn arpa_writer_round_trips() {
    check_arpa_round_trip(&tiny_arpa(), 3);
    check_arpa_round_trip(&tiny_bin(), 3);
    for order in 1..=MAX_ORDER {
        let v = if order >= 4 { 5 } else { 6 };
        let text = random_arpa(order, v, 31 * order as u64 + 5);
        let lm = WordLm::from_bytes(text.into_bytes()).unwrap();
        check_arpa_round_trip(&lm, (order + 1).min(4));
    }
    // The blank an ARPA reader adds for a missing suffix ("b c") is not written; the one for
    // a missing prefix ("a b", which has a child) is, with its back-off value.
    let text = "\\data\\\nngram 1=5\nngram 2=1\nngram 3=1\n\n\\1-grams:\n\
        -1 <s> -0.5\n-1 </s>\n-1 a -0.25\n-1.5 b -0.125\n-2 c\n\n\
        \\2-grams:\n-0.5 <s> a -0.0625\n\n\\3-grams:\n-0.1 a b c\n\\end\\\n";
    let lm = WordLm::from_bytes(text.as_bytes().to_vec()).unwrap();
    let out = check_arpa_round_trip(&lm, 4);
    let grams: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().skip(1).take(2).collect())
        .collect();
    assert!(!grams.contains(&vec!["b", "c"]), "{out}");
    assert!(out.contains("ngram 2=2\n"), "{out}");
    assert!(out.contains("-1.750000\ta b\t0.000000\n"), "{out}");
    assert!(out.contains("-0.100000\ta b c\n"), "{out}");
}

#[cfg(unix)]
#[test]
fn a_remembered_analysis_gives_the_same_lm_and_a_wrong_one_is_not_taken() {
    use crate::cache::{FileIdentity, StartupCache};
    let dir = std::env::temp_dir().join(format!("nomen-lm-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("tiny.lm.bin");
    std::fs::write(&bin, TINY_BIN).unwrap();
    let cache = StartupCache::new(dir.join("cache")).without_settling();
    let id = FileIdentity::of(&bin, &std::fs::metadata(&bin).unwrap()).unwrap();
    let key = id.path_key();
    let fresh = WordLm::load(&bin).unwrap();
    assert!(cache.get(ANALYSIS, &key, &id).is_none());
    let first = WordLm::load_cached(&bin, Some(&cache)).unwrap();
    let remembered = cache.get(ANALYSIS, &key, &id).expect("analysis remembered");
    assert_eq!(remembered, fresh.trie.analysis());
    let second = WordLm::load_cached(&bin, Some(&cache)).unwrap();
    // Same scores and states on every sequence of up to 4 words.
    let same = |lm: &WordLm| {
        assert_eq!(lm.counts(), fresh.counts());
        for seq in sequences(words_of(&fresh).len(), 4) {
            let (a, sa) = run(&fresh, fresh.start_state(), &seq);
            let (b, sb) = run(lm, lm.start_state(), &seq);
            assert_eq!((a, sa), (b, sb), "{seq:?}");
        }
    };
    for lm in [&first, &second] {
        same(lm);
        assert_eq!(lm.trie.analysis(), remembered);
    }
    // A record that fits is taken as it is, without the walk (a keep bit flipped here shows
    // it: the walk would set it back).
    let meta = std::fs::metadata(&bin).unwrap();
    let mut flipped = remembered.clone();
    flipped[8 + 8] ^= 1;
    cache.put(ANALYSIS, &key, &id, std::slice::from_ref(&meta), &flipped);
    let lm = WordLm::load_cached(&bin, Some(&cache)).unwrap();
    assert_eq!(lm.trie.analysis(), flipped);
    // A record that does not fit the file's layout is not taken: the walk runs again and
    // the record is replaced.
    let mut wrong = remembered.clone();
    let at = 8 + 8 + 8 * (fresh.trie.vocab() as usize).div_ceil(64);
    wrong[at] ^= 1; // the first level's reachable count
    for bad in [wrong, b"junk".to_vec(), Vec::new()] {
        let meta = std::fs::metadata(&bin).unwrap();
        cache.put(ANALYSIS, &key, &id, std::slice::from_ref(&meta), &bad);
        let lm = WordLm::load_cached(&bin, Some(&cache)).unwrap();
        assert_eq!(lm.trie.analysis(), remembered);
        assert_eq!(cache.get(ANALYSIS, &key, &id).unwrap(), remembered);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
