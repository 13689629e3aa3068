//! Kustomize v5.5.0 builds: loader with root restriction, generators, transformers, patches, name references, ordering.
