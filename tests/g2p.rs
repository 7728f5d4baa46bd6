//! The G2P model against hama's own output, its error handling, and its speed.
//!
//! `tests/fixtures/g2p/expected.tsv` (497 inputs: the development contact names, names of
//! many origins with diacritics and apostrophes, other scripts, rare and common words,
//! multi-part inputs) and `tokenizer.tsv` are written by `tools/build/make_g2p.py` from
//! `hama.G2PModel.predict` and hama's tokenizer. The larger agreement set:
//!
//! ```text
//! python3 tools/build/make_g2p.py            # also writes build/make_g2p/expected_large.tsv
//! cargo test --release --test g2p -- --ignored --nocapture g2p_agreement_large
//! cargo test --release --test g2p -- --ignored --nocapture g2p_bench
//! ```

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use nomen::g2p::{G2p, G2pError, Pronunciation};
use nomen::FileError;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn models() -> PathBuf {
    root().join("models-quantized")
}

fn g2p() -> &'static G2p {
    static G2P: OnceLock<G2p> = OnceLock::new();
    G2P.get_or_init(|| G2p::load(&models()).expect("loading the G2P model"))
}

/// One row of an expected-output file.
struct Expected {
    word: String,
    phones: Vec<String>,
    chars: Vec<Option<usize>>,
}

fn read_expected(path: &Path) -> Vec<Expected> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.split_terminator('\n')
        .filter(|l| !l.starts_with('#'))
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 3, "bad line {line:?}");
            let list = |s: &str| -> Vec<String> {
                s.split(' ')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            Expected {
                word: f[0].to_string(),
                phones: list(f[1]),
                chars: list(f[2])
                    .iter()
                    .map(|c| usize::try_from(c.parse::<i64>().unwrap()).ok())
                    .collect(),
            }
        })
        .collect()
}

fn fixture() -> Vec<Expected> {
    read_expected(&root().join("tests/fixtures/g2p/expected.tsv"))
}

/// Descriptions of the rows whose phones differ, and the number of rows with the same
/// phones but another alignment.
fn compare(rows: &[Expected], got: &[Pronunciation]) -> (Vec<String>, usize) {
    assert_eq!(rows.len(), got.len());
    let mut bad = Vec::new();
    let mut bad_align = 0;
    for (e, g) in rows.iter().zip(got) {
        if g.phones != e.phones {
            bad.push(format!(
                "{:?}: hama {:?}, nomen {:?}",
                e.word,
                e.phones.join(" "),
                g.phones.join(" ")
            ));
        } else if g.chars != e.chars {
            bad_align += 1;
        }
    }
    (bad, bad_align)
}

#[test]
fn g2p_greedy_matches_hama_on_the_fixture() {
    let rows = fixture();
    assert!(rows.len() > 400, "{} rows", rows.len());
    let got: Vec<Pronunciation> = rows
        .iter()
        .map(|e| g2p().pronounce_aligned(&e.word).unwrap())
        .collect();
    let (bad, bad_align) = compare(&rows, &got);
    assert!(
        bad.is_empty(),
        "{} of {} differ:\n{}",
        bad.len(),
        rows.len(),
        bad.join("\n")
    );
    assert_eq!(bad_align, 0, "alignments differ");
    // pronounce() is the same thing without the details.
    assert_eq!(g2p().pronounce(&rows[0].word).unwrap(), rows[0].phones);
}

#[test]
fn g2p_batched_matches_hama_on_the_fixture() {
    let rows = fixture();
    let words: Vec<&str> = rows.iter().map(|e| e.word.as_str()).collect();
    let got = g2p().pronounce_many_aligned(&words).unwrap();
    let (bad, bad_align) = compare(&rows, &got);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(bad_align, 0, "alignments differ");
    let phones = g2p().pronounce_many(&words[..3]).unwrap();
    assert_eq!(
        phones,
        got[..3]
            .iter()
            .map(|p| p.phones.clone())
            .collect::<Vec<_>>()
    );
    assert!(g2p().pronounce_many(&[]).unwrap().is_empty());
}

