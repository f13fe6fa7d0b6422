//! SigV4 (placeholder; being written).
