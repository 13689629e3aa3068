//! Schema fragments shared by the types: timestamps and plain integers the way controller-gen writes them.

use schemars::{json_schema, Schema, SchemaGenerator};

/// `metav1.Time`: an RFC 3339 string.
pub fn date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time" })
}

/// A Go `int` field: controller-gen writes no format for it.
pub fn integer(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer" })
}
