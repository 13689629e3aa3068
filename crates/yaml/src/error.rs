//! Errors of the YAML parser: every variant carries the 1-based line and column at fault.

use std::fmt;

/// Where in a YAML text an error was found: 1-based line and column, and the file once known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// File name, added by the caller through [`Error::with_file`].
    pub file: Option<String>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}:{}:{}", self.line, self.column),
            None => write!(f, "line {}, column {}", self.line, self.column),
        }
    }
}

/// Why a YAML text could not be read into a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The text is not well-formed YAML (tokenizer or grammar error).
    #[error("{at}: invalid YAML: {message}")]
    Syntax {
        /// Position of the offending token.
        at: Location,
        /// What the tokenizer expected.
        message: String,
    },
    /// A mapping holds the same key twice (kustomize rejects this too).
    #[error("{at}: mapping key {key:?} already defined at line {first_line}; remove one of them")]
    DuplicateKey {
        /// Position of the second occurrence.
        at: Location,
        /// The repeated key.
        key: String,
        /// 1-based line of the first occurrence.
        first_line: usize,
    },
    /// Aliases expand to more nodes than [`crate::ParseOptions::max_alias_expansion`] allows
    /// (a "billion laughs" document).
    #[error("{at}: document contains excessive aliasing (more than {limit} nodes expanded from aliases)")]
    AliasLimit {
        /// Position of the alias that crossed the limit.
        at: Location,
        /// The limit in force.
        limit: usize,
    },
    /// Collections nest deeper than [`crate::ParseOptions::max_depth`].
    #[error("{at}: collections nested deeper than {limit} levels")]
    TooDeep {
        /// Position of the collection that crossed the limit.
        at: Location,
        /// The limit in force.
        limit: usize,
    },
    /// Well-formed YAML that has no JSON form or that the Go decoder rejects: `.inf`/`.nan`,
    /// non-string keys in nested maps, a value that does not fit its explicit tag, bad merges.
    #[error("{at}: {message}")]
    Unsupported {
        /// Position of the offending node.
        at: Location,
        /// What is wrong and what to do.
        message: String,
    },
    /// [`crate::from_str`] was given a stream of several documents.
    #[error("{at}: expected a single YAML document, found another one here; split the stream or use from_str_multi")]
    MultipleDocuments {
        /// Start of the second document.
        at: Location,
    },
}

impl Error {
    /// The location of the error.
    pub fn location(&self) -> &Location {
        match self {
            Error::Syntax { at, .. }
            | Error::DuplicateKey { at, .. }
            | Error::AliasLimit { at, .. }
            | Error::TooDeep { at, .. }
            | Error::Unsupported { at, .. }
            | Error::MultipleDocuments { at } => at,
        }
    }

    fn location_mut(&mut self) -> &mut Location {
        match self {
            Error::Syntax { at, .. }
            | Error::DuplicateKey { at, .. }
            | Error::AliasLimit { at, .. }
            | Error::TooDeep { at, .. }
            | Error::Unsupported { at, .. }
            | Error::MultipleDocuments { at } => at,
        }
    }

    /// 1-based line of the error.
    pub fn line(&self) -> usize {
        self.location().line
    }

    /// 1-based column of the error.
    pub fn column(&self) -> usize {
        self.location().column
    }

    /// Names the file the text came from, so that the message reads `file:line:col: ...`.
    #[must_use]
    pub fn with_file(mut self, file: impl Into<String>) -> Self {
        self.location_mut().file = Some(file.into());
        self
    }
}
