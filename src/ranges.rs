//! Range checks for settings: each returns the field's name and its allowed range when the
//! value is outside it (the [`ConfigError`] the configs' `validate()` methods report).

use crate::error::ConfigError;

/// `v` finite and within `lo..=hi`.
pub(crate) fn within(name: &'static str, v: f32, lo: f32, hi: f32) -> Result<(), ConfigError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(ConfigError::new(
            name,
            format!("must be within {lo}..={hi}, got {v}"),
        ))
    }
}

/// `v` finite, above 0 and at most `hi`.
pub(crate) fn positive(name: &'static str, v: f32, hi: f32) -> Result<(), ConfigError> {
    if v.is_finite() && v > 0.0 && v <= hi {
        Ok(())
    } else {
        Err(ConfigError::new(
            name,
            format!("must be above 0 and at most {hi}, got {v}"),
        ))
    }
}

/// `v` within `lo..=hi`.
pub(crate) fn count(name: &'static str, v: usize, lo: usize, hi: usize) -> Result<(), ConfigError> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(ConfigError::new(
            name,
            format!("must be within {lo}..={hi}, got {v}"),
        ))
    }
}

/// A duration in seconds: finite and within `lo..=hi`.
pub(crate) fn seconds(name: &'static str, v: f32, lo: f32, hi: f32) -> Result<(), ConfigError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(ConfigError::new(
            name,
            format!("must be between {lo} and {hi} seconds, got {v}"),
        ))
    }
}
