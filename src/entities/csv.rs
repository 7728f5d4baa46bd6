//! CSV lists: phone and mail exports (Google, Outlook, Apple via converters) and simple
//! `first_name,last_name,phone` files.
//!
//! - Separator: comma, semicolon or tab, whichever occurs most (outside quotes) in the first
//!   non-blank line; ties prefer comma, then semicolon. An Excel `sep=X` first line names it.
//! - Quoting as in RFC 4180: `"..."` fields may hold separators, newlines and `""` (a quote).
//!   Leniently, spaces before an opening quote are skipped, text after a closing quote is
//!   kept, and a quote inside an unquoted field is literal. Line breaks `\n`, `\r\n`, `\r`.
//! - Header: the first non-blank record is a header when one of its cells, compared
//!   lowercase with everything but letters and digits removed, is a known column name:
//!   display (`Display Name`, `Full Name`, `Name`, `FN`, ...), given (`First Name`,
//!   `Given Name`, `first_name`, `Forename`), middle (`Middle Name`, `Additional Name`),
//!   family (`Last Name`, `Family Name`, `Surname`), `Nickname`, company (`Company`,
//!   `Organization Name`, ...), `weight`, or a non-name column (`Phone...`, `E-mail...`,
//!   `Mobile...`, `Notes`, ...). A header with no name column is an error. Several columns of
//!   one kind: the name earliest in these lists wins (`Display Name` over `Name`).
//! - No header: the first column is the name (given and family derived from it, as for text).
//! - Each row: the full name is the display column, or else given + middle + family. The
//!   given and family names come from their columns when either is filled, else they are
//!   derived from the full name. A row with no person name but a company is the company (no
//!   given/family). `Nickname` may hold several, separated by `,` or Google's ` ::: `.
//!   An optional `weight` column is read like a text list's weight. Other columns (phones,
//!   e-mails, notes) are skipped without being copied.
//! - Limits: a record over [`MAX_RECORD_BYTES`] or [`MAX_FIELDS`] fields, or with a quote
//!   never closed, is skipped with a warning and reading resumes at the line after its start;
//!   a name field over [`MAX_LINE_BYTES`] skips its row. Rows with no name are skipped (with
//!   a warning when the row has other data).

use std::borrow::Cow;

use super::{
    line_of, parse_weight, Collector, Lines, ParseError, Parts, RawContact, DEFAULT_WEIGHT,
    MAX_FIELDS, MAX_LINE_BYTES, MAX_RECORD_BYTES,
};

/// A field's bytes in the input, quotes included.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordError {
    TooLong,
    TooManyFields,
    Unterminated,
}

impl RecordError {
    fn message(self) -> String {
        match self {
            RecordError::TooLong => {
                format!("record longer than {MAX_RECORD_BYTES} bytes; skipped")
            }
            RecordError::TooManyFields => {
                format!("record with more than {MAX_FIELDS} fields; skipped")
            }
            RecordError::Unterminated => "quoted field never closed; line skipped".to_string(),
        }
    }
}

/// Reads the record starting at `start` into `out`; returns where the next one starts.
/// Scans at most [`MAX_RECORD_BYTES`] past `start`.
fn read_record(
    b: &[u8],
    start: usize,
    delim: u8,
    out: &mut Vec<Span>,
) -> Result<usize, RecordError> {
    out.clear();
    let limit = b.len().min(start.saturating_add(MAX_RECORD_BYTES));
    let mut i = start;
    loop {
        if out.len() >= MAX_FIELDS {
            return Err(RecordError::TooManyFields);
        }
        let field_start = i;
        let mut j = i;
        while j < limit && b[j] == b' ' && delim != b' ' {
            j += 1;
        }
        if j < limit && b[j] == b'"' {
            i = j + 1;
            loop {
                match b[i..limit].iter().position(|&x| x == b'"') {
                    None if limit == b.len() => return Err(RecordError::Unterminated),
                    None => return Err(RecordError::TooLong),
                    Some(k) => {
                        i += k + 1;
                        if i < limit && b[i] == b'"' {
                            i += 1; // "" is a literal quote
                        } else {
                            break;
                        }
                    }
                }
            }
        }
        while i < limit && b[i] != delim && b[i] != b'\n' && b[i] != b'\r' {
            i += 1;
        }
        if i == limit && limit < b.len() {
            return Err(RecordError::TooLong);
        }
        out.push(Span {
            start: field_start,
            end: i,
        });
        if i >= b.len() {
            return Ok(i);
        }
        match b[i] {
            d if d == delim => i += 1,
            b'\r' if b.get(i + 1) == Some(&b'\n') => return Ok(i + 2),
            _ => return Ok(i + 1),
        }
    }
}

