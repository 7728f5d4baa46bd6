//! Live recognition: threads joined by bounded channels, from captured samples to partial
//! and final results.
//!
//! ```text
//! source (cpal callback | file feeder) ──ring (SPSC, lock-free, drops+counts when full)──►
//!   resample (mono, 16 kHz) ──chunks──► endpoint (VAD, utterances, partial/final cuts)
//!   ──jobs──► model (posteriors of the utterance) ──► decoder (biased beam search)
//!   ──events──► the caller
//! ```
//!
//! Every channel is bounded. Partial results are stale once a newer one or the final is
//! queued: under [`PartialPolicy::Latest`] (live input) the stages skip them rather than
//! fall behind; under [`PartialPolicy::All`] (a file read as fast as possible) every one is
//! computed, so the output does not depend on timing. Partials come from the acoustic
//! model's streaming graph where it has one ([`crate::model::ModelStream`]: each partial runs
//! only the audio since the last one, the encoder's past kept); otherwise each re-runs the
//! whole-utterance graph over the utterance so far. The final decodes the whole utterance
//! with the whole-utterance graph, padded as an offline segment is
//! ([`crate::audio::pad::Padding`]).
//!
//! Early finals: a short pause is checked (the utterance decoded with made-up quiet as its
//! post-roll; only once the pause has held, except live on a fast machine) and, when the words
//! read as a finished sentence and the pause holds, published as the final some 0.2 s after
//! the end of speech; speech that follows within the trailing
//! silence stays in the same utterance and comes as new words
//! ([`EndpointConfig::early_final_s`], [`PipelineConfig::sentence_end_min`]).

pub mod endpoint;
pub mod events;
#[cfg(feature = "mic")]
pub mod mic;
pub mod reload;
pub mod ring;
pub mod source;
mod stages;

pub use endpoint::{EndpointConfig, Endpointer};
pub use events::{Event, EventKind};
pub use reload::{ListReloader, Reloaded};
pub use ring::{capture_ring, CaptureStream, Clock, RingWriter};
pub use source::{spawn_feeder, GeneratedSource, Pacing, SampleSource, WavSource};

use crate::bias::EntityTrie;
use crate::recognizer::Recognizer;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What a source hands the pipeline.
pub enum InputMsg {
    /// A new capture stream (the first, or after a reconnection); it is read until its
    /// writer is gone and it is empty.
    Stream(CaptureStream),
    /// A source's error, passed on as an error event.
    Error(String),
}

/// Whether stale partial results are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartialPolicy {
    /// Skip a partial when newer work is queued (live input: never fall behind).
    Latest,
    /// Compute every partial (files read as fast as possible: the same output every run).
    All,
}

/// Pipeline settings.
#[derive(Debug, Clone, Copy)]
pub struct PipelineConfig {
    /// Voice activity and endpointing. Its `segment` settings (thresholds, padding, level)
    /// are also how each utterance is prepared for the model: give it the recognizer's
    /// ([`crate::recognizer::RecognizerConfig::segment`], as `nomen listen` does) so that an
    /// utterance is heard as `transcribe` hears a file.
    pub endpoint: EndpointConfig,
    /// Stale partials.
    pub partials: PartialPolicy,
    /// Early finals (see [`EndpointConfig::early_final_s`]) only for results whose last
    /// words end a sentence at least this likely: `ln p(</s> | last words)` in the word LM.
    /// `f32::NEG_INFINITY`: at any pause.
    pub sentence_end_min: f32,
}

impl PipelineConfig {
    /// Checks every setting: `Err` names the first that is out of its range.
    /// [`Pipeline::start`] calls it.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        self.endpoint.validate().map_err(|e| e.within("endpoint"))?;
        // A natural log of a probability; -inf: at any pause, +inf: never.
        let v = self.sentence_end_min;
        if v.is_nan() || (v.is_finite() && v > 0.0) {
            return Err(crate::ConfigError::new(
                "sentence_end_min",
                format!(
                    "must be a natural log of a probability (at most 0, or -inf or inf), got {v}"
                ),
            ));
        }
        Ok(())
    }
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            endpoint: EndpointConfig::default(),
            partials: PartialPolicy::Latest,
            sentence_end_min: DEFAULT_SENTENCE_END_MIN,
        }
    }
}

/// Default [`PipelineConfig::sentence_end_min`].
pub const DEFAULT_SENTENCE_END_MIN: f32 = -4.0;

/// Counters of a session.
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames dropped by full capture rings (all streams).
    pub dropped_frames: AtomicU64,
    /// 16 kHz samples that went through the endpointer.
    pub samples_16k: AtomicU64,
    /// Partial events sent.
    pub partials: AtomicU64,
    /// Partials skipped because newer work was queued.
    pub partials_skipped: AtomicU64,
    /// Final events sent.
    pub finals: AtomicU64,
    /// Of those, early finals (published at a short pause; see
    /// [`EndpointConfig::early_final_s`]).
    pub early_finals: AtomicU64,
}

/// A plain copy of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Frames dropped by full capture rings.
    pub dropped_frames: u64,
    /// 16 kHz samples seen.
    pub samples_16k: u64,
    /// Partial events sent.
    pub partials: u64,
    /// Partials skipped.
    pub partials_skipped: u64,
    /// Final events sent.
    pub finals: u64,
    /// Early finals among them.
    pub early_finals: u64,
}

