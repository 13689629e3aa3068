//! Flux-compatible API types for Flotilla's controllers, and the CRDs generated from them.
