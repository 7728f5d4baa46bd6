//! What each fuzz target does with its bytes, shared by the libFuzzer targets
//! (`fuzz_targets/`, coverage-guided, built with cargo-fuzz) and the stable runner that CI
//! runs for a fixed time (`tests/fuzz.rs`). Every reader must give a value or an error on
//! any bytes: never a panic, never memory beyond a small multiple of its input.

use std::path::Path;

/// What a target does with one input.
#[allow(dead_code)]
pub type Target = fn(&[u8]);

/// Every target, by name.
#[allow(dead_code)]
pub const TARGETS: &[(&str, Target)] = &[
    ("wav", wav),
    ("wav_convert", wav_convert),
    ("entity_list", entity_list),
    ("manifest", manifest),
    ("lm", lm),
    ("lexicon", lexicon),
    ("written", written),
];

/// The WAV reader, whole and in pieces (`audio::wav`): what a hostile file meets first.
pub fn wav(data: &[u8]) {
    if let Ok(wav) = nomen::audio::wav::parse(data) {
        // The frames read fit in what was given.
        assert!(wav.samples.len() <= data.len());
        let _ = wav.to_mono();
        // Read in pieces of 7 frames: the same samples.
        let mut r = nomen::audio::wav::WavReader::new(data, None).unwrap();
        let mut pieces = Vec::new();
        while r.read(&mut pieces, 7).unwrap() > 0 {}
        assert_eq!(pieces.len(), wav.samples.len());
    }
}

/// The WAV reader and the conversion to 16 kHz mono (mixing, resampling from any rate the
/// reader accepts: 1 to 768 kHz): slower per input than `wav`, so a target of its own.
pub fn wav_convert(data: &[u8]) {
    if let Ok(a) = nomen::audio::decode_wav(data) {
        assert!(a.samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
    }
}

/// The contact-list readers (plain text, CSV, vCard, and the format sniffing).
pub fn entity_list(data: &[u8]) {
    use nomen::entities::{EntitySet, Format};
    for (format, name) in [
        (Format::Auto, "list"),
        (Format::Text, "list.txt"),
        (Format::Csv, "list.csv"),
        (Format::Vcard, "list.vcf"),
    ] {
        let mut set = EntitySet::new();
        if set.add_bytes(data, format, Path::new(name)).is_ok() {
            for e in set.entities() {
                assert!(!e.words.is_empty());
            }
        }
    }
}

/// The JSONL manifest reader: a row per non-blank line, never more.
pub fn manifest(data: &[u8]) {
    let rows = nomen::manifest::read(data, Path::new("/m"), "m.jsonl");
    let lines = data.split(|&b| b == b'\n').count();
    assert!(rows.len() <= lines);
    for r in &rows {
        // An absolute "audio" path stays as it is.
        assert!(r.error.is_some() || r.path == Path::new("/m").join(&r.audio));
    }
}

/// The word LM readers (sphinx binary trie and ARPA text), then a few lookups.
pub fn lm(data: &[u8]) {
    let Ok(lm) = nomen::lm::WordLm::parse_bytes(data.to_vec(), Path::new("fuzz.lm")) else {
        return;
    };
    let mut state = lm.start_state();
    for id in (0..lm.vocab_size() as u32).take(64) {
        let (score, next) = lm.score(state, id);
        assert!(!score.is_nan());
        let _ = lm.word(id);
        let _ = lm.unigram(id);
        state = next;
        let _ = lm.state_words(state);
    }
}

/// The pronunciation lexicon reader (`word<TAB>phones`), then searches of the built trie.
pub fn lexicon(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // Tokens of up to 4 bytes are "phones" (64 of them); words get made-up LM ids.
    let token = |t: &str| (t.len() <= 4).then(|| (small_hash(t) % 64) as u16);
    let lm_word = |w: &str| (!w.is_empty()).then(|| (small_hash(w) % 1000, -2.0f32));
    let Ok(lex) = nomen::lexicon::Lexicon::parse(&text, Path::new("fuzz.lex"), token, lm_word)
    else {
        return;
    };
    let phones: Vec<u16> = data.iter().take(12).map(|&b| u16::from(b % 64)).collect();
    let _ = lex.nearest(&phones);
    let _ = lex.within(&phones, 2, 4);
    for w in (0..lex.num_words()).take(32) {
        let id = w as nomen::lexicon::WordId;
        let _ = lex.word(id);
        let _ = lex.pronunciations(id);
    }
}

/// The written form (`written::write`) of any words: spoken words from the bytes (every
/// third byte also sets the pause before its word), some written as a list writes names.
/// The tokens must cover every word once, in order.
pub fn written(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut t = 0.0f32;
    let words: Vec<nomen::Word> = text
        .split_whitespace()
        .take(4096)
        .enumerate()
        .map(|(i, w)| {
            t += f32::from(data.get(i * 3).copied().unwrap_or(0)) / 100.0;
            let start = t;
            t += 0.3;
            nomen::Word {
                word: w.to_string(),
                start,
                end: t,
                conf: 1.0,
            }
        })
        .collect();
    let names: Vec<nomen::EntityHit> = words
        .iter()
        .filter(|w| w.word.len() % 5 == 0)
        .map(|w| nomen::EntityHit {
            text: w.word.clone(),
            start: w.start,
            end: w.end,
            score: 1.0,
        })
        .collect();
    let out = nomen::written::write(&words, &names, &nomen::WrittenConfig::default());
    let covered: Vec<usize> = out.tokens.iter().flat_map(|t| t.words.clone()).collect();
    assert_eq!(covered, (0..words.len()).collect::<Vec<_>>());
}

fn small_hash(s: &str) -> u32 {
    s.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    })
}
