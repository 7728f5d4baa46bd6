//! hama's G2P input tokenization (`hama.jamo.split_text_to_jamo` + `TextTokenizer`).
//!
//! For every character of the input, in order:
//! 1. Python-`str.isspace()` characters are skipped ([`is_python_space`]);
//! 2. the character is lower-cased with the full Unicode mapping (`char::to_lowercase`, the
//!    same as Python's `ch.lower()`: `İ` gives two characters, `i` and U+0307);
//! 3. each resulting Hangul syllable is split into its 2 or 3 conjoining jamo
//!    (U+1100.., U+1161.., U+11A8..);
//! 4. each resulting character becomes the id of that one-character encoder symbol, or
//!    `<unk>` when the vocabulary has no such symbol.
//!
//! No Unicode normalization is done (as in hama): `é` as U+00E9 is a known symbol, `e`
//! followed by a combining U+0301 is `e` and `<unk>`. The sequence is cut at
//! [`MAX_INPUT_LEN`] symbols; an input with no symbols at all becomes one `<unk>`.

use std::collections::HashMap;

/// hama's `max_input_len`: longer inputs are truncated.
pub const MAX_INPUT_LEN: usize = 128;

const S_BASE: u32 = 0xAC00;
const L_BASE: u32 = 0x1100;
const V_BASE: u32 = 0x1161;
const T_BASE: u32 = 0x11A7;
const L_COUNT: u32 = 19;
const V_COUNT: u32 = 21;
const T_COUNT: u32 = 28;
const N_COUNT: u32 = V_COUNT * T_COUNT;
const S_COUNT: u32 = L_COUNT * N_COUNT;

/// Python's `str.isspace()` (CPython 3.11): Unicode `White_Space` plus the ASCII
/// information separators U+001C..U+001F, which Python counts as space and Rust does not.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Pushes the conjoining jamo of Hangul syllable `c`, or `c` itself.
fn split_syllable(c: char, out: &mut impl FnMut(char)) {
    let code = c as u32;
    if !(S_BASE..S_BASE + S_COUNT).contains(&code) {
        out(c);
        return;
    }
    let code = code - S_BASE;
    let (l, v, t) = (code / N_COUNT, (code % N_COUNT) / T_COUNT, code % T_COUNT);
    // All three are valid scalar values by construction.
    for j in [L_BASE + l, V_BASE + v] {
        out(char::from_u32(j).unwrap_or('\u{FFFD}'));
    }
    if t != 0 {
        out(char::from_u32(T_BASE + t).unwrap_or('\u{FFFD}'));
    }
}

/// The encoder vocabulary (`g2p_symbols.txt`).
#[derive(Debug, Clone)]
pub struct EncoderVocab {
    ids: HashMap<char, u32>,
    len: usize,
    pad: u32,
    unk: u32,
}

/// A tokenized input: encoder ids and, for each, the index (in characters, i.e. Unicode
/// scalar values) of the input character it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Encoder symbol ids, 1 to [`MAX_INPUT_LEN`] of them.
    pub ids: Vec<i64>,
    /// Character index in the input of each id; `None` for the `<unk>` of an input
    /// without symbols.
    pub chars: Vec<Option<usize>>,
}