/// A field's value: unquoted, `""` -> `"`.
fn field(text: &str, sp: Span) -> Cow<'_, str> {
    let raw = &text[sp.start..sp.end];
    let t = raw.trim_start_matches(' ');
    let Some(body) = t.strip_prefix('"') else {
        return Cow::Borrowed(raw);
    };
    let mut out = String::with_capacity(body.len());
    let mut quoted = true;
    let mut chars = body.chars().peekable();
    while let Some(ch) = chars.next() {
        if quoted && ch == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
                out.push('"');
            } else {
                quoted = false;
            }
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

/// How often `d` occurs outside double quotes in one line.
fn count_outside_quotes(line: &[u8], d: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for &x in line {
        if x == b'"' {
            quoted = !quoted;
        } else if x == d && !quoted {
            n += 1;
        }
    }
    n
}

/// The separator named by Excel's `sep=;` first line, if `line` is one.
fn excel_sep(line: &[u8]) -> Option<u8> {
    match line.trim_ascii() {
        [s, e, p, b'=', d] if [*s, *e, *p].eq_ignore_ascii_case(b"sep") => Some(*d),
        _ => None,
    }
}

/// The separator of a file whose first line is `line`.
fn detect_delimiter(line: &[u8]) -> u8 {
    let mut best = (0, b',');
    for d in [b',', b';', b'\t'] {
        let n = count_outside_quotes(line, d);
        if n > best.0 {
            best = (n, d);
        }
    }
    best.1
}

const DISPLAY: &[&str] = &[
    "displayname",
    "fullname",
    "name",
    "fn",
    "formattedname",
    "contactname",
];
const GIVEN: &[&str] = &[
    "firstname",
    "givenname",
    "first",
    "given",
    "forename",
    "fname",
];
const MIDDLE: &[&str] = &["middlename", "additionalname", "middle", "additionalnames"];
const FAMILY: &[&str] = &[
    "lastname",
    "familyname",
    "surname",
    "last",
    "family",
    "lname",
];
const NICKNAME: &[&str] = &["nickname", "nicknames", "nick"];
const ORG: &[&str] = &[
    "company",
    "companyname",
    "organization",
    "organisation",
    "organizationname",
    "organisationname",
    "organization1name",
    "org",
];
const WEIGHT: &[&str] = &["weight"];

/// A header cell as compared: lowercase letters and digits only.
fn header_key(cell: &str) -> String {
    cell.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Header cells that are not names but show that the row is a header.
fn is_other_column(key: &str) -> bool {
    ["phone", "email", "mobile", "telephone"]
        .iter()
        .any(|p| key.starts_with(p))
        || matches!(
            key,
            "tel"
                | "cell"
                | "cellphone"
                | "homephone"
                | "workphone"
                | "businessphone"
                | "number"
                | "notes"
                | "note"
                | "address"
                | "birthday"
                | "jobtitle"
                | "namesuffix"
                | "nameprefix"
        )
}

/// Where the name columns are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Columns {
    display: Option<usize>,
    given: Option<usize>,
    middle: Option<usize>,
    family: Option<usize>,
    nickname: Option<usize>,
    org: Option<usize>,
    weight: Option<usize>,
}

impl Columns {
    fn has_name(&self) -> bool {
        self.display.is_some()
            || self.given.is_some()
            || self.family.is_some()
            || self.nickname.is_some()
            || self.org.is_some()
    }
}

/// The columns named by a header, and whether `cells` is a header at all.
fn header_columns<S: AsRef<str>>(cells: &[S]) -> (Columns, bool) {
    let keys: Vec<String> = cells.iter().map(|c| header_key(c.as_ref())).collect();
    let find = |names: &[&str]| names.iter().find_map(|n| keys.iter().position(|k| k == n));
    let cols = Columns {
        display: find(DISPLAY),
        given: find(GIVEN),
        middle: find(MIDDLE),
        family: find(FAMILY),
        nickname: find(NICKNAME),
        org: find(ORG),
        weight: find(WEIGHT),
    };
    let header = cols != Columns::default() || keys.iter().any(|k| is_other_column(k));
    (cols, header)
}

/// Whether `line` (a file's first non-blank line) is a CSV header with a separator.
pub(crate) fn is_header_line(line: &str) -> bool {
    if excel_sep(line.as_bytes()).is_some() {
        return true;
    }
    let b = line.as_bytes();
    let d = detect_delimiter(b);
    if count_outside_quotes(b, d) == 0 {
        return false;
    }
    let mut spans = Vec::new();
    if read_record(b, 0, d, &mut spans).is_err() {
        return false;
    }
    let cells: Vec<Cow<str>> = spans.iter().map(|&s| field(line, s)).collect();
    header_columns(&cells).1
}

