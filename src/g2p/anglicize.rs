//! Names as an English speaker says them: the G2P is multilingual and pronounces a name it
//! takes for Spanish, Portuguese or Polish in that language's narrow phones ("Arrellano"
//! `a r r ɛ l l a n o`, "Abubakar" `ɐ β u β ɐ k a ɾ`). Said in English the name keeps its
//! shape but takes English phones (`ɑ ɹ ɛ l ɑ n oʊ`), and an English acoustic model hears
//! those. [`anglicize`] maps each phone outside the English inventory to the English phone
//! closest to it, drops length, tone and diacritic marks, and merges doubled phones (a CTC
//! model emits one unit for a geminate), giving an extra pronunciation next to the G2P's own.

/// Foreign phone -> English phone(s) (`&[]`: dropped).
const MAP: &[(&str, &[&str])] = &[
    // Rhotics.
    ("r", &["ɹ"]),
    ("ɾ", &["ɹ"]),
    ("ʁ", &["ɹ"]),
    ("ʀ", &["ɹ"]),
    ("ɻ", &["ɹ"]),
    ("ɽ", &["ɹ"]),
    // Fricatives and stops English lacks.
    ("β", &["b"]),
    ("ɣ", &["g"]),
    ("ɡ", &["g"]),
    ("x", &["h"]),
    ("χ", &["h"]),
    ("ħ", &["h"]),
    ("ɦ", &["h"]),
    ("ç", &["h"]),
    ("ʝ", &["j"]),
    ("ɟ", &["d͡ʒ"]),
    ("c", &["k"]),
    ("q", &["k"]),
    ("ɕ", &["ʃ"]),
    ("ʑ", &["ʒ"]),
    ("ʂ", &["ʃ"]),
    ("ʐ", &["ʒ"]),
    ("t͡ɕ", &["t͡ʃ"]),
    ("ɸ", &["f"]),
    ("ʋ", &["v"]),
    // Laterals and nasals.
    ("ɫ", &["l"]),
    ("ʎ", &["l", "j"]),
    ("ɲ", &["n", "j"]),
    ("ɱ", &["m"]),
    ("ɴ", &["ŋ"]),
    // Vowels: the English vowel an English reader gives the letter.
    ("a", &["ɑ"]),
    ("ä", &["ɑ"]),
    ("ã", &["ɑ", "n"]),
    ("ɐ", &["ə"]),
    ("e", &["eɪ"]),
    ("ẽ", &["eɪ", "n"]),
    ("o", &["oʊ"]),
    ("õ", &["oʊ", "n"]),
    ("ĩ", &["i", "n"]),
    ("ũ", &["u", "n"]),
    ("y", &["u"]),
    ("ʏ", &["ʊ"]),
    ("ø", &["ɝ"]),
    ("œ", &["ɝ"]),
    ("ɨ", &["ɪ"]),
    ("ɯ", &["u"]),
    ("ɒ", &["ɑ"]),
    ("ɤ", &["ʌ"]),
    ("ɵ", &["ʊ"]),
    ("ʉ", &["u"]),
    // A glottal stop is silence in an English mouth.
    ("ʔ", &[]),
];

/// Marks that modify the phone before them (length, dental, non-syllabic, tones ...): dropped.
fn is_mark(p: &str) -> bool {
    p.chars().all(|c| {
        matches!(
            c,
            'ː' | 'ˑ' | '‿' | '͡' | 'ʰ' | 'ʲ' | 'ʷ' | '˞' | '¹' | '²' | '³' | '⁴' | '⁵'
        ) || ('\u{0300}'..='\u{036F}').contains(&c)
    })
}

/// The English rendering of `phones`, or `None` when it equals `phones` (nothing foreign in
/// them). `known` says which phones the acoustic model has: a mapping whose target it lacks
/// keeps the phone as it was.
pub fn anglicize<S: AsRef<str>>(phones: &[S], known: impl Fn(&str) -> bool) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(phones.len());
    for p in phones {
        let p = p.as_ref();
        if is_mark(p) {
            continue;
        }
        let mapped: Vec<&str> = match MAP.iter().find(|(from, _)| *from == p) {
            Some((_, to)) if to.iter().all(|t| known(t)) => to.to_vec(),
            _ => vec![p],
        };
        for m in mapped {
            // A doubled phone is one unit to a CTC model.
            if out.last().map(String::as_str) != Some(m) {
                out.push(m.to_string());
            }
        }
    }
    let same = out.len() == phones.len() && out.iter().zip(phones).all(|(a, b)| a == b.as_ref());
    (!same && !out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ang(p: &str) -> Option<String> {
        let v: Vec<&str> = p.split(' ').collect();
        anglicize(&v, |_| true).map(|v| v.join(" "))
    }

    #[test]
    fn foreign_phones_become_english_ones() {
        assert_eq!(ang("a r r ɛ l l a n o").as_deref(), Some("ɑ ɹ ɛ l ɑ n oʊ"));
        assert_eq!(ang("ɐ β u β ɐ k a ɾ").as_deref(), Some("ə b u b ə k ɑ ɹ"));
        // Marks go; a nasal vowel gets its n.
        assert_eq!(ang("s ã ̃ o").as_deref(), Some("s ɑ n oʊ"));
        assert_eq!(ang("t ̪ a").as_deref(), Some("t ɑ"));
    }

    #[test]
    fn english_pronunciations_are_left_alone() {
        assert_eq!(ang("ʃ ɪ v ɔ n"), None);
        assert_eq!(ang("d͡ʒ ɑ n"), None);
    }

    #[test]
    fn a_target_the_model_lacks_keeps_the_phone() {
        let v = ["x", "a"];
        let out = anglicize(&v, |p| p != "h").unwrap();
        assert_eq!(out, vec!["x", "ɑ"]);
        assert_eq!(anglicize(&["x"], |p| p != "h"), None);
    }
}