impl Stats {
    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            dropped_frames: l(&self.dropped_frames),
            samples_16k: l(&self.samples_16k),
            partials: l(&self.partials),
            partials_skipped: l(&self.partials_skipped),
            finals: l(&self.finals),
            early_finals: l(&self.early_finals),
        }
    }
}

/// The entity list the decoder stage biases toward, replaceable while the pipeline runs (a
/// changed address book takes effect from the next result on).
#[derive(Clone, Default)]
pub struct EntityHandle(Arc<std::sync::Mutex<Option<Arc<EntityTrie>>>>);

impl EntityHandle {
    /// A handle holding `entities`.
    pub fn new(entities: Option<Arc<EntityTrie>>) -> Self {
        EntityHandle(Arc::new(std::sync::Mutex::new(entities)))
    }

    /// The current entities.
    pub fn get(&self) -> Option<Arc<EntityTrie>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the entities (or clears them).
    pub fn set(&self, entities: Option<Arc<EntityTrie>>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = entities;
    }
}

/// A running pipeline.
pub struct Pipeline {
    events: Receiver<Event>,
    threads: Vec<JoinHandle<()>>,
    stats: Arc<Stats>,
    entities: EntityHandle,
}

/// Capacity of the channels between stages (chunks of about 10-100 ms).
const CHUNK_QUEUE: usize = 64;
/// Capacity of the event channel.
const EVENT_QUEUE: usize = 256;

impl Pipeline {
    /// Starts the stages. Audio comes from the streams sent on `input`; the session ends
    /// when every sender of `input` is gone and the last stream is read. `Err` when a
    /// setting of `cfg` is out of its range ([`PipelineConfig::validate`]).
    pub fn start(
        rec: Arc<Recognizer>,
        bias: Option<Arc<EntityTrie>>,
        cfg: PipelineConfig,
        input: Receiver<InputMsg>,
    ) -> Result<Pipeline, crate::ConfigError> {
        cfg.validate()?;
        let stats = Arc::new(Stats::default());
        let entities = EntityHandle::new(bias);
        let (ev_tx, ev_rx) = bounded::<Event>(EVENT_QUEUE);
        let (chunk_tx, chunk_rx) = bounded(CHUNK_QUEUE);
        // At most one partial waits per stage (a newer one makes it stale), and there is
        // always room for a final behind it, so a final never waits for a stale partial.
        let (job_tx, job_rx) = bounded(2);
        let (post_tx, post_rx) = bounded(2);
        let early = Arc::new(stages::EarlyFinal::default());
        let mut threads = Vec::new();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(format!("nomen-{name}"))
                .spawn(f)
                .expect("spawn pipeline thread")
        };
        {
            let (stats, ev) = (stats.clone(), ev_tx.clone());
            threads.push(spawn(
                "resample",
                Box::new(move || stages::resample(input, chunk_tx, ev, &stats)),
            ));
        }
        {
            let stats = stats.clone();
            threads.push(spawn(
                "endpoint",
                Box::new(move || stages::endpoint(cfg, chunk_rx, job_tx, &stats)),
            ));
        }
        {
            let (stats, ev, rec, early) =
                (stats.clone(), ev_tx.clone(), rec.clone(), early.clone());
            threads.push(spawn(
                "model",
                Box::new(move || {
                    stages::model(&rec, cfg.partials, job_rx, post_tx, ev, &early, &stats)
                }),
            ));
        }
        {
            let (stats, bias) = (stats.clone(), entities.clone());
            threads.push(spawn(
                "decoder",
                Box::new(move || stages::decoder(&rec, &bias, cfg, post_rx, ev_tx, &early, &stats)),
            ));
        }
        Ok(Pipeline {
            events: ev_rx,
            threads,
            stats,
            entities,
        })
    }

    /// Starts a session over one source of samples (a [`WavSource`], a [`GeneratedSource`],
    /// ...) fed at `pacing`: [`Pipeline::start`] with the feeding thread of
    /// [`spawn_feeder`] (two seconds of ring), which [`Pipeline::join`] also waits for. The
    /// session ends with the source.
    pub fn from_source(
        rec: Arc<Recognizer>,
        bias: Option<Arc<EntityTrie>>,
        cfg: PipelineConfig,
        source: Box<dyn SampleSource>,
        pacing: Pacing,
    ) -> Result<Pipeline, crate::ConfigError> {
        let (tx, rx) = input_channel();
        let ring = source.rate() as usize * 2;
        let mut pipe = Pipeline::start(rec, bias, cfg, rx)?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        pipe.threads
            .push(spawn_feeder(source, pacing, ring, tx, stop));
        Ok(pipe)
    }

    /// The entities the decoder biases toward; [`EntityHandle::set`] replaces them live.
    pub fn entities(&self) -> &EntityHandle {
        &self.entities
    }

    /// The events, in order; the channel closes when the session is over.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// The counters so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Waits for the session to end (events not yet read are discarded) and returns the
    /// counters.
    pub fn join(self) -> StatsSnapshot {
        while self.events.recv().is_ok() {}
        for t in self.threads {
            let _ = t.join();
        }
        self.stats.snapshot()
    }
}

/// A channel for [`Pipeline::start`]'s input.
pub fn input_channel() -> (Sender<InputMsg>, Receiver<InputMsg>) {
    bounded(4)
}
