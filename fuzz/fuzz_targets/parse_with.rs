//! The parser and validator with the command line's overrides (`--policy`,
//! `--scale`) applied: it must never panic, a scenario it accepts carries the
//! scale it was given, and a rejection is one line per error, each naming
//! the file.
//!
//! Input layout: byte 0 picks `--policy` (0..=3 a kind, else none), byte 1
//! picks `--scale` (see `scale`), the rest is the scenario text.

#![no_main]

use harness::scenario::{parse_with, Overrides, PolicyKind, MAX_SCALE};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fn scale(b: u8) -> Option<u32> {
    match b {
        0 => None,
        251 => Some(0),
        252 => Some(MAX_SCALE),
        253 => Some(MAX_SCALE + 1),
        254 => Some(u32::MAX),
        255 => Some(MAX_SCALE / 2),
        k => Some(u32::from(k)),
    }
}

fuzz_target!(|data: &[u8]| {
    let [p, k, rest @ ..] = data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let o = Overrides {
        policy: PolicyKind::ALL.get(usize::from(*p)).copied(),
        scale: scale(*k),
    };
    match parse_with(Path::new("fuzz.toml"), text, &o) {
        Ok(s) => {
            assert_eq!(
                s.scale,
                o.scale.unwrap_or(1),
                "accepted with a different scale"
            );
            if let Some(kind) = o.policy {
                assert_eq!(s.policy.kind, kind, "--policy was not applied");
            }
        }
        Err(e) => {
            assert!(!e.errors.is_empty(), "an Err without errors");
            let shown = e.to_string();
            let lines: Vec<&str> = shown.lines().collect();
            assert_eq!(
                lines.len(),
                e.errors.len(),
                "not one line per error:\n{shown}"
            );
            for l in lines {
                assert!(
                    l.starts_with("fuzz.toml"),
                    "a line does not name the file: {l:?}"
                );
            }
        }
    }
});
