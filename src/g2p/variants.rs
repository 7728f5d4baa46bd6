//! Alternative pronunciations of names by letter-to-sound substitution ("G2G" variants).
//!
//! The G2P model gives one reading of a spelling, but people say names in several ways
//! ("Joaquin" with /h/ or /dʒ/, "Xavier" with /z/, /h/ or /ks/). Following the
//! grapheme-to-grapheme idea of generating plausible alternatives from a table of the
//! alternative sounds of letters and letter groups, this module:
//!
//! 1. splits the word into graphemes: the longest key of [`TABLE`] at each position
//!    (`sch`, `ch`, `oa`, `qu`, `iew`, ...), doubled consonants as one grapheme; a final
//!    `e` after a consonant, a soft `c`/`g` (before `e`, `i`, `y`) and a vowel `y` get
//!    their own sounds; letters with diacritics fold to their base letter unless the
//!    table has them (`č`, `ñ`, `ł`, ...); only Latin letters count;
//! 2. aligns the graphemes to the G2P phones with a small dynamic program: each grapheme
//!    takes 0 to 3 consecutive phones (a phone and its diacritic tokens count as one);
//!    spans that are one of the grapheme's sounds in the table are cheap, vowel letters
//!    on vowel phones cheaper than on consonants, and phones whose hama attention
//!    ([`Pronunciation::chars`]) points into the grapheme cheaper still (the attention
//!    alone lags by a letter now and then, e.g. `qu` + `i`);
//! 3. replaces the phones of one or two graphemes by another of their sounds, only where
//!    the alignment is trustworthy (the grapheme has one of its table sounds, is read
//!    letter by letter like `bh` as /b h/, is silent and may be, or has a single
//!    non-English phone from hama's foreign mode such as `ɾ`). Each change costs
//!    `0.1 - ln(weight)` of the chosen sound (weights in [`TABLE`], best sound 1.0),
//!    plus 0.4 for vowel graphemes (vowel swaps are many and sound alike), plus the G2P
//!    score gap when the base is not the best G2P pronunciation; a phone doubled where a
//!    change meets its neighbour is written once;
//! 4. returns the cheapest distinct results, never one of the base pronunciations.
//!
//! Deterministic (ties broken by position and phones), capped
//! ([`VariantOptions::max_variants`]), and total: any `&str` is accepted (tested on
//! random Unicode strings and phone lists).
//!
//! What it cannot do: changes that do not follow letters (`Nguyen` as /wɪn/ drops a
//! sound and rewrites the vowels; `Tadhg` as /taɪg/; `Siobhan` as /ʃɪˈvɔn/ needs three
//! changes), stress, letters outside the Latin alphabet (other scripts get no variants),
//! more than two changes per variant, insertions for letters the G2P left silent (unless
//! the letter may be silent, like `h` or a final `e`), or knowing which variants are
//! real: every variant is only plausible, and the ranking is a hand-set prior, not
//! learned from data. The alignment is a heuristic; a wrong one gives an odd variant now
//! and then. Variants of hama's foreign-mode output drop its `<space>` tokens but keep
//! its diacritic tokens (`̯`, `̞`) where no change touches them.

use std::collections::HashSet;
use std::ops::Range;

use super::Pronunciation;

/// One table entry: a letter or letter group and its sounds, best first.
///
/// Each sound is a space-separated phone sequence in `tokens.txt` spelling (`""` is
/// silence), with a prior weight in (0, 1]; the first has weight 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Lower-case letters.
    pub graphemes: &'static str,
    /// `(phones, weight)`, best first.
    pub sounds: &'static [(&'static str, f32)],
}

macro_rules! rules {
    ($($g:literal => [$($p:literal : $w:literal),* $(,)?]),* $(,)?) => {
        &[$(Rule { graphemes: $g, sounds: &[$(($p, $w)),*] }),*]
    };
}

