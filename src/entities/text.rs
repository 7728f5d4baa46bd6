//! Plain-text lists: one name per line, optionally followed by `TAB weight`.
//!
//! ```text
//! # my contacts
//! Siobhan Nguyen
//! José O'Sullivan-Pérez<TAB>2.5
//! ```
//!
//! (`<TAB>` is one tab character.)
//!
//! Blank lines and lines whose first non-blank character is `#` are ignored. Line breaks may
//! be `\n`, `\r\n` or `\r`. The name is everything before the first tab; the weight is the
//! next tab-separated field (further fields are ignored with a warning). A weight that is not
//! a finite number >= 0 (`NaN`, `inf`, `-1`, `abc`) keeps the name with the default weight
//! 1.0 and a warning: the name is worth more than its weight. A line longer than
//! [`MAX_LINE_BYTES`] is skipped with a warning. The given name is the
//! first word and the family name the last, less honorifics and suffixes (see the module
//! documentation of [`entities`](super)).

use super::{parse_weight, Collector, Lines, Parts, RawContact, DEFAULT_WEIGHT, MAX_LINE_BYTES};

/// Reads a plain-text list (BOM already removed).
pub(crate) fn parse(text: &str, c: &mut Collector) {
    let bytes = text.as_bytes();
    for (line, start, end) in Lines::new(bytes) {
        if end - start > MAX_LINE_BYTES {
            c.warn(
                line,
                format!(
                    "line of {} bytes is longer than the limit of {MAX_LINE_BYTES}; skipped",
                    end - start
                ),
            );
            continue;
        }
        // Line breaks are ASCII, so these are char boundaries. Tabs are kept: a leading one
        // means an empty name.
        let l = text[start..end].trim_matches(|ch: char| ch.is_whitespace() && ch != '\t');
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let mut fields = l.split('\t');
        let name = fields.next().unwrap_or("").trim();
        let weight = match fields.next() {
            Some(w) => parse_weight(w, line, c),
            None => DEFAULT_WEIGHT,
        };
        if fields.next().is_some() {
            c.warn(line, "more than one tab; fields after the weight ignored");
        }
        if name.is_empty() {
            c.warn(line, "no name before the tab; skipped");
            continue;
        }
        let more = c.push(RawContact {
            line,
            display: name.to_string(),
            parts: Parts::Derive,
            nicknames: Vec::new(),
            weight,
        });
        if !more {
            break;
        }
    }
}
