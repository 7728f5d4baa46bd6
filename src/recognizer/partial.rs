//! Decoding the growing results of one live utterance without starting over each time.
//!
//! A live partial is the utterance so far, decoded from its first frame: every few hundred
//! milliseconds the beam search and the entity rescoring went over all of it again, a cost
//! that grows with the square of the utterance's length. The streaming acoustic model
//! gives the same rows for every frame but the last few from one partial to the next, so
//! [`PartialDecoding`] keeps the beam search's state at a frame a little before the end and
//! goes on from it next time, and keeps the rescoring's searches ([`SearchMemo`]). Each
//! kept row is checked bit for bit (a hash per row): where the rows differ, the search
//! starts over from the first. The transcript is exactly what [`Recognizer::decode_with`]
//! gives for the same posteriors.

use super::{Recognizer, Search, Transcript};
use crate::bias::rescore::SearchMemo;
use crate::bias::EntityTrie;
use crate::decoder::hash::row_hash;
use crate::decoder::{BeamState, LanguageModel};
use crate::lm::WordLm;
use crate::model::Posteriors;
use std::cell::RefCell;

/// Frames at the end of a partial's posteriors that the search does not keep a state past:
/// the streaming model computes its last frames again with more audio (its look-ahead and
/// head context, 5 frames).
const UNSETTLED_FRAMES: usize = 8;

/// One utterance's partial results decoded incrementally (see the module's doc). The owner
/// calls [`PartialDecoding::clear`] when the utterance or the entity trie changes.
#[derive(Debug, Default)]
pub struct PartialDecoding {
    state: BeamState<<WordLm as LanguageModel>::State>,
    /// A hash of each row the state has seen.
    rows: Vec<u64>,
    memo: RefCell<SearchMemo>,
    /// Frames of the partials so far that a kept state spared decoding again.
    pub reused_frames: u64,
    /// Frames of the partials so far.
    pub decoded_frames: u64,
}

impl PartialDecoding {
    /// Forgets the utterance (a new one, or another entity trie).
    pub fn clear(&mut self) {
        self.state = BeamState::default();
        self.rows.clear();
        self.memo.borrow_mut().clear();
    }

    /// The rescoring's searches: (reused, run) so far.
    pub fn searches(&self) -> (u64, u64) {
        let m = self.memo.borrow();
        (m.hits, m.misses)
    }
}

impl Recognizer {
    /// [`Recognizer::decode_with`] of a live partial, going on from what `state` kept of
    /// the partial before (same utterance, same `bias`): the same transcript.
    pub fn decode_partial(
        &self,
        post: &Posteriors,
        bias: Option<&EntityTrie>,
        state: &mut PartialDecoding,
    ) -> Transcript {
        if self.cfg.search != Search::Beam {
            return self.decode_with(post, bias);
        }
        let v = post.vocab.max(1);
        let frames = post.data.len() / v;
        let data = &post.data[..frames * v];
        // The rows the kept state has seen must be these rows.
        let kept = state.rows.len().min(frames);
        let same = state.rows.len() <= frames
            && (0..kept).all(|t| state.rows[t] == row_hash(&data[t * v..(t + 1) * v]));
        if !same {
            state.state = BeamState::default();
            state.rows.clear();
        }
        let mut dec = self.beam_decoder(bias);
        dec.load_state(&state.state);
        let from = state.rows.len();
        state.reused_frames += from as u64;
        state.decoded_frames += frames as u64;
        let settled = frames.saturating_sub(UNSETTLED_FRAMES).max(from);
        dec.advance(&data[from * v..settled * v]);
        dec.save_state(&mut state.state);
        state
            .rows
            .extend((from..settled).map(|t| row_hash(&data[t * v..(t + 1) * v])));
        dec.advance(&data[settled * v..]);
        let hyps = dec.finish();
        self.transcript_of(hyps, post, bias, Some(&state.memo))
    }
}
