//! Names to spoken words, and the small amount of cleaning a displayed name gets.
//!
//! [`normalize_words`] lowercases, folds Latin diacritics to ASCII (`José` -> `jose`,
//! `ß` -> `ss`), keeps apostrophes inside words (`o'sullivan`), splits at hyphens, spaces and
//! every other separator, keeps digits, and drops everything else. Names in other scripts are
//! kept as written (lowercased).
//!
//! NFC and NFD spellings of the same name give the same words without a Unicode normalization
//! table: precomposed Latin letters are folded through the tables below, and the combining
//! marks that NFD splits off (U+0300–U+036F and the other combining-diacritic blocks) are
//! dropped. For the few non-Latin letters whose NFD form uses those marks, the mark is composed
//! back (Cyrillic `й ё ї ў ѓ ќ ѐ ѝ`) or the precomposed form is folded the same way (Greek
//! tonos and dialytika). Hangul conjoining jamo are composed into syllables and Japanese kana
//! voicing marks into voiced kana. Other scripts are compared as written.

/// Latin-1 Supplement, Latin Extended-A and Latin Extended-B (U+00C0–U+024F): the ASCII letter
/// each code point folds to, `.` where it has no single-letter fold (see [`fold_multi`]).
/// Generated from Unicode 14 decompositions (base letter of the NFD form) plus hand-written
/// folds for letters with no decomposition (`ø` -> o, `ł` -> l, `đ` -> d, `ð` -> d, `ı` -> i,
/// `ŋ` -> n, `ſ` -> s, `ħ` -> h, `ŧ` -> t, ...).
const LATIN_A_FIRST: u32 = 0xC0;
const LATIN_A: &[u8] = b"aaaaaa.ceeeeiiiidnooooo.ouuuuy..aaaaaa.ceeeeiiiidnooooo.ouuuuy.yaaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiii.i..jjkkqllllllllllnnnnnnnnnoooooo..rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzsbbbbbbocc.ddd.eeeffg...ikkl...nooo..pp.ss..ttttuu.vyyzz.zz.....w.............aaiioouuuuuuuuuueaaaa..ggggkkoooo..j...gg.wnnaa....aaaaeeeeiiiioooorrrruuuussttyyhhnd..zzaaeeooooooooyylntj...ccl.sz..bu.eejjqqrryy";

/// Latin Extended Additional (U+1E00–U+1EFF, Vietnamese and others), same scheme.
const LATIN_X_FIRST: u32 = 0x1E00;
const LATIN_X: &[u8] = b"aabbbbbbccddddddddddeeeeeeeeeeffgghhhhhhhhhhiiiikkkkkkllllllllmmmmmmnnnnnnnnoooooooopppprrrrrrrrssssssssssttttttttuuuuuuuuuuvvvvwwwwwwwwwwxxxxyyzzzzzzhtwy..ss.daaaaaaaaaaaaaaaaaaaaaaaaeeeeeeeeeeeeeeeeiiiioooooooooooooooooooooooouuuuuuuuuuuuuuyyyyyyyy..vvyy";

/// Lowercase letters that fold to more than one ASCII letter.
fn fold_multi(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'þ' => "th",
        'ĳ' => "ij",
        'œ' => "oe",
        'ƕ' => "hv",
        'ƣ' => "oi",
        'ǆ' | 'ǳ' => "dz",
        'ǉ' => "lj",
        'ǌ' => "nj",
        'ȣ' => "ou",
        'ȸ' => "db",
        'ȹ' => "qp",
        'ỻ' => "ll",
        // Alphabetic presentation forms (ligatures).
        'ﬀ' => "ff",
        'ﬁ' => "fi",
        'ﬂ' => "fl",
        'ﬃ' => "ffi",
        'ﬄ' => "ffl",
        'ﬅ' | 'ﬆ' => "st",
        _ => return None,
    })
}

