//! Task definitions (placeholder; being written).