/// The grapheme-to-phone table: every phone is a `tokens.txt` symbol (checked by a test).
/// `t͡s` is not a token of the model, so it is written `t s`.
pub const TABLE: &[Rule] = rules![
    // Letter groups, consonants.
    "sch" => ["ʃ": 1.0, "s k": 0.5],
    "tch" => ["t͡ʃ": 1.0],
    "ch" => ["t͡ʃ": 1.0, "k": 0.6, "ʃ": 0.5, "x": 0.2],
    "sh" => ["ʃ": 1.0],
    "th" => ["θ": 1.0, "t": 0.5, "ð": 0.5],
    "ph" => ["f": 1.0, "p": 0.2],
    "gh" => ["g": 1.0, "": 0.5, "f": 0.3],
    "kh" => ["k": 1.0, "x": 0.5, "h": 0.4],
    "zh" => ["ʒ": 1.0, "d͡ʒ": 0.5],
    "dh" => ["d": 1.0, "ð": 0.4],
    "bh" => ["v": 1.0, "b": 0.6, "w": 0.4],
    "mh" => ["v": 1.0, "m": 0.6, "w": 0.4],
    "wh" => ["w": 1.0, "h": 0.3],
    "ck" => ["k": 1.0],
    "qu" => ["k w": 1.0, "k": 0.6],
    "gn" => ["g n": 1.0, "n j": 0.5, "n": 0.4],
    "ng" => ["ŋ": 1.0, "ŋ g": 0.5, "n g": 0.4],
    "nh" => ["n j": 1.0, "n": 0.5],
    "lh" => ["l j": 1.0, "l": 0.5],
    "ll" => ["l": 1.0, "j": 0.4],
    "tz" => ["t s": 1.0, "z": 0.4],
    "cz" => ["t͡ʃ": 1.0, "k z": 0.4],
    "sz" => ["ʃ": 1.0, "s": 0.4],
    "rz" => ["ʒ": 1.0, "ɹ z": 0.5],
    "dz" => ["d z": 1.0, "d͡ʒ": 0.4],
    "dj" => ["d͡ʒ": 1.0],
    "cs" => ["t͡ʃ": 1.0, "k s": 0.5],
    "zs" => ["ʒ": 1.0, "z": 0.4],
    "gy" => ["d͡ʒ": 1.0, "g j": 0.5, "g i": 0.4],
    "ny" => ["n j": 1.0, "n i": 0.5],
    // Letter groups, vowels.
    "ou" => ["aʊ": 1.0, "u": 0.6, "oʊ": 0.4, "ʌ": 0.3],
    "oa" => ["oʊ": 1.0, "w ɑ": 0.5, "oʊ ə": 0.5],
    "ai" => ["eɪ": 1.0, "aɪ": 0.6, "ɛ": 0.3],
    "ay" => ["eɪ": 1.0, "aɪ": 0.5],
    "ei" => ["eɪ": 1.0, "aɪ": 0.6, "i": 0.5],
    "ey" => ["eɪ": 1.0, "i": 0.6],
    "ie" => ["i": 1.0, "aɪ": 0.4, "i ɛ": 0.4],
    "ee" => ["i": 1.0],
    "ea" => ["i": 1.0, "ɛ": 0.4, "eɪ ə": 0.3],
    "oo" => ["u": 1.0, "ʊ": 0.5, "oʊ": 0.3],
    "au" => ["ɔ": 1.0, "aʊ": 0.6],
    "eu" => ["u": 1.0, "ɔɪ": 0.4, "eɪ u": 0.4],
    "ao" => ["aʊ": 1.0, "i": 0.4, "eɪ oʊ": 0.4],
    "ae" => ["eɪ": 1.0, "i": 0.5, "aɪ": 0.4],
    "oi" => ["ɔɪ": 1.0, "w ɑ": 0.4, "i": 0.3],
    "ui" => ["u ɪ": 1.0, "w i": 0.6, "ɪ": 0.4],
    "iew" => ["j u": 1.0, "u": 0.5],
    "ew" => ["u": 1.0, "j u": 0.8],
    "aw" => ["ɔ": 1.0, "aʊ": 0.4],
    "ow" => ["oʊ": 1.0, "aʊ": 0.6],
    // Single letters.
    "a" => ["æ": 1.0, "ɑ": 0.6, "eɪ": 0.4, "ə": 0.4],
    "b" => ["b": 1.0],
    "c" => ["k": 1.0, "s": 0.3, "t͡ʃ": 0.3],
    "d" => ["d": 1.0],
    "e" => ["ɛ": 1.0, "i": 0.5, "eɪ": 0.4, "ə": 0.4],
    "f" => ["f": 1.0],
    "g" => ["g": 1.0, "d͡ʒ": 0.6, "ʒ": 0.3, "h": 0.2],
    "h" => ["h": 1.0, "": 0.5],
    "i" => ["ɪ": 1.0, "i": 0.8, "aɪ": 0.5],
    "j" => ["d͡ʒ": 1.0, "j": 0.6, "h": 0.6, "ʒ": 0.4],
    "k" => ["k": 1.0],
    "l" => ["l": 1.0],
    "m" => ["m": 1.0],
    "n" => ["n": 1.0],
    "o" => ["ɑ": 1.0, "oʊ": 0.8, "ɔ": 0.5, "ə": 0.4],
    "p" => ["p": 1.0],
    "q" => ["k": 1.0],
    "r" => ["ɹ": 1.0],
    "s" => ["s": 1.0, "z": 0.6, "ʃ": 0.4],
    "t" => ["t": 1.0],
    "u" => ["ʌ": 1.0, "u": 0.8, "ʊ": 0.5, "j u": 0.5],
    "v" => ["v": 1.0, "w": 0.5, "b": 0.3],
    "w" => ["w": 1.0, "v": 0.6],
    "x" => ["k s": 1.0, "z": 0.6, "h": 0.5, "ʃ": 0.4],
    "y" => ["j": 1.0, "i": 0.4],
    "z" => ["z": 1.0, "t s": 0.6, "s": 0.5],
    // Letters with diacritics that have a sound of their own.
    "ç" => ["s": 1.0],
    "č" => ["t͡ʃ": 1.0],
    "ć" => ["t͡ʃ": 1.0],
    "š" => ["ʃ": 1.0],
    "ś" => ["ʃ": 1.0, "s": 0.5],
    "ş" => ["ʃ": 1.0],
    "ș" => ["ʃ": 1.0],
    "ž" => ["ʒ": 1.0],
    "ż" => ["ʒ": 1.0],
    "ź" => ["ʒ": 1.0, "z": 0.5],
    "ñ" => ["n j": 1.0, "n": 0.5],
    "ł" => ["w": 1.0, "l": 0.6],
    "ř" => ["ʒ": 1.0, "ɹ": 0.6],
    "ț" => ["t s": 1.0, "t": 0.5],
    "ğ" => ["": 1.0, "g": 0.4],
    "ß" => ["s": 1.0],
    "ð" => ["ð": 1.0, "θ": 0.5],
    "þ" => ["θ": 1.0],
];

/// Sounds of a final `e` after a consonant (`Rene`, `Chloe` is `oe`): silent or not.
const FINAL_E: Rule = Rule {
    graphemes: "e",
    sounds: &[("", 1.0), ("eɪ", 0.5), ("i", 0.5)],
};

/// `y` as a vowel: not first in the word and not before a vowel (`Myfanwy`, `Kelly`).
const Y_VOWEL: Rule = Rule {
    graphemes: "y",
    sounds: &[("i", 1.0), ("aɪ", 0.6), ("ɪ", 0.5)],
};

/// `c` and `g` before `e`, `i`, `y` (soft first).
const SOFT_C: Rule = Rule {
    graphemes: "c",
    sounds: &[("s", 1.0), ("k", 0.5), ("t͡ʃ", 0.5)],
};
const SOFT_G: Rule = Rule {
    graphemes: "g",
    sounds: &[("d͡ʒ", 1.0), ("g", 0.6), ("ʒ", 0.3), ("h", 0.3)],
};

