//! The scenario parser and validator on arbitrary text: it must never panic,
//! and a rejection must say something and name the file.

#![no_main]

use harness::scenario::parse;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = parse(Path::new("fuzz.toml"), text) {
        assert!(!e.errors.is_empty(), "an Err without errors");
        let shown = e.to_string();
        assert!(!shown.is_empty(), "an empty error message");
        assert!(
            shown.contains("fuzz.toml"),
            "the error does not name the file: {shown}"
        );
    }
});
