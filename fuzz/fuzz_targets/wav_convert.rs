//! libFuzzer target `wav_convert`: see `../targets.rs`.
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::wav_convert(data));
