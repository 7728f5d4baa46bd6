//! vCard 2.1 / 3.0 / 4.0 lists (`.vcf`), one or many cards per file.
//!
//! Read from each card (`BEGIN:VCARD` ... `END:VCARD`):
//!
//! - `FN`: the full name. Absent or empty: given + additional + family from `N`, else `ORG`,
//!   else the first nickname; a card with none of these is skipped with a warning.
//! - `N` (`family;given;additional;prefix;suffix`, each possibly a comma list): the given and
//!   family names. Without `N` (or with all its parts empty) they are derived from `FN` as for
//!   a text line, unless the card is a company's (`X-ABShowAs:COMPANY`, or `FN` equal to the
//!   first `ORG` component).
//! - `NICKNAME`: a comma-separated list; also Android's
//!   `X-ANDROID-CUSTOM:vnd.android.cursor.item/nickname;NAME;...`.
//!
//! The first `FN` and `N` are used; other properties are skipped without decoding. Property
//! and parameter names are case-insensitive and may carry a group (`item1.FN`). Lines may end
//! in `\n`, `\r\n` or `\r`; a line starting with a space or tab continues the previous one
//! (the one whitespace character is removed). With `ENCODING=QUOTED-PRINTABLE` (or the bare
//! 2.1 parameter `QUOTED-PRINTABLE`) a value ending in `=` continues on the next line (the
//! soft line break) and `=XX` is a byte; `ENCODING=B`/`BASE64` is decoded too. The bytes are
//! then decoded by `CHARSET`: `UTF-8` (also the default), or `ISO-8859-1`, `Latin1`,
//! `windows-1252`, `cp1252` (all read as windows-1252, as browsers do), `ISO-8859-15`; invalid
//! UTF-8 is an error naming the line; an unknown charset skips the property with a warning
//! unless its bytes are valid UTF-8. Escapes `\,` `\;` `\\` `\n` `\N` are undone after
//! splitting on unescaped separators.
//!
//! Bounded: a name property longer than [`MAX_LINE_BYTES`] after decoding (or 4x that before)
//! is skipped with a warning; other properties (a photo, say) are never copied beyond their
//! first 4x[`MAX_LINE_BYTES`] bytes. A `BEGIN:VCARD` inside a card ends the open card (with
//! a warning), as does the end of the file.

use super::normalize::clean_display;
use super::{Collector, Lines, ParseError, Parts, RawContact, DEFAULT_WEIGHT, MAX_LINE_BYTES};
use std::iter::Peekable;

/// Most raw bytes kept of one unfolded property line (quoted-printable triples the size).
const RAW_CAP: usize = 4 * MAX_LINE_BYTES;

/// One unfolded property line.
struct Logical {
    line: usize,
    buf: Vec<u8>,
    overflow: bool,
    /// The last byte of the raw line (even when `buf` overflowed).
    last: Option<u8>,
    /// Where in `buf` folded continuation lines start.
    folds: Vec<usize>,
}

impl Logical {
    /// Removes quoted-printable soft line breaks (`=` at the end of a physical line) that
    /// ended up before a fold, from byte `from` on (the value).
    fn strip_soft_breaks(&mut self, from: usize) {
        if self.folds.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(self.buf.len());
        let mut folds = self.folds.iter().copied().peekable();
        for (i, &x) in self.buf.iter().enumerate() {
            while folds.peek().is_some_and(|&p| p <= i) {
                folds.next();
            }
            if x == b'=' && i >= from && folds.peek() == Some(&(i + 1)) {
                continue;
            }
            out.push(x);
        }
        self.buf = out;
        self.folds.clear();
    }

