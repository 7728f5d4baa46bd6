//! Entity (contact) lists for biasing: read, normalize, merge and report.
//!
//! A user gives one or more lists of names (`--entities FILE`); this module turns them into
//! [`Entity`] values, each with the spoken words the recognizer should favour. It knows
//! nothing of pronunciations or decoding.
//!
//! # Formats
//!
//! The format is sniffed from the content first, then the file extension
//! ([`Format::Auto`]): a file whose first lines hold `BEGIN:VCARD` is a vCard; one whose first
//! line is a CSV header naming a known column (`First Name`, `Family Name`, `Name`, `Phone`,
//! ...) is CSV; otherwise `.vcf`/`.vcard`, `.csv`/`.tsv` and `.txt` decide; otherwise lines
//! that all split into the same number (1 or more) of comma-, semicolon- or tab-separated
//! fields (tabs: unless every second field is a number, which is a weighted text list) are
//! headerless CSV; anything else is plain text.
//!
//! - Plain text ([`text`]): one name per line, optionally `TAB weight`.
//! - CSV ([`csv`]): phone exports (Google, Outlook, simple `first_name,last_name,phone`).
//! - vCard 2.1 / 3.0 / 4.0 ([`vcard`]).
//!
//! Text and CSV must be UTF-8 (a byte-order mark is skipped; UTF-16 with a byte-order mark is
//! converted). vCard values may declare `CHARSET=ISO-8859-1` / `windows-1252` (both decoded as
//! windows-1252, as browsers do) or `UTF-8`. Invalid UTF-8 anywhere else is an error naming
//! the line.
//!
//! # Entities
//!
//! Every list entry (contact) yields a [`EntityKind::Full`] entity. When its name has two or
//! more words it also yields the given name alone and the family name alone: from the CSV
//! columns or vCard `N`, or, for a name written as one string (text lines, a CSV name column,
//! a vCard without `N`), the first whitespace-separated token is the given name and the last
//! the family name, skipping leading honorifics (`Dr.`, `Mrs`, ...) and trailing suffixes
//! (`Jr.`, `III`, ...) and keeping lowercase particles with the family name (`Ana de la Cruz`
//! -> `de la Cruz`, `Ludwig van Beethoven` -> `van Beethoven`; `Nguyen Van An` -> `An`). A
//! name that is one token after an honorific has only a family name (`Mr Smith`).
//! Nicknames yield [`EntityKind::Nickname`] entities. Entities with the same words are merged
//! into one: the first display spelling is kept, the weight is the largest, and the kind and
//! contact are the first seen, except that a `Full` entity replaces a partial one with the
//! same words (`Siobhan` listed on its own is `Full` even if `Siobhan Nguyen` came first).
//! Contacts are identified by the words of their full name, so the same person in two lists
//! is one contact.
//!
//! # Limits and bad input
//!
//! Nothing here panics or allocates without bound on hostile input. The limits are the
//! constants below. Whole-input problems are errors ([`EntityError`]): a missing file, a
//! directory, a file over [`MAX_FILE_BYTES`], binary data (NUL bytes or mostly control bytes:
//! "not a text contact list", which includes mostly non-UTF-8 bytes), a CSV header with no
//! name column. Problems with one entry are [`Warning`]s (logged with `log::warn!` and kept
//! in [`EntitySet::warnings`]) and that entry is skipped:
//!
//! - a line that is not UTF-8 (text, CSV), a vCard property that is not UTF-8 and declares
//!   no other CHARSET (also after quoted-printable decoding) or declares one nomen does not
//!   know;
//! - a line longer than [`MAX_LINE_BYTES`] is skipped, not truncated (a cut name is a wrong
//!   name); a CSV record (which may span lines inside quotes) longer than
//!   [`MAX_RECORD_BYTES`] or with more than [`MAX_FIELDS`] fields, or a quoted field never
//!   closed, skips that record and parsing resumes on the next line;
//! - a name with no letters or digits, more than [`MAX_WORDS`] words, or a word longer than
//!   [`MAX_WORD_CHARS`] characters;
//! - a weight that is not a finite number >= 0: the entry is kept with weight 1.0; a weight
//!   above [`MAX_WEIGHT`] is clamped to it;
//! - entries beyond [`MAX_CONTACTS`] (per input, and distinct contacts in the set), and
//!   nicknames beyond [`MAX_NICKNAMES`] per entry.
//!
//! At most [`MAX_WARNINGS_PER_INPUT`] warnings are kept per input, then one line counting the
//! rest. Empty names (blank lines, empty CSV rows, cards with no name) are skipped; an input
//! with no entries at all gives `Ok(0)` and a warning.

