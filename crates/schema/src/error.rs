//! Errors building a [`Schema`](crate::Schema) from OpenAPI documents.

/// Why a schema document could not be turned into a [`Schema`](crate::Schema).
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The text is not JSON (only for the embedded document).
    #[error("{what} is not valid JSON: {source}")]
    Json {
        /// Which document.
        what: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A keyword has a value of the wrong type or an unknown value.
    #[error("invalid schema at {path}: {message}")]
    Invalid {
        /// Where in the document, e.g. `openAPIV3Schema.properties.spec.type`.
        path: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A `pattern` is not a regular expression this implementation understands.
    #[error("invalid schema at {path}: pattern {pattern:?} does not compile: {source}")]
    Pattern {
        /// Where in the document.
        path: String,
        /// The pattern as written.
        pattern: String,
        /// The regex compiler's error.
        #[source]
        source: Box<regex::Error>,
    },
    /// A `$ref` names a definition the document does not have.
    #[error("invalid schema at {path}: $ref {reference:?} names no definition")]
    UnresolvedRef {
        /// Where in the document.
        path: String,
        /// The missing definition.
        reference: String,
    },
    /// A keyword structural schemas do not allow (`$ref`, `items` as a list) was used.
    #[error("invalid schema at {path}: {keyword} is not allowed in a structural schema")]
    NotStructural {
        /// Where in the document.
        path: String,
        /// The keyword.
        keyword: String,
    },
}