#[test]
fn g2p_tokenizer_matches_hama_for_every_code_point() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/g2p/tokenizer.tsv")).unwrap();
    let mut exceptions = std::collections::HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (cp, ids) = line.split_once('\t').unwrap();
        let cp = u32::from_str_radix(cp.trim_start_matches("U+"), 16).unwrap();
        let ids: Vec<i64> = ids.split(' ').map(|i| i.parse().unwrap()).collect();
        exceptions.insert(cp, ids);
    }
    assert!(exceptions.len() > 100);
    let v = g2p().vocab();
    let a = i64::from(v.id('a').unwrap());
    let mut checked = 0;
    for cp in 0..=0x10FFFFu32 {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        let hangul = (0xAC00..0xAC00 + 11172).contains(&cp);
        let expected = match exceptions.get(&cp) {
            Some(ids) => ids.clone(),
            None if hangul => continue,
            None => vec![a, i64::from(v.id(c).unwrap_or(v.unk())), a],
        };
        let got = v.encode(&format!("a{c}a")).ids;
        assert_eq!(got, expected, "U+{cp:04X} {c:?}");
        checked += 1;
    }
    assert!(checked > 1_100_000);
}

#[test]
fn g2p_nbest_is_ranked_distinct_and_starts_from_greedy() {
    let g = g2p();
    for word in [
        "Siobhan",
        "Joaquin",
        "Xavier",
        "Nguyen",
        "O'Sullivan",
        "Mary Ann",
        "Иван",
    ] {
        let greedy = g.pronounce_aligned(word).unwrap();
        let one = g.nbest_aligned(word, 1).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].phones, greedy.phones, "{word}");
        assert!((one[0].log_prob - greedy.log_prob).abs() < 1e-4, "{word}");
        let five = g.nbest(word, 5).unwrap();
        assert!(!five.is_empty() && five.len() <= 5, "{word}");
        for pair in five.windows(2) {
            assert!(pair[0].1 >= pair[1].1, "{word}: not sorted");
        }
        for (i, (p, lp)) in five.iter().enumerate() {
            assert!(*lp <= 0.0 && lp.is_finite(), "{word}: {lp}");
            assert!(!five[..i].iter().any(|(q, _)| q == p), "{word}: duplicate");
        }
        // The beam's best is at least as good as the greedy path.
        assert!(five[0].1 >= greedy.log_prob - 1e-4, "{word}");
    }
    assert!(g.nbest("Siobhan", 0).unwrap().is_empty());
    // Beam search finds "Joaquin" as /h oʊ k w ɪ n/ among the 5 best.
    let joaquin = g.nbest("Joaquin", 5).unwrap();
    assert!(
        joaquin.iter().any(|(p, _)| p.join(" ") == "h oʊ k w ɪ n"),
        "{joaquin:?}"
    );
}

#[test]
fn g2p_odd_inputs_never_fail() {
    let g = g2p();
    let long = "abcdefghij".repeat(40);
    let inputs = [
        "",
        " ",
        "\t\u{3000}\u{1c}",
        "'",
        "-",
        "😀",
        "e\u{301}",
        "\u{0}",
        "a\u{200b}b",
        long.as_str(),
        "Иван Петров",
        "王小明",
        "x",
    ];
    for w in inputs {
        let p = g.pronounce_aligned(w).unwrap();
        assert!(
            p.phones.len() <= 32 * w.split_whitespace().count().max(1),
            "{w:?}"
        );
        assert_eq!(p.phones.len(), p.chars.len());
        assert!(
            p.chars.iter().flatten().all(|&c| c < w.chars().count()),
            "{w:?}"
        );
        let nb = g.nbest(w, 3).unwrap();
        assert!(!nb.is_empty(), "{w:?}");
    }
    assert!(g.pronounce("").unwrap().is_empty());
    assert!(g.pronounce(" \t ").unwrap().is_empty());
    assert_eq!(g.unknown_chars("Иван-José"), vec!['И', 'в', 'а', 'н', '-']);
    let many = g.pronounce_many(&inputs).unwrap();
    assert_eq!(many.len(), inputs.len());
}

/// A scratch copy of the G2P files.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nomen-g2p-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for name in [
        "g2p_encoder.onnx",
        "g2p_decoder_step.onnx",
        "g2p_symbols.txt",
        "tokens.txt",
        "SHA256SUMS",
    ] {
        std::fs::copy(models().join(name), dir.join(name)).unwrap();
    }
    dir
}

