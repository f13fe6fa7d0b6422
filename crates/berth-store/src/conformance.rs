//! Conformance suite (placeholder)
