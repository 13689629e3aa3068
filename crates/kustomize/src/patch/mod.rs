//! Patch engines specific to kustomize (its strategic merge flavour); JSON 6902 comes from flotilla-merge.

pub mod smp;
