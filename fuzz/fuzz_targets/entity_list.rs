//! The contact-list readers (plain text, CSV, vCard, and the format sniffing) on any bytes:
//! a list with warnings or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nomen::entities::{EntitySet, Format};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    for (format, name) in [
        (Format::Auto, "list"),
        (Format::Text, "list.txt"),
        (Format::Csv, "list.csv"),
        (Format::Vcard, "list.vcf"),
    ] {
        let mut set = EntitySet::new();
        if set.add_bytes(data, format, Path::new(name)).is_ok() {
            for e in set.entities() {
                assert!(!e.words.is_empty());
            }
        }
    }
});
