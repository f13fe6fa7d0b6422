//! The files the agent keeps on the host and mounts into containers: per task and container under
//! `<tasks dir>/<task id>/<kind>/<container>/` (web identity tokens, secret environment files), and once per host in
//! the support directory (the env shim, Berth's CA).
//!
//! This module owns where they live (names made safe as path segments) and how they are written and removed:
//! whole, through a temporary file renamed over the old one, so a container reading a file sees the old content or
//! the new, never a part. What goes in them belongs to `credentials::web_identity`, `secrets::shim` and
//! `credentials::ca`.

use std::io::Write;
use std::path::{Path, PathBuf};

use tracing::warn;

/// A task id or container name as one path segment: ASCII letters, digits, `_` and `-` kept, anything else (`/`,
/// `.`, ...) replaced by `_`, so no name can reach outside its directory.
pub fn segment(name: &str) -> String {
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') { c } else { '_' }).collect();
    if clean.is_empty() { "_".to_owned() } else { clean }
}

/// A task's directory of one kind of file: `<tasks_dir>/<task id>/<kind>`.
pub fn task_dir(tasks_dir: &Path, task_id: &str, kind: &str) -> PathBuf {
    tasks_dir.join(segment(task_id)).join(kind)
}

/// One container's directory of that kind (the one mounted into it): `<task dir>/<container name>`.
pub fn container_dir(tasks_dir: &Path, task_id: &str, kind: &str, container: &str) -> PathBuf {
    task_dir(tasks_dir, task_id, kind).join(segment(container))
}

/// Replaces `path` whole with `bytes`, mode `mode`. The directory must exist: a late write for a task whose files
/// were removed fails instead of bringing them back.
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}-{}", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        // Set after writing (the mode may forbid it) and explicitly (the umask may have taken bits away).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` with `mode` (creating its directory), unless the file already holds them, in which case
/// only the mode is set right. Safe against concurrent calls.
pub fn write_once(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    if let Ok(meta) = std::fs::metadata(path)
        && meta.len() == bytes.len() as u64
        && std::fs::read(path).is_ok_and(|current| current == bytes)
    {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o7777 != mode {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            }
        }
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    replace(path, bytes, mode)
}

/// Deletes a task's directory of one kind, and the task's own directory when nothing else is left in it. `what`
/// names the files in the warning when they cannot be deleted.
pub fn remove_task(tasks_dir: &Path, task_id: &str, kind: &str, what: &str) {
    let dir = task_dir(tasks_dir, task_id, kind);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => warn!(dir = %dir.display(), error = %e, "could not delete the task's {what}"),
    }
    if let Some(parent) = dir.parent() {
        let _ = std::fs::remove_dir(parent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_their_directory() {
        assert_eq!(segment("../x"), "___x");
        assert_eq!(segment(""), "_");
        assert_eq!(segment("app-1_b"), "app-1_b");
        let root = Path::new("/t");
        assert_eq!(container_dir(root, "id/..", "secrets", "a b"), Path::new("/t/id___/secrets/a_b"));
    }

    #[test]
    fn files_are_replaced_whole_with_their_mode_and_not_brought_back_after_removal() {
        let root = tempfile::tempdir().unwrap();
        let dir = container_dir(root.path(), "t1", "kind", "app");
        let file = dir.join("f");
        assert!(replace(&file, b"x", 0o444).is_err(), "the directory must exist");
        std::fs::create_dir_all(&dir).unwrap();
        replace(&file, b"first", 0o444).unwrap();
        replace(&file, b"second", 0o444).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o444);
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
        remove_task(root.path(), "t1", "kind", "files");
        assert!(!root.path().join("t1").exists(), "the emptied task directory goes too");
        assert!(replace(&file, b"late", 0o444).is_err());
        remove_task(root.path(), "t1", "kind", "files");
    }

    #[test]
    fn write_once_writes_only_what_changed() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("support/shim");
        write_once(&path, b"abc", 0o555).unwrap();
        let first = std::fs::metadata(&path).unwrap().modified().unwrap();
        write_once(&path, b"abc", 0o555).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), first);
        write_once(&path, b"abcd", 0o555).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abcd");
    }
}
