//! The acoustic model's output vocabulary (`tokens.txt`).

use std::collections::HashMap;
use std::path::Path;

use super::ModelError;

/// Names accepted for the CTC blank token, in order of preference.
const BLANK_NAMES: [&str; 3] = ["<blank>", "<blk>", "<eps>"];
/// Names accepted for the word-boundary token, in order of preference.
const WORD_BOUNDARY_NAMES: [&str; 2] = ["<wb>", "|"];

/// The output vocabulary of the acoustic model: one symbol per posterior column.
///
/// Read from a sherpa-onnx style `tokens.txt`: one `<symbol> <id>` per line, ids dense
/// from 0. The symbol is everything before the last run of whitespace, so symbols may not
/// contain whitespace themselves (the space token is written `<space>`). It must contain
/// a CTC blank (`<blank>`, or `<blk>` / `<eps>`); a word-boundary token (`<wb>` or `|`)
/// is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    symbols: Vec<String>,
    ids: HashMap<String, usize>,
    blank: usize,
    word_boundary: Option<usize>,
}

impl Tokens {
    /// Reads and parses a `tokens.txt` file.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Self::parse(&text).map_err(|e| match e {
            ModelError::Tokens { line, message, .. } => ModelError::Tokens {
                source_name: path.display().to_string(),
                line,
                message,
            },
            other => other,
        })
    }

    /// Parses the text of a `tokens.txt` file.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let err = |line: usize, message: String| ModelError::Tokens {
            source_name: "<tokens text>".to_string(),
            line,
            message,
        };
        let mut by_id: Vec<Option<String>> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let line = line.trim();
            let (symbol, id) = line
                .rsplit_once(|c: char| c.is_whitespace())
                .ok_or_else(|| err(line_no, format!("expected `<symbol> <id>`, got {line:?}")))?;
            let symbol = symbol.trim_end();
            if symbol.is_empty() {
                return Err(err(line_no, format!("missing symbol in {line:?}")));
            }
            let id: usize = id
                .parse()
                .map_err(|_| err(line_no, format!("invalid id {id:?}")))?;
            if id >= 1 << 20 {
                return Err(err(line_no, format!("id {id} is implausibly large")));
            }
            if by_id.len() <= id {
                by_id.resize(id + 1, None);
            }
            if let Some(previous) = &by_id[id] {
                return Err(err(
                    line_no,
                    format!("id {id} given twice ({previous:?} and {symbol:?})"),
                ));
            }
            by_id[id] = Some(symbol.to_string());
        }
        if by_id.is_empty() {
            return Err(err(0, "no tokens".to_string()));
        }
        let mut symbols = Vec::with_capacity(by_id.len());
        for (id, symbol) in by_id.into_iter().enumerate() {
            symbols.push(symbol.ok_or_else(|| err(0, format!("id {id} is missing")))?);
        }
        let mut ids = HashMap::with_capacity(symbols.len());
        for (id, symbol) in symbols.iter().enumerate() {
            if ids.insert(symbol.clone(), id).is_some() {
                return Err(err(0, format!("symbol {symbol:?} appears twice")));
            }
        }
        let blank = BLANK_NAMES
            .iter()
            .find_map(|name| ids.get(*name).copied())
            .ok_or_else(|| err(0, "no blank token (<blank>, <blk> or <eps>)".to_string()))?;
        let word_boundary = WORD_BOUNDARY_NAMES
            .iter()
            .find_map(|name| ids.get(*name).copied());
        Ok(Self {
            symbols,
            ids,
            blank,
            word_boundary,
        })
    }

    /// Id of the CTC blank token.
    pub fn blank(&self) -> usize {
        self.blank
    }

    /// Id of the word-boundary token (`<wb>` or `|`), if the vocabulary has one.
    pub fn word_boundary(&self) -> Option<usize> {
        self.word_boundary
    }

    /// Number of tokens (the width of a posterior frame).
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    /// True when there are no tokens (never the case for a parsed file).
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// The symbol of token `id`.
    ///
    /// # Panics
    /// If `id >= self.len()`; see [`Tokens::symbol`] for a checked version.
    pub fn get(&self, id: usize) -> &str {
        &self.symbols[id]
    }

    /// The symbol of token `id`, or `None` when out of range.
    pub fn symbol(&self, id: usize) -> Option<&str> {
        self.symbols.get(id).map(String::as_str)
    }

    /// The id of `symbol`, if it is in the vocabulary.
    pub fn id(&self, symbol: &str) -> Option<usize> {
        self.ids.get(symbol).copied()
    }

    /// All symbols, indexed by id.
    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sherpa_style_tokens() {
        let t = Tokens::parse("<pad> 0\na 1\nd͡ʒ 2\n<space> 3\n<wb> 4\n<blank> 5\n").unwrap();
        assert_eq!(t.len(), 6);
        assert!(!t.is_empty());
        assert_eq!(t.blank(), 5);
        assert_eq!(t.word_boundary(), Some(4));
        assert_eq!(t.get(2), "d͡ʒ");
        assert_eq!(t.id("d͡ʒ"), Some(2));
        assert_eq!(t.id("zz"), None);
        assert_eq!(t.symbol(6), None);
        assert_eq!(t.symbols()[3], "<space>");
    }

    #[test]
    fn accepts_any_line_order_crlf_and_blank_lines() {
        let t = Tokens::parse("b 1\r\n\r\n<blk> 2\r\na\t0\r\n|  3\n").unwrap();
        assert_eq!(t.get(0), "a");
        assert_eq!(t.blank(), 2);
        assert_eq!(t.word_boundary(), Some(3));
    }

    #[test]
    fn word_boundary_is_optional() {
        let t = Tokens::parse("<blank> 0\na 1\n").unwrap();
        assert_eq!(t.word_boundary(), None);
    }

    #[test]
    fn combining_mark_symbols_are_kept() {
        // The hama vocabulary has lone combining diacritics as tokens.
        let t = Tokens::parse("<blank> 0\n\u{0303} 1\n").unwrap();
        assert_eq!(t.get(1), "\u{0303}");
    }

    #[test]
    fn rejects_bad_files() {
        for (text, needle) in [
            ("", "no tokens"),
            ("a 0\nb 1\n", "no blank"),
            ("<blank> 0\na 2\n", "id 1 is missing"),
            ("<blank> 0\na 0\n", "given twice"),
            ("<blank> 0\na 1\na 2\n", "appears twice"),
            ("<blank> 0\nnoid\n", "expected"),
            ("<blank> 0\na x\n", "invalid id"),
            ("<blank> 0\na -1\n", "invalid id"),
        ] {
            let err = Tokens::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn load_reports_the_path() {
        let dir = std::env::temp_dir().join(format!("nomen-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.txt");
        std::fs::write(&path, "a 0\n").unwrap();
        let err = Tokens::load(&path).unwrap_err().to_string();
        assert!(err.contains("tokens.txt"), "{err}");
        std::fs::write(&path, "<blank> 0\na 1\n").unwrap();
        assert_eq!(Tokens::load(&path).unwrap().len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
