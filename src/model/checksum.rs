//! `SHA256SUMS` parsing and verification.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{ModelError, MAKE_MODEL_HINT};
use crate::cache::{FileIdentity, StartupCache};
use crate::FileError;

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
    cache: Option<StartupCache>,
}

impl Checksums {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parses the text of a checksum file; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ModelError> {
        let bad = |message: String| {
            ModelError::File(FileError::Checksums {
                path: path.to_path_buf(),
                message,
            })
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
            cache: None,
        })
    }

    /// Recorded digest of `file_name`, if any.
    pub fn get(&self, file_name: &str) -> Option<&str> {
        self.digests.get(file_name).map(String::as_str)
    }

    /// Checks that `bytes` (the content of `path`, listed as `file_name`) has the
    /// recorded digest.
    pub fn verify(&self, file_name: &str, path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
        let expected = self.get(file_name).ok_or_else(|| {
            ModelError::File(FileError::Checksums {
                path: self.path.clone(),
                message: format!("no entry for {file_name} ({MAKE_MODEL_HINT})"),
            })
        })?;
        let actual = sha256_hex(bytes);
        if actual != expected {
            return Err(ModelError::File(FileError::ChecksumMismatch {
                path: path.to_path_buf(),
                expected: expected.to_string(),
                actual,
                hint: MAKE_MODEL_HINT,
            }));
        }
        Ok(())
    }
}

/// Reads `dir/file_name` and verifies it against `sums` (or finds it verified before, see
/// [`StartupCache`]).
pub(crate) fn read_verified(
    sums: &Checksums,
    dir: &Path,
    file_name: &str,
) -> Result<Vec<u8>, ModelError> {
    sums.read_verified(file_name, &dir.join(file_name))
}

impl Checksums {
    /// Remembers verified files in `cache` ([`StartupCache`]); `None`: hash every file
    /// every time.
    pub fn with_cache(mut self, cache: Option<StartupCache>) -> Self {
        self.cache = cache;
        self
    }

    /// Reads `path` (listed as `file_name`) and checks it has the recorded digest. When the
    /// [`StartupCache`] remembers this very version of the file matching the same digest,
    /// the bytes are not hashed again; otherwise they are, and a match is remembered.
    pub fn read_verified(&self, file_name: &str, path: &Path) -> Result<Vec<u8>, ModelError> {
        use std::io::Read;
        let io = |e| ModelError::io(path, e);
        let mut file = std::fs::File::open(path).map_err(io)?;
        let before = file.metadata().map_err(io)?;
        let mut bytes = Vec::with_capacity(before.len() as usize);
        file.read_to_end(&mut bytes).map_err(io)?;
        let after = file.metadata().map_err(io)?;
        let expected = self.get(file_name);
        // Trusted only when the file did not change while it was read.
        let known = match (&self.cache, expected) {
            (Some(cache), Some(expected)) => FileIdentity::of(path, &before)
                .filter(|id| FileIdentity::of(path, &after).as_ref() == Some(id))
                .map(|id| (cache, expected, id)),
            _ => None,
        };
        if let Some((cache, expected, id)) = &known {
            if cache.get(VERIFIED, expected, id).is_some() {
                log::debug!(
                    "{}: verified before ({})",
                    path.display(),
                    cache.dir().display()
                );
                return Ok(bytes);
            }
        }
        self.verify(file_name, path, &bytes)?;
        if let Some((cache, expected, id)) = &known {
            cache.put(VERIFIED, expected, id, &[after], &[]);
        }
        Ok(bytes)
    }
}

/// The [`StartupCache`] records of files found to match a digest (named by the digest).
const VERIFIED: &str = "verified";

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
        assert!(matches!(
            err,
            ModelError::File(FileError::ChecksumMismatch { .. })
        ));
        let msg = err.to_string();
        assert!(msg.contains("m/a.onnx") && msg.contains(ABC), "{msg}");
        let err = sums
            .verify("b.onnx", Path::new("m/b.onnx"), b"abc")
            .unwrap_err();
        assert!(err.to_string().contains("no entry for b.onnx"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_verified_file_is_remembered_and_a_changed_one_hashed_again() {
        let dir = std::env::temp_dir().join(format!("nomen-sums-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.onnx");
        std::fs::write(&file, b"abc").unwrap();
        let text = format!("{ABC}  a.onnx\n");
        let cache = StartupCache::new(dir.join("cache")).without_settling();
        let sums = Checksums::parse(Path::new("S"), &text)
            .unwrap()
            .with_cache(Some(cache.clone()));
        assert_eq!(sums.read_verified("a.onnx", &file).unwrap(), b"abc");
        // Remembered for this version of the file: the next read does not hash.
        let id = FileIdentity::of(&file, &std::fs::metadata(&file).unwrap()).unwrap();
        assert!(cache.get(VERIFIED, ABC, &id).is_some());
        assert_eq!(sums.read_verified("a.onnx", &file).unwrap(), b"abc");
        // Changed in place, same size: another version, hashed and refused.
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(&file, b"abd").unwrap();
        let err = sums.read_verified("a.onnx", &file).unwrap_err();
        assert!(
            matches!(err, ModelError::File(FileError::ChecksumMismatch { .. })),
            "{err:?}"
        );
        let id2 = FileIdentity::of(&file, &std::fs::metadata(&file).unwrap()).unwrap();
        assert!(cache.get(VERIFIED, ABC, &id2).is_none());
        // Without a cache every read hashes.
        let plain = Checksums::parse(Path::new("S"), &text).unwrap();
        assert!(plain.read_verified("a.onnx", &file).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_malformed_lines() {
        for text in ["abc  a.onnx", "nothex", ABC] {
            assert!(Checksums::parse(Path::new("S"), text).is_err(), "{text}");
        }
    }
}
