//! Go-compatible YAML: a parser that reads what kustomize reads and an emitter byte-compatible with kubectl's output.
