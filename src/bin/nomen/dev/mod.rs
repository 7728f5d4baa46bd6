//! Developer-only commands and flags (cargo feature `dev-tools`): peer exports for
//! `tools/eval/peer_flashlight.py` and the unit confusion counts behind `tools/build/make_confusions.py`.

pub mod confusions;
pub mod peer;