    fn append(&mut self, bytes: &[u8]) {
        if let Some(&l) = bytes.last() {
            self.last = Some(l);
        }
        let room = RAW_CAP.saturating_sub(self.buf.len());
        if bytes.len() > room {
            self.overflow = true;
        }
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

fn is_fold(b: &[u8], start: usize, end: usize) -> bool {
    start < end && (b[start] == b' ' || b[start] == b'\t')
}

/// Reads the physical line `start..end` and the folded lines after it.
fn read_logical(
    b: &[u8],
    lines: &mut Peekable<Lines<'_>>,
    line: usize,
    start: usize,
    end: usize,
) -> Logical {
    let mut l = Logical {
        line,
        buf: Vec::new(),
        overflow: false,
        last: None,
        folds: Vec::new(),
    };
    l.append(&b[start..end]);
    while let Some(&(_, s, e)) = lines.peek() {
        if !is_fold(b, s, e) {
            break;
        }
        lines.next();
        if !l.overflow {
            l.folds.push(l.buf.len());
        }
        l.append(&b[s + 1..e]);
    }
    l
}

/// A property's name and the parameters that matter here.
#[derive(Debug, Default)]
struct Head {
    /// Uppercase, group removed.
    name: String,
    qp: bool,
    base64: bool,
    charset: Option<String>,
    /// Where the value starts in the logical line.
    value_start: usize,
}

/// Splits `s` at `sep` bytes outside double quotes.
fn split_outside_quotes(s: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let (mut quoted, mut from) = (false, 0);
    for (i, &x) in s.iter().enumerate() {
        if x == b'"' {
            quoted = !quoted;
        } else if x == sep && !quoted {
            out.push(&s[from..i]);
            from = i + 1;
        }
    }
    out.push(&s[from..]);
    out
}

fn parse_head(buf: &[u8]) -> Option<Head> {
    let mut quoted = false;
    let colon = buf.iter().position(|&x| {
        if x == b'"' {
            quoted = !quoted;
        }
        x == b':' && !quoted
    })?;
    let parts = split_outside_quotes(&buf[..colon], b';');
    let full_name = parts[0].trim_ascii();
    let name = match full_name.iter().rposition(|&x| x == b'.') {
        Some(dot) => &full_name[dot + 1..],
        None => full_name,
    };
    let mut head = Head {
        name: String::from_utf8_lossy(name).to_ascii_uppercase(),
        value_start: colon + 1,
        ..Head::default()
    };
    for p in &parts[1..] {
        let (key, val) = match p.iter().position(|&x| x == b'=') {
            Some(eq) => (p[..eq].trim_ascii(), p[eq + 1..].trim_ascii()),
            None => (&b""[..], p.trim_ascii()),
        };
        let val = val.strip_prefix(b"\"").unwrap_or(val);
        let val = val.strip_suffix(b"\"").unwrap_or(val);
        let is = |a: &[u8], b: &str| a.eq_ignore_ascii_case(b.as_bytes());
        if is(key, "ENCODING") || key.is_empty() {
            if is(val, "QUOTED-PRINTABLE") || (is(key, "ENCODING") && is(val, "QP")) {
                head.qp = true;
            } else if is(val, "B") && !key.is_empty() || is(val, "BASE64") {
                head.base64 = true;
            }
        } else if is(key, "CHARSET") {
            head.charset = Some(String::from_utf8_lossy(val).into_owned());
        }
    }
    Some(head)
}

fn hex(x: u8) -> Option<u8> {
    match x {
        b'0'..=b'9' => Some(x - b'0'),
        b'a'..=b'f' => Some(x - b'a' + 10),
        b'A'..=b'F' => Some(x - b'A' + 10),
        _ => None,
    }
}

/// Quoted-printable: `=XX` is a byte, other bytes are themselves, a stray `=` is kept.
fn qp_decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'=' {
            if let (Some(h), Some(l)) = (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            if i + 1 == raw.len() {
                break; // soft line break at the very end
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// Lenient base64: other bytes are skipped, `=` ends the data.
fn base64_decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() / 4 * 3 + 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &x in raw {
        let v = match x {
            b'A'..=b'Z' => x - b'A',
            b'a'..=b'z' => x - b'a' + 26,
            b'0'..=b'9' => x - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6 | u32::from(v)) & 0xFF_FFFF;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// windows-1252 bytes 0x80–0x9F (0 where undefined; those become C1 controls, later removed).
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

fn cp1252(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&x| match x {
            0x80..=0x9F => match CP1252_HIGH[usize::from(x - 0x80)] {
                0 => char::from(x),
                u => char::from_u32(u32::from(u)).unwrap_or('\u{FFFD}'),
            },
            _ => char::from(x),
        })
        .collect()
}

fn latin9(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&x| match x {
            0xA4 => '€',
            0xA6 => 'Š',
            0xA8 => 'š',
            0xB4 => 'Ž',
            0xB8 => 'ž',
            0xBC => 'Œ',
            0xBD => 'œ',
            0xBE => 'Ÿ',
            _ => char::from(x),
        })
        .collect()
}

/// Decodes a property value to text; `Ok(None)`: skipped with a warning.
fn decode_value(
    raw: &[u8],
    head: &Head,
    line: usize,
    c: &mut Collector,
) -> Result<Option<String>, ParseError> {
    let bytes = if head.qp {
        qp_decode(raw)
    } else if head.base64 {
        base64_decode(raw)
    } else {
        raw.to_vec()
    };
    let cs: Option<String> = head.charset.as_ref().map(|s| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    });
    match cs.as_deref() {
        None | Some("UTF8" | "USASCII" | "ASCII") => match String::from_utf8(bytes) {
            Ok(s) => Ok(Some(s)),
            Err(_) => {
                c.warn(
                    line,
                    format!("{}; {} skipped", super::INVALID_UTF8, head.name),
                );
                Ok(None)
            }
        },
        Some("ISO88591" | "LATIN1" | "L1" | "WINDOWS1252" | "CP1252" | "XCP1252" | "ISO8859") => {
            Ok(Some(cp1252(&bytes)))
        }
        Some("ISO885915" | "LATIN9") => Ok(Some(latin9(&bytes))),
        Some(_) => match String::from_utf8(bytes) {
            Ok(s) => Ok(Some(s)),
            Err(_) => {
                let shown: String = head
                    .charset
                    .iter()
                    .flat_map(|s| s.chars())
                    .take(40)
                    .collect();
                c.warn(
                    line,
                    format!("unsupported CHARSET={shown}; {} skipped", head.name),
                );
                Ok(None)
            }
        },
    }
}

/// Splits at `sep` not preceded by a backslash escape.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut from, mut escaped) = (0, false);
    for (i, ch) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else if ch == sep {
            out.push(&s[from..i]);
            from = i + ch.len_utf8();
        }
    }
    out.push(&s[from..]);
    out
}

/// Undoes `\\` `\,` `\;` `\:` `\n` `\N` (any other `\x` becomes `x`).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(ch) = chars.next() {
        if ch == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(x) => out.push(x),
                None => {}
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// One component of `N`: its comma-separated values joined by spaces.
fn component(s: &str) -> String {
    split_unescaped(s, ',')
        .into_iter()
        .map(|v| unescape(v).trim().to_string())
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one card has said so far.
#[derive(Debug, Default)]
struct Card {
    line: usize,
    full: Option<String>,
    /// `N`: family, given, additional.
    n: Option<[String; 3]>,
    nicknames: Vec<String>,
    org: Option<String>,
    company: bool,
}

fn nonempty(s: &str) -> bool {
    !clean_display(s).is_empty()
}

/// Hands a finished card to the collector; `false`: stop (too many entries).
fn finish(card: Card, c: &mut Collector) -> bool {
    let [family, given, additional] = card.n.clone().unwrap_or_default();
    let from_n = [given.as_str(), additional.as_str(), family.as_str()]
        .into_iter()
        .filter(|s| nonempty(s))
        .collect::<Vec<_>>()
        .join(" ");
    let has_n = nonempty(&given) || nonempty(&family);
    let (display, derive) = if let Some(f) = card.full.as_ref().filter(|f| nonempty(f)) {
        let company = card.company || card.org.as_ref().is_some_and(|o| o.trim() == f.trim());
        (f.clone(), !company)
    } else if !from_n.is_empty() {
        (from_n, false)
    } else if let Some(o) = card.org.as_ref().filter(|o| nonempty(o)) {
        (o.clone(), false)
    } else if let Some(n) = card.nicknames.first() {
        (n.clone(), false)
    } else {
        c.warn(
            card.line,
            "card has no name (FN, N, ORG or NICKNAME); skipped",
        );
        return true;
    };
    let parts = if has_n {
        Parts::Explicit { given, family }
    } else if derive {
        Parts::Derive
    } else {
        Parts::None
    };
    c.push(RawContact {
        line: card.line,
        display,
        parts,
        nicknames: card.nicknames,
        weight: DEFAULT_WEIGHT,
    })
}

/// Reads a vCard file (BOM already removed).
pub(crate) fn parse(b: &[u8], c: &mut Collector) -> Result<(), ParseError> {
    let mut lines = Lines::new(b).peekable();
    let mut card: Option<Card> = None;
    let is_ci = |v: &[u8], s: &str| v.trim_ascii().eq_ignore_ascii_case(s.as_bytes());
    while let Some((ln, mut s, e)) = lines.next() {
        while s < e && (b[s] == b' ' || b[s] == b'\t') {
            s += 1; // a continuation with nothing to continue: read it as a line
        }
        if s == e {
            continue;
        }
        let mut l = read_logical(b, &mut lines, ln, s, e);
        let Some(head) = parse_head(&l.buf) else {
            continue;
        };
        if head.qp {
            l.strip_soft_breaks(head.value_start);
            while l.last == Some(b'=') {
                let Some(&(_, s2, e2)) = lines.peek() else {
                    break;
                };
                let next = b[s2..e2].trim_ascii();
                let starts = |p: &str| {
                    next.len() >= p.len() && next[..p.len()].eq_ignore_ascii_case(p.as_bytes())
                };
                if starts("END:VCARD") || starts("BEGIN:VCARD") {
                    break;
                }
                lines.next();
                if !l.overflow {
                    l.buf.pop();
                }
                l.last = None;
                l.append(&b[s2..e2]);
            }
        }
        let value = &l.buf[head.value_start.min(l.buf.len())..];
        match head.name.as_str() {
            "BEGIN" if is_ci(value, "VCARD") => {
                if let Some(open) = card.take() {
                    c.warn(open.line, "card not closed by END:VCARD");
                    if !finish(open, c) {
                        return Ok(());
                    }
                }
                card = Some(Card {
                    line: l.line,
                    ..Card::default()
                });
            }
            "END" if is_ci(value, "VCARD") => {
                if let Some(done) = card.take() {
                    if !finish(done, c) {
                        return Ok(());
                    }
                }
            }
            "FN" | "N" | "NICKNAME" | "ORG" | "X-ABSHOWAS" | "X-ANDROID-CUSTOM" => {
                let Some(cur) = card.as_mut() else {
                    continue;
                };
                if l.overflow {
                    c.warn(
                        l.line,
                        format!("{} longer than {RAW_CAP} bytes; skipped", head.name),
                    );
                    continue;
                }
                let Some(text) = decode_value(value, &head, l.line, c)? else {
                    continue;
                };
                if text.len() > MAX_LINE_BYTES {
                    c.warn(
                        l.line,
                        format!(
                            "{} of {} bytes is longer than the limit of {MAX_LINE_BYTES}; skipped",
                            head.name,
                            text.len()
                        ),
                    );
                    continue;
                }
                match head.name.as_str() {
                    "FN" => {
                        if cur.full.as_ref().is_none_or(|f| !nonempty(f)) {
                            cur.full = Some(unescape(&text));
                        }
                    }
                    "N" => {
                        if cur.n.is_none() {
                            let p = split_unescaped(&text, ';');
                            let get = |i: usize| p.get(i).map_or(String::new(), |s| component(s));
                            cur.n = Some([get(0), get(1), get(2)]);
                        }
                    }
                    "NICKNAME" => {
                        for nick in split_unescaped(&text, ',') {
                            let nick = unescape(nick).trim().to_string();
                            if !nick.is_empty() && cur.nicknames.len() < super::MAX_NICKNAMES {
                                cur.nicknames.push(nick);
                            }
                        }
                    }
                    "ORG" => {
                        if cur.org.is_none() {
                            let first = split_unescaped(&text, ';')[0];
                            cur.org = Some(unescape(first).trim().to_string());
                        }
                    }
                    "X-ANDROID-CUSTOM" => {
                        // Android keeps nicknames as
                        // `X-ANDROID-CUSTOM:vnd.android.cursor.item/nickname;Bob;1;;;...`.
                        let p = split_unescaped(&text, ';');
                        let is_nick = p[0]
                            .trim()
                            .eq_ignore_ascii_case("vnd.android.cursor.item/nickname");
                        if let (true, Some(nick)) = (is_nick, p.get(1)) {
                            let nick = unescape(nick).trim().to_string();
                            if !nick.is_empty() && cur.nicknames.len() < super::MAX_NICKNAMES {
                                cur.nicknames.push(nick);
                            }
                        }
                    }
                    _ => cur.company = text.trim().eq_ignore_ascii_case("COMPANY"),
                }
            }
            _ => {}
        }
    }
    if let Some(open) = card.take() {
        c.warn(
            open.line,
            "card not closed by END:VCARD at the end of the file",
        );
        finish(open, c);
    }
    Ok(())
}
