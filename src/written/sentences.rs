//! Sentences of a transcript: where they end (long pauses and the end), whether each is a
//! question (from its first words), and its capitals (the sentence's start, "I", days, and
//! months where a date says they are months).

use super::itn::MONTHS;

/// Wh-words that open a question when the next word is not a subject ("where is it?" but
/// "when I get home, ...") nor "a" ("what a day").
const WH: &[&str] = &[
    "what", "who", "whom", "whose", "where", "when", "why", "which",
];
/// "How" opens a question before an auxiliary or one of these ("how many ...?"), not before
/// an adjective ("how beautiful it is").
const HOW_NEXT: &[&str] = &[
    "many", "much", "long", "far", "often", "old", "about", "come", "soon", "big", "do", "have",
];
/// Contracted wh-words: always a question at the start ("what's the time?").
const WH_CONTRACTED: &[&str] = &[
    "what's", "who's", "where's", "when's", "why's", "how's", "whats", "wheres", "hows",
];
/// Auxiliaries that open a yes-no question when a subject follows ("is the store open?").
const AUX: &[&str] = &[
    "is",
    "are",
    "am",
    "was",
    "were",
    "does",
    "did",
    "can",
    "could",
    "will",
    "would",
    "shall",
    "should",
    "may",
    "might",
    "must",
    "has",
    "had",
    "isn't",
    "aren't",
    "wasn't",
    "weren't",
    "doesn't",
    "didn't",
    "can't",
    "couldn't",
    "won't",
    "wouldn't",
    "shouldn't",
    "hasn't",
    "hadn't",
    "haven't",
    "don't",
];
/// Auxiliaries that are also imperatives ("do the dishes", "have a nice day"): a question
/// only before a pronoun ("do you ...?", "have you ...?").
const AUX_IMPERATIVE: &[&str] = &["do", "have"];
const PRONOUNS: &[&str] = &[
    "i",
    "you",
    "we",
    "they",
    "he",
    "she",
    "it",
    "there",
    "anyone",
    "anybody",
    "someone",
    "somebody",
    "everyone",
    "everybody",
    "anything",
    "something",
    "everything",
];
const DETERMINERS: &[&str] = &[
    "the", "a", "an", "this", "that", "these", "those", "my", "your", "his", "her", "our", "their",
    "its", "any", "some", "all", "every", "no",
];
/// Subjects that make a wh-word a clause, not a question ("when I get home", "what your
/// country can do").
const SUBJECTS: &[&str] = &[
    "i", "you", "we", "they", "he", "she", "it", "my", "your", "his", "her", "our", "their",
];

/// Whether a sentence whose spoken words start with `first`, `second` is a question.
pub fn is_question(first: &str, second: Option<&str>) -> bool {
    if WH_CONTRACTED.contains(&first) {
        return true;
    }
    if WH.contains(&first) {
        return !matches!(second, Some(s) if SUBJECTS.contains(&s) || s == "a" || s == "an");
    }
    if first == "how" {
        return matches!(second, Some(s) if AUX.contains(&s) || HOW_NEXT.contains(&s));
    }
    let Some(second) = second else {
        return false;
    };
    if AUX_IMPERATIVE.contains(&first) {
        return PRONOUNS.contains(&second);
    }
    AUX.contains(&first) && (PRONOUNS.contains(&second) || DETERMINERS.contains(&second))
}

const DAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
/// Months that are also common words ("may", "march", "august"): capitals only beside a
/// number ("May 5", "5 March").
const MONTHS_AMBIGUOUS: &[&str] = &["may", "march", "august"];

/// The token's capitals: "I" and its contractions, days, months (the ambiguous ones only
/// when `beside_number`). Other words are left as they are (names come as the list writes
/// them).
pub fn capitalize_word(token: &str, beside_number: bool) -> Option<String> {
    let lower = token.to_lowercase();
    let is_i = lower == "i" || ["i'm", "i'll", "i'd", "i've"].contains(&lower.as_str());
    let month = MONTHS.contains(&lower.as_str())
        && (beside_number || !MONTHS_AMBIGUOUS.contains(&lower.as_str()));
    (is_i || DAYS.contains(&lower.as_str()) || month).then(|| upper_first(token))
}

/// The token with its first letter upper case.
pub fn upper_first(token: &str) -> String {
    let mut chars = token.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_from_first_words() {
        assert!(is_question("what", Some("is")));
        assert!(is_question("what's", Some("the")));
        assert!(is_question("who", Some("called")));
        assert!(is_question("is", Some("the")));
        assert!(is_question("can", Some("you")));
        assert!(is_question("do", Some("you")));
        assert!(!is_question("when", Some("i")));
        assert!(!is_question("what", Some("your")));
        assert!(!is_question("what", Some("a")));
        assert!(is_question("how", Some("many")));
        assert!(is_question("how", Some("is")));
        assert!(!is_question("how", Some("beautiful")));
        assert!(!is_question("do", Some("not")));
        assert!(!is_question("have", Some("a")));
        assert!(!is_question("please", Some("call")));
        assert!(!is_question("is", None));
    }

    #[test]
    fn capitals() {
        assert_eq!(capitalize_word("i", false).as_deref(), Some("I"));
        assert_eq!(capitalize_word("i'm", false).as_deref(), Some("I'm"));
        assert_eq!(capitalize_word("monday", false).as_deref(), Some("Monday"));
        assert_eq!(capitalize_word("may", false), None);
        assert_eq!(capitalize_word("may", true).as_deref(), Some("May"));
        assert_eq!(capitalize_word("kitchen", false), None);
    }
}
