//! nomen: offline English speech recognition biased toward the user's own names.
pub mod audio;
pub mod bias;
pub mod cache;
pub mod decoder;
pub mod entities;
pub mod g2p;
pub mod lexicon;
pub mod lm;
pub mod manifest;
pub mod model;
pub mod pipeline;
mod ranges;
pub mod recognizer;
