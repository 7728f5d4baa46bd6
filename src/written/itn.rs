//! Inverse text normalization: spoken number phrases to written form ("seven thirty" ->
//! "7:30", "five dollars and fifty cents" -> "$5.50"), span by span, so that every written
//! token knows which spoken words it came from.
//!
//! The grammars are NeMo's English ITN taggers as ported by the `text-processing-rs` crate
//! (money, measure, date, time, telephone, decimal, ordinal, cardinal); this module decides
//! where they may apply: spans that start with a number word (or a month, a sign, "the",
//! "point", "oh", "half", "quarter", "double") and hold at least one, longest span first,
//! never across a name of the user's list. Its own style on top of the grammars, for
//! dictation: one to nine, "first" to "ninth" and "hundred", "thousand", ... alone stay
//! words ("one of them", "wait a second", "a thousand francs"), times lose NeMo's leading
//! zero ("7:30", not "07:30"), percentages lose the space ("20%").

use text_processing_rs::itn::en::{
    cardinal, date, decimal, measure, money, ordinal, telephone, time,
};

/// The longest spoken span one written token may replace (words).
/// (A number said in more words stays spoken: cut in two it would be two wrong numbers.)
pub const MAX_SPAN: usize = 32;

/// One replacement: spoken words `[start, end)` are written `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// First spoken word.
    pub start: usize,
    /// One past the last spoken word.
    pub end: usize,
    /// The written form.
    pub text: String,
}

