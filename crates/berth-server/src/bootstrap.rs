//! First-start preparation of a data directory: the store file, the admin access key and its credentials file,
//! and the `berth` profile in the user's aws config.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::api::Api;
use crate::auth::AccessKey;
use crate::error::ApiResult;

/// Name of the aws profile Berth writes.
pub const PROFILE: &str = "berth";

/// The store file inside a data directory.
pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("berth.db")
}

/// The shared-credentials file inside a data directory.
pub fn credentials_path(data_dir: &Path) -> PathBuf {
    data_dir.join("credentials")
}

/// Creates the admin access key when the store has none, and writes it to `<data-dir>/credentials` (mode 0600)
/// under profile `berth`. Returns the key when it was created now (its secret is shown only then).
pub async fn ensure_admin_key(api: &Api, data_dir: &Path) -> ApiResult<Option<AccessKey>> {
    if api.auth.key_count() > 0 {
        return Ok(None);
    }
    let key = api.auth.create_key(api.store.as_ref(), "admin", api.now()).await?;
    let path = credentials_path(data_dir);
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let text = upsert_ini_section(
        &existing,
        PROFILE,
        &[("aws_access_key_id", &key.access_key_id), ("aws_secret_access_key", &key.secret_access_key)],
    );
    write_private(&path, &text).map_err(|e| {
        crate::error::ApiError::server(format!("cannot write credentials file {}: {e}", path.display()))
    })?;
    Ok(Some(key))
}

/// Writes a file readable only by its owner.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    // A file that existed before keeps its old mode through open(); make sure it is private now.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
}

/// The user's aws config file: `$AWS_CONFIG_FILE`, else `~/.aws/config`.
pub fn aws_config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("AWS_CONFIG_FILE") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".aws").join("config"))
}

/// Writes profile `berth` (region, endpoint_url, and a credential_process that reads the data directory's
/// credentials file) into the aws config at `path`, keeping everything else in it.
pub fn write_aws_profile(
    path: &Path,
    region: &str,
    endpoint_url: &str,
    credential_process: &str,
    ca_bundle: Option<&Path>,
) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let ca_bundle = ca_bundle.map(|p| p.display().to_string());
    let mut entries =
        vec![("region", region), ("endpoint_url", endpoint_url), ("credential_process", credential_process)];
    // The CA the aws CLI and the SDKs verify the server's certificate with (Berth's own, unless the operator's
    // certificate comes from a CA the system trusts).
    if let Some(bundle) = &ca_bundle {
        entries.push(("ca_bundle", bundle));
    }
    let text = upsert_ini_section(&existing, &format!("profile {PROFILE}"), &entries);
    std::fs::write(path, text)
}

/// Replaces (or appends) one `[section]` of an INI text with `entries`, keeping the other sections as they are.
pub fn upsert_ini_section(text: &str, section: &str, entries: &[(&str, &str)]) -> String {
    let header = format!("[{section}]");
    let mut out = String::new();
    let mut skipping = false;
    let mut replaced = false;
    let write_section = |out: &mut String| {
        out.push_str(&header);
        out.push('\n');
        for (k, v) in entries {
            out.push_str(&format!("{k} = {v}\n"));
        }
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            skipping = trimmed == header;
            if skipping && !replaced {
                write_section(&mut out);
                replaced = true;
            }
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !replaced {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        write_section(&mut out);
    }
    out
}

/// Reads profile `berth` from a shared-credentials file: `(access key id, secret)`.
pub fn read_credentials(path: &Path) -> std::io::Result<(String, String)> {
    let text = std::fs::read_to_string(path)?;
    let mut in_section = false;
    let (mut id, mut secret) = (None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == format!("[{PROFILE}]");
            continue;
        }
        if let (true, Some((k, v))) = (in_section, line.split_once('=')) {
            match k.trim() {
                "aws_access_key_id" => id = Some(v.trim().to_owned()),
                "aws_secret_access_key" => secret = Some(v.trim().to_owned()),
                _ => {}
            }
        }
    }
    match (id, secret) {
        (Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} has no [{PROFILE}] profile with both keys", path.display()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upserts_sections() {
        let text = "[default]\nregion = eu-west-1\n\n[profile berth]\nregion = old\n\n[profile x]\na = 1\n";
        let out = upsert_ini_section(text, "profile berth", &[("region", "us-east-1")]);
        assert_eq!(out, "[default]\nregion = eu-west-1\n\n[profile berth]\nregion = us-east-1\n[profile x]\na = 1\n");
        let fresh = upsert_ini_section("", "berth", &[("k", "v")]);
        assert_eq!(fresh, "[berth]\nk = v\n");
        let appended = upsert_ini_section("[default]\nregion = x\n", "berth", &[("k", "v")]);
        assert_eq!(appended, "[default]\nregion = x\n\n[berth]\nk = v\n");
    }

    #[test]
    fn reads_credentials_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(
            &path,
            "[other]\naws_access_key_id = A\n[berth]\naws_access_key_id = AKIA1\naws_secret_access_key = s/3+\n",
        )
        .unwrap();
        assert_eq!(read_credentials(&path).unwrap(), ("AKIA1".into(), "s/3+".into()));
    }
}
