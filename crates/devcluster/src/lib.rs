//! An embedded Kubernetes-API-compatible server for flotilla dev and for tests.
