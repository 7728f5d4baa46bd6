//! Written form: what a transcript's spoken words look like as text people paste.
//!
//! `please call my sister at seven thirty` -> `Please call my sister at 7:30.`
//!
//! The recognizer's words stay in spoken form (the form the decoder, the entity spans and
//! the evaluation use); [`write()`] renders them at the output: numbers, times, dates, money,
//! measures and phone numbers in digits ([`itn`]), capitals and sentence punctuation
//! ([`sentences`]). Every written token keeps the range of spoken words it came from, so
//! word times and entity spans still line up. Deterministic on the words and their times:
//! the live path and the offline path write the same text for the same words.

pub mod itn;
pub mod sentences;

use crate::error::ConfigError;
use crate::recognizer::{EntityHit, Word};
use std::ops::Range;

/// What the written form does.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenConfig {
    /// Numbers, times, dates, money, measures and phone numbers in digits.
    pub numbers: bool,
    /// Capitals: sentence starts, "I", days, months.
    pub capitals: bool,
    /// Sentence-final punctuation: "." or "?" at the end and at long pauses.
    pub punctuation: bool,
    /// A pause at least this long between two words ends a sentence (seconds).
    pub pause_s: f32,
}

impl Default for WrittenConfig {
    fn default() -> Self {
        WrittenConfig {
            numbers: true,
            capitals: true,
            punctuation: true,
            pause_s: 1.0,
        }
    }
}

impl WrittenConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.pause_s.is_finite() && self.pause_s > 0.0) {
            return Err(ConfigError::new(
                "pause_s",
                format!("must be a positive number of seconds, not {}", self.pause_s),
            ));
        }
        Ok(())
    }
}

/// One written token and the spoken words it stands for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WrittenToken {
    /// As written (with its punctuation).
    pub text: String,
    /// Indices of the spoken words (into the transcript's words).
    pub words: Range<usize>,
}

/// A transcript in written form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Written {
    /// The tokens joined by spaces.
    pub text: String,
    /// The tokens, in order; their word ranges cover every spoken word once.
    pub tokens: Vec<WrittenToken>,
}

/// Whether word `w` is one of the user's names (written as the list writes it: never
/// rewritten, never part of a number).
fn is_name(w: &Word, entities: &[EntityHit]) -> bool {
    w.word.contains(' ')
        || w.word.chars().any(char::is_uppercase)
        || entities
            .iter()
            .any(|e| e.text == w.word && (e.start - w.start).abs() < 1e-3)
}