/// Longest grapheme key in [`TABLE`], in characters.
const MAX_KEY: usize = 3;
/// Most phones one grapheme may cover in the alignment.
const MAX_SPAN: usize = 3;
/// Cost added to every change, so that a swap to a sound of the same weight is not free.
const CHANGE_COST: f32 = 0.1;
/// Extra cost of changing a vowel grapheme: vowel swaps are many and sound alike, the
/// consonant changes are the ones that make a name unrecognizable.
const VOWEL_CHANGE_COST: f32 = 0.4;
/// How many of the best single changes are combined into pairs.
const PAIR_POOL: usize = 16;

/// Limits of [`variants`].
#[derive(Debug, Clone, PartialEq)]
pub struct VariantOptions {
    /// Most variants returned.
    pub max_variants: usize,
    /// Most graphemes changed in one variant (1 or 2; more is treated as 2).
    pub max_changes: usize,
    /// Variants costing more than this are dropped (cost = sum over the changes of
    /// `0.1 - ln(weight)`, plus 0.4 for a vowel grapheme; one consonant change to a
    /// 0.5-weight sound costs 0.79, two such changes 1.59).
    pub max_cost: f32,
}

impl VariantOptions {
    /// Checks the limits: `Err` names the first out of its range.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ranges::{count, within};
        count("max_variants", self.max_variants, 0, 256)?;
        count("max_changes", self.max_changes, 0, 16)?;
        within("max_cost", self.max_cost, 0.0, 100.0)
    }
}

impl Default for VariantOptions {
    fn default() -> Self {
        Self {
            max_variants: 8,
            max_changes: 2,
            max_cost: 3.0,
        }
    }
}

/// One change of a variant: the phones of a grapheme replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The grapheme (lower-case letters, as in [`TABLE`]).
    pub graphemes: String,
    /// Its characters in the word (indices in `char`s).
    pub chars: Range<usize>,
    /// The phones it had.
    pub from: Vec<String>,
    /// The phones it has in the variant.
    pub to: Vec<String>,
}

/// An alternative pronunciation.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Phones in `tokens.txt` spelling, without hama's `<space>` separators.
    pub phones: Vec<String>,
    /// Lower is more plausible (see [`VariantOptions::max_cost`]).
    pub cost: f32,
    /// What was changed, left to right.
    pub changes: Vec<Change>,
    /// Index of the base pronunciation (in the slice given to [`variants`]) it comes from.
    pub base: usize,
}

/// A grapheme of the word and the phones aligned to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The grapheme (lower-case, diacritics folded unless the table has the letter).
    pub graphemes: String,
    /// Its characters in the word.
    pub chars: Range<usize>,
    /// Its phones: `phones[span]` of the aligned pronunciation.
    pub span: Range<usize>,
    /// Its table rule, if any.
    pub rule: Option<Rule>,
}

fn rule(key: &str) -> Option<Rule> {
    TABLE.iter().find(|r| r.graphemes == key).copied()
}

/// Lower-case `c` as one character, or `None` when that is not one character.
fn lower(c: char) -> Option<char> {
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => Some(x),
        _ => None,
    }
}

/// Base letter of a Latin letter with a diacritic (vowels and letters the table lacks).
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'ẽ' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ń' | 'ň' | 'ņ' => 'n',
        'ď' => 'd',
        'ť' => 't',
        'ĺ' | 'ľ' | 'ļ' => 'l',
        'ŕ' => 'r',
        'ķ' => 'k',
        'ģ' => 'g',
        'ŵ' => 'w',
        _ => c,
    }
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

/// The letters of `word` as (char index, normalized letter); other characters are
/// dropped but break letter groups.
fn letters(word: &str) -> Vec<(usize, char)> {
    word.chars()
        .enumerate()
        .filter_map(|(i, c)| {
            let l = lower(c)?;
            // Latin letters only (up to Latin Extended-B).
            if !l.is_alphabetic() || u32::from(l) >= 0x250 {
                return None;
            }
            let key = if rule(l.encode_utf8(&mut [0; 4])).is_some() {
                l
            } else {
                fold(l)
            };
            Some((i, key))
        })
        .collect()
}

/// Splits `word` into graphemes (spans left empty: see [`align`]).
fn graphemes(word: &str) -> Vec<Segment> {
    let letters = letters(word);
    let mut out: Vec<Segment> = Vec::new();
    let mut i = 0;
    while i < letters.len() {
        // Longest table key over consecutive characters.
        let mut best: Option<(usize, Rule)> = None;
        for len in (1..=MAX_KEY.min(letters.len() - i)).rev() {
            let run = &letters[i..i + len];
            if run.windows(2).any(|w| w[1].0 != w[0].0 + 1) {
                continue;
            }
            let key: String = run.iter().map(|&(_, c)| c).collect();
            if let Some(r) = rule(&key) {
                best = Some((len, r));
                break;
            }
        }
        let (mut len, mut r) = match best {
            Some((len, r)) => (len, Some(r)),
            None => (1, None),
        };
        let c = letters[i].1;
        // A doubled consonant reads as one ("tt", "nn", "ss"), unless the pair is a key.
        if len == 1
            && !is_vowel(c)
            && letters
                .get(i + 1)
                .is_some_and(|&(j, d)| d == c && j == letters[i].0 + 1)
        {
            len = 2;
        }
        let next = letters.get(i + len).map(|&(_, d)| d);
        let key: String = letters[i..i + len].iter().map(|&(_, c)| c).collect();
        let run_end = i + len == letters.len() || letters[i + len].0 != letters[i + len - 1].0 + 1;
        if key == "e" && run_end && i >= 2 && !is_vowel(letters[i - 1].1) {
            r = Some(FINAL_E);
        } else if key == "y" && i > 0 && !next.is_some_and(is_vowel) {
            r = Some(Y_VOWEL);
        } else if len == 1 && matches!(next, Some('e' | 'i' | 'y')) {
            if c == 'c' {
                r = Some(SOFT_C);
            } else if c == 'g' {
                r = Some(SOFT_G);
            }
        }
        let chars = letters[i].0..letters[i + len - 1].0 + 1;
        out.push(Segment {
            graphemes: key,
            chars,
            span: 0..0,
            rule: r,
        });
        i += len;
    }
    out
}

