//! The stage threads: resample, endpoint, model, decoder. Each loops over its input channel
//! and ends when that channel closes, closing its own output in turn.

use super::endpoint::{CutKind, Endpointer};
use super::events::{Event, EventKind};
use super::ring::{read_frames, CaptureStream, Clock};
use super::{InputMsg, PartialPolicy, PipelineConfig, Stats};
use crate::audio::level::DcBlocker;
use crate::audio::resample::StreamResampler;
use crate::audio::utterance::ModelInput;
use crate::audio::MODEL_RATE;
use crate::model::{ModelError, ModelStream, Posteriors, StreamGraph};
use crate::recognizer::{PartialDecoding, Recognizer};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// 16 kHz audio with the wall-clock time its last sample was captured.
pub(super) struct Chunk {
    samples: Vec<f32>,
    end_at: Instant,
}

/// An utterance's audio for the model.
pub(super) struct Job {
    utterance: u64,
    kind: CutKind,
    samples: Vec<f32>,
    /// The model's lead-in: the quiet before the speech ([`crate::audio::pad::Padding::lead`]).
    lead: Option<Vec<f32>>,
    /// How many of `samples` were heard (the rest is made-up post-roll).
    heard: usize,
    /// The level gain `samples` and `lead` were raised by.
    gain: f32,
    /// Session index of `samples[0]`.
    start: u64,
    voiced_start: u64,
    voiced_end: u64,
    voiced_end_at: Instant,
    audio_end_at: Instant,
    /// When the endpointer declared the end (finals).
    endpoint_at: Instant,
}

/// How long the resampler sleeps when a live ring is empty.
const POLL: Duration = Duration::from_millis(5);
/// Frames read from the ring at once, at most.
const READ_FRAMES: usize = 4096;

fn secs(idx: u64) -> f32 {
    (idx as f64 / f64::from(MODEL_RATE)) as f32
}

/// Capture rings -> mono 16 kHz chunks. Reports dropped frames as error events.
pub(super) fn resample(
    input: Receiver<InputMsg>,
    out: Sender<Chunk>,
    events: Sender<Event>,
    stats: &Stats,
) {
    let mut session_16k = 0u64;
    let mut dropped_before = 0u64;
    while let Ok(msg) = input.recv() {
        let stream = match msg {
            InputMsg::Stream(s) => s,
            InputMsg::Error(e) => {
                let _ = events.send(Event::error(e, secs(session_16k)));
                continue;
            }
        };
        match resample_stream(stream, &out, &events, stats, &mut session_16k) {
            Ok(d) => dropped_before += d,
            Err(e) => {
                let _ = events.send(Event::error(e, secs(session_16k)));
            }
        }
        stats
            .dropped_frames
            .store(dropped_before, Ordering::Relaxed);
    }
}

