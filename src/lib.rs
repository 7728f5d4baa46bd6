//! nomen: offline English speech recognition biased toward the user's own names.
pub mod audio;
pub mod decoder;
pub mod lexicon;
pub mod lm;
pub mod model;
pub mod recognizer;
pub mod bias;