fn phones_of(sound: &str) -> Vec<&str> {
    sound.split(' ').filter(|p| !p.is_empty()).collect()
}

/// Sounds a grapheme often has in the G2P output that are no variants to offer (the
/// r-coloured vowels of `er`, `ir`, `ur`): they only help the alignment.
const ALIGN_ONLY: &[(&str, &str)] = &[
    ("r", "ɝ"),
    ("r", "ɚ"),
    ("r", "ə ɹ"),
    ("rr", "ɝ"),
    ("le", "ə l"),
    ("x", "g z"),
    ("u", "j ʊ"),
    ("ie", "j"),
    ("ie", "j ə"),
    ("ea", "i ə"),
    ("ia", "i ə"),
];

/// Whether `phone` is a vowel (hama's IPA vowels, with or without diacritics).
fn is_vowel_phone(phone: &str) -> bool {
    phone
        .chars()
        .next()
        .is_some_and(|c| "aeiouyæɑɒɔəɚɛɜɝɪʊʌɐøœɯɨʉɤɘɵãõĩũẽàäåìǐʏ".contains(c))
}

/// The phones of English as the G2P writes them (CMUdict's, in the model's IPA).
const ENGLISH_PHONES: &[&str] = &[
    "aɪ", "aʊ", "b", "d", "d͡ʒ", "eɪ", "f", "g", "h", "i", "j", "k", "l", "m", "n", "oʊ", "p", "ɹ",
    "s", "t", "t͡ʃ", "u", "v", "w", "z", "æ", "ð", "ŋ", "ɑ", "ɔ", "ɔɪ", "ə", "ɛ", "ɝ", "ɚ", "ɪ",
    "ʃ", "ʊ", "ʌ", "ʒ", "θ",
];

/// Whether `token` only modifies the phone before it (a combining diacritic, length,
/// aspiration, a tone letter or digit, a tie): hama's narrow output writes them as tokens
/// of their own (`i ̯`, `t ̪`, `a ː`, `ŋ ³ ⁵`).
fn is_modifier(token: &str) -> bool {
    !token.is_empty()
        && token.chars().all(|c| {
            matches!(u32::from(c),
                0x0300..=0x036F | 0x02B0..=0x02FF | 0x1D2C..=0x1DBF | 0x2070..=0x209F
                | 0xA700..=0xA721 | 0x00B2 | 0x00B3 | 0x00B9 | 0x203F)
        })
}

