//! Entity lists for the command line: read, and pronounced with progress on stderr.

use anyhow::Result;
use nomen::bias::{BiasEntry, EntityTrie};
use nomen::recognizer::Recognizer;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

/// Shows on stderr how far the pronouncing of a long list's new words has come (not with
/// `quiet`, nor for fewer than 500 new words): the line rewritten on a terminal, every 10%
/// otherwise.
pub fn progress(quiet: bool) -> impl FnMut(usize, usize) + Send {
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut shown = 0;
    move |done, total| {
        if quiet || total < 500 {
            return;
        }
        let step = if tty { total / 200 } else { total / 10 }.max(1);
        if done == total || done >= shown + step {
            shown = done;
            let end = if tty && done < total { "\r" } else { "\n" };
            eprint!(
                "nomen: pronouncing the list's new words: {done}/{total} in {:.0} s{end}",
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// [`Recognizer::prepare_entities`] with [`progress`].
pub fn prepare_entities(
    rec: &Recognizer,
    entries: Vec<BiasEntry>,
    quiet: bool,
) -> Option<EntityTrie> {
    rec.prepare_entities_with_progress(entries, &mut progress(quiet))
}

/// Reads an entity list (plain text, CSV or vCard) into decoder entries.
pub fn read_entity_list(path: &Path) -> Result<Vec<BiasEntry>> {
    Ok(nomen::bias::read_lists(&[path])?) // the error names the file
}