/// Whether the first lines of a file (non-blank, non-comment) look like headerless CSV: all
/// have the same number (1 or more) of commas, of semicolons, or of tabs outside quotes; for
/// one tab, unless every second field is a number (a weighted text list).
pub(crate) fn looks_headerless(lines: &[String]) -> bool {
    if lines.is_empty() {
        return false;
    }
    let same = |d: u8| {
        let n = count_outside_quotes(lines[0].as_bytes(), d);
        (n > 0
            && lines
                .iter()
                .all(|l| count_outside_quotes(l.as_bytes(), d) == n))
        .then_some(n)
    };
    if same(b',').is_some() || same(b';').is_some() {
        return true;
    }
    match same(b'\t') {
        Some(1) => !lines.iter().all(|l| {
            l.split('\t')
                .nth(1)
                .is_some_and(|w| w.trim().parse::<f32>().is_ok())
        }),
        Some(_) => true,
        None => false,
    }
}

/// Splits a nickname cell into nicknames.
fn nicknames(cell: &str) -> Vec<String> {
    cell.split(":::")
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Reads a CSV list (BOM already removed).
pub(crate) fn parse(text: &str, c: &mut Collector) -> Result<(), ParseError> {
    let b = text.as_bytes();
    let first =
        Lines::new(b).find(|&(_, s, e)| !b[s..e.min(s + MAX_LINE_BYTES)].trim_ascii().is_empty());
    let (mut pos, mut line) = (0, 1);
    let delim = match first {
        None => b',',
        Some((l, s, e)) => match excel_sep(&b[s..e.min(s + MAX_LINE_BYTES)]) {
            Some(d) => {
                // Excel's `sep=;` line: the separator, then the header.
                let mut after = Lines::at(b, s, l);
                after.next();
                (pos, line) = after.position();
                d
            }
            None => detect_delimiter(&b[s..e.min(s + MAX_LINE_BYTES)]),
        },
    };
    let mut spans = Vec::new();
    let mut cols: Option<Columns> = None;
    while pos < b.len() {
        let next = match read_record(b, pos, delim, &mut spans) {
            Ok(next) => next,
            Err(e) => {
                c.warn(line, e.message());
                let mut resync = Lines::at(b, pos, line);
                resync.next();
                (pos, line) = resync.position();
                continue;
            }
        };
        let rec_line = line;
        line += line_of(&b[pos..next], next - pos) - 1;
        pos = next;
        let get = |i: Option<usize>| -> Cow<str> {
            match i.and_then(|i| spans.get(i)) {
                Some(&s) => field(text, s),
                None => Cow::Borrowed(""),
            }
        };
        if spans.iter().all(|s| text[s.start..s.end].trim().is_empty()) {
            continue; // blank line or empty row
        }
        let cols = match &cols {
            Some(k) => k,
            None => {
                let cells: Vec<Cow<str>> = spans.iter().map(|&s| field(text, s)).collect();
                let (k, header) = header_columns(&cells);
                if header {
                    if !k.has_name() {
                        return Err(ParseError::NoNameColumn { line: rec_line });
                    }
                    cols = Some(k);
                    continue;
                }
                cols.insert(Columns {
                    display: Some(0),
                    ..Columns::default()
                })
            }
        };
        let display = get(cols.display);
        let given = get(cols.given);
        let middle = get(cols.middle);
        let family = get(cols.family);
        let nick = get(cols.nickname);
        let org = get(cols.org);
        let used = [&display, &given, &middle, &family, &nick, &org];
        if let Some(long) = used.iter().find(|v| v.len() > MAX_LINE_BYTES) {
            c.warn(
                rec_line,
                format!(
                    "name field of {} bytes is longer than the limit of {MAX_LINE_BYTES}; row skipped",
                    long.len()
                ),
            );
            continue;
        }
        let weight = match cols.weight {
            Some(_) => parse_weight(&get(cols.weight), rec_line, c),
            None => DEFAULT_WEIGHT,
        };
        let (given, family) = (given.trim(), family.trim());
        let mut full = display.trim().to_string();
        if full.is_empty() {
            let parts = [given, middle.trim(), family];
            full = parts
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
        }
        let mut parts = if given.is_empty() && family.is_empty() {
            Parts::Derive
        } else {
            Parts::Explicit {
                given: given.to_string(),
                family: family.to_string(),
            }
        };
        let nicknames = nicknames(&nick);
        if full.is_empty() {
            if !org.trim().is_empty() {
                full = org.trim().to_string();
                parts = Parts::None;
            } else if let Some(n) = nicknames.first() {
                full = n.clone();
                parts = Parts::None;
            } else {
                c.warn(rec_line, "row has no name; skipped");
                continue;
            }
        }
        let more = c.push(RawContact {
            line: rec_line,
            display: full,
            parts,
            nicknames,
            weight,
        });
        if !more {
            break;
        }
    }
    Ok(())
}