/// The fold of one lowercase letter or digit.
enum Folded {
    One(char),
    Many(&'static str),
}

fn fold(c: char) -> Folded {
    let cp = c as u32;
    if let Some(s) = fold_multi(c) {
        return Folded::Many(s);
    }
    let table = |first: u32, table: &[u8]| -> Option<char> {
        let i = cp.checked_sub(first)? as usize;
        match table.get(i) {
            Some(&b) if b != b'.' => Some(b as char),
            _ => None,
        }
    };
    if let Some(f) = table(LATIN_A_FIRST, LATIN_A).or_else(|| table(LATIN_X_FIRST, LATIN_X)) {
        return Folded::One(f);
    }
    Folded::One(match cp {
        // Fullwidth digits and letters.
        0xFF10..=0xFF19 | 0xFF41..=0xFF5A => char::from_u32(cp - 0xFEE0).unwrap_or(c),
        // Greek with tonos / dialytika -> plain vowel (so NFC and NFD agree).
        0x3AC => 'α',
        0x3AD => 'ε',
        0x3AE => 'η',
        0x3AF | 0x3CA | 0x390 => 'ι',
        0x3CC => 'ο',
        0x3CD | 0x3CB | 0x3B0 => 'υ',
        0x3CE => 'ω',
        _ => c,
    })
}

/// What a character does inside a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Removed without a trace: zero-width characters, bidi controls, variation selectors,
    /// soft hyphen, control characters other than whitespace.
    Ignore,
    /// An apostrophe (any of its look-alikes): kept between letters.
    Apostrophe,
    /// A combining diacritic (NFD accent): composed where a table says so, else dropped.
    Combining,
    /// A letter or digit.
    Letter,
    /// A non-spacing mark of a non-Latin script (virama, nukta, tone marks): kept inside words.
    Mark,
    /// Anything else separates words and is dropped.
    Separator,
}

/// Characters that are removed from names entirely (displayed and spoken).
pub(crate) fn is_ignorable(c: char) -> bool {
    let cp = c as u32;
    (c.is_control() && !c.is_whitespace())
        || matches!(
            cp,
            0xAD | 0x34F
                | 0x61C
                | 0x115F
                | 0x1160
                | 0x180B..=0x180F
                | 0x200B..=0x200F
                | 0x202A..=0x202E
                | 0x2060..=0x2064
                | 0x2066..=0x206F
                | 0x3164
                | 0xFE00..=0xFE0F
                | 0xFEFF
                | 0xFFA0
                | 0xFFF9..=0xFFFB
                | 0xE0000..=0xE007F
                | 0xE0100..=0xE01EF
        )
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '`'
            | '\u{B4}'
            | '\u{2BB}'
            | '\u{2BC}'
            | '\u{2BD}'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{201B}'
            | '\u{2032}'
            | '\u{FF07}'
    )
}

fn is_combining_diacritic(cp: u32) -> bool {
    matches!(
        cp,
        0x300..=0x36F | 0x483..=0x489 | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF
            | 0xFE20..=0xFE2F
    )
}

/// Non-alphanumeric characters of non-Latin scripts that belong inside a word (marks such as
/// the Devanagari virama); an approximation of general category M by block.
fn is_script_mark(cp: u32) -> bool {
    match cp {
        0x591..=0x5C7 | 0x610..=0x61A | 0x64B..=0x65F | 0x670 | 0x6D6..=0x6ED => true,
        0x711 | 0x730..=0x74A | 0x7A6..=0x7B0 => true,
        // Indic blocks, Devanagari to Sinhala, less their punctuation.
        0x900..=0xDFF => !matches!(cp, 0x964 | 0x965 | 0x970 | 0xDF4),
        0xE31..=0xE3A | 0xE47..=0xE4E | 0xEB1..=0xEBC | 0xEC8..=0xECD => true,
        0xF18 | 0xF19 | 0xF35 | 0xF37 | 0xF39 | 0xF71..=0xF84 | 0xF86 | 0xF87 => true,
        0xF8D..=0xFBC => true,
        0x1000..=0x109F => !(0x104A..=0x104F).contains(&cp),
        0x17B4..=0x17D3 | 0x3099 | 0x309A => true,
        _ => false,
    }
}

fn classify(c: char) -> Class {
    let cp = c as u32;
    if is_ignorable(c) {
        Class::Ignore
    } else if is_apostrophe(c) {
        Class::Apostrophe
    } else if is_combining_diacritic(cp) {
        Class::Combining
    } else if c.is_alphanumeric() {
        Class::Letter
    } else if is_script_mark(cp) {
        Class::Mark
    } else {
        Class::Separator
    }
}

