//! Biasing toward an entity list, end to end on committed TTS fixtures
//! (tests/fixtures/bias: four contact names, each said by espeak-ng and flite, and a contact
//! list of eight names).

mod common;

use common::{recognizer, root};
use nomen::bias::BiasEntry;
use nomen::entities::EntitySet;
use std::path::{Path, PathBuf};

fn entries(list: &Path) -> Vec<BiasEntry> {
    let mut set = EntitySet::new();
    set.add_file(list).unwrap();
    set.entities().iter().map(BiasEntry::from).collect()
}

/// (wav, entity said)
fn fixtures() -> Vec<(PathBuf, String)> {
    common::fixture_table("tests/fixtures/bias", 3)
}

#[test]
fn names_from_the_list_are_written_as_in_the_list_only_when_biasing_is_on() {
    let rec = recognizer();
    let list = root().join("tests/fixtures/bias/contacts.txt");
    let trie = rec
        .prepare_entities(entries(&list))
        .expect("pronounceable entities");
    let (mut found_biased, mut found_plain) = (0, 0);
    for (wav, name) in fixtures() {
        let audio = nomen::audio::load_wav(&wav).unwrap();
        let biased = rec.transcribe_with(&audio, Some(&trie)).unwrap();
        let plain = rec.transcribe_with(&audio, None).unwrap();
        eprintln!("{}: {:?} / {:?}", wav.display(), biased.text, plain.text);
        if biased.entities.iter().any(|e| e.text == name) {
            found_biased += 1;
            assert!(biased.text.contains(&name), "{:?}", biased.text);
            let e = biased.entities.iter().find(|e| e.text == name).unwrap();
            assert!(0.0 <= e.start && e.start < e.end && e.end <= audio.duration_s() as f32 + 0.05);
            assert!((0.0..=1.0).contains(&e.score));
        }
        // Every entity reported was said: the name, or its given or family name alone.
        for e in &biased.entities {
            assert!(
                e.text == name || name.split(' ').any(|part| part == e.text),
                "false alarm {:?} in {}",
                e.text,
                wav.display()
            );
        }
        if plain.text.to_lowercase().contains(&name.to_lowercase()) {
            found_plain += 1;
        }
        assert!(plain.entities.is_empty());
    }
    // Measured: 7 of 8 biased, 0 of 8 unbiased.
    assert!(
        found_biased >= 6,
        "{found_biased} of 8 names found with biasing"
    );
    assert_eq!(
        found_plain, 0,
        "the unbiased recognizer should not know these names"
    );
}

#[test]
fn no_names_are_added_to_speech_without_names() {
    let rec = recognizer();
    let list = root().join("tests/fixtures/bias/contacts.txt");
    let trie = rec.prepare_entities(entries(&list)).unwrap();
    let dir = root().join("tests/fixtures/audio");
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|e| e == "wav") {
            let audio = nomen::audio::load_wav(&p).unwrap();
            let t = rec.transcribe_with(&audio, Some(&trie)).unwrap();
            assert!(t.entities.is_empty(), "{}: {:?}", p.display(), t.entities);
        }
    }
}

#[test]
fn preparing_a_thousand_entries_reuses_cached_pronunciations() {
    // Names built from a small pool of words: the first preparation runs the G2P on each
    // distinct word once, the next one only rebuilds the trie.
    let rec = recognizer();
    let given = [
        "anna", "bruno", "chen", "dara", "emeka", "farah", "goran", "hana", "ivo", "jun",
    ];
    let family = [
        "okafor", "novak", "silva", "tanaka", "kowalski", "haddad", "larsen", "moreau", "rossi",
        "singh",
    ];
    let mut list = Vec::new();
    for i in 0..1000 {
        let (g, f) = (given[i % 10], family[(i / 10) % 10]);
        list.push(BiasEntry {
            display: format!("{g} {f} {i}"),
            words: vec![g.to_string(), f.to_string()],
            weight: 1.0,
            partial: false,
            family: false,
        });
    }
    let t0 = std::time::Instant::now();
    let trie = rec.prepare_entities(list.clone()).unwrap();
    let first = t0.elapsed();
    let t1 = std::time::Instant::now();
    let again = rec.prepare_entities(list).unwrap();
    let second = t1.elapsed();
    eprintln!("1000 entries: first {first:?}, cached {second:?}");
    assert_eq!(trie.entries().len(), 1000);
    assert_eq!(again.entries().len(), 1000);
}

/// Full names found in the eight fixtures by a recognizer with bias settings `bias`.
fn names_found(bias: nomen::bias::BiasConfig) -> usize {
    let mut cfg = nomen::recognizer::RecognizerConfig::with_dir(root().join("models-quantized"));
    cfg.bias = bias;
    let rec = nomen::recognizer::Recognizer::load(cfg).unwrap();
    let trie = rec
        .prepare_entities(entries(&root().join("tests/fixtures/bias/contacts.txt")))
        .unwrap();
    fixtures()
        .iter()
        .filter(|(wav, name)| {
            let audio = nomen::audio::load_wav(wav).unwrap();
            let t = rec.transcribe_with(&audio, Some(&trie)).unwrap();
            t.entities.iter().any(|e| &e.text == name)
        })
        .count()
}

