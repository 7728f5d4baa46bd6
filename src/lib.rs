//! nomen: offline English speech recognition for small ARM boards that gets the user's
//! own names right, and never uses the network.
//!
//! Audio flows one way: samples ([`audio`]) -> the acoustic model's per-frame phone
//! posteriors ([`model`]) -> a lexicon and word-LM beam search ([`decoder`]), biased toward
//! the user's contact lists ([`bias`], [`entities`]) -> a [`Transcript`] with word times
//! and the names found, in spoken form; [`written`] renders it as text people paste
//! ("Please call my sister at 7:30."). [`Recognizer`] runs it over files or audio in
//! memory; [`Pipeline`] runs it live (microphone or file), with partial results while the
//! user speaks and a final result when they stop.
//!
//! # Transcribing a file, biased toward a contact list
//!
//! ```
//! use nomen::{Recognizer, RecognizerConfig};
//!
//! // The model directory: $NOMEN_MODELS, ./models-quantized, or next to the program.
//! let cfg = RecognizerConfig::find()?;
//! // Plain text (a name per line), a phone's CSV export or vCard.
//! let rec = Recognizer::load_biased(cfg, &["tests/fixtures/bias/contacts.txt"])?;
//! let t = rec.transcribe_file("tests/fixtures/bias/espeak_1.wav".as_ref())?;
//! assert_eq!(t.text, "call Shreya Banerjee please");
//! for name in &t.entities {
//!     println!("{} at {:.2}-{:.2} s", name.text, name.start, name.end);
//! }
//! let written = nomen::written::write(&t.words, &t.entities, &nomen::WrittenConfig::default());
//! assert_eq!(written.text, "Call Shreya Banerjee please.");
//! # Ok::<(), nomen::Error>(())
//! ```
//!
//! Live dictation is [`Pipeline`]: see `examples/listen.rs`. Every configuration type
//! checks itself (`validate()`, a [`ConfigError`] naming the setting and its range);
//! [`Recognizer::load`] and [`Pipeline::start`] refuse settings out of range. Errors of
//! every part come as one [`Error`].

pub mod audio;
pub mod bias;
pub mod cache;
pub mod decoder;
pub mod entities;
mod error;
pub mod g2p;
pub mod lexicon;
pub mod lm;
pub mod manifest;
pub mod model;
pub mod pipeline;
mod ranges;
pub mod recognizer;
pub mod written;

pub use bias::{BiasConfig, EntityTrie};
pub use entities::EntitySet;
pub use error::{ConfigError, Error, FileError};
pub use pipeline::{Event, EventKind, Pipeline, PipelineConfig};
pub use recognizer::{EntityHit, Recognizer, RecognizerConfig, Transcript, Word};
pub use written::{Written, WrittenConfig};
