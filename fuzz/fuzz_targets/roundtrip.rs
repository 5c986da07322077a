//! `render` is the inverse of `parse` (render.rs: `parse(render(s)) == s`
//! for a scenario loaded without `--scale`): whatever text the validator
//! accepts, its rendering must be accepted too and give the same scenario.

#![no_main]

use harness::scenario::{parse, render};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(s) = parse(Path::new("fuzz.toml"), text) else {
        return;
    };
    let rendered = render(&s, &[]);
    match parse(Path::new("rendered.toml"), &rendered) {
        Ok(again) => assert!(
            again == s,
            "parse(render(s)) != s\n--- rendered:\n{rendered}\n--- first: {s:?}\n--- again: {again:?}"
        ),
        Err(e) => panic!("the rendering is rejected:\n{e}\n--- rendered:\n{rendered}"),
    }
});