#[test]
fn phonetic_rescoring_finds_names_the_beam_search_missed() {
    let on = nomen::bias::BiasConfig::default();
    let found_on = names_found(on);
    let mut off = on;
    off.rescore.enabled = false;
    let found_off = names_found(off);
    // Measured: 7 of 8 with rescoring, 3 without.
    eprintln!("rescoring on: {found_on} of 8, off: {found_off} of 8");
    assert!(found_on >= 6, "{found_on}");
    assert!(found_off < found_on, "{found_off} vs {found_on}");
}

/// A recognizer with bias settings changed by `set`, and the entity trie of the one-word
/// name `name`.
fn one_name(
    name: &str,
    set: impl FnOnce(&mut nomen::bias::BiasConfig),
) -> (nomen::recognizer::Recognizer, nomen::bias::EntityTrie) {
    let mut cfg = nomen::recognizer::RecognizerConfig::with_dir(root().join("models-quantized"));
    set(&mut cfg.bias);
    let rec = nomen::recognizer::Recognizer::load(cfg).unwrap();
    let trie = rec
        .prepare_entities(vec![BiasEntry {
            display: name.into(),
            words: vec![name.to_lowercase()],
            weight: 1.0,
            partial: false,
            family: false,
        }])
        .unwrap();
    (rec, trie)
}

#[test]
fn anglicized_pronunciations_are_added_only_when_asked() {
    let prons = |anglicize: bool| -> Vec<Vec<String>> {
        let (rec, trie) = one_name("Arrellano", |b| {
            b.prons.anglicize = anglicize;
            // The G2P's first two choices (its third already has an English r).
            b.prons.g2p_nbest = 2;
        });
        let tokens = rec.model().tokens();
        trie.trie()
            .prons_of(0)
            .map(|p| {
                p.iter()
                    .map(|&u| tokens.symbol(usize::from(u)).unwrap_or("?").to_string())
                    .collect()
            })
            .collect()
    };
    let plain = prons(false);
    let english = prons(true);
    eprintln!("{plain:?}\n{english:?}");
    // The multilingual G2P reads the name as Spanish (a trilled, doubled r); the English
    // rendering has one English r.
    assert!(
        plain.iter().all(|p| !p.contains(&"ɹ".to_string())),
        "{plain:?}"
    );
    assert!(english.len() > plain.len());
    assert!(english
        .iter()
        .any(|p| { p.contains(&"ɹ".to_string()) && !p.windows(2).any(|w| w[0] == w[1]) }));
    for p in &plain {
        assert!(english.contains(p), "the G2P's own are kept");
    }
}

#[test]
fn pronunciation_costs_follow_the_g2p_scores_only_when_weighted() {
    // (pronunciation, cost) of every path of "Joaquin" in the entity trie.
    let costs = |weight: f32| -> Vec<f32> {
        let (_rec, trie) = one_name("Joaquin", |b| {
            b.prons.pron_weight = weight;
            b.prons.g2p_nbest = 3;
        });
        let lx = trie.trie();
        let mut out = Vec::new();
        let mut stack = vec![nomen::lexicon::ROOT];
        while let Some(n) = stack.pop() {
            for i in 0..lx.labels(n).len() {
                out.push(lx.label_cost(n, i));
            }
            stack.extend(lx.children(n).iter().map(|e| e.child));
        }
        out.sort_by(|a, b| b.total_cmp(a));
        out
    };
    let flat = costs(0.0);
    let weighted = costs(0.5);
    eprintln!("{flat:?}\n{weighted:?}");
    assert!(flat.len() >= 2 && flat.iter().all(|&c| c == 0.0));
    assert_eq!(flat.len(), weighted.len());
    // The G2P's best costs nothing, its other choices less than nothing.
    assert_eq!(weighted[0], 0.0);
    assert!(weighted[1..].iter().any(|&c| c < 0.0));
    assert!(weighted.iter().all(|&c| c <= 0.0 && c.is_finite()));
}

#[test]
fn learned_confusions_are_loaded_only_when_asked() {
    let load = |on: bool| {
        let mut cfg =
            nomen::recognizer::RecognizerConfig::with_dir(root().join("models-quantized"));
        cfg.bias.rescore.confusions = on;
        nomen::recognizer::Recognizer::load(cfg).unwrap()
    };
    let off = load(false);
    assert!(off.confusions().is_empty());
    let on = load(true);
    let tokens = on.model().tokens();
    let id = |s: &str| tokens.id(s).unwrap() as u16;
    // The model often hears the lax vowel as the tense one: a cost between 0 and the floor.
    let ih = on.confusions().of(id("ɪ"));
    let c = ih.iter().find(|&&(o, _)| o == id("i")).map(|&(_, c)| c);
    assert!(matches!(c, Some(c) if c < 0.0 && c > -3.0), "{ih:?}");
    // Nothing costs less than hearing the unit itself.
    assert!(ih.iter().all(|&(o, c)| o != id("ɪ") && c <= 0.0));
}