impl EncoderVocab {
    /// Parses `g2p_symbols.txt`: one symbol per line, line `i` (from 0) is id `i`. Only
    /// one-character symbols can ever be produced by the tokenizer; `<pad>` and `<unk>`
    /// must be present.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut ids = HashMap::new();
        let (mut pad, mut unk) = (None, None);
        let mut len = 0;
        for (i, line) in text.split_terminator('\n').enumerate() {
            let sym = line.strip_suffix('\r').unwrap_or(line);
            if sym.is_empty() {
                return Err(format!("line {}: empty symbol", i + 1));
            }
            let id = u32::try_from(i).map_err(|_| "too many symbols".to_string())?;
            match sym {
                "<pad>" => pad = Some(id),
                "<unk>" => unk = Some(id),
                _ => {}
            }
            let mut chars = sym.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                if ids.insert(c, id).is_some() {
                    return Err(format!("line {}: symbol {sym:?} given twice", i + 1));
                }
            }
            len = i + 1;
        }
        Ok(Self {
            ids,
            len,
            pad: pad.ok_or("no <pad> symbol")?,
            unk: unk.ok_or("no <unk> symbol")?,
        })
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no symbols (never for a parsed file).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Id of `<pad>`.
    pub fn pad(&self) -> u32 {
        self.pad
    }

    /// Id of `<unk>`.
    pub fn unk(&self) -> u32 {
        self.unk
    }

    /// Id of the one-character symbol `c`, if it is in the vocabulary.
    pub fn id(&self, c: char) -> Option<u32> {
        self.ids.get(&c).copied()
    }

    /// hama's tokenization of `text` (see the module documentation).
    pub fn encode(&self, text: &str) -> Encoded {
        let mut ids = Vec::new();
        let mut chars = Vec::new();
        for (index, c) in text.chars().enumerate() {
            if is_python_space(c) {
                continue;
            }
            for lower in c.to_lowercase() {
                split_syllable(lower, &mut |j| {
                    ids.push(i64::from(self.id(j).unwrap_or(self.unk)));
                    chars.push(Some(index));
                });
            }
            if ids.len() >= MAX_INPUT_LEN {
                break;
            }
        }
        if ids.is_empty() {
            ids.push(i64::from(self.unk));
            chars.push(None);
        }
        ids.truncate(MAX_INPUT_LEN);
        chars.truncate(MAX_INPUT_LEN);
        Encoded { ids, chars }
    }

    /// The characters of `text` that the vocabulary does not know (they become `<unk>`),
    /// in order, without repeats. Whitespace is not reported.
    pub fn unknown_chars(&self, text: &str) -> Vec<char> {
        let mut out = Vec::new();
        for c in text.chars().filter(|&c| !is_python_space(c)) {
            let mut known = true;
            for lower in c.to_lowercase() {
                split_syllable(lower, &mut |j| known &= self.id(j).is_some());
            }
            if !known && !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> EncoderVocab {
        // A tiny vocabulary: <pad> <unk> ' a b é i ᄀ ᅡ ᆨ
        EncoderVocab::parse("<pad>\n<unk>\n'\na\nb\né\ni\n\u{1100}\n\u{1161}\n\u{11A8}\n").unwrap()
    }

    #[test]
    fn per_character_lowercase_skip_space() {
        let v = vocab();
        let e = v.encode("A b\u{1c}'É");
        assert_eq!(e.ids, vec![3, 4, 2, 5]);
        assert_eq!(e.chars, vec![Some(0), Some(2), Some(4), Some(5)]);
        // Unknown characters are <unk>, decomposed accents too.
        assert_eq!(v.encode("ze\u{301}").ids, vec![1, 1, 1]);
        // Dotted capital I lowercases to i + U+0307.
        let e = v.encode("\u{130}");
        assert_eq!(e.ids, vec![6, 1]);
        assert_eq!(e.chars, vec![Some(0), Some(0)]);
    }

    #[test]
    fn hangul_is_split_into_jamo() {
        let v = vocab();
        // 각 = ᄀ ᅡ ᆨ
        assert_eq!(v.encode("각").ids, vec![7, 8, 9]);
        assert_eq!(v.encode("가").ids, vec![7, 8]);
    }

    #[test]
    fn empty_and_long_inputs() {
        let v = vocab();
        let e = v.encode(" \t");
        assert_eq!(e.ids, vec![1]);
        assert_eq!(e.chars, vec![None]);
        let long = "a".repeat(300);
        let e = v.encode(&long);
        assert_eq!(e.ids.len(), MAX_INPUT_LEN);
        assert_eq!(e.chars.len(), MAX_INPUT_LEN);
    }

    #[test]
    fn unknown_chars_are_listed_once() {
        let v = vocab();
        assert_eq!(v.unknown_chars("Abzz é x"), vec!['z', 'x']);
        assert!(v.unknown_chars("").is_empty());
    }

    #[test]
    fn bad_vocabularies() {
        assert!(EncoderVocab::parse("<pad>\n").is_err());
        assert!(EncoderVocab::parse("<pad>\n<unk>\n\na\n").is_err());
        assert!(EncoderVocab::parse("<pad>\n<unk>\na\na\n").is_err());
    }
}