/// Composes `base` followed by a combining character into one letter, for the scripts whose
/// letters are not folded away (Cyrillic, Hangul, kana). `None`: no composition.
fn compose(base: char, mark: char) -> Option<char> {
    let (b, m) = (base as u32, mark as u32);
    let composed = match (b, m) {
        // Cyrillic (lowercase; input is lowercased first).
        (0x438, 0x306) => 0x439, // й
        (0x435, 0x308) => 0x451, // ё
        (0x456, 0x308) => 0x457, // ї
        (0x443, 0x306) => 0x45E, // ў
        (0x433, 0x301) => 0x453, // ѓ
        (0x43A, 0x301) => 0x45C, // ќ
        (0x435, 0x300) => 0x450, // ѐ
        (0x438, 0x300) => 0x45D, // ѝ
        // Hangul: leading consonant + vowel -> LV syllable.
        (0x1100..=0x1112, 0x1161..=0x1175) => 0xAC00 + ((b - 0x1100) * 21 + (m - 0x1161)) * 28,
        // Hangul: LV syllable + trailing consonant -> LVT syllable.
        (0xAC00..=0xD7A3, 0x11A8..=0x11C2) if (b - 0xAC00) % 28 == 0 => b + (m - 0x11A7),
        // Kana + voiced sound mark (dakuten).
        (_, 0x3099) => {
            let h = if (0x30A1..=0x30FA).contains(&b) {
                b - 0x60
            } else {
                b
            };
            let voiced = matches!(
                h,
                0x304B
                    | 0x304D
                    | 0x304F
                    | 0x3051
                    | 0x3053
                    | 0x3055
                    | 0x3057
                    | 0x3059
                    | 0x305B
                    | 0x305D
                    | 0x305F
                    | 0x3061
                    | 0x3064
                    | 0x3066
                    | 0x3068
                    | 0x306F
                    | 0x3072
                    | 0x3075
                    | 0x3078
                    | 0x307B
            );
            if voiced {
                b + 1
            } else if h == 0x3046 {
                b + 0x4E // う -> ゔ, ウ -> ヴ
            } else {
                return None;
            }
        }
        // Kana + semi-voiced sound mark (handakuten): the h-row only.
        (_, 0x309A) => {
            let h = if (0x30A1..=0x30FA).contains(&b) {
                b - 0x60
            } else {
                b
            };
            if matches!(h, 0x306F | 0x3072 | 0x3075 | 0x3078 | 0x307B) {
                b + 2
            } else {
                return None;
            }
        }
        _ => return None,
    };
    char::from_u32(composed)
}

/// Accumulates the words of one name.
struct Words {
    words: Vec<String>,
    cur: String,
    apostrophe: bool,
}

impl Words {
    fn flush(&mut self) {
        self.apostrophe = false;
        if !self.cur.is_empty() {
            self.words.push(std::mem::take(&mut self.cur));
        }
    }

    fn pending_apostrophe(&mut self) {
        if self.apostrophe {
            self.cur.push('\'');
            self.apostrophe = false;
        }
    }

    /// One lowercase character.
    fn push(&mut self, c: char) {
        match classify(c) {
            Class::Ignore => {}
            Class::Apostrophe => self.apostrophe = !self.cur.is_empty(),
            Class::Combining | Class::Mark => {
                let composed = match self.cur.chars().next_back() {
                    Some(last) if !self.apostrophe => compose(last, c),
                    _ => None,
                };
                if let Some(k) = composed {
                    self.cur.pop();
                    self.cur.push(k);
                } else if classify(c) == Class::Mark && !self.cur.is_empty() {
                    self.pending_apostrophe();
                    self.cur.push(c);
                }
            }
            Class::Letter => {
                if let Some(k) = self.cur.chars().next_back().and_then(|l| compose(l, c)) {
                    if !self.apostrophe {
                        self.cur.pop();
                        self.cur.push(k);
                        return;
                    }
                }
                self.pending_apostrophe();
                match fold(c) {
                    Folded::One(f) => self.cur.push(f),
                    Folded::Many(s) => self.cur.push_str(s),
                }
            }
            Class::Separator => self.flush(),
        }
    }
}

/// The spoken words of a name: lowercase, Latin diacritics folded, apostrophes kept inside
/// words, split at every separator (space, hyphen, dot, ...), digits kept, everything else
/// dropped. `"José O'Sullivan-Pérez"` -> `["jose", "o'sullivan", "perez"]`.
pub fn normalize_words(s: &str) -> Vec<String> {
    let mut w = Words {
        words: Vec::new(),
        cur: String::new(),
        apostrophe: false,
    };
    normalize_into(s, &mut w);
    w.words
}

