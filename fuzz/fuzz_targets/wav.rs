//! The WAV reader on any bytes: an error or audio, never a panic, never memory beyond a
//! small multiple of the input (the reader decodes what is there).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(wav) = nomen::audio::wav::parse(data) {
        // The frames read fit in what was given.
        assert!(wav.samples.len() <= data.len());
        let _ = wav.to_mono();
    }
    let _ = nomen::audio::decode_wav(data);
});