pub mod csv;
pub mod normalize;
pub mod text;
pub mod vcard;
pub mod watch;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use normalize::normalize_words;

/// Largest list file read, in bytes (64 MiB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Longest line (plain text line, or vCard name property after unfolding and decoding), in
/// bytes; longer lines are skipped with a warning.
pub const MAX_LINE_BYTES: usize = 4096;
/// Longest CSV record, in bytes (quoted fields may span lines; notes columns can be long).
/// Only the name columns are copied, and each must fit [`MAX_LINE_BYTES`].
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// Most fields in one CSV record.
pub const MAX_FIELDS: usize = 1024;
/// Most spoken words in one name (full name or nickname).
pub const MAX_WORDS: usize = 8;
/// Longest spoken word, in characters.
pub const MAX_WORD_CHARS: usize = 48;
/// Most nicknames kept per entry.
pub const MAX_NICKNAMES: usize = 8;
/// Most entries read from one input, and most distinct contacts in one [`EntitySet`].
pub const MAX_CONTACTS: usize = 200_000;
/// Largest weight; larger ones are clamped.
pub const MAX_WEIGHT: f32 = 1000.0;
/// Most warnings kept per input; the rest are counted in one final warning.
pub const MAX_WARNINGS_PER_INPUT: usize = 100;

/// The weight of an entry that gives none.
pub const DEFAULT_WEIGHT: f32 = 1.0;

/// What part of a contact's name an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// The whole name as listed.
    Full,
    /// The given (first) name alone.
    GivenName,
    /// The family (last) name alone.
    FamilyName,
    /// A nickname.
    Nickname,
}

impl EntityKind {
    /// Lowercase name, for logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Full => "full",
            EntityKind::GivenName => "given",
            EntityKind::FamilyName => "family",
            EntityKind::Nickname => "nickname",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One name to bias toward.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// As the user wrote it, trimmed, whitespace collapsed, invisible characters removed:
    /// `"José O'Sullivan-Pérez"`.
    pub display: String,
    /// Spoken words, normalized by [`normalize_words`]: `["jose", "o'sullivan", "perez"]`.
    /// Never empty; at most [`MAX_WORDS`].
    pub words: Vec<String>,
    /// From the list; [`DEFAULT_WEIGHT`] when it gives none. Finite, in `0..=MAX_WEIGHT`.
    pub weight: f32,
    /// What part of the name this is.
    pub kind: EntityKind,
    /// Index of the contact it came from (see [`EntitySet::contact_name`]).
    pub contact: u32,
}

/// A list format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One name per line, optional `TAB weight`.
    Text,
    /// Comma-, semicolon- or tab-separated values, with or without a header.
    Csv,
    /// vCard 2.1, 3.0 or 4.0.
    Vcard,
    /// Sniffed from the content, then the file extension.
    #[default]
    Auto,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "txt" => Ok(Format::Text),
            "csv" | "tsv" => Ok(Format::Csv),
            "vcard" | "vcf" => Ok(Format::Vcard),
            "auto" => Ok(Format::Auto),
            _ => Err(format!(
                "unknown list format {s:?} (text, csv, vcard or auto)"
            )),
        }
    }
}

