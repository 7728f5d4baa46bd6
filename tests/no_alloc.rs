//! Proves the decoder's per-frame loop allocates nothing: a counting global allocator watches
//! `BeamDecoder::advance` over many frames, with the real n-gram LM (ARPA fixture), a
//! lexicon with shared prefixes, homophones and word-boundary tokens, and an entity trie.

use nomen::bias::{BiasEntry, EntityTrie, SearchBias};
use nomen::decoder::{BeamDecoder, DecoderConfig, TokenRoles};
use nomen::lexicon::Lexicon;
use nomen::lm::WordLm;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const V: usize = 12; // 0 blank, 1 word boundary, 2.. phones

fn lexicon(lm: &WordLm) -> Lexicon {
    let prons: &[(&str, &[u16])] = &[
        ("the", &[2, 3]),
        ("a", &[3]),
        ("cat", &[4, 5, 6]),
        ("mat", &[7, 5, 6]),
        ("sat", &[8, 5, 6]),
        ("on", &[9, 10]),
        ("dog", &[11, 9, 4]),
        ("ran", &[10, 5, 10]),
        ("away", &[3, 2, 5]),
        ("quickly", &[4, 2, 4, 7, 8]),
        ("cat", &[4, 5, 2]),
    ];
    Lexicon::build(prons.iter().map(|(w, p)| (*w, p.to_vec())), |w| {
        lm.word_id(w).map(|id| (id, lm.unigram(id)))
    })
    .unwrap()
}

/// Posteriors that say `the cat sat on the mat` many times, with noise.
fn frames(repeats: usize) -> Vec<f32> {
    let utt: &[u16] = &[
        0, 2, 3, 0, 1, 4, 4, 5, 6, 0, 1, 8, 5, 5, 6, 1, 9, 10, 0, 1, 2, 3, 1, 7, 5, 6, 0, 1,
    ];
    let mut out = Vec::new();
    let mut seed = 12345u32;
    for _ in 0..repeats {
        for &u in utt {
            let mut row = [0f32; V];
            for (v, x) in row.iter_mut().enumerate() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let noise = (seed >> 16) as f32 / 65536.0;
                *x = if v == u as usize { 3.0 } else { noise * 2.0 };
            }
            let lse = row.iter().map(|x| x.exp()).sum::<f32>().ln();
            out.extend(row.iter().map(|x| x - lse));
        }
    }
    out
}

#[test]
fn per_frame_loop_allocates_nothing() {
    let lm = WordLm::load(Path::new("tests/fixtures/lm/tiny.arpa")).unwrap();
    let lex = lexicon(&lm);
    let roles = TokenRoles {
        vocab: V,
        blank: 0,
        word_boundary: Some(1),
    };
    let cfg = DecoderConfig {
        beam_size: 32,
        // Small enough that dead word records fill it many times (compaction runs in the
        // loop), large enough for the live history of this input (committing words to the
        // output when a single path outgrows the arena is the one path that may allocate).
        history_capacity: 1024,
        ..DecoderConfig::default()
    };
    // With biasing on: an entity trie walked beside the lexicon, adaptive boosts, class LM.
    // The entities' units never win a frame here (every frame's noise makes them candidates,
    // so the trie is walked throughout), so the words decoded stay the same.
    let ent = EntityTrie::build(
        vec![
            BiasEntry {
                display: "Dogo Kigo".into(),
                words: vec!["dogo".into(), "kigo".into()],
                weight: 1.0,
                partial: false,
                family: false,
            },
            BiasEntry {
                display: "Dogo".into(),
                words: vec!["dogo".into()],
                weight: 1.0,
                partial: true,
                family: false,
            },
        ],
        |w| match w {
            "dogo" => vec![vec![11, 3, 11, 2]],
            "kigo" => vec![vec![11, 10, 11, 4]],
            _ => vec![],
        },
        Some(1),
        8,
    )
    .unwrap();
    let mut dec =
        BeamDecoder::with_bias(&lex, &lm, roles, cfg, Some((&ent, SearchBias::default())));
    let warm = frames(1);
    let post = frames(40); // 1120 frames
                           // A first utterance, then reset: steady state must not allocate either.
    dec.advance(&warm);
    dec.finish();
    dec.reset();
    let before = ALLOCS.load(Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    dec.advance(&post[..post.len() / 2]);
    COUNTING.store(false, Ordering::SeqCst);
    let during = ALLOCS.load(Ordering::SeqCst) - before;
    dec.advance(&post[post.len() / 2..]);
    let best = dec.finish().remove(0);
    let n = lex.num_words() as u32;
    let text: Vec<&str> = best
        .words
        .iter()
        .map(|w| {
            if w.word < n {
                lex.word(w.word)
            } else {
                ent.entry(w.word - n).display.as_str()
            }
        })
        .collect();
    assert_eq!(during, 0, "the frame loop allocated {during} times");
    assert_eq!(text.len(), 40 * 6, "{text:?}");
    assert_eq!(&text[..6], &["the", "cat", "sat", "on", "the", "mat"]);
}
