//! Go-compatible YAML: a parser that reads what kustomize reads and an emitter byte-compatible with kubectl's output.

pub mod edit;
mod emit;
mod error;
mod folded;
mod number;
mod parse;
mod resolve;

pub use emit::{to_string, to_string_multi};
pub use error::{Error, Location};
pub use parse::{from_str, from_str_multi, from_str_multi_with, from_str_with, ParseOptions};
