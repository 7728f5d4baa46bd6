//! What start-up remembers between runs about files that did not change: that a model file
//! matched its recorded SHA-256, the LM's validation and state analysis, the built lexicon,
//! the G2P's pronunciations of list names (`g2p/memo.rs`).
//!
//! On a Raspberry Pi 4 core (no crypto extensions) hashing the 20 MB acoustic model costs
//! about 1 G instructions, analysing the 27 MB LM about 0.5 G and building the lexicon's trie
//! about 0.5 G, at every start. These results depend only on the files' bytes, so they are
//! kept under a per-user directory,
//! keyed by the file's *identity*: device, inode, size, modification and status-change times
//! (ns) and canonical path. Any write to a file moves its status-change time, which a user
//! cannot set back, so a changed file is hashed or analysed again (and a corrupted one still
//! refused). File times tick coarsely (a few ms), so, like git's "racily clean" index
//! entries, a file changed less than [`StartupCache::SETTLE`] ago is not remembered.
//!
//! The cache is a shortcut for one user, not a security boundary: whoever can write it could
//! as well edit `SHA256SUMS`. A missing, unreadable or unwritable cache only means doing the
//! work every time. Unix only (elsewhere nothing is remembered).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A directory of remembered start-up work (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupCache {
    dir: PathBuf,
    settle: Duration,
}

impl StartupCache {
    /// How old a file's last change must be before anything about it is remembered.
    pub const SETTLE: Duration = Duration::from_secs(2);

    /// Remembered work kept under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            settle: Self::SETTLE,
        }
    }

    /// The per-user default: `$NOMEN_CACHE_DIR` (set but empty: no cache), else
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

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    #[cfg(test)]
    pub(crate) fn without_settling(mut self) -> Self {
        self.settle = Duration::ZERO;
        self
    }

    /// The record `name` of kind `kind` (a subdirectory).
    fn entry(&self, kind: &str, name: &str) -> PathBuf {
        self.dir.join(kind).join(name)
    }

    /// The payload remembered as `kind/name` for a file of identity `identity`, if any
    /// (its own checksum verified: a damaged record reads as none).
    pub(crate) fn get(&self, kind: &str, name: &str, identity: &FileIdentity) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.entry(kind, name)).ok()?;
        let head = identity.0.as_bytes();
        let rest = bytes.strip_prefix(head)?;
        if rest.len() < 8 {
            return None;
        }
        let (sum, payload) = rest.split_at(8);
        (sum == fnv1a(payload).to_le_bytes()).then(|| payload.to_vec())
    }

    /// Remembers `payload` as `kind/name` for the file(s) of identity `identity` whose
    /// metadata is `metas`, if they have all settled (best effort: failures are only logged).
    pub(crate) fn put(
        &self,
        kind: &str,
        name: &str,
        identity: &FileIdentity,
        metas: &[std::fs::Metadata],
        payload: &[u8],
    ) {
        if !metas.iter().all(|m| settled(m, self.settle)) {
            return;
        }
        let path = self.entry(kind, name);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(self.dir.join(kind))?;
            let mut bytes = Vec::with_capacity(identity.0.len() + 8 + payload.len());
            bytes.extend_from_slice(identity.0.as_bytes());
            bytes.extend_from_slice(&fnv1a(payload).to_le_bytes());
            bytes.extend_from_slice(payload);
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            log::debug!("cannot remember {}: {e}", path.display());
        }
    }
}

/// One version of one file: device, inode, size, modification and status-change times,
/// canonical path (a text line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileIdentity(String);

impl FileIdentity {
    /// The identity of `path` as `meta` describes it; `None` where it cannot be told.
    #[cfg(unix)]
    pub(crate) fn of(path: &Path, meta: &std::fs::Metadata) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let canonical = std::fs::canonicalize(path).ok()?;
        Some(Self(format!(
            "{} {} {} {}.{:09} {}.{:09} {}\n",
            meta.dev(),
            meta.ino(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec(),
            canonical.display()
        )))
    }

