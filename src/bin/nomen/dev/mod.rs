//! Developer-only commands and flags (cargo feature `dev-tools`): peer exports for
//! `tools/peer_flashlight.py` and the unit confusion counts behind `tools/make_confusions.py`.

pub mod confusions;
pub mod peer;