/// Why a list could not be read. Problems with single entries are [`Warning`]s instead.
#[derive(Debug, thiserror::Error)]
pub enum EntityError {
    /// The file could not be opened or read (missing, no permission, ...).
    #[error("cannot read contact list {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path is a directory.
    #[error("{} is a directory, not a contact list", path.display())]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{}: {size} bytes is too large for a contact list (limit {limit} bytes)", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (or at least this many bytes, when it could not be known up front).
        size: u64,
        /// [`MAX_FILE_BYTES`].
        limit: u64,
    },
    /// Binary data: NUL bytes, or mostly control / non-text bytes.
    #[error("{}: not a text contact list ({reason})", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// A CSV header (it names phone or e-mail columns) with no column holding a name.
    #[error(
        "{}:{line}: CSV header has no name column (expected one of Name, Display Name, \
         First Name, Given Name, Last Name, Family Name, Surname, Nickname, Company)",
        path.display()
    )]
    NoNameColumn {
        /// The file.
        path: PathBuf,
        /// The header's line.
        line: usize,
    },
}

/// A problem with one entry (which was skipped or given a default), or a note about an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file (`<text>` for [`EntitySet::add_text`]).
    pub path: PathBuf,
    /// 1-based line, 0 when it concerns the whole input.
    pub line: usize,
    /// What happened.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
        } else {
            write!(f, "{}: {}", self.path.display(), self.message)
        }
    }
}

/// How the given and family names of an entry are known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Parts {
    /// From separate fields (CSV columns, vCard `N`); empty strings where absent.
    Explicit { given: String, family: String },
    /// Derived from the full name (first and last token).
    Derive,
    /// None (a company name).
    None,
}

/// One entry as a parser read it, before normalization.
#[derive(Debug, Clone)]
pub(crate) struct RawContact {
    /// 1-based line where the entry starts.
    pub line: usize,
    /// The full name, as written (cleaned later).
    pub display: String,
    pub parts: Parts,
    pub nicknames: Vec<String>,
    pub weight: f32,
}

/// Why a parser gave up on a whole input (the path is added by the caller).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParseError {
    NoNameColumn { line: usize },
}

/// What a parser produces: entries and warnings, both bounded.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub contacts: Vec<RawContact>,
    pub warnings: Vec<(usize, String)>,
    pub suppressed: usize,
    pub full: bool,
}

impl Collector {
    /// Records a warning about `line` (kept up to [`MAX_WARNINGS_PER_INPUT`]).
    pub fn warn(&mut self, line: usize, msg: impl Into<String>) {
        if self.warnings.len() < MAX_WARNINGS_PER_INPUT {
            self.warnings.push((line, msg.into()));
        } else {
            self.suppressed += 1;
        }
    }

    /// Adds an entry; `false` once [`MAX_CONTACTS`] entries have been read (stop parsing).
    pub fn push(&mut self, c: RawContact) -> bool {
        if self.contacts.len() >= MAX_CONTACTS {
            if !self.full {
                self.full = true;
                self.warn(
                    c.line,
                    format!("more than {MAX_CONTACTS} entries; the rest are ignored"),
                );
            }
            return false;
        }
        self.contacts.push(c);
        true
    }
}

/// Parses a weight field: `None` for empty; a warning and the default for a bad one.
pub(crate) fn parse_weight(field: &str, line: usize, c: &mut Collector) -> f32 {
    let f = field.trim();
    if f.is_empty() {
        return DEFAULT_WEIGHT;
    }
    let shown: String = f.chars().take(40).collect();
    match f.parse::<f32>() {
        Ok(w) if w.is_finite() && w >= 0.0 => {
            if w > MAX_WEIGHT {
                c.warn(
                    line,
                    format!("weight {w} is above {MAX_WEIGHT}; using {MAX_WEIGHT}"),
                );
                MAX_WEIGHT
            } else {
                w
            }
        }
        Ok(_) => {
            c.warn(
                line,
                format!("weight {shown:?} must be a finite number >= 0; using {DEFAULT_WEIGHT}"),
            );
            DEFAULT_WEIGHT
        }
        Err(_) => {
            c.warn(
                line,
                format!("weight {shown:?} is not a number; using {DEFAULT_WEIGHT}"),
            );
            DEFAULT_WEIGHT
        }
    }
}

