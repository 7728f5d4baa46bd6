//! Transcribing a WAV file in bounded memory.
//!
//! [`Recognizer::transcribe`] takes audio in memory: 3 hours at 16 kHz are 690 MB of
//! samples before the model runs, and the posteriors of every segment are kept until the
//! end. A regular file is instead read twice, in pieces: the first pass keeps only the
//! level of every 10 ms (the segmenter's noise floor is a percentile over the whole
//! input), the second keeps the audio of one speech segment at a time, decodes it and lets
//! it go. The transcript is the one [`Recognizer::transcribe`] gives for the same file.
//! Input that cannot be read twice (a pipe) is read whole, up to
//! [`crate::audio::MAX_UNSEEKABLE_S`].

use super::{append_segment, join_words, Error, Recognizer, Transcript};
use crate::audio::level::DcBlocker;
use crate::audio::segment::FrameLevels;
use crate::audio::{WavFile, MODEL_RATE};
use crate::bias::EntityTrie;
use std::path::Path;

/// A file's transcript and what reading the file found.
#[derive(Debug, Clone, Default)]
pub struct FileTranscript {
    /// The transcript.
    pub transcript: Transcript,
    /// The input's duration (s).
    pub duration_s: f64,
    /// The data chunk was cut short (a recording cut off mid-write): what is there was
    /// transcribed.
    pub truncated: bool,
    /// Samples that were not numbers (NaN or infinite), heard as silence.
    pub non_finite: usize,
}

impl Recognizer {
    /// Reads and transcribes a WAV file with the set entities.
    pub fn transcribe_file(&self, path: &Path) -> Result<Transcript, Error> {
        Ok(self
            .transcribe_file_with(path, self.entities.as_deref())?
            .transcript)
    }

    /// Reads and transcribes a WAV file with another entity trie than the one set, in
    /// memory that does not grow with the file (see the module's doc).
    pub fn transcribe_file_with(
        &self,
        path: &Path,
        bias: Option<&EntityTrie>,
    ) -> Result<FileTranscript, Error> {
        let mut file = WavFile::open(path)?;
        if !file.is_regular() {
            let audio = file.read_all()?;
            return Ok(FileTranscript {
                duration_s: audio.duration_s(),
                truncated: audio.truncated,
                non_finite: audio.non_finite,
                transcript: self.transcribe_with(&audio, bias)?,
            });
        }
        let cfg = &self.cfg.segment;
        // Pass 1: the levels.
        let mut levels = FrameLevels::new(cfg);
        let mut piece = Vec::new();
        let mut dc = cfg.level.remove_dc.then(DcBlocker::default);
        loop {
            piece.clear();
            if file.read(&mut piece)? == 0 {
                break;
            }
            if let Some(dc) = dc.as_mut() {
                dc.process(&mut piece);
            }
            levels.push(&piece);
        }
        let n = levels.samples();
        let mut out = FileTranscript {
            duration_s: n as f64 / f64::from(MODEL_RATE),
            truncated: file.truncated(),
            non_finite: file.non_finite(),
            transcript: Transcript::default(),
        };
        let segments = levels.segments(cfg);
        // Pass 2: each segment's audio, decoded as soon as it is read.
        if !segments.is_empty() {
            let mut file = file.reopen()?;
            let mut dc = cfg.level.remove_dc.then(DcBlocker::default);
            // `held` is the input from sample `base` on, as far as read.
            let (mut held, mut base) = (Vec::new(), 0usize);
            let mut next = segments.iter().peekable();
            while next.peek().is_some() {
                let upto = held.len();
                let got = file.read(&mut held)?;
                if let Some(dc) = dc.as_mut() {
                    dc.process(&mut held[upto..]);
                }
                let ended = got == 0;
                while let Some(seg) = next.peek() {
                    if base + held.len() < seg.end && !ended {
                        break;
                    }
                    let a = (seg.start - base).min(held.len());
                    let b = (seg.end - base).min(held.len());
                    let post = self.posteriors_of(&held[a..b], seg.start)?;
                    let t = self.decode_with(&post.post, bias);
                    append_segment(&mut out.transcript, &post, t);
                    next.next();
                }
                if ended {
                    break;
                }
                // Keep only what the next segment needs.
                let keep_from = next.peek().map_or(base + held.len(), |s| s.start);
                let drop = keep_from.saturating_sub(base).min(held.len());
                held.drain(..drop);
                base += drop;
            }
        }
        out.transcript.text = join_words(&out.transcript.words);
        Ok(out)
    }
}