/// Reads one stream to its end; returns the frames it dropped.
fn resample_stream(
    mut stream: CaptureStream,
    out: &Sender<Chunk>,
    events: &Sender<Event>,
    stats: &Stats,
    session_16k: &mut u64,
) -> Result<u64, String> {
    let ch = usize::from(stream.channels);
    let rate = stream.rate;
    let mut rs = StreamResampler::new(rate).map_err(|e| e.to_string())?;
    let mut raw = vec![0.0f32; READ_FRAMES * ch];
    let mut mono = Vec::with_capacity(READ_FRAMES);
    let base_dropped = stats.dropped_frames.load(Ordering::Relaxed);
    let mut reported = 0u64;
    let mut last_report: Option<Instant> = None;
    let mut produced = 0u64; // 16 kHz samples of this stream
    let mut done = false;
    while !done {
        let closed = stream.writer_closed();
        let n = read_frames(&mut stream, &mut raw);
        let dropped = stream.shared.dropped_frames.load(Ordering::Relaxed);
        stats
            .dropped_frames
            .store(base_dropped + dropped, Ordering::Relaxed);
        let mut samples = Vec::new();
        if n == 0 {
            if !closed {
                std::thread::sleep(match stream.clock {
                    Clock::Paced => POLL,
                    Clock::Arrival => Duration::from_millis(1),
                });
                continue;
            }
            // The writer is gone and the ring was empty after it left: the end.
            rs.finish(&mut samples).map_err(|e| e.to_string())?;
            done = true;
        } else {
            mono.clear();
            if ch == 1 {
                mono.extend_from_slice(&raw[..n]);
            } else {
                let scale = 1.0 / ch as f32;
                mono.extend(
                    raw[..n]
                        .chunks_exact(ch)
                        .map(|f| f.iter().sum::<f32>() * scale),
                );
            }
            rs.push(&mono, &mut samples).map_err(|e| e.to_string())?;
        }
        if dropped > reported
            && (done || last_report.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)))
        {
            let msg = format!(
                "audio overrun: {} frames ({:.3} s) dropped because processing fell behind ({} in this stream)",
                dropped - reported,
                (dropped - reported) as f64 / f64::from(rate),
                dropped
            );
            reported = dropped;
            last_report = Some(Instant::now());
            let _ = events.send(Event::error(msg, secs(*session_16k)));
        }
        if samples.is_empty() {
            continue;
        }
        produced += samples.len() as u64;
        *session_16k += samples.len() as u64;
        let end_at = match (stream.clock, stream.shared.start()) {
            (Clock::Paced, Some(start)) => {
                // Dropped frames were captured too: they move the clock on.
                let t = produced as f64 / f64::from(MODEL_RATE) + dropped as f64 / f64::from(rate);
                start + Duration::from_secs_f64(t)
            }
            _ => Instant::now(),
        };
        if out.send(Chunk { samples, end_at }).is_err() {
            break;
        }
    }
    Ok(stream.shared.dropped_frames.load(Ordering::Relaxed))
}

/// Chunks -> utterance jobs (partials and finals).
pub(super) fn endpoint(
    cfg: PipelineConfig,
    input: Receiver<Chunk>,
    out: Sender<Job>,
    stats: &Stats,
) {
    let mut ep = Endpointer::new(cfg.endpoint);
    let mut closed = false;
    let mut handle = |cut: super::endpoint::Cut<'_>| {
        if closed {
            return;
        }
        // Padded and levelled as offline (judged from the utterance's own audio).
        let input = ModelInput::new(cut.samples, &cfg.endpoint.segment);
        let job = Job {
            utterance: cut.utterance,
            kind: cut.kind,
            lead: input.lead,
            heard: input.heard,
            gain: input.gain,
            samples: input.samples,
            start: cut.start,
            voiced_start: cut.voiced_start,
            voiced_end: cut.voiced_end,
            voiced_end_at: cut.voiced_end_at,
            audio_end_at: cut.audio_end_at,
            endpoint_at: Instant::now(),
        };
        let sent = match (cut.kind, cfg.partials) {
            (CutKind::Partial, PartialPolicy::Latest) if !out.is_empty() => {
                stats.partials_skipped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            (CutKind::Partial, PartialPolicy::Latest) => match out.try_send(job) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => {
                    stats.partials_skipped.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                Err(TrySendError::Disconnected(_)) => Err(()),
            },
            _ => out.send(job).map_err(|_| ()),
        };
        closed = sent.is_err();
    };
    // The same DC blocker as offline, over the whole stream.
    let mut dc = DcBlocker::default();
    for mut chunk in input.iter() {
        stats
            .samples_16k
            .fetch_add(chunk.samples.len() as u64, Ordering::Relaxed);
        if cfg.endpoint.segment.level.remove_dc {
            dc.process(&mut chunk.samples);
        }
        ep.push(&chunk.samples, chunk.end_at, &mut handle);
    }
    ep.finish(Instant::now(), &mut handle);
}

/// The part of an utterance already published as an early final: (utterance, session index
/// of its end of speech). Written by the decoder stage; the model stage reads it to skip the
/// utterance's closing final when nothing was said after the early one.
#[derive(Default)]
pub(super) struct EarlyFinal(std::sync::Mutex<Option<(u64, u64)>>);

impl EarlyFinal {
    fn get(&self) -> Option<(u64, u64)> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, v: Option<(u64, u64)>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = v;
    }
}