/// The lines of a byte buffer: `(1-based number, start, end)` with the line break
/// (`\n`, `\r\n` or a lone `\r`) excluded.
#[derive(Debug, Clone)]
pub(crate) struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Lines {
            bytes,
            pos: 0,
            line: 0,
        }
    }

    /// Starting at byte `pos`, which is line `line` (1-based).
    pub fn at(bytes: &'a [u8], pos: usize, line: usize) -> Self {
        Lines {
            bytes,
            pos,
            line: line.saturating_sub(1),
        }
    }

    /// Where the next line starts, and its number.
    pub fn position(&self) -> (usize, usize) {
        (self.pos, self.line + 1)
    }
}

impl Iterator for Lines<'_> {
    type Item = (usize, usize, usize);
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.bytes[start..];
        let (end, next) = match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            None => (self.bytes.len(), self.bytes.len()),
            Some(k) => {
                let eol = start + k;
                if rest[k] == b'\r' && rest.get(k + 1) == Some(&b'\n') {
                    (eol, eol + 2)
                } else {
                    (eol, eol + 1)
                }
            }
        };
        self.pos = next;
        self.line += 1;
        Some((self.line, start, end))
    }
}

/// The 1-based line holding byte `pos`.
pub(crate) fn line_of(bytes: &[u8], pos: usize) -> usize {
    let upto = &bytes[..pos.min(bytes.len())];
    let mut n = 1;
    let mut i = 0;
    while i < upto.len() {
        match upto[i] {
            b'\n' => n += 1,
            b'\r' if upto.get(i + 1) != Some(&b'\n') => n += 1,
            _ => {}
        }
        i += 1;
    }
    n
}

/// The message for a line or a vCard property that is not UTF-8.
pub(crate) const INVALID_UTF8: &str = "invalid UTF-8 (save the list as UTF-8; a vCard may \
     instead declare CHARSET=ISO-8859-1 or CHARSET=windows-1252)";

/// `bytes` as UTF-8 text. A line that is not UTF-8 becomes an empty line (the others keep
/// their numbers) and a warning: one bad line costs only itself.
fn utf8_lines<'a>(bytes: &'a [u8], c: &mut Collector) -> std::borrow::Cow<'a, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.into();
    }
    let mut out = String::with_capacity(bytes.len());
    for (n, s, e) in Lines::new(bytes) {
        match std::str::from_utf8(&bytes[s..e]) {
            Ok(t) => out.push_str(t),
            Err(_) => c.warn(n, format!("{INVALID_UTF8}; line skipped")),
        }
        out.push('\n');
    }
    out.into()
}

/// Strips a UTF-8 byte-order mark, or converts UTF-16 with a byte-order mark to UTF-8.
fn decode_bom(bytes: &[u8]) -> (std::borrow::Cow<'_, [u8]>, Option<String>) {
    use std::borrow::Cow;
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return (Cow::Borrowed(rest), None);
    }
    let le = match bytes {
        [0xFF, 0xFE, ..] => true,
        [0xFE, 0xFF, ..] => false,
        _ => return (Cow::Borrowed(bytes), None),
    };
    let body = &bytes[2..];
    let units = body.chunks_exact(2).map(|p| {
        if le {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    });
    let mut out = String::with_capacity(body.len());
    let mut bad = body.len() % 2;
    for r in char::decode_utf16(units) {
        match r {
            Ok(c) => out.push(c),
            Err(_) => {
                bad += 1;
                out.push('\u{FFFD}');
            }
        }
    }
    let warning = (bad > 0)
        .then(|| format!("UTF-16 text with {bad} invalid code unit(s), replaced by U+FFFD"));
    (Cow::Owned(out.into_bytes()), warning)
}