#[test]
fn g2p_missing_and_corrupt_files_are_reported() {
    let dir = scratch("errors");
    assert!(G2p::load(&dir).is_ok());

    std::fs::remove_file(dir.join("g2p_decoder_step.onnx")).unwrap();
    let err = G2p::load(&dir).unwrap_err();
    assert!(
        matches!(err, G2pError::File(FileError::Missing { .. })),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("g2p_decoder_step.onnx") && msg.contains("make_g2p.py"),
        "{msg}"
    );

    // A flipped byte in the vocabulary.
    std::fs::copy(
        models().join("g2p_decoder_step.onnx"),
        dir.join("g2p_decoder_step.onnx"),
    )
    .unwrap();
    let mut symbols = std::fs::read(dir.join("g2p_symbols.txt")).unwrap();
    symbols[20] ^= 1;
    std::fs::write(dir.join("g2p_symbols.txt"), &symbols).unwrap();
    let err = G2p::load(&dir).unwrap_err();
    match &err {
        G2pError::File(FileError::ChecksumMismatch { path, .. }) => {
            assert!(path.ends_with("g2p_symbols.txt"))
        }
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
    assert!(err.to_string().contains("checksum mismatch"), "{err}");

    // Unlisted file.
    std::fs::copy(
        models().join("g2p_symbols.txt"),
        dir.join("g2p_symbols.txt"),
    )
    .unwrap();
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let without: String = sums
        .lines()
        .filter(|l| !l.ends_with("g2p_encoder.onnx"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("SHA256SUMS"), without).unwrap();
    let err = G2p::load(&dir).unwrap_err();
    assert!(
        matches!(err, G2pError::File(FileError::Checksums { .. }))
            && err.to_string().contains("no entry for g2p_encoder.onnx"),
        "{err}"
    );

    // Right checksum, garbage graph: an error, not a panic.
    std::fs::write(dir.join("g2p_encoder.onnx"), b"not a graph").unwrap();
    let digest = nomen::model::sha256_hex(b"not a graph");
    std::fs::write(
        dir.join("SHA256SUMS"),
        format!(
            "{sums}{digest}  g2p_encoder.onnx\n",
            sums = sums
                .lines()
                .filter(|l| !l.ends_with("g2p_encoder.onnx"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        ),
    )
    .unwrap();
    let err = G2p::load(&dir).unwrap_err();
    assert!(matches!(err, G2pError::Inference { .. }), "{err:?}");

    // No SHA256SUMS at all.
    std::fs::remove_file(dir.join("SHA256SUMS")).unwrap();
    let err = G2p::load(&dir).unwrap_err();
    assert!(err.to_string().contains("SHA256SUMS"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore]
fn g2p_agreement_large() {
    let path = std::env::var("NOMEN_G2P_EXPECTED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("build/make_g2p/expected_large.tsv"));
    let rows = read_expected(&path);
    let g = g2p();
    let t = Instant::now();
    let single: Vec<_> = rows
        .iter()
        .map(|e| g.pronounce_aligned(&e.word).unwrap())
        .collect();
    let t_single = t.elapsed().as_secs_f64();
    let words: Vec<&str> = rows.iter().map(|e| e.word.as_str()).collect();
    let t = Instant::now();
    let many = g.pronounce_many_aligned(&words).unwrap();
    let t_many = t.elapsed().as_secs_f64();
    for (name, got, secs) in [
        ("one by one", &single, t_single),
        ("batched", &many, t_many),
    ] {
        let (bad, bad_align) = compare(&rows, got);
        println!(
            "{name}: phones equal to hama on {}/{} inputs, alignment differs on {bad_align} more; \
             {:.3} ms/input",
            rows.len() - bad.len(),
            rows.len(),
            secs * 1e3 / rows.len() as f64
        );
        for b in &bad {
            println!("  {b}");
        }
    }
}

/// Median of `runs` timings of `f`, in seconds.
fn median_secs(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

#[test]
#[ignore]
fn g2p_bench() {
    let t = Instant::now();
    let g = G2p::load(&models()).unwrap();
    println!("load: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    // 1,000 contact-like names (~2,000 words): the fixture's words, repeated with variations.
    let rows = fixture();
    let base: Vec<&str> = rows
        .iter()
        .map(|e| e.word.as_str())
        .filter(|w| !w.trim().is_empty() && !w.contains(char::is_whitespace))
        .collect();
    let words: Vec<String> = (0..2000)
        .map(|i| {
            let w = base[i % base.len()];
            if i < base.len() {
                w.to_string()
            } else {
                format!("{w}{}", ["a", "s", "son", "i"][i / base.len() % 4])
            }
        })
        .collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let per = |secs: f64| secs * 1e3 / refs.len() as f64;
    let single = median_secs(3, || {
        for w in &refs {
            g.pronounce(w).unwrap();
        }
    });
    println!("greedy, one word per call: {:.3} ms/word", per(single));
    let batched = median_secs(3, || {
        g.pronounce_many(&refs).unwrap();
    });
    println!(
        "greedy, pronounce_many: {:.3} ms/word; 2,000 words {:.0} ms",
        per(batched),
        batched * 1e3
    );
    for n in [2, 4, 8] {
        let subset = &refs[..400];
        let s = median_secs(3, || {
            for w in subset {
                g.nbest(w, n).unwrap();
            }
        });
        println!("nbest n={n}: {:.3} ms/word", s * 1e3 / subset.len() as f64);
    }
    // G2G variants from the 3-best, as a contact list would be prepared.
    let subset = &refs[..400];
    let bases: Vec<_> = subset
        .iter()
        .map(|w| g.nbest_aligned(w, 3).unwrap())
        .collect();
    let opts = nomen::g2p::variants::VariantOptions::default();
    let s = median_secs(3, || {
        for (w, b) in subset.iter().zip(&bases) {
            nomen::g2p::variants::variants(w, b, &opts);
        }
    });
    println!(
        "variants (8 from the 3-best): {:.3} ms/word",
        s * 1e3 / subset.len() as f64
    );
    let mean_phones = refs
        .iter()
        .map(|w| g.pronounce(w).unwrap().len())
        .sum::<usize>() as f64
        / refs.len() as f64;
    println!("mean phones per word: {mean_phones:.1}");
}

/// Prints G2P n-best and G2G variants for some names (`NAMES=A,B,...` to choose).
#[test]
#[ignore]
fn g2p_variant_examples() {
    use nomen::g2p::variants::{variants, VariantOptions};
    let names = std::env::var("NAMES").unwrap_or_else(|_| {
        "Siobhan,Nguyen,Joaquin,Xavier,Caoimhe,Ruairi,Jurgen,Myfanwy,Jiaqi,Xie,Zbigniew,Tadhg"
            .to_string()
    });
    let g = g2p();
    for name in names.split(',') {
        let greedy = g.pronounce_aligned(name).unwrap();
        let mut bases = vec![greedy.clone()];
        for p in g.nbest_aligned(name, 3).unwrap() {
            if p.phones != greedy.phones {
                bases.push(p);
            }
        }
        let v = variants(name, &bases, &VariantOptions::default());
        println!("{name}: G2P /{}/", greedy.phones.join(" "));
        for b in &bases[1..] {
            println!("    n-best /{}/ ({:.2})", b.phones.join(" "), b.log_prob);
        }
        for v in v {
            let what: Vec<String> = v
                .changes
                .iter()
                .map(|c| {
                    format!(
                        "{}: {} -> {}",
                        c.graphemes,
                        c.from.join(" "),
                        c.to.join(" ")
                    )
                })
                .collect();
            println!(
                "    /{}/ {:.2} [{}]",
                v.phones.join(" "),
                v.cost,
                what.join("; ")
            );
        }
    }
}

#[test]
fn g2p_variants_of_every_fixture_word_are_valid() {
    use nomen::g2p::variants::{variants, VariantOptions};
    let g = g2p();
    let symbols: std::collections::HashSet<&str> =
        g.phone_symbols().iter().map(String::as_str).collect();
    let opts = VariantOptions::default();
    let mut total = 0;
    for e in fixture() {
        let bases = g.nbest_aligned(&e.word, 3).unwrap();
        let v = variants(&e.word, &bases, &opts);
        assert!(v.len() <= opts.max_variants, "{}", e.word);
        let base_phones: Vec<Vec<String>> = bases
            .iter()
            .map(|b| nomen::g2p::lexicon_phones(&b.phones))
            .collect();
        for (i, x) in v.iter().enumerate() {
            assert!(!x.phones.is_empty(), "{}", e.word);
            assert!(x
                .phones
                .iter()
                .all(|p| symbols.contains(p.as_str()) && !p.starts_with('<')));
            assert!(
                !base_phones.contains(&x.phones),
                "{}: {:?}",
                e.word,
                x.phones
            );
            assert!(!v[..i].iter().any(|y| y.phones == x.phones), "{}", e.word);
            assert!(x.cost <= opts.max_cost && (1..=2).contains(&x.changes.len()));
        }
        total += v.len();
    }
    assert!(total > 1000, "{total} variants");
}
