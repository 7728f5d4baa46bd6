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
    cache: Option<ChecksumCache>,
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

/// Reads `dir/file_name` and verifies it against `sums` (or finds it verified before, see
/// [`ChecksumCache`]).
pub(crate) fn read_verified(
    sums: &Checksums,
    dir: &Path,
    file_name: &str,
) -> Result<Vec<u8>, ModelError> {
    sums.read_verified(file_name, &dir.join(file_name))
}

impl Checksums {
    /// Remembers verified files in `cache` (see [`ChecksumCache`]); `None`: hash every
    /// file every time.
    pub fn with_cache(mut self, cache: Option<ChecksumCache>) -> Self {
        self.cache = cache;
        self
    }

    /// Reads `path` (listed as `file_name`) and checks it has the recorded digest. With a
    /// [`ChecksumCache`] that holds a stamp of this very file (same device, inode, size,
    /// modification and status-change times, same digest expected), the bytes are not
    /// hashed again; otherwise they are, and a match leaves a stamp for the next run.
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
        let identity = match (&self.cache, expected) {
            (Some(_), Some(_)) => file_identity(path, &before)
                .filter(|id| file_identity(path, &after).as_ref() == Some(id)),
            _ => None,
        };
        if let (Some(cache), Some(expected), Some(id)) = (&self.cache, expected, &identity) {
            if cache.holds(expected, id) {
                log::debug!("{}: verified before ({})", path.display(), cache.dir.display());
                return Ok(bytes);
            }
        }
        self.verify(file_name, path, &bytes)?;
        if let (Some(cache), Some(expected), Some(id)) = (&self.cache, expected, &identity) {
            if settled(&after, cache.settle) {
                cache.remember(expected, id);
            }
        }
        Ok(bytes)
    }
}

/// Stamps of model files whose SHA-256 was found to match `SHA256SUMS`, so that start-up
/// does not hash the same unchanged file every time (the 20 MB acoustic model costs about
/// 1 G instructions to hash on a Cortex-A72 without crypto extensions, more than loading it).
///
/// One small file per expected digest, `<dir>/verified/<sha256>`, holding the verified
/// file's device, inode, size, modification and status-change times (ns) and canonical path.
/// Any write to the file changes its status-change time, which a user cannot set back, so a
/// changed file is hashed again and a corrupted one is still refused. The stamp is only a
/// shortcut for the same user: whoever can write the cache directory could as well edit
/// `SHA256SUMS`. Unreadable or unwritable caches just mean hashing every time (Unix only).
///
/// File times tick coarsely (a few ms), so a file changed within the same tick twice could
/// keep its times: like git's "racily clean" entries, a file whose last change is under
/// [`ChecksumCache::SETTLE`] old is verified but not stamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumCache {
    dir: PathBuf,
    settle: std::time::Duration,
}

impl ChecksumCache {
    /// How old a file's last change must be before its stamp is kept.
    pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

    /// Stamps kept under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            settle: Self::SETTLE,
        }
    }

    /// The per-user default: `$NOMEN_CACHE_DIR` (empty: no cache), else
    /// `$XDG_CACHE_HOME/nomen`, else `$HOME/.cache/nomen`; `None` when none is set.
    pub fn user_default() -> Option<Self> {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(v) = std::env::var_os("NOMEN_CACHE_DIR") {
            return (!v.is_empty()).then(|| Self::new(v));
        }
        var("XDG_CACHE_HOME")
            .map(|d| PathBuf::from(d).join("nomen"))
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache").join("nomen")))
            .map(Self::new)
    }

    /// The directory the stamps are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn stamp(&self, digest: &str) -> PathBuf {
        self.dir.join("verified").join(digest)
    }

    fn holds(&self, digest: &str, identity: &str) -> bool {
        std::fs::read_to_string(self.stamp(digest)).is_ok_and(|s| s == identity)
    }

    /// Best effort: a cache that cannot be written is only logged.
    fn remember(&self, digest: &str, identity: &str) {
        let path = self.stamp(digest);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(self.dir.join("verified"))?;
            std::fs::write(&tmp, identity)?;
            std::fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            log::debug!("cannot remember a verified file in {}: {e}", path.display());
        }
    }
}