/// Why `bytes` do not look like text, if they do not.
fn binary_reason(bytes: &[u8]) -> Option<String> {
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Some(format!(
            "NUL byte at offset {at}: a binary file, or UTF-16 without a byte-order mark"
        ));
    }
    let sample = &bytes[..bytes.len().min(64 << 10)];
    if sample.is_empty() {
        return None;
    }
    let control = sample
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) || b == 0x7F)
        .count();
    if control * 50 > sample.len() {
        return Some(format!(
            "{control} control bytes in the first {} bytes",
            sample.len()
        ));
    }
    // An error only at the very end is a character cut by the sample's edge.
    if std::str::from_utf8(sample).is_err_and(|e| e.error_len().is_some()) {
        let high = sample.iter().filter(|&&b| b >= 0x80).count();
        if high * 10 > sample.len() * 3 {
            return Some(format!(
                "{high} of the first {} bytes are neither ASCII nor UTF-8 text",
                sample.len()
            ));
        }
    }
    None
}

/// The first `n` non-blank lines, each cut to [`MAX_LINE_BYTES`] and trimmed.
fn sample_lines(bytes: &[u8], n: usize) -> Vec<&[u8]> {
    Lines::new(bytes)
        .map(|(_, s, e)| bytes[s..e.min(s + MAX_LINE_BYTES)].trim_ascii())
        .filter(|l| !l.is_empty())
        .take(n)
        .collect()
}

/// The format of `bytes` (BOM already removed), read from `path`.
pub(crate) fn sniff(bytes: &[u8], path: &Path) -> Format {
    let sample = sample_lines(bytes, 20);
    let is_begin = |l: &&[u8]| l.len() >= 11 && l[..11].eq_ignore_ascii_case(b"BEGIN:VCARD");
    if sample.iter().take(5).any(is_begin) {
        return Format::Vcard;
    }
    if let Some(first) = sample.first() {
        if csv::is_header_line(&String::from_utf8_lossy(first)) {
            return Format::Csv;
        }
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("vcf" | "vcard") => return Format::Vcard,
        Some("csv" | "tsv") => return Format::Csv,
        Some("txt" | "text" | "lst" | "list") => return Format::Text,
        _ => {}
    }
    let lines: Vec<String> = sample
        .iter()
        .filter(|l| !l.starts_with(b"#"))
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    if csv::looks_headerless(&lines) {
        Format::Csv
    } else {
        Format::Text
    }
}

/// All lists merged: entities, the contacts they came from, and the warnings.
#[derive(Debug, Clone, Default)]
pub struct EntitySet {
    entities: Vec<Entity>,
    /// Words joined by spaces -> index in `entities`.
    index: HashMap<String, u32>,
    /// Display name of each contact.
    contact_names: Vec<String>,
    warnings: Vec<Warning>,
    contacts_full: bool,
}