/// The written form of `words` (spoken form, with times) and the names found in them.
pub fn write(words: &[Word], entities: &[EntityHit], cfg: &WrittenConfig) -> Written {
    let spoken: Vec<&str> = words.iter().map(|w| w.word.as_str()).collect();
    let names: Vec<bool> = words.iter().map(|w| is_name(w, entities)).collect();
    let reps = if cfg.numbers {
        itn::replacements(&spoken, &names)
    } else {
        Vec::new()
    };
    let mut tokens = Vec::with_capacity(words.len());
    let mut i = 0;
    let mut reps = reps.into_iter().peekable();
    while i < words.len() {
        match reps.peek() {
            Some(r) if r.start == i => {
                let r = reps.next().expect("peeked");
                tokens.push(WrittenToken {
                    text: r.text,
                    words: r.start..r.end,
                });
                i = r.end;
            }
            _ => {
                tokens.push(WrittenToken {
                    text: spoken[i].to_string(),
                    words: i..i + 1,
                });
                i += 1;
            }
        }
    }
    if cfg.capitals {
        let digits: Vec<bool> = tokens
            .iter()
            .map(|t| t.text.chars().any(|c| c.is_ascii_digit()))
            .collect();
        for (k, t) in tokens.iter_mut().enumerate() {
            if names[t.words.start] {
                continue;
            }
            if digits[k] {
                // A date the grammars wrote ("may 5", "5 march 2025"): its month is one.
                t.text = t
                    .text
                    .split(' ')
                    .map(|p| sentences::capitalize_word(p, true).unwrap_or_else(|| p.to_string()))
                    .collect::<Vec<_>>()
                    .join(" ");
                continue;
            }
            let beside = (k > 0 && digits[k - 1]) || digits.get(k + 1).copied().unwrap_or(false);
            if let Some(c) = sentences::capitalize_word(&t.text, beside) {
                t.text = c;
            }
        }
    }
    // Sentences: a long pause between two tokens' words ends one.
    let mut starts = vec![0];
    for k in 1..tokens.len() {
        let gap = words[tokens[k].words.start].start - words[tokens[k - 1].words.end - 1].end;
        if gap >= cfg.pause_s {
            starts.push(k);
        }
    }
    if !tokens.is_empty() && (cfg.capitals || cfg.punctuation) {
        for (n, &s) in starts.iter().enumerate() {
            let e = starts.get(n + 1).copied().unwrap_or(tokens.len());
            if cfg.capitals {
                tokens[s].text = sentences::upper_first(&tokens[s].text);
            }
            if cfg.punctuation {
                let first = spoken[tokens[s].words.start];
                let second = spoken.get(tokens[s].words.start + 1).copied().filter(|_| {
                    // The second spoken word counts only inside this sentence.
                    tokens[s].words.start + 1 < tokens[e - 1].words.end
                });
                let mark = if sentences::is_question(first, second) {
                    '?'
                } else {
                    '.'
                };
                let last = &mut tokens[e - 1].text;
                if !last.ends_with(['.', '?', '!']) {
                    last.push(mark);
                }
            }
        }
    }
    let text = tokens
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Written { text, tokens }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words said one after another, 0.4 s each; `pause` inserts a gap before word `i`.
    fn words(s: &str, pause_before: Option<(usize, f32)>) -> Vec<Word> {
        let mut t = 0.0;
        s.split_whitespace()
            .enumerate()
            .map(|(i, w)| {
                if let Some((j, gap)) = pause_before {
                    if i == j {
                        t += gap;
                    }
                }
                let word = Word {
                    word: w.replace('_', " "),
                    start: t,
                    end: t + 0.3,
                    conf: 1.0,
                };
                t += 0.4;
                word
            })
            .collect()
    }

    fn text(s: &str) -> String {
        write(&words(s, None), &[], &WrittenConfig::default()).text
    }

    #[test]
    fn the_fixture_sentence() {
        assert_eq!(
            text("please call my sister at seven thirty"),
            "Please call my sister at 7:30."
        );
    }

    #[test]
    fn questions_capitals_and_names() {
        assert_eq!(
            text("what is the weather like today"),
            "What is the weather like today?"
        );
        assert_eq!(
            text("can i call you on monday"),
            "Can I call you on Monday?"
        );
        assert_eq!(
            text("call Shreya_Banerjee at five p m"),
            "Call Shreya Banerjee at 5:00 p.m."
        );
        assert_eq!(text("meet me on may fifth"), "Meet me on May 5.");
        assert_eq!(text("you may go"), "You may go.");
    }

    #[test]
    fn a_long_pause_ends_a_sentence() {
        let w = words("turn on the lights what time is it", Some((4, 1.5)));
        let out = write(&w, &[], &WrittenConfig::default());
        assert_eq!(out.text, "Turn on the lights. What time is it?");
        // Every spoken word is covered once, in order.
        let covered: Vec<usize> = out.tokens.iter().flat_map(|t| t.words.clone()).collect();
        assert_eq!(covered, (0..w.len()).collect::<Vec<_>>());
    }

    #[test]
    fn tokens_map_back_to_spoken_words() {
        let w = words("set a timer for twenty five minutes", None);
        let out = write(&w, &[], &WrittenConfig::default());
        assert_eq!(out.text, "Set a timer for 25 minutes.");
        let t = out.tokens.iter().find(|t| t.text == "25").expect("25");
        assert_eq!(t.words, 4..6);
    }

    #[test]
    fn everything_off_is_the_spoken_form() {
        let cfg = WrittenConfig {
            numbers: false,
            capitals: false,
            punctuation: false,
            ..WrittenConfig::default()
        };
        let s = "please call my sister at seven thirty";
        assert_eq!(write(&words(s, None), &[], &cfg).text, s);
        assert_eq!(write(&[], &[], &WrittenConfig::default()).text, "");
    }

    #[test]
    fn bad_pause_is_refused() {
        let cfg = WrittenConfig {
            pause_s: f32::NAN,
            ..WrittenConfig::default()
        };
        assert_eq!(cfg.validate().unwrap_err().field, "pause_s");
    }
}
