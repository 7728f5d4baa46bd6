//! Noticing that entity list files changed on disk, so a running session (`nomen listen`)
//! can reload them without a restart.

use std::path::PathBuf;
use std::time::SystemTime;

/// What is known of one file: modification time and length (`None`: unreadable).
type Stamp = Option<(Option<SystemTime>, u64)>;

/// Watches a set of list files by polling their modification time and length.
#[derive(Debug, Clone)]
pub struct ListWatcher {
    paths: Vec<PathBuf>,
    stamps: Vec<Stamp>,
}

fn stamp(p: &PathBuf) -> Stamp {
    let m = std::fs::metadata(p).ok()?;
    Some((m.modified().ok(), m.len()))
}

impl ListWatcher {
    /// Starts watching `paths` as they are now.
    pub fn new(paths: &[PathBuf]) -> Self {
        ListWatcher {
            paths: paths.to_vec(),
            stamps: paths.iter().map(stamp).collect(),
        }
    }

    /// The watched files.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Whether any file changed (written, replaced, removed or back) since the last call
    /// (or since [`ListWatcher::new`]).
    pub fn changed(&mut self) -> bool {
        let now: Vec<Stamp> = self.paths.iter().map(stamp).collect();
        let changed = now != self.stamps;
        self.stamps = now;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewritten_or_removed_list_is_noticed_once() {
        let dir = std::env::temp_dir().join(format!("nomen-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("contacts.txt");
        std::fs::write(&f, "Siobhan Nguyen\n").unwrap();
        let mut w = ListWatcher::new(std::slice::from_ref(&f));
        assert!(!w.changed());
        std::fs::write(&f, "Siobhan Nguyen\nHaoran Zheng\n").unwrap();
        assert!(w.changed());
        assert!(!w.changed());
        std::fs::remove_file(&f).unwrap();
        assert!(w.changed());
        assert!(!w.changed());
        std::fs::write(&f, "Efua Mensah\n").unwrap();
        assert!(w.changed());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