/// `phones` grouped into units: a phone and the modifiers after it.
fn units(phones: &[&str]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (i, p) in phones.iter().enumerate() {
        match out.last_mut() {
            Some(last) if is_modifier(p) => last.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// How `phones` are known for `seg`: 0 a table sound, 1 alignment-only, 2 not.
fn known(seg: &Segment, phones: &[&str]) -> u8 {
    if seg
        .rule
        .is_some_and(|r| r.sounds.iter().any(|(s, _)| phones_of(s) == phones))
    {
        0
    } else if ALIGN_ONLY
        .iter()
        .any(|&(g, s)| g == seg.graphemes && phones_of(s) == phones)
    {
        1
    } else {
        2
    }
}

/// Whether a letter group is read letter by letter: at most one phone per letter, each a
/// table sound of one of its letters (`bh` as /b h/).
fn letterwise(seg: &Segment, phones: &[&str]) -> bool {
    let letters: Vec<Rule> = seg
        .graphemes
        .chars()
        .filter_map(|c| rule(c.encode_utf8(&mut [0; 4])))
        .collect();
    letters.len() >= 2
        && !phones.is_empty()
        && phones.len() <= letters.len()
        && phones
            .iter()
            .all(|p| letters.iter().any(|r| r.sounds.iter().any(|(s, _)| s == p)))
}

/// Cost of giving `phones` (with their attention `chars`) to `seg` in the alignment.
fn span_cost(seg: &Segment, phones: &[&str], chars: &[Option<usize>]) -> f32 {
    let vowel = seg.graphemes.chars().all(is_vowel);
    let mut cost = match known(seg, phones) {
        0 => 0.0,
        1 => 0.1,
        _ if phones.is_empty() => 0.9,
        _ => phones
            .iter()
            .map(|p| if is_vowel_phone(p) == vowel { 0.5 } else { 1.0 })
            .sum(),
    };
    for c in chars {
        match c {
            Some(c) if seg.chars.contains(c) => cost -= 0.4,
            Some(_) => cost += 0.1,
            None => {}
        }
    }
    cost
}

/// Aligns the graphemes of `word` to `phones` (without `<space>` tokens); `chars` is the
/// attention of each phone (hama's alignment) when known. Every phone belongs to exactly
/// one grapheme, a diacritic token to the same grapheme as the phone before it; graphemes
/// may have none (silent letters). Spans are indices into `phones`. Empty when the word
/// has no (Latin) letters.
pub fn align(word: &str, phones: &[&str], chars: Option<&[Option<usize>]>) -> Vec<Segment> {
    let units = units(phones);
    let heads: Vec<&str> = units.iter().map(|u| phones[u.start]).collect();
    let unit_chars: Option<Vec<Option<usize>>> = chars
        .filter(|c| c.len() == phones.len())
        .map(|c| units.iter().map(|u| c[u.start]).collect());
    let mut segs = align_units(word, &heads, unit_chars.as_deref());
    for seg in &mut segs {
        let start = units.get(seg.span.start).map_or(phones.len(), |u| u.start);
        let end = if seg.span.is_empty() {
            start
        } else {
            units[seg.span.end - 1].end
        };
        seg.span = start..end;
    }
    segs
}

/// [`align`] on units: `phones` are the first phone of each unit.
fn align_units(word: &str, phones: &[&str], chars: Option<&[Option<usize>]>) -> Vec<Segment> {
    let mut segs = graphemes(word);
    let (m, n) = (segs.len(), phones.len());
    if m == 0 {
        return segs;
    }
    let none = vec![None; n];
    let chars = match chars {
        Some(c) if c.len() == n => c,
        _ => &none[..],
    };
    // cost[i][j]: best cost of graphemes ..i taking phones ..j; back[i][j]: phones of i-1.
    let inf = f32::INFINITY;
    let mut cost = vec![vec![inf; n + 1]; m + 1];
    let mut back = vec![vec![0usize; n + 1]; m + 1];
    cost[0][0] = 0.0;
    for i in 0..m {
        for j in 0..=n {
            if cost[i][j] == inf {
                continue;
            }
            // The last grapheme must take all remaining phones.
            for k in 0..=MAX_SPAN.min(n - j) {
                if i + 1 == m && j + k != n {
                    continue;
                }
                let c = cost[i][j] + span_cost(&segs[i], &phones[j..j + k], &chars[j..j + k]);
                if c < cost[i + 1][j + k] {
                    cost[i + 1][j + k] = c;
                    back[i + 1][j + k] = k;
                }
            }
        }
    }
    if cost[m][n] == inf {
        // More phones than graphemes can take (3 each): the last one takes the rest.
        let mut j = 0;
        for (i, seg) in segs.iter_mut().enumerate() {
            let k = if i + 1 == m {
                n - j
            } else {
                MAX_SPAN.min(n - j)
            };
            seg.span = j..j + k;
            j += k;
        }
        return segs;
    }
    let mut j = n;
    for i in (1..=m).rev() {
        let k = back[i][j];
        segs[i - 1].span = j - k..j;
        j -= k;
    }
    segs
}

/// A base pronunciation for [`generate`]: phones (no `<space>`), their attention, and the
/// cost added to its variants.
type Base<'a> = (Vec<&'a str>, Vec<Option<usize>>, f32);

/// A single change, before combination.
#[derive(Debug, Clone)]
struct Single {
    seg: usize,
    to: Vec<String>,
    cost: f32,
}

/// Up to `opts.max_variants` alternative pronunciations of `word`, cheapest first.
///
/// `bases` are the G2P pronunciations to start from, best first (e.g. from
/// [`super::G2p::nbest_aligned`], or just [`super::G2p::pronounce_aligned`]); a base other
/// than the first adds its log-probability gap to the first to the cost of its variants.
/// No variant equals a base pronunciation (after dropping `<space>`), and no two variants
/// are equal.
pub fn variants(word: &str, bases: &[Pronunciation], opts: &VariantOptions) -> Vec<Variant> {
    let best_lp = bases.first().map_or(0.0, |b| b.log_prob);
    let inputs: Vec<Base> = bases
        .iter()
        .map(|b| {
            let (phones, chars): (Vec<&str>, Vec<Option<usize>>) = b
                .phones
                .iter()
                .zip(b.chars.iter().copied().chain(std::iter::repeat(None)))
                .filter(|(p, _)| p.as_str() != "<space>" && !p.trim().is_empty())
                .map(|(p, c)| (p.as_str(), c))
                .unzip();
            let gap = if b.log_prob.is_finite() && best_lp.is_finite() {
                (best_lp - b.log_prob).max(0.0)
            } else {
                0.0
            };
            (phones, chars, gap)
        })
        .collect();
    generate(word, &inputs, opts)
}

/// [`variants`] of a pronunciation without alignment or score (e.g. a lexicon entry).
pub fn variants_of_phones<S: AsRef<str>>(
    word: &str,
    phones: &[S],
    opts: &VariantOptions,
) -> Vec<Variant> {
    let phones: Vec<&str> = phones
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| *p != "<space>" && !p.trim().is_empty())
        .collect();
    let chars = vec![None; phones.len()];
    generate(word, &[(phones, chars, 0.0)], opts)
}

fn generate(word: &str, bases: &[Base], opts: &VariantOptions) -> Vec<Variant> {
    let excluded: HashSet<Vec<&str>> = bases.iter().map(|b| b.0.clone()).collect();
    let mut seen: HashSet<Vec<String>> = HashSet::new();
    let mut all: Vec<Variant> = Vec::new();
    if opts.max_variants == 0 {
        return all;
    }
    for (base_index, (phones, chars, gap)) in bases.iter().enumerate() {
        if phones.is_empty() {
            continue;
        }
        let segs = align(word, phones, Some(chars));
        let mut singles: Vec<Single> = Vec::new();
        for (si, seg) in segs.iter().enumerate() {
            let Some(rule) = seg.rule else { continue };
            let current = &phones[seg.span.clone()];
            let heads: Vec<&str> = current
                .iter()
                .copied()
                .filter(|p| !is_modifier(p))
                .collect();
            // Only where the alignment can be trusted: the grapheme has one of its table
            // sounds or is read letter by letter (`bh` as /b h/), is silent and may be, or
            // has one phone that is not English
            // (hama's narrow foreign-mode phones: r -> ɾ, j -> x).
            let eligible = match known(seg, &heads) {
                0 => true,
                1 => false,
                _ if letterwise(seg, &heads) => true,
                _ if heads.is_empty() => rule.sounds.iter().any(|(s, _)| s.is_empty()),
                _ => {
                    heads.len() == 1
                        && !ENGLISH_PHONES.contains(&heads[0])
                        && is_vowel_phone(heads[0]) == seg.graphemes.chars().all(is_vowel)
                }
            };
            if !eligible {
                continue;
            }
            let extra = if seg.graphemes.chars().all(is_vowel) {
                VOWEL_CHANGE_COST
            } else {
                0.0
            };
            for &(sound, weight) in rule.sounds {
                let to = phones_of(sound);
                if to == current || to == heads {
                    continue;
                }
                singles.push(Single {
                    seg: si,
                    to: to.iter().map(|s| s.to_string()).collect(),
                    cost: CHANGE_COST + extra - weight.max(1e-3).ln() + gap,
                });
            }
        }
        singles.sort_by(|a, b| a.cost.total_cmp(&b.cost).then(a.seg.cmp(&b.seg)));
        let mut combos: Vec<(f32, Vec<&Single>)> =
            singles.iter().map(|s| (s.cost, vec![s])).collect();
        if opts.max_changes >= 2 {
            let pool = &singles[..singles.len().min(PAIR_POOL)];
            for (a, x) in pool.iter().enumerate() {
                for y in &pool[a + 1..] {
                    if x.seg != y.seg {
                        // Pair costs count the G2P gap once.
                        let pair = if x.seg < y.seg {
                            vec![x, y]
                        } else {
                            vec![y, x]
                        };
                        combos.push((x.cost + y.cost - gap, pair));
                    }
                }
            }
        }
        combos.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then_with(|| {
                    let ka: Vec<usize> = a.1.iter().map(|s| s.seg).collect();
                    let kb: Vec<usize> = b.1.iter().map(|s| s.seg).collect();
                    ka.cmp(&kb)
                })
                .then_with(|| {
                    let ta: Vec<&Vec<String>> = a.1.iter().map(|s| &s.to).collect();
                    let tb: Vec<&Vec<String>> = b.1.iter().map(|s| &s.to).collect();
                    ta.cmp(&tb)
                })
        });
        for (cost, changes) in combos {
            if cost > opts.max_cost {
                break;
            }
            let mut out: Vec<String> = Vec::with_capacity(phones.len() + 2);
            let mut at = 0;
            let mut recorded = Vec::new();
            for (ci, s) in changes.iter().enumerate() {
                let seg = &segs[s.seg];
                let limit = changes
                    .get(ci + 1)
                    .map_or(phones.len(), |n| segs[n.seg].span.start);
                out.extend(phones[at..seg.span.start].iter().map(|p| p.to_string()));
                // No doubled phone where a change meets its neighbours ("g n" -> "n j"
                // before "j u" gives "n j u", not "n j j u").
                for p in &s.to {
                    if out.last() != Some(p) {
                        out.push(p.clone());
                    }
                }
                at = seg.span.end;
                while at < limit && out.last().is_some_and(|l| l == phones[at]) {
                    at += 1;
                }
                recorded.push(Change {
                    graphemes: seg.graphemes.clone(),
                    chars: seg.chars.clone(),
                    from: phones[seg.span.clone()]
                        .iter()
                        .map(|p| p.to_string())
                        .collect(),
                    to: s.to.clone(),
                });
            }
            out.extend(phones[at..].iter().map(|p| p.to_string()));
            let as_str: Vec<&str> = out.iter().map(String::as_str).collect();
            if out.is_empty() || excluded.contains(&as_str) || !seen.insert(out.clone()) {
                continue;
            }
            all.push(Variant {
                phones: out,
                cost,
                changes: recorded,
                base: base_index,
            });
        }
    }
    // Stable: equal costs keep the order of their base and their position.
    all.sort_by(|a, b| a.cost.total_cmp(&b.cost));
    all.truncate(opts.max_variants);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pron(phones: &str, chars: &[i64]) -> Pronunciation {
        Pronunciation {
            phones: phones.split(' ').map(str::to_string).collect(),
            ids: Vec::new(),
            chars: chars.iter().map(|&c| usize::try_from(c).ok()).collect(),
            log_prob: -1.0,
        }
    }

    fn joined(v: &[Variant]) -> Vec<String> {
        v.iter().map(|v| v.phones.join(" ")).collect()
    }

    #[test]
    fn table_phones_are_tokens() {
        let tokens =
            crate::model::Tokens::parse(include_str!("../../models-quantized/tokens.txt")).unwrap();
        for r in TABLE.iter().chain([&FINAL_E, &SOFT_C, &SOFT_G, &Y_VOWEL]) {
            assert!(!r.sounds.is_empty(), "{}", r.graphemes);
            assert_eq!(r.sounds[0].1, 1.0, "{}: first weight", r.graphemes);
            assert!(r.graphemes.chars().count() <= MAX_KEY);
            for (sound, w) in r.sounds {
                assert!(*w > 0.0 && *w <= 1.0, "{}", r.graphemes);
                for p in phones_of(sound) {
                    assert!(
                        tokens.id(p).is_some(),
                        "{}: {p:?} is not a token",
                        r.graphemes
                    );
                    assert!(!p.starts_with('<'), "{p}");
                }
            }
        }
        let keys: HashSet<&str> = TABLE.iter().map(|r| r.graphemes).collect();
        assert_eq!(keys.len(), TABLE.len(), "duplicate keys");
    }

    #[test]
    fn graphemes_take_the_longest_key() {
        let g: Vec<String> = graphemes("Schuchmann")
            .into_iter()
            .map(|s| s.graphemes)
            .collect();
        assert_eq!(g, ["sch", "u", "ch", "m", "a", "nn"]);
        let g: Vec<String> = graphemes("O'Shea")
            .into_iter()
            .map(|s| s.graphemes)
            .collect();
        assert_eq!(g, ["o", "sh", "ea"]);
        let segs = graphemes("Rene");
        assert_eq!(segs.last().unwrap().rule.unwrap().sounds[0].0, "");
        let segs = graphemes("Joséé");
        assert_eq!(segs[3].graphemes, "ee");
        assert_eq!(graphemes("Ceci")[0].rule.unwrap().sounds[0].0, "s");
        assert!(graphemes("Иван 42 ✓").is_empty());
    }

    #[test]
    fn alignment_follows_the_table_and_attention() {
        // hama: Joaquin -> j oʊ ə k w ɪ n, attention 0 1 2 3 5 5 6 (w lags onto "i").
        let p = ["j", "oʊ", "ə", "k", "w", "ɪ", "n"];
        let chars = [0, 1, 2, 3, 5, 5, 6].map(Some);
        let segs = align("Joaquin", &p, Some(&chars));
        let spans: Vec<(String, Vec<&str>)> = segs
            .iter()
            .map(|s| (s.graphemes.clone(), p[s.span.clone()].to_vec()))
            .collect();
        assert_eq!(
            spans,
            [
                ("j".to_string(), vec!["j"]),
                ("oa".to_string(), vec!["oʊ", "ə"]),
                ("qu".to_string(), vec!["k", "w"]),
                ("i".to_string(), vec!["ɪ"]),
                ("n".to_string(), vec!["n"]),
            ]
        );
        // Without attention the table alone gives the same here.
        let segs2 = align("Joaquin", &p, None);
        assert_eq!(
            segs.iter().map(|s| s.span.clone()).collect::<Vec<_>>(),
            segs2.iter().map(|s| s.span.clone()).collect::<Vec<_>>()
        );
        // Every phone is covered exactly once, in order.
        for (word, phones) in [
            ("Knight", "n aɪ t"),
            ("Xi", "ʃ i"),
            ("Bo", "b oʊ ə ɹ z s t"),
        ] {
            let p: Vec<&str> = phones.split(' ').collect();
            let segs = align(word, &p, None);
            let mut at = 0;
            for s in &segs {
                assert_eq!(s.span.start, at, "{word}");
                at = s.span.end;
            }
            assert_eq!(at, p.len(), "{word}");
        }
    }

    #[test]
    fn joaquin_gets_h_or_w() {
        let base = pron("j oʊ ə k w ɪ n", &[0, 1, 2, 3, 5, 5, 6]);
        let v = variants(
            "Joaquin",
            std::slice::from_ref(&base),
            &VariantOptions::default(),
        );
        let j = joined(&v);
        assert!(j.contains(&"h oʊ ə k w ɪ n".to_string()), "{j:?}");
        let more = VariantOptions {
            max_variants: 20,
            ..VariantOptions::default()
        };
        let j20 = joined(&variants("Joaquin", std::slice::from_ref(&base), &more));
        assert!(j20.contains(&"j w ɑ k w ɪ n".to_string()), "{j20:?}");
        assert!(!j.contains(&"j oʊ ə k w ɪ n".to_string()));
        assert!(v.len() <= 8);
        for pair in v.windows(2) {
            assert!(pair[0].cost <= pair[1].cost);
        }
        let h = v
            .iter()
            .find(|v| v.phones.join(" ") == "h oʊ ə k w ɪ n")
            .unwrap();
        assert_eq!(h.changes.len(), 1);
        assert_eq!(h.changes[0].graphemes, "j");
        assert_eq!(h.changes[0].chars, 0..1);
        assert_eq!(h.changes[0].from, ["j"]);
        assert_eq!(h.changes[0].to, ["h"]);
    }

    #[test]
    fn xavier_gets_h_or_ks() {
        let base = pron("z eɪ v j ɝ", &[0, 1, 2, 3, 4]);
        let j = joined(&variants("Xavier", &[base], &VariantOptions::default()));
        assert!(j.contains(&"h eɪ v j ɝ".to_string()), "{j:?}");
        assert!(j.contains(&"k s eɪ v j ɝ".to_string()), "{j:?}");
    }

    #[test]
    fn siobhan_gets_v_for_bh_and_sh_for_s() {
        let base = pron("s aɪ ə b h æ n", &[0, 1, 2, 3, 4, 5, 6]);
        let opts = VariantOptions {
            max_variants: 40,
            max_cost: 4.0,
            ..VariantOptions::default()
        };
        let j = joined(&variants("Siobhan", &[base], &opts));
        assert!(j.contains(&"s aɪ ə v æ n".to_string()), "{j:?}");
        assert!(j.contains(&"ʃ aɪ ə v æ n".to_string()), "{j:?}");
    }

    #[test]
    fn final_e_and_th_and_ch() {
        let base = pron("ɹ ɛ n", &[0, 1, 2]);
        let j = joined(&variants("Rene", &[base], &VariantOptions::default()));
        assert!(j.contains(&"ɹ ɛ n eɪ".to_string()), "{j:?}");
        let base = pron("θ ɔ m ə s", &[0, 2, 3, 4, 5]);
        let j = joined(&variants("Thomas", &[base], &VariantOptions::default()));
        assert!(j.contains(&"t ɔ m ə s".to_string()), "{j:?}");
        let base = pron("t͡ʃ ɑ ɹ l i", &[0, 2, 3, 4, 5]);
        let j = joined(&variants("Charlie", &[base], &VariantOptions::default()));
        assert!(j.contains(&"ʃ ɑ ɹ l i".to_string()), "{j:?}");
        assert!(j.contains(&"k ɑ ɹ l i".to_string()), "{j:?}");
    }

    #[test]
    fn several_bases_exclude_each_other_and_rank_by_gap() {
        let mut a = pron("z eɪ v j ɝ", &[0, 1, 2, 3, 4]);
        a.log_prob = -1.0;
        let mut b = pron("h eɪ v j ɝ", &[0, 1, 2, 3, 4]);
        b.log_prob = -3.0;
        let v = variants("Xavier", &[a, b], &VariantOptions::default());
        let j = joined(&v);
        assert!(!j.contains(&"h eɪ v j ɝ".to_string()), "{j:?}");
        assert!(!j.contains(&"z eɪ v j ɝ".to_string()), "{j:?}");
        assert!(v.iter().filter(|v| v.base == 1).all(|v| v.cost >= 2.0));
    }

    #[test]
    fn foreign_mode_spaces_are_dropped() {
        let base = pron(
            "a <space> ɪ ̯ <space> t <space> o <space> χ",
            &[0, 0, 1, 1, 1, 2, 2, 3, 3, 4],
        );
        let v = variants("Aitor", &[base], &VariantOptions::default());
        assert!(!v.is_empty());
        for v in &v {
            assert!(!v.phones.iter().any(|p| p == "<space>"), "{:?}", v.phones);
        }
    }

    #[test]
    fn caps_and_options() {
        let base = pron("z eɪ v j ɝ", &[0, 1, 2, 3, 4]);
        let one = VariantOptions {
            max_variants: 3,
            max_changes: 1,
            max_cost: 10.0,
        };
        let v = variants("Xavier", std::slice::from_ref(&base), &one);
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|v| v.changes.len() == 1));
        let none = VariantOptions {
            max_variants: 0,
            ..VariantOptions::default()
        };
        assert!(variants("Xavier", std::slice::from_ref(&base), &none).is_empty());
        let cheap = VariantOptions {
            max_cost: 0.0,
            ..VariantOptions::default()
        };
        assert!(variants("Xavier", &[base], &cheap).is_empty());
        // Deterministic.
        let b = pron("d͡ʒ oʊ ə k w ɪ n", &[0, 1, 2, 3, 4, 5, 6]);
        let opts = VariantOptions::default();
        assert_eq!(
            variants("Joaquin", std::slice::from_ref(&b), &opts),
            variants("Joaquin", &[b], &opts)
        );
    }

    #[test]
    fn no_doubled_phones_at_a_change() {
        let base = pron("z b ɪ g n j u", &[0, 1, 2, 3, 4, 5, 7]);
        let opts = VariantOptions {
            max_variants: 50,
            max_cost: 5.0,
            ..VariantOptions::default()
        };
        let j = joined(&variants("Zbigniew", &[base], &opts));
        assert!(j.contains(&"z b ɪ n j u".to_string()), "{j:?}");
        assert!(!j.iter().any(|p| p.contains("j j")), "{j:?}");
        // Two changes side by side.
        let base = pron("k s s ɑ", &[0, 0, 1, 2]);
        for v in variants("Xsa", &[base], &opts) {
            assert!(!v.phones.is_empty());
        }
    }

    #[test]
    fn without_alignment() {
        let j = joined(&variants_of_phones(
            "Joaquin",
            &["j", "oʊ", "ə", "k", "w", "ɪ", "n"],
            &VariantOptions::default(),
        ));
        assert!(j.contains(&"h oʊ ə k w ɪ n".to_string()), "{j:?}");
    }

    #[test]
    fn never_panics() {
        let words = [
            "",
            " ",
            "'",
            "😀😀",
            "Иван",
            "王",
            "a",
            "ab",
            "e",
            "ee",
            "eee",
            "xx",
            "X Æ A-12",
            "İstanbul",
            "ǅ",
            "ﬀ",
            "e\u{301}",
            "\u{0}",
            "ßtraße",
            "ÖÄÜ",
            "abcdefghijklmnopqrstuvwxyz",
        ];
        let phone_sets: [&[&str]; 5] = [
            &[],
            &["a"],
            &["<space>", "<space>"],
            &[
                "k", "s", "z", "t", "ɪ", "n", "ə", "ɹ", "l", "i", "m", "s", "t", "ʃ", "aɪ",
            ],
            &["x"; 40],
        ];
        for w in words {
            for p in phone_sets {
                let chars_sets: [Vec<Option<usize>>; 3] = [
                    vec![None; p.len()],
                    (0..p.len()).map(Some).collect(),
                    vec![Some(usize::MAX); p.len() + 3],
                ];
                for chars in chars_sets {
                    let base = Pronunciation {
                        phones: p.iter().map(|s| s.to_string()).collect(),
                        ids: Vec::new(),
                        chars,
                        log_prob: f32::NEG_INFINITY,
                    };
                    let v = variants(w, &[base.clone(), base], &VariantOptions::default());
                    assert!(v.len() <= 8);
                    let set: HashSet<&Vec<String>> = v.iter().map(|v| &v.phones).collect();
                    assert_eq!(set.len(), v.len());
                }
                let _ = variants_of_phones(w, p, &VariantOptions::default());
            }
        }
        assert!(variants("x", &[], &VariantOptions::default()).is_empty());
    }

    #[test]
    fn random_inputs_never_panic() {
        // A fixed linear congruential generator: deterministic "fuzzing".
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as usize) % n.max(1)
        };
        let pool: Vec<char> =
            "abcdefghijklmnopqrstuvwxyzABCXYZ'-. éøłčñßİı\u{301}\u{200b}😀Иж王각ǅﬀ\t"
                .chars()
                .collect();
        let phones = [
            "a", "aɪ", "b", "k", "s", "t͡ʃ", "ə", "ɹ", "<space>", "̯", "ː", "³", "x", "ɾ", "", " ",
        ];
        for _ in 0..3000 {
            let word: String = (0..next(12)).map(|_| pool[next(pool.len())]).collect();
            let n = next(20);
            let base = Pronunciation {
                phones: (0..n)
                    .map(|_| phones[next(phones.len())].to_string())
                    .collect(),
                ids: Vec::new(),
                chars: (0..next(25))
                    .map(|_| if next(5) == 0 { None } else { Some(next(15)) })
                    .collect(),
                log_prob: -(next(10) as f32),
            };
            let opts = VariantOptions {
                max_variants: next(12),
                max_changes: next(4),
                max_cost: next(6) as f32,
            };
            let v = variants(&word, std::slice::from_ref(&base), &opts);
            assert!(v.len() <= opts.max_variants);
            let _ = align(
                &word,
                &base.phones.iter().map(String::as_str).collect::<Vec<_>>(),
                None,
            );
        }
    }

    #[test]
    fn limits_out_of_range_are_named() {
        assert_eq!(VariantOptions::default().validate(), Ok(()));
        let bad = VariantOptions {
            max_cost: f32::NAN,
            ..VariantOptions::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "max_cost");
    }
}