    #[cfg(not(unix))]
    pub(crate) fn of(_path: &Path, _meta: &std::fs::Metadata) -> Option<Self> {
        None
    }

    /// A short file name for records about this path (the first file's canonical path
    /// hashed: a new version of it, or of a file it depends on, replaces the old record).
    pub(crate) fn path_key(&self) -> String {
        let first = self.0.lines().next().unwrap_or("");
        let path = first.splitn(6, ' ').nth(5).unwrap_or("");
        format!("{:016x}", fnv1a(path.as_bytes()))
    }

    /// The same identity with `note` (settings the result also depends on) added.
    pub(crate) fn with_note(mut self, note: &str) -> Self {
        self.0.push_str(&note.replace('\n', " "));
        self.0.push('\n');
        self
    }

    /// The identity of a result that depends on several files: all of theirs, in order
    /// (`None` when one cannot be told).
    pub(crate) fn of_all(paths: &[&Path]) -> Option<(Self, Vec<std::fs::Metadata>)> {
        let mut text = String::new();
        let mut metas = Vec::with_capacity(paths.len());
        for p in paths {
            let meta = std::fs::metadata(p).ok()?;
            text.push_str(&Self::of(p, &meta)?.0);
            metas.push(meta);
        }
        Some((Self(text), metas))
    }
}

/// Little-endian arrays one after the other, each with its length: how remembered
/// structures are written.
#[derive(Default)]
pub(crate) struct BlobWriter(pub(crate) Vec<u8>);

impl BlobWriter {
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64s(&mut self, v: &[u64]) {
        self.u64(v.len() as u64);
        v.iter().for_each(|&x| self.u64(x));
    }
    pub(crate) fn u32s(&mut self, v: &[u32]) {
        self.u64(v.len() as u64);
        v.iter()
            .for_each(|x| self.0.extend_from_slice(&x.to_le_bytes()));
    }
    pub(crate) fn u16s(&mut self, v: &[u16]) {
        self.u64(v.len() as u64);
        v.iter()
            .for_each(|x| self.0.extend_from_slice(&x.to_le_bytes()));
    }
    pub(crate) fn f32s(&mut self, v: &[f32]) {
        self.u64(v.len() as u64);
        v.iter()
            .for_each(|x| self.0.extend_from_slice(&x.to_bits().to_le_bytes()));
    }
    /// `count` strings without NUL, each NUL-terminated, already joined in `text`.
    pub(crate) fn nul_terminated(&mut self, count: usize, text: &str) {
        self.u64(count as u64);
        self.0.extend_from_slice(text.as_bytes());
    }
}

/// Reads what [`BlobWriter`] wrote; `None` at the first thing that does not fit.
pub(crate) struct BlobReader<'a>(pub(crate) &'a [u8]);

