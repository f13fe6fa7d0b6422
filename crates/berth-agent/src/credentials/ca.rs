//! Berth's CA for tasks: when the agent trusts the server through Berth's own CA (`--ca-bundle`, or `berth up`
//! serving HTTPS), the containers of tasks with a task role get that CA, so boto3, the aws CLI and the AWS SDKs
//! inside can call an HTTPS Berth with the role's credentials: the agent writes it once to
//! `<support dir>/ca.pem` (mode 0444), bind-mounts it read-only at [`MOUNT_PATH`] and names it with
//! `AWS_CA_BUNDLE`, unless the container sets `AWS_CA_BUNDLE` itself.

use std::path::{Path, PathBuf};

use berth_model::taskdef::ContainerDefinition;

/// Where the CA is inside a container.
pub const MOUNT_PATH: &str = "/etc/berth/ca.pem";
/// The variable the AWS SDKs and the aws CLI read a CA bundle's path from.
pub const ENV: &str = "AWS_CA_BUNDLE";
/// The file's name in the agent's support directory.
pub const FILE: &str = "ca.pem";

/// Writes `pem` to `<support_dir>/ca.pem` unless it is there already; returns the path.
pub fn install(support_dir: &Path, pem: &str) -> std::io::Result<PathBuf> {
    let path = support_dir.join(FILE);
    crate::task_files::write_once(&path, pem.as_bytes(), 0o444)?;
    Ok(path)
}

/// `AWS_CA_BUNDLE` for a container, unless its definition (with the task's overrides) sets the variable itself.
pub fn env(def: &ContainerDefinition) -> Option<(String, String)> {
    let own = def.environment.iter().any(|kv| kv.name.as_deref() == Some(ENV));
    (!own).then(|| (ENV.to_owned(), MOUNT_PATH.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_written_once_and_named_unless_the_container_names_its_own() {
        let root = tempfile::tempdir().unwrap();
        let path = install(root.path(), "-----BEGIN CERTIFICATE-----\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "-----BEGIN CERTIFICATE-----\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o444);
        }
        install(root.path(), "-----BEGIN CERTIFICATE-----\n").unwrap();
        let plain: ContainerDefinition =
            serde_json::from_value(serde_json::json!({"name": "a", "image": "i"})).unwrap();
        assert_eq!(env(&plain), Some((ENV.to_owned(), MOUNT_PATH.to_owned())));
        let own: ContainerDefinition = serde_json::from_value(serde_json::json!({
            "name": "a", "image": "i", "environment": [{"name": "AWS_CA_BUNDLE", "value": "/mine.pem"}]
        }))
        .unwrap();
        assert_eq!(env(&own), None);
    }
}