/// Whether the file's last change (status-change time) is at least `settle` old.
#[cfg(unix)]
fn settled(meta: &std::fs::Metadata, settle: std::time::Duration) -> bool {
    use std::os::unix::fs::MetadataExt;
    let changed = std::time::UNIX_EPOCH
        + std::time::Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec() as u32);
    std::time::SystemTime::now()
        .duration_since(changed)
        .is_ok_and(|age| age >= settle)
}

#[cfg(not(unix))]
fn settled(_meta: &std::fs::Metadata, _settle: std::time::Duration) -> bool {
    false
}

/// What identifies one version of a file: device, inode, size, modification and
/// status-change times, canonical path.
#[cfg(unix)]
fn file_identity(path: &Path, meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let canonical = std::fs::canonicalize(path).ok()?;
    Some(format!(
        "{} {} {} {}.{:09} {}.{:09} {}\n",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
        canonical.display()
    ))
}

#[cfg(not(unix))]
fn file_identity(_path: &Path, _meta: &std::fs::Metadata) -> Option<String> {
    None
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

    #[cfg(unix)]
    #[test]
    fn a_verified_file_is_stamped_and_a_changed_one_hashed_again() {
        let dir = std::env::temp_dir().join(format!("nomen-sums-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.onnx");
        std::fs::write(&file, b"abc").unwrap();
        let text = format!("{ABC}  a.onnx\n");
        let mut cache = ChecksumCache::new(dir.join("cache"));
        cache.settle = std::time::Duration::ZERO;
        let sums = Checksums::parse(Path::new("S"), &text)
            .unwrap()
            .with_cache(Some(cache.clone()));
        assert_eq!(sums.read_verified("a.onnx", &file).unwrap(), b"abc");
        let stamp = std::fs::read_to_string(cache.stamp(ABC)).unwrap();
        assert!(stamp.contains(" 3 ") && stamp.ends_with("a.onnx\n"), "{stamp}");
        // The stamp is what spares the hash: it describes the file as it is now.
        let meta = std::fs::metadata(&file).unwrap();
        assert!(cache.holds(ABC, &file_identity(&file, &meta).unwrap()));
        assert_eq!(sums.read_verified("a.onnx", &file).unwrap(), b"abc");
        // Changed in place, same size: the status-change time moves, so it is hashed and
        // refused.
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(&file, b"abd").unwrap();
        let err = sums.read_verified("a.onnx", &file).unwrap_err();
        assert!(matches!(err, ModelError::ChecksumMismatch { .. }), "{err:?}");
        // A stamp that does not describe the file is ignored, and not rewritten on failure.
        std::fs::write(cache.stamp(ABC), "forged").unwrap();
        assert!(sums.read_verified("a.onnx", &file).is_err());
        assert_eq!(std::fs::read_to_string(cache.stamp(ABC)).unwrap(), "forged");
        // A file changed just now is verified but not stamped (racily clean).
        std::fs::write(&file, b"abc").unwrap();
        let fresh = sums.clone().with_cache(Some(ChecksumCache::new(dir.join("fresh"))));
        assert_eq!(fresh.read_verified("a.onnx", &file).unwrap(), b"abc");
        assert!(!dir.join("fresh/verified").join(ABC).exists());
        // An unwritable cache only means hashing every time.
        let blocked = sums.with_cache(Some(ChecksumCache {
            dir: file.clone(),
            settle: std::time::Duration::ZERO,
        }));
        assert_eq!(blocked.read_verified("a.onnx", &file).unwrap(), b"abc");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_malformed_lines() {
        for text in ["abc  a.onnx", "nothex", ABC] {
            assert!(Checksums::parse(Path::new("S"), text).is_err(), "{text}");
        }
    }
}