/// One utterance on the streaming acoustic model: partials are computed from it, each
/// running only the audio that came since the last one.
struct Streamed {
    utterance: u64,
    /// Session index of the utterance's first sample.
    start: u64,
    /// The level gain of the utterance's first partial, kept for all of its audio (every
    /// cut is levelled from its own audio; the stream's frames must not change level).
    gain: f32,
    stream: ModelStream,
}

impl Streamed {
    /// The posteriors of a partial's audio, from the stream of its utterance (a new stream
    /// when the utterance is new).
    fn posteriors(
        slot: &mut Option<Streamed>,
        graph: &StreamGraph,
        job: &Job,
    ) -> Result<Posteriors, ModelError> {
        let same = slot
            .as_ref()
            .is_some_and(|s| s.utterance == job.utterance && s.start == job.start);
        if !same {
            *slot = None;
        }
        let s = match slot {
            Some(s) => s,
            None => slot.insert(Streamed {
                utterance: job.utterance,
                start: job.start,
                gain: job.gain,
                stream: ModelStream::new(job.lead.as_deref())?,
            }),
        };
        let have = s.stream.samples();
        if job.heard > have {
            let scale = s.gain / job.gain;
            let new = &job.samples[have..job.heard];
            if scale == 1.0 {
                s.stream.push(new);
            } else {
                let scaled: Vec<f32> = new.iter().map(|x| x * scale).collect();
                s.stream.push(&scaled);
            }
        }
        s.stream.posteriors(graph)
    }
}