impl EntitySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a list file, its format sniffed ([`Format::Auto`]). Returns the number of entries
    /// read from it (entries that merged into contacts already in the set count too).
    pub fn add_file(&mut self, path: &Path) -> Result<usize, EntityError> {
        self.add_file_as(path, Format::Auto)
    }

    /// Reads a list file in the given format.
    pub fn add_file_as(&mut self, path: &Path, format: Format) -> Result<usize, EntityError> {
        let io = |source| EntityError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            return Err(EntityError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        let too_large = |size| EntityError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_FILE_BYTES,
        };
        if meta.is_file() && meta.len() > MAX_FILE_BYTES {
            return Err(too_large(meta.len()));
        }
        let file = std::fs::File::open(path).map_err(io)?;
        // Bounded even when the size was unknown (a pipe) or changed since.
        let mut bytes = Vec::with_capacity(meta.len().min(MAX_FILE_BYTES) as usize);
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(too_large(bytes.len() as u64));
        }
        self.add_bytes(&bytes, format, path)
    }

    /// Reads a list given as a string. Errors and warnings name the path `<text>`.
    pub fn add_text(&mut self, text: &str, format: Format) -> Result<usize, EntityError> {
        self.add_bytes(text.as_bytes(), format, Path::new("<text>"))
    }

    /// Reads a list given as bytes; `path` is used for sniffing (its extension) and messages.
    pub fn add_bytes(
        &mut self,
        bytes: &[u8],
        format: Format,
        path: &Path,
    ) -> Result<usize, EntityError> {
        let p = || path.to_path_buf();
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(EntityError::TooLarge {
                path: p(),
                size: bytes.len() as u64,
                limit: MAX_FILE_BYTES,
            });
        }
        let (bytes, bom_warning) = decode_bom(bytes);
        if let Some(reason) = binary_reason(&bytes) {
            return Err(EntityError::NotText { path: p(), reason });
        }
        let format = match format {
            Format::Auto => sniff(&bytes, path),
            f => f,
        };
        let mut c = Collector::default();
        if let Some(w) = bom_warning {
            c.warn(0, w);
        }
        let result = match format {
            Format::Text => {
                let t = utf8_lines(&bytes, &mut c);
                text::parse(&t, &mut c);
                Ok(())
            }
            Format::Csv => {
                let t = utf8_lines(&bytes, &mut c);
                csv::parse(&t, &mut c)
            }
            Format::Vcard | Format::Auto => vcard::parse(&bytes, &mut c),
        };
        result.map_err(|e| match e {
            ParseError::NoNameColumn { line } => EntityError::NoNameColumn { path: p(), line },
        })?;
        log::debug!(
            "{}: {:?}, {} entries",
            path.display(),
            format,
            c.contacts.len()
        );
        Ok(self.commit(c, path))
    }

    /// All entities, in the order first seen.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// No entities.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Number of distinct contacts (entries with different full names).
    pub fn contacts(&self) -> usize {
        self.contact_names.len()
    }

    /// The display name of contact `i` (as in [`Entity::contact`]).
    pub fn contact_name(&self, i: u32) -> Option<&str> {
        self.contact_names.get(i as usize).map(String::as_str)
    }

    /// The entity with exactly these normalized words.
    pub fn get(&self, words: &[String]) -> Option<&Entity> {
        let i = *self.index.get(&words.join(" "))?;
        self.entities.get(i as usize)
    }

    /// Every warning so far, across inputs.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Normalizes and merges what a parser read; returns the entries accepted.
    fn commit(&mut self, c: Collector, path: &Path) -> usize {
        let Collector {
            contacts,
            mut warnings,
            mut suppressed,
            ..
        } = c;
        let mut warn = |line: usize, msg: String| {
            if warnings.len() < MAX_WARNINGS_PER_INPUT {
                warnings.push((line, msg));
            } else {
                suppressed += 1;
            }
        };
        let mut accepted = 0;
        // Room for a Full and a family entity per entry (given names are mostly shared).
        self.entities.reserve(contacts.len() * 2);
        self.index.reserve(contacts.len() * 2);
        for raw in contacts {
            let line = raw.line;
            match self.add_contact(raw) {
                Ok(()) => accepted += 1,
                Err(AddError::Warn(msg)) => warn(line, msg),
                Err(AddError::Silent) => {}
            }
        }
        if accepted == 0 {
            warn(0, "no names found".to_string());
        }
        if suppressed > 0 {
            warnings.push((0, format!("{suppressed} more warnings not shown")));
        }
        for (line, message) in warnings {
            let w = Warning {
                path: path.to_path_buf(),
                line,
                message,
            };
            log::warn!("{w}");
            self.warnings.push(w);
        }
        accepted
    }

    /// Adds one entry's entities.
    fn add_contact(&mut self, raw: RawContact) -> Result<(), AddError> {
        let display = normalize::clean_display(&raw.display);
        if display.is_empty() {
            return Err(AddError::Silent);
        }
        let tokens = normalize::Tokens::new(&display);
        check_words(&display, &tokens.words)
            .map_err(|m| AddError::Warn(format!("{m}; skipped")))?;
        let key = tokens.words.join(" ");
        // A contact exists for these words exactly when a Full entity does.
        let existing = self
            .index
            .get(&key)
            .map(|&i| &self.entities[i as usize])
            .filter(|e| e.kind == EntityKind::Full)
            .map(|e| e.contact);
        let contact = match existing {
            Some(i) => i,
            None => {
                if self.contact_names.len() >= MAX_CONTACTS {
                    if self.contacts_full {
                        return Err(AddError::Silent);
                    }
                    self.contacts_full = true;
                    return Err(AddError::Warn(format!(
                        "more than {MAX_CONTACTS} contacts in all lists; the rest are ignored"
                    )));
                }
                self.contact_names.push(display.clone());
                (self.contact_names.len() - 1) as u32
            }
        };
        let weight = raw.weight;
        let two_words = tokens.words.len() >= 2;
        let mut derived = Vec::new();
        if two_words && raw.parts == Parts::Derive {
            let (given, family) = tokens.given_family();
            for (r, kind) in [
                (given, EntityKind::GivenName),
                (family, EntityKind::FamilyName),
            ] {
                if let Some(r) = r {
                    derived.push((tokens.text_of(&r), tokens.words_of(&r).to_vec(), kind));
                }
            }
        }
        let words = tokens.words;
        self.add_entity(display, words, Some(key), weight, EntityKind::Full, contact);
        for (text, words, kind) in derived {
            self.add_entity(text, words, None, weight, kind, contact);
        }
        if let (true, Parts::Explicit { given, family }) = (two_words, &raw.parts) {
            self.add_part(given, weight, EntityKind::GivenName, contact);
            self.add_part(family, weight, EntityKind::FamilyName, contact);
        }
        for nick in raw.nicknames.iter().take(MAX_NICKNAMES) {
            self.add_part(nick, weight, EntityKind::Nickname, contact);
        }
        Ok(())
    }

    /// Adds a partial name (given, family, nickname); silently skips unusable ones.
    fn add_part(&mut self, s: &str, weight: f32, kind: EntityKind, contact: u32) {
        let display = normalize::clean_display(s);
        if display.is_empty() {
            return;
        }
        let words = normalize_words(&display);
        if check_words(&display, &words).is_ok() {
            self.add_entity(display, words, None, weight, kind, contact);
        }
    }

    /// Adds an entity, or merges it into the one with the same words (`key`: the words
    /// joined by spaces, when already known).
    fn add_entity(
        &mut self,
        display: String,
        words: Vec<String>,
        key: Option<String>,
        weight: f32,
        kind: EntityKind,
        contact: u32,
    ) {
        let key = key.unwrap_or_else(|| words.join(" "));
        let next = self.entities.len() as u32;
        match self.index.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => {
                let e = &mut self.entities[*o.get() as usize];
                e.weight = e.weight.max(weight);
                if kind == EntityKind::Full && e.kind != EntityKind::Full {
                    e.kind = EntityKind::Full;
                    e.contact = contact;
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(next);
                self.entities.push(Entity {
                    display,
                    words,
                    weight,
                    kind,
                    contact,
                });
            }
        }
    }
}

enum AddError {
    Warn(String),
    Silent,
}

/// Whether the words of a cleaned name are within the limits; the message if not.
fn check_words(display: &str, words: &[String]) -> Result<(), String> {
    let shown = || display.chars().take(60).collect::<String>();
    if words.is_empty() {
        return Err(format!("name {:?} has no letters or digits", shown()));
    }
    if words.len() > MAX_WORDS {
        return Err(format!(
            "name {:?} has {} words (limit {MAX_WORDS})",
            shown(),
            words.len()
        ));
    }
    if let Some(w) = words.iter().find(|w| w.chars().count() > MAX_WORD_CHARS) {
        return Err(format!(
            "name {:?} has a word of {} characters (limit {MAX_WORD_CHARS})",
            shown(),
            w.chars().count()
        ));
    }
    Ok(())
}