fn normalize_into(s: &str, w: &mut Words) {
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            w.pending_apostrophe();
            w.cur.push(c.to_ascii_lowercase());
        } else if c.is_ascii() && c != '\'' && c != '`' && !c.is_ascii_control() {
            w.flush();
        } else {
            for l in c.to_lowercase() {
                w.push(l);
            }
        }
    }
    w.flush();
}

/// A name as displayed: ignorable characters (zero-width, bidi, control) removed, runs of
/// whitespace (including newlines) collapsed to one space, trimmed. Letters are left as
/// written.
pub fn clean_display(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else if !is_ignorable(c) {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Honorifics skipped at the start of a name when finding its given name.
const PREFIXES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "fr",
];
/// Suffixes skipped at the end of a name when finding its family name.
const SUFFIXES: &[&str] = &[
    "jr", "sr", "jnr", "snr", "ii", "iii", "iv", "phd", "md", "esq",
];
/// Family-name particles, joined to the family name when written in lowercase
/// (`Maria de la Cruz` -> family `de la Cruz`).
const PARTICLES: &[&str] = &[
    "de", "da", "das", "del", "della", "der", "den", "di", "do", "dos", "du", "la", "le", "van",
    "von", "ter", "ten", "al", "el", "bin", "ibn", "ben", "y",
];

/// A name split at whitespace into tokens that have spoken words, with those words.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tokens<'a> {
    /// The tokens as written.
    pub text: Vec<&'a str>,
    /// All their words, in order ([`normalize_words`] of the whole name).
    pub words: Vec<String>,
    /// `words[ends[i - 1]..ends[i]]` are token `i`'s words.
    pub ends: Vec<usize>,
}

impl<'a> Tokens<'a> {
    pub fn new(s: &'a str) -> Self {
        let mut t = Tokens::default();
        for tok in s.split_whitespace() {
            let mut w = Words {
                words: std::mem::take(&mut t.words),
                cur: String::new(),
                apostrophe: false,
            };
            let before = w.words.len();
            normalize_into(tok, &mut w);
            t.words = w.words;
            if t.words.len() > before {
                t.text.push(tok);
                t.ends.push(t.words.len());
            }
        }
        t
    }

    /// The words of tokens `r`.
    pub fn words_of(&self, r: &std::ops::Range<usize>) -> &[String] {
        let start = if r.start == 0 {
            0
        } else {
            self.ends[r.start - 1]
        };
        &self.words[start..self.ends[r.end - 1]]
    }

    /// Tokens `r` as written, joined by spaces.
    pub fn text_of(&self, r: &std::ops::Range<usize>) -> String {
        self.text[r.clone()].join(" ")
    }

    fn one_of(&self, i: usize, list: &[&str]) -> bool {
        let w = self.words_of(&(i..i + 1));
        w.len() == 1 && list.contains(&w[0].as_str())
    }

    /// The tokens of the given and family names of a name written as one string (a
    /// plain-text line, or a CSV/vCard entry without separate name fields): the first token
    /// is the given name and the last the family name, skipping honorifics (`Dr.`) and
    /// suffixes (`Jr.`), and keeping lowercase particles with the family name (`van`,
    /// `de la`). A single token left after an honorific is the family name (`Mr Smith`).
    pub fn given_family(
        &self,
    ) -> (
        Option<std::ops::Range<usize>>,
        Option<std::ops::Range<usize>>,
    ) {
        let (mut first, mut end) = (0, self.text.len());
        let mut prefixed = false;
        while end - first > 1 && self.one_of(first, PREFIXES) {
            first += 1;
            prefixed = true;
        }
        while end - first > 1 && self.one_of(end - 1, SUFFIXES) {
            end -= 1;
        }
        match end - first {
            0 => (None, None),
            1 if prefixed => (None, Some(first..end)),
            1 => (None, None),
            _ => {
                let mut start = end - 1;
                while start > first + 1 {
                    let lowercase = !self.text[start - 1].chars().any(char::is_uppercase);
                    if lowercase && self.one_of(start - 1, PARTICLES) {
                        start -= 1;
                    } else {
                        break;
                    }
                }
                (Some(first..first + 1), Some(start..end))
            }
        }
    }
}

/// Given and family name of a name written as one string, as written; see
/// [`Tokens::given_family`].
#[cfg(test)]
pub(crate) fn split_given_family(display: &str) -> (Option<String>, Option<String>) {
    let t = Tokens::new(display);
    let (g, f) = t.given_family();
    (g.map(|r| t.text_of(&r)), f.map(|r| t.text_of(&r)))
}
