//! Patch engines over JSON values: RFC 6902 JSON patch, RFC 7386 merge patch, strategic merge patch, and server-side apply field ownership.