const UNITS: &[&str] = &[
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const TEENS: &[&str] = &[
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: &[&str] = &[
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const SCALES: &[&str] = &["hundred", "thousand", "million", "billion", "trillion"];
const SMALL_ORDINALS: &[&str] = &[
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
];
const ORDINAL_WORDS: &[&str] = &[
    "zeroth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
    "hundredth",
    "thousandth",
    "millionth",
];
/// The months' names.
pub(super) const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
/// Words that may start a span besides number words: signs, "half past", "the fifth of
/// may", "point five", "oh two three ...", "double seven".
const OPENERS: &[&str] = &[
    "minus", "negative", "plus", "half", "quarter", "the", "point", "oh", "o", "double",
];

/// Whether `w` is a number word (cardinal or ordinal).
pub fn is_number_word(w: &str) -> bool {
    UNITS.contains(&w)
        || TEENS.contains(&w)
        || TENS.contains(&w)
        || SCALES.contains(&w)
        || SMALL_ORDINALS.contains(&w)
        || ORDINAL_WORDS.contains(&w)
}

fn may_open(w: &str) -> bool {
    is_number_word(w) || MONTHS.contains(&w) || OPENERS.contains(&w)
}

/// The grammars on one span; a grammar that panics (a third-party parser: the fuzz target
/// `written` found one that sliced inside a character) is no match, never a lost line.
fn tag(span: &str, words: usize) -> Option<String> {
    std::panic::catch_unwind(|| grammars(span, words)).unwrap_or(None)
}

/// The grammars, most specific first (as the crate's sentence mode orders them); the
/// telephone grammar only for long digit strings (it reads "one two three" as "123" too, and
/// the cardinal grammar does that better).
fn grammars(span: &str, words: usize) -> Option<String> {
    money::parse(span)
        .or_else(|| measure::parse(span))
        .or_else(|| date::parse(span))
        .or_else(|| time::parse(span))
        .or_else(|| {
            (words >= 7 && digit_string(span))
                .then(|| telephone::parse(span))
                .flatten()
        })
        .or_else(|| decimal::parse(span))
        .or_else(|| ordinal::parse(span))
        .or_else(|| {
            well_formed_cardinal(span)
                .then(|| cardinal::parse(span))
                .flatten()
        })
}

/// Words of digit strings besides the units.
const DIGIT_WORDS: &[&str] = &["oh", "o", "double", "triple", "plus"];
/// The most digits said one by one that are written as one number (a phone number with its
/// country code).
const MAX_DIGITS: usize = 16;

/// Whether the span is said in digits and pairs (what a phone number is): units, teens,
/// tens, "oh", "double", "triple", "plus"; no other word, no "hundred".
fn digit_string(span: &str) -> bool {
    span.split_whitespace().all(|w| {
        UNITS.contains(&w) || TEENS.contains(&w) || TENS.contains(&w) || DIGIT_WORDS.contains(&w)
    })
}

/// Whether the span reads as one English number (or digit by digit: "one two three" ->
/// "123"): no two of units, teens and tens side by side except tens then a unit ("forty
/// six"). The cardinal grammar adds such neighbours
/// ("three eighty six" -> 89, "forty fifty" -> 90), which a transcript must not.
fn well_formed_cardinal(span: &str) -> bool {
    #[derive(PartialEq, Clone, Copy)]
    enum K {
        Unit,
        Teen,
        Tens,
        Other,
    }
    let kind = |w: &str| {
        if UNITS.contains(&w) {
            K::Unit
        } else if TEENS.contains(&w) {
            K::Teen
        } else if TENS.contains(&w) {
            K::Tens
        } else {
            K::Other
        }
    };
    let kinds: Vec<K> = span.split_whitespace().map(kind).collect();
    if kinds.iter().all(|k| *k == K::Unit) {
        return true;
    }
    kinds.windows(2).all(|p| match p {
        [K::Tens, K::Unit] => true,
        [a, b] => *a == K::Other || *b == K::Other,
        _ => true,
    })
}

/// nomen's style over the grammar's output.
fn restyle(written: &str) -> String {
    let mut s = written.trim().to_string();
    // "07:30" -> "7:30": NeMo pads the hour of a time to two digits.
    let b = s.as_bytes();
    if b.len() >= 5 && b[0] == b'0' && b[1].is_ascii_digit() && b[2] == b':' {
        s.remove(0);
    }
    s.replace(" %", "%")
}

/// Whether a grammar's output is something nomen writes: not the span itself, no spoken
/// word glued to digits (a grammar that matched loosely), and not a lone small number.
fn acceptable(span_words: &[&str], written: &str) -> bool {
    let w = written.trim();
    if w.is_empty() || w == span_words.join(" ") || !w.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    // One to nine, "first" to "ninth" and a scale word alone ("a thousand francs") stay words.
    if span_words.len() == 1
        && (UNITS.contains(&span_words[0])
            || SMALL_ORDINALS.contains(&span_words[0])
            || SCALES.contains(&span_words[0]))
    {
        return false;
    }
    // Each written token: digits and symbols, or a short unit/suffix, or a word of the span
    // kept as is ("may" in "5 may"), or a written month.
    w.split_whitespace().all(|t| {
        let letters = t.chars().filter(|c| c.is_alphabetic()).count();
        let digits = t.chars().any(|c| c.is_ascii_digit());
        if letters == 0 {
            return true;
        }
        if digits {
            // "1st", "5k", "10am": digits then a short suffix.
            return letters <= 3
                && t.trim_start_matches(|c: char| !c.is_alphabetic())
                    .chars()
                    .all(char::is_alphabetic);
        }
        let lower = t.to_lowercase();
        let bare = lower.trim_matches(|c: char| !c.is_alphabetic());
        letters <= 4 || span_words.contains(&bare) || MONTHS.contains(&bare)
    })
}

/// The replacements for a transcript's spoken words, left to right, not overlapping.
/// `protected[i]`: word `i` is a name of the user's list (never part of a span).
pub fn replacements(words: &[&str], protected: &[bool]) -> Vec<Replacement> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if protected[i] || !may_open(words[i]) {
            i += 1;
            continue;
        }
        // A number said in more words than a span stays spoken (cut in two it would be two
        // wrong numbers).
        let run = words[i..]
            .iter()
            .take_while(|w| is_number_word(w) || **w == "and")
            .count();
        // Digits said one by one: more than a phone number holds stays spoken too.
        let digits = words[i..]
            .iter()
            .take_while(|w| UNITS.contains(w) || DIGIT_WORDS.contains(w))
            .count();
        if run > MAX_SPAN || digits > MAX_DIGITS {
            i += run.max(digits);
            continue;
        }
        let mut limit = i;
        // The grammars slice their input by bytes: only ASCII words go to them (the
        // lexicon's words are; a word that is not ends the span).
        while limit < words.len()
            && limit - i < MAX_SPAN
            && !protected[limit]
            && words[limit].is_ascii()
        {
            limit += 1;
        }
        let mut found = None;
        for end in (i + 1..=limit).rev() {
            let span = &words[i..end];
            if !span.iter().any(|w| is_number_word(w)) {
                continue;
            }
            let text = span.join(" ");
            if let Some(w) = tag(&text, span.len()) {
                if acceptable(span, &w) {
                    found = Some(Replacement {
                        start: i,
                        end,
                        text: restyle(&w),
                    });
                    break;
                }
            }
        }
        match found {
            Some(r) => {
                i = r.end;
                out.push(r);
            }
            None => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(s: &str) -> String {
        let words: Vec<&str> = s.split_whitespace().collect();
        let reps = replacements(&words, &vec![false; words.len()]);
        let mut out = Vec::new();
        let mut i = 0;
        for r in &reps {
            out.extend(words[i..r.start].iter().map(|w| w.to_string()));
            out.push(r.text.clone());
            i = r.end;
        }
        out.extend(words[i..].iter().map(|w| w.to_string()));
        out.join(" ")
    }

    #[test]
    fn times_money_and_numbers() {
        assert_eq!(
            written("please call my sister at seven thirty"),
            "please call my sister at 7:30"
        );
        assert_eq!(
            written("it costs five dollars and fifty cents"),
            "it costs $5.50"
        );
        assert_eq!(
            written("set a timer for ten minutes"),
            "set a timer for 10 minutes"
        );
        assert_eq!(written("twenty percent off"), "20% off");
        assert_eq!(written("born in nineteen ninety four"), "born in 1994");
        assert_eq!(
            written("call five five five one two three four"),
            "call 555-1234"
        );
        assert_eq!(
            written("forty six thousand six hundred sixty four"),
            "46664"
        );
        let digits = "one two three four five six seven eight nine one two three four five six \
                    seven eight nine one two three four five six seven eight nine one two three";
        assert_eq!(
            written(digits),
            digits,
            "more digits than a phone number stay spoken"
        );
        let long = "twenty one ".repeat(20);
        assert_eq!(
            written(&long),
            long.trim(),
            "a number longer than a span stays spoken"
        );
        // Neighbouring numbers are not added up.
        assert_eq!(written("three eighty six"), "three 86");
        assert_eq!(written("forty fifty"), "40 50");
        assert_eq!(written("one five two one seven"), "15217");
        // The phone grammar only for digits said one by one.
        assert_eq!(
            written("the forty two line bible of about fourteen fifty five"),
            "the 42 line bible of about 1455"
        );
    }

    #[test]
    fn small_numbers_and_words_stay() {
        assert_eq!(written("one of them"), "one of them");
        assert_eq!(written("wait a second"), "wait a second");
        assert_eq!(written("the first time"), "the first time");
        assert_eq!(written("a thousand francs"), "a thousand francs");
        assert_eq!(
            written("turn on the kitchen lights"),
            "turn on the kitchen lights"
        );
    }

    #[test]
    fn words_that_are_not_ascii_never_reach_the_grammars() {
        // text-processing-rs 0.2.2's time grammar slices inside the "é" of this span (found
        // by the fuzz target `written`).
        let s = "i'm twenty rwo th\u{e9}rtee7 \u{fffd} am cst";
        assert_eq!(written(s), "i'm 20 rwo th\u{e9}rtee7 \u{fffd} am cst");
    }

    #[test]
    fn names_are_never_part_of_a_span() {
        let words = ["call", "seven", "thirty", "Ten Sato"];
        let reps = replacements(&words, &[false, false, false, true]);
        assert_eq!(
            reps,
            vec![Replacement {
                start: 1,
                end: 3,
                text: "7:30".into()
            }]
        );
    }
}
