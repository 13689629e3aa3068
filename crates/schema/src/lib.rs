//! Kubernetes schema facts: kinds and scope, strategic-merge keys and list types (from the v1.21.2 OpenAPI kustomize uses).
