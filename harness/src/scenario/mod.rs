//! Scenario files: serde types (`raw`), validation into internal types
//! (`validate`), the internal types themselves (`types`), and writing them
//! back out as a file (`render`).

mod raw;
mod render;
mod types;
mod validate;

pub use render::render;
pub use types::*;
pub(crate) use validate::overlaps;
pub use validate::{
    load, load_with, parse, parse_with, FieldError, Overrides, ScenarioError, MAX_SCALE,
};