/// Jobs -> posteriors (`None` for confirmations and for closing finals with nothing new).
///
/// Partials come from the streaming graph when the model has one
/// ([`crate::model::AcousticModel::stream`]); everything else (early-final checks, finals)
/// from the whole-utterance graph over the utterance's audio, as offline. An early-final
/// check is held until its pause is confirmed (files read as fast as possible, and live
/// input on a machine slower than [`EAGER_CHECK_MAX_RTF`]): only then does the
/// whole-utterance graph run over the checked audio, and the check goes on just ahead of
/// its confirmation (the same audio, the same result, as early as the decoder could
/// publish it); a check whose pause does not hold (speech goes on) costs nothing.
pub(super) fn model(
    rec: &Recognizer,
    policy: PartialPolicy,
    input: Receiver<Job>,
    out: Sender<(Job, Option<Posteriors>)>,
    events: Sender<Event>,
    early: &EarlyFinal,
    stats: &Stats,
) {
    let mut streamed: Option<Streamed> = None;
    // A check waiting for its confirmation.
    let mut held: Option<Job> = None;
    // Seconds the last whole-utterance pass took per second of its audio (none yet: 0).
    let mut whole_rtf = 0.0f64;
    for job in input.iter() {
        if matches!(job.kind, CutKind::Final | CutKind::Forced) {
            streamed = None;
        }
        // Checks are held for their confirmation, except live on a machine fast enough that
        // running them at once costs little and makes the early final sooner. Files read as
        // fast as possible always hold them (the same output on every run).
        let defer_checks = policy == PartialPolicy::All || whole_rtf > EAGER_CHECK_MAX_RTF;
        match job.kind {
            CutKind::Check if defer_checks => {
                held = Some(job);
                continue;
            }
            CutKind::Confirm => {
                // The held check of this pause goes on just ahead of its confirmation.
                let check = held
                    .take()
                    .filter(|c| (c.utterance, c.voiced_end) == (job.utterance, job.voiced_end));
                if let Some(check) = check {
                    if !whole_pass(rec, check, &out, &events, &mut whole_rtf) {
                        break;
                    }
                }
            }
            CutKind::Final | CutKind::Forced => held = None,
            CutKind::Check | CutKind::Partial => {}
        }
        if job.kind == CutKind::Partial && policy == PartialPolicy::Latest && !input.is_empty() {
            stats.partials_skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let nothing_new =
            job.kind == CutKind::Final && early.get() == Some((job.utterance, job.voiced_end));
        if job.kind == CutKind::Confirm || nothing_new {
            if out.send((job, None)).is_err() {
                break;
            }
            continue;
        }
        let post = match (job.kind, rec.model().stream()) {
            (CutKind::Partial, Some(graph)) => Streamed::posteriors(&mut streamed, graph, &job),
            _ => {
                if !whole_pass(rec, job, &out, &events, &mut whole_rtf) {
                    break;
                }
                continue;
            }
        };
        if !send_posteriors(job, post, &out, &events) {
            break;
        }
    }
}

/// Live early-final checks run at once (not held for their confirmation) while the
/// whole-utterance graph takes at most this many seconds per second of audio (the first
/// pass of a session included): on a desktop about 0.01 (more for a first short pass on a
/// busy machine), on a Raspberry Pi 4 core about 0.15-0.2 (234 M instructions per audio
/// second at roughly 1.2-1.5 G a second).
const EAGER_CHECK_MAX_RTF: f64 = 0.1;

/// The whole-utterance graph over a job's audio, sent on (its real-time factor in `rtf`);
/// false when the decoder is gone.
fn whole_pass(
    rec: &Recognizer,
    job: Job,
    out: &Sender<(Job, Option<Posteriors>)>,
    events: &Sender<Event>,
    rtf: &mut f64,
) -> bool {
    let started = Instant::now();
    let post = rec
        .model()
        .posteriors_led(job.lead.as_deref(), &job.samples);
    let audio_s = job.samples.len() as f64 / f64::from(MODEL_RATE);
    if audio_s > 0.0 {
        *rtf = started.elapsed().as_secs_f64() / audio_s;
    }
    send_posteriors(job, post, out, events)
}

/// Sends a job's posteriors on (an error event instead when there are none); false when the
/// decoder is gone.
fn send_posteriors(
    mut job: Job,
    post: Result<Posteriors, ModelError>,
    out: &Sender<(Job, Option<Posteriors>)>,
    events: &Sender<Event>,
) -> bool {
    match post {
        Ok(post) => {
            job.samples = Vec::new();
            job.lead = None;
            out.send((job, Some(post))).is_ok()
        }
        Err(e) => {
            let _ = events.send(Event::error(
                format!("acoustic model: {e}"),
                secs(job.voiced_end),
            ));
            true
        }
    }
}

/// Posteriors -> events.
///
/// Early finals: a [`CutKind::Check`] is decoded (and shown as a partial); if its text reads
/// as a finished sentence (`ln p(</s> | last words)` at least `sentence_end_min`) and the
/// [`CutKind::Confirm`] of the same pause follows, it is published as the final. Should the
/// speaker go on within the utterance's trailing silence, the utterance is decoded whole as
/// before (the new words keep their left context) and its later results carry only the words
/// after the early final.
pub(super) fn decoder(
    rec: &Recognizer,
    bias: &super::EntityHandle,
    cfg: PipelineConfig,
    input: Receiver<(Job, Option<Posteriors>)>,
    events: Sender<Event>,
    early: &EarlyFinal,
    stats: &Stats,
) {
    let policy = cfg.partials;
    // Words before this (session seconds) were published by an early final of the utterance.
    let split_margin = cfg.endpoint.early_final_s / 2.0;
    // The utterance whose last partial had words (an empty final then still clears it).
    let mut shown: Option<u64> = None;
    // A checked result that reads as finished: (utterance, voiced_end, event).
    let mut pending: Option<(u64, u64, Event)> = None;
    // The search state and the rescoring's searches, kept from one partial of an
    // utterance to the next (the same results, at the cost of its recent frames only), for
    // this utterance and trie.
    let mut partials = PartialDecoding::default();
    let mut partials_for: Option<(u64, Option<Arc<crate::bias::EntityTrie>>)> = None;
    for (job, post) in input.iter() {
        let partial = matches!(job.kind, CutKind::Partial | CutKind::Check);
        if job.kind == CutKind::Partial && policy == PartialPolicy::Latest && !input.is_empty() {
            stats.partials_skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let done = early.get().filter(|d| d.0 == job.utterance);
        let now = Instant::now();
        let ms = |since: Instant| now.saturating_duration_since(since).as_secs_f64() * 1e3;
        let Some(post) = post else {
            // A confirmation, or a closing final with nothing after the early final.
            let key = (job.utterance, job.voiced_end);
            if job.kind == CutKind::Confirm {
                if let Some((u, v, mut ev)) = pending.take() {
                    if (u, v) == key {
                        ev.kind = EventKind::Final;
                        ev.latency_ms = Some(ms(job.voiced_end_at));
                        ev.endpoint_latency_ms = Some(ms(job.endpoint_at));
                        early.set(Some(key));
                        shown = None;
                        stats.finals.fetch_add(1, Ordering::Relaxed);
                        stats.early_finals.fetch_add(1, Ordering::Relaxed);
                        if events.send(ev).is_err() {
                            break;
                        }
                    }
                }
            }
            continue;
        };
        let entities = bias.get();
        let same = partials_for.as_ref().is_some_and(|(u, m)| {
            *u == job.utterance
                && match (m, &entities) {
                    (Some(m), Some(e)) => Arc::ptr_eq(m, e),
                    (None, None) => true,
                    _ => false,
                }
        });
        if !same {
            partials.clear();
            partials_for = Some((job.utterance, entities.clone()));
        }
        let mut t = if job.kind == CutKind::Partial {
            rec.decode_partial(&post, entities.as_deref(), &mut partials)
        } else {
            rec.decode_with(&post, entities.as_deref())
        };
        if matches!(job.kind, CutKind::Final | CutKind::Forced) {
            let (reused, run) = partials.searches();
            log::debug!(
                "utterance {}: partials' frames decoded again {} of {}; rescoring searches reused {reused}, run {run}",
                job.utterance,
                partials.decoded_frames - partials.reused_frames,
                partials.decoded_frames,
            );
            partials = PartialDecoding::default();
            partials_for = None;
        }
        let offset = secs(job.start);
        // Whether a checked pause may end the sentence (the whole utterance is the context).
        let sentence_ends = job.kind == CutKind::Check && {
            let lp = rec.sentence_end_logprob(&t.words);
            log::debug!("check of utterance {}: ln p(</s>) {lp:.2}", job.utterance);
            lp >= cfg.sentence_end_min
        };
        if let Some(d) = done {
            t.keep_from(secs(d.1) + split_margin - offset);
        }
        // Words heard in the made-up post-roll end where the audio does (as offline).
        let until = job.heard as f32 / MODEL_RATE as f32;
        for w in &mut t.words {
            w.end = w.end.min(until);
            w.start = w.start.min(w.end) + offset;
            w.end += offset;
        }
        for e in &mut t.entities {
            e.end = e.end.min(until);
            e.start = e.start.min(e.end) + offset;
            e.end += offset;
        }
        let closing = matches!(job.kind, CutKind::Final | CutKind::Forced);
        if closing {
            pending = None;
            if done.is_some() {
                early.set(None);
            }
        }
        if sentence_ends && !t.text.is_empty() {
            let mut ev = result_event(EventKind::Final, &job, t.clone(), None, None);
            if done.is_some() {
                ev.start = ev.words.first().map_or(ev.end, |w| w.start);
            }
            pending = Some((job.utterance, job.voiced_end, ev));
        }
        if t.text.is_empty() && shown != Some(job.utterance) {
            continue; // nothing heard yet, nothing shown: nothing to say or to clear
        }
        if partial {
            shown = Some(job.utterance);
        } else {
            shown = None;
        }
        let kind = if partial {
            EventKind::Partial
        } else {
            EventKind::Final
        };
        let latency = if partial {
            ms(job.audio_end_at)
        } else {
            ms(job.voiced_end_at)
        };
        let endpoint = (!partial).then(|| ms(job.endpoint_at));
        let mut ev = result_event(kind, &job, t, Some(latency), endpoint);
        if done.is_some() {
            ev.start = ev.words.first().map_or(ev.end, |w| w.start);
        }
        let counter = if partial {
            &stats.partials
        } else {
            &stats.finals
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if events.send(ev).is_err() {
            break;
        }
    }
}

fn result_event(
    kind: EventKind,
    job: &Job,
    t: crate::recognizer::Transcript,
    latency_ms: Option<f64>,
    endpoint_latency_ms: Option<f64>,
) -> Event {
    Event {
        kind,
        text: t.text,
        entities: t.entities,
        start: secs(job.voiced_start),
        end: secs(job.voiced_end),
        latency_ms,
        endpoint_latency_ms,
        words: t.words,
        utterance: Some(job.utterance),
    }
}
