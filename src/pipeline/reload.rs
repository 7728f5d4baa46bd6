//! Contact lists reloaded while a session runs: their files are checked about once a
//! second, and a changed list is read and prepared on its own thread (a long list takes
//! seconds; results keep coming meanwhile, biased toward the list before), then handed to
//! the running pipeline.

use super::EntityHandle;
use crate::entities::watch::ListWatcher;
use crate::recognizer::{Error, Recognizer};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the lists' files are looked at.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// A reload that went through.
#[derive(Debug, Clone, Copy)]
pub struct Reloaded {
    /// Entries read from the lists.
    pub entries: usize,
    /// Of those, the ones that could be pronounced (now biased toward).
    pub pronounceable: usize,
    /// Reading and preparing them.
    pub took: Duration,
}

/// What calls to pronounce a reloaded list's new words report: `(done, total)`.
pub type Progress = Box<dyn FnMut(usize, usize) + Send>;

/// Watches a session's contact list files and reloads them into its pipeline.
pub struct ListReloader {
    rec: Arc<Recognizer>,
    handle: EntityHandle,
    watcher: ListWatcher,
    next_check: Instant,
    running: Option<JoinHandle<Result<Reloaded, Error>>>,
}

impl ListReloader {
    /// Reloads the lists `watcher` watches (make it when they are first read: a change
    /// from then on counts) into the pipeline whose entities `handle` holds
    /// ([`super::Pipeline::entities`]), preparing them with `rec`.
    pub fn new(rec: Arc<Recognizer>, handle: EntityHandle, watcher: ListWatcher) -> Self {
        ListReloader {
            rec,
            handle,
            watcher,
            next_check: Instant::now() + CHECK_EVERY,
            running: None,
        }
    }

    /// Call often (between events): about once a second it looks at the files, and when
    /// one changed (and no reload is running) starts reading and preparing them all on their
    /// own thread, reporting the pronouncing of new words to `progress()`'s callback. Returns
    /// the outcome of a reload that ended since the last call: a list that cannot be read
    /// (half written?) keeps the entities in use, and the next change tries again.
    pub fn poll(&mut self, progress: impl FnOnce() -> Progress) -> Option<Result<Reloaded, Error>> {
        let done = match self.running.take() {
            Some(h) if h.is_finished() => Some(h.join().unwrap_or_else(|_| {
                Err(Error::Invalid("the list reload failed (a panic)".into()))
            })),
            running => {
                self.running = running;
                None
            }
        };
        if self.running.is_none() && Instant::now() >= self.next_check {
            self.next_check = Instant::now() + CHECK_EVERY;
            if self.watcher.changed() {
                let (rec, handle) = (self.rec.clone(), self.handle.clone());
                let paths = self.watcher.paths().to_vec();
                let mut progress = progress();
                self.running = Some(std::thread::spawn(move || {
                    let t = Instant::now();
                    let entries = crate::bias::read_lists(&paths)?;
                    let n = entries.len();
                    let trie = rec
                        .prepare_entities_with_progress(entries, &mut *progress)
                        .map(Arc::new);
                    let pronounceable = trie.as_ref().map_or(0, |t| t.entries().len());
                    handle.set(trie);
                    Ok(Reloaded {
                        entries: n,
                        pronounceable,
                        took: t.elapsed(),
                    })
                }));
            }
        }
        done
    }
}
