//! Entity lists for the command line: read, pronounced with progress on stderr, reloaded.

use anyhow::Result;
use nomen::bias::{BiasEntry, EntityTrie};
use nomen::entities::EntitySet;
use nomen::recognizer::Recognizer;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// [`Recognizer::prepare_entities`], showing on stderr how far the pronouncing of a long
/// list's new words has come (not with `quiet`, nor for fewer than 500 new words): the
/// line rewritten on a terminal, every 10% otherwise.
pub fn prepare_entities(
    rec: &Recognizer,
    entries: Vec<BiasEntry>,
    quiet: bool,
) -> Option<EntityTrie> {
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut shown = 0;
    rec.prepare_entities_with_progress(entries, &mut |done, total| {
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
    })
}

/// Reads an entity list (plain text, CSV or vCard) into decoder entries.
pub fn read_entity_list(path: &Path) -> Result<Vec<BiasEntry>> {
    let mut set = EntitySet::new();
    set.add_file(path)?; // the error names the file
    Ok(set.entities().iter().map(BiasEntry::from).collect())
}

/// Reads the lists again and hands the result to the running pipeline. A list that cannot be
/// read keeps the entities in use (the file may be half written; the next change retries).
pub fn reload_lists(
    rec: &nomen::recognizer::Recognizer,
    paths: &[PathBuf],
    handle: &nomen::pipeline::EntityHandle,
    quiet: bool,
) {
    let t = std::time::Instant::now();
    let mut entries = Vec::new();
    for p in paths {
        match read_entity_list(p) {
            Ok(e) => entries.extend(e),
            Err(e) => {
                eprintln!("nomen: warning: list not reloaded, keeping the previous one: {e:#}");
                return;
            }
        }
    }
    let n = entries.len();
    let trie = prepare_entities(rec, entries, quiet).map(Arc::new);
    let kept = trie.as_ref().map_or(0, |t| t.entries().len());
    handle.set(trie);
    if !quiet {
        eprintln!(
            "nomen: entity lists reloaded: {n} entries, {kept} pronounceable ({:.0} ms)",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}
