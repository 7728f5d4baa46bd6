//! JSONL manifests: what `nomen transcribe --manifest` reads, one job per line.
//!
//! Each line is a JSON object with an `"audio"` path (relative to the manifest's folder),
//! an optional `"id"` and an optional `"bias_list"` (the path of the row's own entity
//! list). A line that is not such a row is that row's error, never the whole file's: it
//! still gets its output line, with the line number in its message.

use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Manifest rows longer than this are refused (that row's error): a file without line
/// breaks cannot take all memory.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// One row of a manifest: an id and a WAV path, or why the line is not a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The row's `"id"` (a string, or the JSON of another value); else its `"audio"`; for a
    /// line that is not a row, `line N`.
    pub id: String,
    /// The `"audio"` field as written.
    pub audio: String,
    /// The WAV file: `audio` joined to the manifest's folder.
    pub path: PathBuf,
    /// The row's own entity list, if any.
    pub bias_list: Option<PathBuf>,
    /// Why the line is not a job (it still gets its output line).
    pub error: Option<String>,
}

/// The rows of the JSONL manifest at `path`, in order (see [`read`]). Only a manifest that
/// cannot be opened fails as a whole.
pub fn read_file(path: &Path) -> std::io::Result<Vec<Row>> {
    let file = std::fs::File::open(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(read(
        std::io::BufReader::new(file),
        base,
        &path.display().to_string(),
    ))
}

/// The rows of a JSONL manifest read from `reader`, in order: a row per line, or the
/// line's error (not JSON, no `"audio"` string, not UTF-8, longer than [`MAX_ROW_BYTES`],
/// a `"bias_list"` that is not a string); blank lines are skipped, a UTF-8 byte-order mark
/// is ignored. Paths are joined to `base`; messages start with `name:LINE`.
pub fn read(mut reader: impl BufRead, base: &Path, name: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut buf = Vec::new();
    for n in 1.. {
        let at = format!("{name}:{n}");
        let bad = |id: Option<String>, audio: Option<&str>, error: String| Row {
            id: id.unwrap_or_else(|| format!("line {n}")),
            audio: audio.unwrap_or_default().to_string(),
            path: PathBuf::new(),
            bias_list: None,
            error: Some(error),
        };
        let too_long = match read_line(&mut reader, &mut buf, MAX_ROW_BYTES) {
            Ok(Some(too_long)) => too_long,
            Ok(None) => break,
            Err(e) => {
                rows.push(bad(None, None, format!("{at}: cannot read: {e}")));
                break;
            }
        };
        if too_long {
            rows.push(bad(
                None,
                None,
                format!("{at}: row longer than {MAX_ROW_BYTES} bytes"),
            ));
            continue;
        }
        let mut row = &buf[..];
        if n == 1 {
            row = row.strip_prefix(b"\xef\xbb\xbf").unwrap_or(row); // a UTF-8 byte-order mark
        }
        let Ok(line) = std::str::from_utf8(row) else {
            rows.push(bad(None, None, format!("{at}: not UTF-8")));
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                rows.push(bad(None, None, format!("{at}: not JSON ({e})")));
                continue;
            }
        };
        let id = match v.get("id") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(other) if !other.is_null() => Some(other.to_string()),
            _ => None,
        };
        let Some(audio) = v.get("audio").and_then(|a| a.as_str()) else {
            rows.push(bad(id, None, format!("{at}: no \"audio\" string")));
            continue;
        };
        let bias_list = match v.get("bias_list") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(b)) => (!b.is_empty()).then(|| base.join(b)),
            Some(other) => {
                let kind = match other {
                    serde_json::Value::Array(_) => "an array",
                    serde_json::Value::Object(_) => "an object",
                    _ => "not a string",
                };
                rows.push(bad(
                    id,
                    Some(audio),
                    format!("{at}: \"bias_list\" is {kind}; it must be the path of a list file"),
                ));
                continue;
            }
        };
        rows.push(Row {
            id: id.unwrap_or_else(|| audio.to_string()),
            audio: audio.to_string(),
            path: base.join(audio),
            bias_list,
            error: None,
        });
    }
    rows
}

/// Reads the next line of `reader` into `buf` (without its line break): `None` at the end,
/// else whether the line was longer than `max` bytes (then `buf` holds its start only and
/// the rest of the line is skipped).
fn read_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    use std::io::Read;
    buf.clear();
    let n = reader
        .by_ref()
        .take(max as u64 + 1)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        return Ok(Some(false));
    }
    if buf.len() <= max {
        return Ok(Some(false)); // the last line, without a line break
    }
    // Too long: skip to the end of the line.
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                break;
            }
            None => {
                let len = chunk.len();
                reader.consume(len);
            }
        }
    }
    Ok(Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &[u8]) -> Vec<Row> {
        read(text, Path::new("/m"), "m.jsonl")
    }

    #[test]
    fn every_line_is_a_row_or_its_error_with_the_line_number() {
        let r = rows(
            b"\xef\xbb\xbf{\"audio\": \"a.wav\", \"id\": 7}\n\n{bad\n{\"id\": \"x\"}\n\xff\xfe\r\n{\"audio\": \"b.wav\", \"bias_list\": [\"l\"]}\n{\"audio\": \"c.wav\", \"bias_list\": \"l.txt\"}",
        );
        assert_eq!(r.len(), 6);
        assert_eq!(
            (r[0].id.as_str(), r[0].path.as_path()),
            ("7", Path::new("/m/a.wav"))
        );
        assert!(r[1]
            .error
            .as_ref()
            .unwrap()
            .starts_with("m.jsonl:3: not JSON"));
        assert_eq!(r[2].id, "x");
        assert!(r[2]
            .error
            .as_ref()
            .unwrap()
            .contains(":4: no \"audio\" string"));
        assert_eq!(r[3].error.as_deref(), Some("m.jsonl:5: not UTF-8"));
        assert!(r[4].error.as_ref().unwrap().contains("is an array"));
        assert_eq!(r[4].audio, "b.wav");
        assert_eq!(r[5].bias_list.as_deref(), Some(Path::new("/m/l.txt")));
        assert!(r[5].error.is_none());
    }

    #[test]
    fn a_row_longer_than_the_cap_costs_only_itself() {
        let mut text = b"{\"audio\": \"".to_vec();
        text.extend(std::iter::repeat_n(b'a', MAX_ROW_BYTES + 10));
        text.extend_from_slice(b"\"}\n{\"audio\": \"ok.wav\"}\n");
        let r = rows(&text);
        assert_eq!(r.len(), 2);
        assert!(r[0].error.as_ref().unwrap().contains("row longer than"));
        assert_eq!(r[1].audio, "ok.wav");
    }
}
