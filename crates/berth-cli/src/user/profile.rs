//! Where the user commands find the server and the key to sign with, as the aws CLI would: flags, then the
//! AWS_* environment, then the aws profile (`berth` unless `--profile` names another, as written by `berth up`:
//! `endpoint_url`, `region`, `ca_bundle` and a `credential_process` that prints the data directory's key), and last
//! the credentials file of the default data directory (`~/.berth/credentials`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use berth_client::AccessKey;
use berth_server::bootstrap;

use super::CommonArgs;

/// The endpoint, region and key a command uses.
#[derive(Debug, Clone)]
pub struct Connection {
    pub endpoint: String,
    pub region: String,
    pub key: AccessKey,
    /// The CA certificates to verify the server with (AWS_CA_BUNDLE, else the profile's `ca_bundle`), PEM.
    pub ca_bundle: Option<String>,
}

/// Resolves the connection for `args`.
pub fn resolve(args: &CommonArgs) -> anyhow::Result<Connection> {
    let profile_name = args.profile.clone().unwrap_or_else(|| bootstrap::PROFILE.to_owned());
    let config = bootstrap::aws_config_path().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    // In the aws config, profiles other than `default` sit under `[profile NAME]`.
    let section = if profile_name == "default" { "default".to_owned() } else { format!("profile {profile_name}") };
    let profile = ini_section(&config, &section);
    if args.profile.is_some() && profile.is_empty() && credentials_file_section(&profile_name).is_empty() {
        bail!("aws profile '{profile_name}' not found (looked in the aws config and credentials files)");
    }
    let lookup = |key: &str| profile.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());

    let endpoint = args
        .endpoint
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL_ECS"))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .or_else(|| lookup("endpoint_url"))
        .unwrap_or_else(|| "https://127.0.0.1:8700".to_owned());
    if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
        bail!("--endpoint must be a URL such as https://127.0.0.1:8700, got '{endpoint}'");
    }
    let region = args
        .region
        .clone()
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or_else(|| lookup("region"))
        .unwrap_or_else(|| "us-east-1".to_owned());

    let key = match (args.profile.is_some(), env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        // An explicit --profile wins over the environment, as with the aws CLI.
        (false, Some(id), Some(secret)) => AccessKey { access_key_id: id, secret_access_key: secret },
        _ => profile_key(&profile_name, lookup("credential_process"))?,
    };
    // Last, the CA of the default data directory, as for the key: `berth up`'s own server.
    let default_ca = || {
        let data_dir =
            env("BERTH_DATA_DIR").map(PathBuf::from).or_else(|| env("HOME").map(|h| Path::new(&h).join(".berth")))?;
        let ca = berth_tls::pki::ca_dir(&data_dir).join("ca.pem");
        ca.exists().then(|| ca.display().to_string())
    };
    let ca_bundle = match env("AWS_CA_BUNDLE").or_else(|| lookup("ca_bundle")).or_else(default_ca) {
        Some(path) => Some(std::fs::read_to_string(&path).with_context(|| format!("reading the CA bundle {path}"))?),
        None => None,
    };
    Ok(Connection { endpoint, region, key, ca_bundle })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The key of a profile: the shared-credentials file's section, else its credential_process, else the default
/// data directory's credentials file.
fn profile_key(profile: &str, credential_process: Option<String>) -> anyhow::Result<AccessKey> {
    let section = credentials_file_section(profile);
    let get = |key: &str| section.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    if let (Some(id), Some(secret)) = (get("aws_access_key_id"), get("aws_secret_access_key")) {
        return Ok(AccessKey { access_key_id: id, secret_access_key: secret });
    }
    if let Some(command) = credential_process {
        return run_credential_process(&command);
    }
    let data_dir =
        env("BERTH_DATA_DIR").map(PathBuf::from).or_else(|| env("HOME").map(|h| Path::new(&h).join(".berth")));
    let Some(data_dir) = data_dir else {
        bail!("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `berth up` to write them");
    };
    let path = bootstrap::credentials_path(&data_dir);
    let (id, secret) = bootstrap::read_credentials(&path).with_context(|| {
        format!(
            "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --profile; {} is not readable",
            path.display()
        )
    })?;
    Ok(AccessKey { access_key_id: id, secret_access_key: secret })
}

/// The section of the aws shared-credentials file (`$AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`).
fn credentials_file_section(profile: &str) -> Vec<(String, String)> {
    let path = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".aws").join("credentials")));
    let text = path.and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    ini_section(&text, profile)
}

/// Runs a `credential_process` (through the shell, which also undoes the quoting `berth up` writes) and reads
/// its JSON answer.
fn run_credential_process(command: &str) -> anyhow::Result<AccessKey> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running the profile's credential_process `{command}`"))?;
    if !out.status.success() {
        bail!("the profile's credential_process `{command}` failed ({})", out.status);
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("the profile's credential_process `{command}` did not print JSON"))?;
    match (doc["AccessKeyId"].as_str(), doc["SecretAccessKey"].as_str()) {
        (Some(id), Some(secret)) => {
            Ok(AccessKey { access_key_id: id.to_owned(), secret_access_key: secret.to_owned() })
        }
        _ => bail!("the profile's credential_process `{command}` printed no AccessKeyId and SecretAccessKey"),
    }
}

/// The `key = value` entries of one `[section]` of an INI text.
fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let header = format!("[{section}]");
    let mut inside = false;
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == header;
            continue;
        }
        if let (true, Some((k, v))) = (inside, line.split_once('=')) {
            entries.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_section() {
        let text = "[default]\nregion = a\n[profile berth]\nregion = us-east-1\nendpoint_url = http://x:1\n[y]\nk=v\n";
        let s = ini_section(text, "profile berth");
        assert_eq!(s, vec![("region".into(), "us-east-1".into()), ("endpoint_url".into(), "http://x:1".into())]);
        assert!(ini_section(text, "profile none").is_empty());
    }
}