impl<'a> BlobReader<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (h, t) = self.0.split_first_chunk::<N>()?;
        self.0 = t;
        Some(*h)
    }
    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_le_bytes)
    }
    /// A length that the rest of the blob can hold at `unit` bytes each.
    fn len(&mut self, unit: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(unit)? <= self.0.len()).then_some(n)
    }
    /// The next `n * unit` bytes (`len` checked they are there).
    fn bytes(&mut self, n: usize, unit: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n * unit);
        self.0 = tail;
        head
    }
    // The array readers convert whole slices (a loop the compiler turns into a copy on
    // little-endian machines): a remembered lexicon is 7.8 MB of them at every start.
    pub(crate) fn u64s(&mut self) -> Option<Vec<u64>> {
        let n = self.len(8)?;
        let mut v = vec![0u64; n];
        for (x, c) in v.iter_mut().zip(self.bytes(n, 8).chunks_exact(8)) {
            *x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        }
        Some(v)
    }
    pub(crate) fn u32s(&mut self) -> Option<Vec<u32>> {
        let n = self.len(4)?;
        let mut v = vec![0u32; n];
        for (x, c) in v.iter_mut().zip(self.bytes(n, 4).chunks_exact(4)) {
            *x = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Some(v)
    }
    pub(crate) fn u16s(&mut self) -> Option<Vec<u16>> {
        let n = self.len(2)?;
        let mut v = vec![0u16; n];
        for (x, c) in v.iter_mut().zip(self.bytes(n, 2).chunks_exact(2)) {
            *x = u16::from_le_bytes([c[0], c[1]]);
        }
        Some(v)
    }
    pub(crate) fn f32s(&mut self) -> Option<Vec<f32>> {
        let n = self.len(4)?;
        let mut v = vec![0f32; n];
        for (x, c) in v.iter_mut().zip(self.bytes(n, 4).chunks_exact(4)) {
            *x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Some(v)
    }
    /// What [`BlobWriter::nul_terminated`] wrote: the strings' count and their text, each
    /// string followed by its NUL (one UTF-8 check for all of them).
    pub(crate) fn nul_terminated(&mut self) -> Option<(usize, &'a str)> {
        let n = self.len(1)?;
        let mut end = 0;
        for _ in 0..n {
            end += self.0[end..].iter().position(|&b| b == 0)? + 1;
        }
        let text = std::str::from_utf8(self.bytes(end, 1)).ok()?;
        Some((n, text))
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether the file's last change (status-change time) is at least `settle` old.
#[cfg(unix)]
fn settled(meta: &std::fs::Metadata, settle: Duration) -> bool {
    use std::os::unix::fs::MetadataExt;
    let changed =
        std::time::UNIX_EPOCH + Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec() as u32);
    std::time::SystemTime::now()
        .duration_since(changed)
        .is_ok_and(|age| age >= settle)
}

#[cfg(not(unix))]
fn settled(_meta: &std::fs::Metadata, _settle: Duration) -> bool {
    false
}

/// FNV-1a over 8-byte little-endian words (then the tail bytes): a record's own checksum,
/// against damage, not tampering; a word at a time because records reach megabytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h ^= u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        h = h.wrapping_mul(PRIME);
    }
    for &b in words.remainder() {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn records_are_tied_to_the_file_version_and_checked() {
        let dir = std::env::temp_dir().join(format!("nomen-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, b"one").unwrap();
        let cache = StartupCache::new(dir.join("c")).without_settling();
        let meta = std::fs::metadata(&file).unwrap();
        let id = FileIdentity::of(&file, &meta).unwrap();
        assert_eq!(cache.get("k", "n", &id), None);
        cache.put("k", "n", &id, std::slice::from_ref(&meta), b"payload");
        assert_eq!(cache.get("k", "n", &id).as_deref(), Some(&b"payload"[..]));
        // Another version of the file (written again, same size) has another identity.
        std::thread::sleep(Duration::from_millis(50));
        std::fs::write(&file, b"two").unwrap();
        let id2 = FileIdentity::of(&file, &std::fs::metadata(&file).unwrap()).unwrap();
        assert_ne!(id, id2);
        assert_eq!(id.path_key(), id2.path_key());
        assert_eq!(cache.get("k", "n", &id2), None);
        // A damaged record reads as none.
        let entry = cache.entry("k", "n");
        let mut bytes = std::fs::read(&entry).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&entry, bytes).unwrap();
        assert_eq!(cache.get("k", "n", &id), None);
        // A file changed just now is not remembered (racily clean).
        let meta2 = std::fs::metadata(&file).unwrap();
        StartupCache::new(dir.join("c")).put("k", "m", &id2, std::slice::from_ref(&meta2), b"x");
        assert!(!cache.entry("k", "m").exists());
        // An unwritable cache is only logged.
        StartupCache::new(&file)
            .without_settling()
            .put("k", "n", &id2, &[meta2], b"x");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
