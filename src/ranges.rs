//! Range checks for settings: each returns the field's name and its allowed range when the
//! value is outside it (what the configs' `validate()` methods report).

/// `v` finite and within `lo..=hi`.
pub(crate) fn within(name: &str, v: f32, lo: f32, hi: f32) -> Result<(), String> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(format!("{name} must be within {lo}..={hi}, got {v}"))
    }
}

/// `v` finite, above 0 and at most `hi`.
pub(crate) fn positive(name: &str, v: f32, hi: f32) -> Result<(), String> {
    if v.is_finite() && v > 0.0 && v <= hi {
        Ok(())
    } else {
        Err(format!("{name} must be above 0 and at most {hi}, got {v}"))
    }
}

/// `v` within `lo..=hi`.
pub(crate) fn count(name: &str, v: usize, lo: usize, hi: usize) -> Result<(), String> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(format!("{name} must be within {lo}..={hi}, got {v}"))
    }
}
