//! SQLite backend (placeholder; being written).
pub struct SqliteStore;
