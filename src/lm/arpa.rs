//! Reader for ARPA text LMs.
//!
//! ```text
//! (free text)
//! \data\
//! ngram 1=<count>
//! ngram 2=<count>
//! ...
//! \1-grams:
//! <log10 prob> <word> [<log10 backoff>]
//! ...
//! \2-grams:
//! <log10 prob> <word> <word> [<log10 backoff>]
//! ...
//! \end\
//! ```
//! Fields are separated by spaces or tabs. Weights are converted from log10 to ln.
//! Each section must hold as many entries as its count says; every word of a
//! higher-order n-gram must be a unigram; a repeated unigram or n-gram is an error.
//! `-inf` weights are read as ARPA's usual floor, -99. The trie itself is built by
//! `build.rs`.

use super::build::{build, Grams};
use super::trie::{Trie, MAX_ORDER};
use super::vocab::Vocab;
use super::Bad;

/// Lines of the file as trimmed UTF-8 text, with 1-based line numbers.
struct Lines<'a> {
    rest: &'a [u8],
    line: usize,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Option<Result<(usize, &'a str), Bad>> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match self.rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, &[][..]),
        };
        self.rest = rest;
        self.line += 1;
        let n = self.line;
        Some(
            std::str::from_utf8(line)
                .map(|s| (n, s.trim()))
                .map_err(|_| Bad::Format(format!("line {n}: not UTF-8"))),
        )
    }

    /// The next non-blank line.
    fn next_nonblank(&mut self) -> Result<Option<(usize, &'a str)>, Bad> {
        while let Some(l) = self.next_line() {
            let (n, s) = l?;
            if !s.is_empty() {
                return Ok(Some((n, s)));
            }
        }
        Ok(None)
    }
}

fn bad(line: usize, msg: impl std::fmt::Display) -> Bad {
    Bad::Format(format!("line {line}: {msg}"))
}

/// A log10 weight as ln. `-inf` becomes -99; NaN and +inf are errors.
fn weight(s: &str, line: usize) -> Result<f32, Bad> {
    let v: f64 = s
        .parse()
        .map_err(|_| bad(line, format_args!("bad number {s:?}")))?;
    let v = if v == f64::NEG_INFINITY { -99.0 } else { v };
    if !v.is_finite() {
        return Err(bad(line, format_args!("bad weight {s:?}")));
    }
    Ok((v * std::f64::consts::LN_10) as f32)
}

/// Parses an ARPA LM.
pub(crate) fn parse(text: &[u8]) -> Result<(Trie, Vocab), Bad> {
    let mut lines = Lines {
        rest: text,
        line: 0,
    };
    // Header.
    loop {
        match lines.next_line() {
            None => return Err(Bad::Format("not an LM: no \\data\\ section".into())),
            Some(l) => {
                if l?.1 == "\\data\\" {
                    break;
                }
            }
        }
    }
    let mut counts: Vec<usize> = Vec::new();
    let mut pending = None;
    while let Some((n, s)) = lines.next_nonblank()? {
        let Some(spec) = s.strip_prefix("ngram") else {
            pending = Some((n, s));
            break;
        };
        let (k, c) = spec
            .split_once('=')
            .ok_or_else(|| bad(n, "expected `ngram N=count`"))?;
        let k: usize = k.trim().parse().map_err(|_| bad(n, "bad order"))?;
        let c: usize = c.trim().parse().map_err(|_| bad(n, "bad count"))?;
        if k != counts.len() + 1 {
            return Err(bad(n, format_args!("ngram {k} out of sequence")));
        }
        counts.push(c);
    }
    let order = counts.len();
    if order == 0 {
        return Err(Bad::Format("no n-gram counts after \\data\\".into()));
    }
    if order > MAX_ORDER {
        return Err(Bad::Unsupported(format!(
            "order {order} (at most {MAX_ORDER} is supported)"
        )));
    }
    if counts[0] == 0 {
        return Err(Bad::Format("no unigrams".into()));
    }
    // Never trust a count for more memory than the text could need.
    let cap = |c: usize, k: usize| c.min(text.len() / (2 * k + 2) + 1);

    let mut blob = String::new();
    let mut uni_prob = Vec::with_capacity(cap(counts[0], 1));
    let mut uni_bo = Vec::with_capacity(cap(counts[0], 1));
    let mut vocab: Option<Vocab> = None;
    let mut levels: Vec<Grams> = Vec::new();
    for k in 1..=order {
        let (n, s) = match pending.take() {
            Some(l) => l,
            None => lines
                .next_nonblank()?
                .ok_or_else(|| Bad::Format(format!("missing \\{k}-grams: section")))?,
        };
        if s != format!("\\{k}-grams:") {
            return Err(bad(n, format_args!("expected \\{k}-grams:")));
        }
        let mut grams = Grams {
            k,
            paths: Vec::with_capacity(cap(counts[k - 1], k) * k),
            prob: Vec::with_capacity(cap(counts[k - 1], k)),
            bo: Vec::with_capacity(cap(counts[k - 1], k)),
        };
        let mut seen = 0usize;
        let mut ids = [0u32; MAX_ORDER];
        while let Some((n, s)) = lines.next_nonblank()? {
            if s.starts_with('\\') {
                pending = Some((n, s));
                break;
            }
            let mut f = s.split_ascii_whitespace();
            let prob = weight(f.next().unwrap_or(""), n)?;
            let mut words = [""; MAX_ORDER];
            for w in words.iter_mut().take(k) {
                *w = f
                    .next()
                    .ok_or_else(|| bad(n, format_args!("a {k}-gram needs {k} words")))?;
            }
            let bo = match f.next() {
                Some(b) if k < order => weight(b, n)?,
                Some(_) => 0.0, // a backoff on the top order is meaningless
                None => 0.0,
            };
            if f.next().is_some() {
                return Err(bad(n, "too many fields"));
            }
            seen += 1;
            if seen > counts[k - 1] {
                return Err(bad(
                    n,
                    format_args!("more {k}-grams than the {} announced", counts[k - 1]),
                ));
            }
            if k == 1 {
                blob.push_str(words[0]);
                blob.push('\0');
                uni_prob.push(prob);
                uni_bo.push(bo);
                continue;
            }
            let voc = vocab.as_ref().expect("unigrams come first");
            for (j, w) in words[..k].iter().enumerate() {
                ids[j] = voc
                    .id(w)
                    .ok_or_else(|| bad(n, format_args!("word {w:?} is not a unigram")))?;
            }
            // Trie path: last word first.
            grams.paths.extend(ids[..k].iter().rev());
            grams.prob.push(prob);
            grams.bo.push(bo);
        }
        if seen != counts[k - 1] {
            return Err(Bad::Format(format!(
                "{seen} {k}-grams listed, {} announced",
                counts[k - 1]
            )));
        }
        if k == 1 {
            vocab = Some(
                Vocab::from_nul_terminated(std::mem::take(&mut blob), false)
                    .map_err(|d| Bad::Format(format!("unigram {:?} listed twice", d.0)))?,
            );
        } else {
            levels.push(grams);
        }
    }
    let last = match pending {
        Some(l) => Some(l),
        None => lines.next_nonblank()?,
    };
    match last {
        None => log::debug!("ARPA LM without \\end\\"),
        Some((_, "\\end\\")) => {}
        Some((n, _)) => return Err(bad(n, "expected \\end\\")),
    }
    let vocab = vocab.expect("order >= 1");
    let trie = build(uni_prob, uni_bo, levels)?;
    Ok((trie, vocab))
}
