//! Cluster query language (placeholder; being written).
