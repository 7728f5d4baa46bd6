//! `SHA256SUMS` parsing and verification.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{ModelError, MAKE_MODEL_HINT};

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The contents of a `SHA256SUMS` file (`sha256sum` output: `<hex>  <name>` per line,
/// `*<name>` for binary mode accepted).
#[derive(Debug, Clone)]
pub struct Checksums {
    path: PathBuf,
    digests: HashMap<String, String>,
}

impl Checksums {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parses the text of a checksum file; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ModelError> {
        let bad = |message: String| ModelError::Checksums {
            path: path.to_path_buf(),
            message,
        };
        let mut digests = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (hex, name) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad(format!("line {}: expected `<sha256>  <file>`", i + 1)))?;
            let name = name.trim_start();
            let name = name.strip_prefix('*').unwrap_or(name);
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || name.is_empty() {
                return Err(bad(format!("line {}: expected `<sha256>  <file>`", i + 1)));
            }
            digests.insert(name.to_string(), hex.to_ascii_lowercase());
        }
        Ok(Self {
            path: path.to_path_buf(),
            digests,
        })
    }

    /// Recorded digest of `file_name`, if any.
    pub fn get(&self, file_name: &str) -> Option<&str> {
        self.digests.get(file_name).map(String::as_str)
    }

    /// Checks that `bytes` (the content of `path`, listed as `file_name`) has the
    /// recorded digest.
    pub fn verify(&self, file_name: &str, path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
        let expected = self.get(file_name).ok_or_else(|| ModelError::Checksums {
            path: self.path.clone(),
            message: format!("no entry for {file_name} ({MAKE_MODEL_HINT})"),
        })?;
        let actual = sha256_hex(bytes);
        if actual != expected {
            return Err(ModelError::ChecksumMismatch {
                path: path.to_path_buf(),
                expected: expected.to_string(),
                actual,
            });
        }
        Ok(())
    }
}

/// Reads `dir/file_name` and verifies it against `sums`.
pub(crate) fn read_verified(
    sums: &Checksums,
    dir: &Path,
    file_name: &str,
) -> Result<Vec<u8>, ModelError> {
    let path = dir.join(file_name);
    let bytes = std::fs::read(&path).map_err(|e| ModelError::io(&path, e))?;
    sums.verify(file_name, &path, &bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn digest_of_abc() {
        assert_eq!(sha256_hex(b"abc"), ABC);
    }

    #[test]
    fn parse_and_verify() {
        let text = format!("{ABC}  a.onnx\n{}  *tokens.txt\n\n", ABC.to_uppercase());
        let sums = Checksums::parse(Path::new("SHA256SUMS"), &text).unwrap();
        assert_eq!(sums.get("a.onnx"), Some(ABC));
        assert_eq!(sums.get("tokens.txt"), Some(ABC));
        sums.verify("a.onnx", Path::new("m/a.onnx"), b"abc")
            .unwrap();
        let err = sums
            .verify("a.onnx", Path::new("m/a.onnx"), b"abd")
            .unwrap_err();
        assert!(matches!(err, ModelError::ChecksumMismatch { .. }));
        let msg = err.to_string();
        assert!(msg.contains("m/a.onnx") && msg.contains(ABC), "{msg}");
        let err = sums
            .verify("b.onnx", Path::new("m/b.onnx"), b"abc")
            .unwrap_err();
        assert!(err.to_string().contains("no entry for b.onnx"), "{err}");
    }

    #[test]
    fn rejects_malformed_lines() {
        for text in ["abc  a.onnx", "nothex", ABC] {
            assert!(Checksums::parse(Path::new("S"), text).is_err(), "{text}");
        }
    }
}