#[test]
fn rescoring_the_n_best_keeps_the_names_the_best_alone_finds() {
    let one = nomen::bias::BiasConfig::default();
    assert_eq!(one.rescore.nbest, 1);
    let mut five = one;
    five.rescore.nbest = 5;
    let (found_one, found_five) = (names_found(one), names_found(five));
    eprintln!("n-best rescoring: 1 -> {found_one} of 8, 5 -> {found_five} of 8");
    assert!(
        found_five >= 6 && found_five >= found_one,
        "{found_five} vs {found_one}"
    );
}

/// Live partials decoded from the state kept at the partial before
/// (`Recognizer::decode_partial`) give exactly the transcript of decoding from the start,
/// with the rescoring on; a changed early row makes it start over, still exactly.
#[test]
fn partials_decoded_incrementally_equal_decoding_from_the_start() {
    let rec = recognizer();
    let list = root().join("tests/fixtures/bias/contacts.txt");
    let trie = rec.prepare_entities(entries(&list)).unwrap();
    let mut compared = 0;
    for (wav, _) in fixtures().into_iter().take(4) {
        let audio = nomen::audio::load_wav(&wav).unwrap();
        let whole = rec.model().posteriors(&audio.samples).unwrap();
        let v = whole.vocab;
        let mut state = nomen::recognizer::PartialDecoding::default();
        for frames in (15..=whole.frames).step_by(15).chain([whole.frames]) {
            let mut post = whole.clone();
            post.frames = frames;
            post.data.truncate(frames * v);
            if frames == 60.min(whole.frames) {
                post.data[3 * v + 1] += 0.25; // a row the state has seen
            }
            let inc = rec.decode_partial(&post, Some(&trie), &mut state);
            let fresh = rec.decode_with(&post, Some(&trie));
            assert_eq!(
                inc.words,
                fresh.words,
                "{} at {frames} frames",
                wav.display()
            );
            assert_eq!(inc.entities, fresh.entities);
            compared += 1;
        }
        assert!(state.reused_frames > 0);
    }
    assert!(compared > 8);
}

/// A long list is prepared in one pass over its words: each word not pronounced before is
/// pronounced once (progress reported once per word, in order, against the right total),
/// however many names share it, and preparing the same list again pronounces nothing.
#[test]
fn a_long_list_pronounces_each_new_word_once_with_progress() {
    let mut cfg = nomen::recognizer::RecognizerConfig::with_dir(root().join("models-quantized"));
    cfg.model.cache = None; // nothing remembered from earlier runs
    let rec = nomen::recognizer::Recognizer::load(cfg).unwrap();
    // 1,500 names over 300 made-up given and 300 family names.
    let syl = [
        "ka", "zu", "mi", "tor", "vel", "qua", "ren", "dos", "lin", "faj",
    ];
    let word = |i: usize, salt: usize| -> String {
        let w: String = [i % 10, (i / 10) % 10, (i / 100 + salt) % 10]
            .iter()
            .map(|&k| syl[k])
            .collect();
        let mut c = w.chars();
        c.next().unwrap().to_uppercase().chain(c).collect()
    };
    let mut text = String::new();
    for n in 0..1_500 {
        // Each of the 1,500 pairs differs.
        text += &format!(
            "{} {}\n",
            word(n % 300, 0),
            word((n * 7 + n / 300) % 300, 5)
        );
    }
    let mut set = EntitySet::new();
    set.add_bytes(
        text.as_bytes(),
        nomen::entities::Format::Text,
        Path::new("long.txt"),
    )
    .unwrap();
    let entries: Vec<BiasEntry> = set.entities().iter().map(BiasEntry::from).collect();
    let distinct: std::collections::HashSet<&String> =
        entries.iter().flat_map(|e| e.words.iter()).collect();
    let mut calls = Vec::new();
    let trie = rec
        .prepare_entities_with_progress(entries.clone(), &mut |done, total| {
            calls.push((done, total))
        })
        .unwrap();
    let n = distinct.len();
    assert!(n >= 400, "{n} words");
    assert_eq!(calls, (1..=n).map(|d| (d, n)).collect::<Vec<_>>());
    assert!(trie.entries().len() >= 1_500);
    let mut again = 0;
    rec.prepare_entities_with_progress(entries, &mut |_, _| again += 1)
        .unwrap();
    assert_eq!(again, 0);
}
