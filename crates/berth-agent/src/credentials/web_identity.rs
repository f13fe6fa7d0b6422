//! Web identity tokens for tasks: a container whose definition has the docker label `berth.web-identity.audience`
//! gets a token of Berth's OIDC issuer for that audience (subject: the task's role), which an STS that trusts the
//! issuer (AWS IAM, MinIO, Ceph RGW, Berth's own) exchanges for credentials with `AssumeRoleWithWebIdentity`. The
//! AWS SDKs do that by themselves when `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` are set.
//!
//! What a container with the label gets:
//! - the token in `<agent data dir>/tasks/<task id>/web-identity/<container>/token` (mode 0644: the container's
//!   user, whoever it is, must read it), that directory bind-mounted read-only at
//!   `/var/run/secrets/berth/web-identity`, and `AWS_WEB_IDENTITY_TOKEN_FILE` naming the file there. The
//!   directory, not the file, is mounted, so a refresh (written to a temporary file, then renamed over the token)
//!   is seen inside the container.
//! - with the label `berth.web-identity.role-arn` as well: `AWS_ROLE_ARN` (that role) and `AWS_ROLE_SESSION_NAME`
//!   (the task id). Without it the SDKs ignore the token file and keep using the task role's credentials.
//!
//! The engine fetches the tokens at task start, after the task role's credentials and before any image or
//! container (a failure stops the task with a `ResourceInitializationError` reason and nothing started), keeps
//! them fresh with a [`Refresher`] (at 80% of their lifetime) and deletes the task's directory when it stops.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use berth_model::agent::{TaskWebIdentityToken, web_identity};
use berth_model::taskdef::ContainerDefinition;
use tracing::{info, warn};

use super::{CredentialsSource, FetchError, START_FETCH_DEADLINE};
use crate::channel::Backoff;
use crate::task_files;

/// The environment variable the SDKs read the token file's path from.
pub const TOKEN_FILE_ENV: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
/// The role the SDKs assume with the token.
pub const ROLE_ARN_ENV: &str = "AWS_ROLE_ARN";
/// The session name they use.
pub const SESSION_NAME_ENV: &str = "AWS_ROLE_SESSION_NAME";

/// Shortest wait before a refresh.
const MIN_REFRESH_DELAY: Duration = Duration::from_secs(5);

/// What one container asked for with its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub audience: String,
    /// `AWS_ROLE_ARN` for the container, when set.
    pub role_arn: Option<String>,
}

/// The container's request, if its labels make one; `Err`: the labels are wrong (the task's stop reason).
pub fn request_of(def: &ContainerDefinition) -> Result<Option<Request>, String> {
    let labels = def.docker_labels.as_ref();
    let get = |name: &str| labels.and_then(|l| l.get(name)).map(|v| v.trim().to_owned());
    let role_arn = get(web_identity::ROLE_ARN_LABEL);
    let Some(audience) = get(web_identity::AUDIENCE_LABEL) else {
        return match role_arn {
            Some(_) => Err(format!(
                "ResourceInitializationError: container {} has the docker label {} but not {}, which names the \
                 audience of its web identity token",
                def.name,
                web_identity::ROLE_ARN_LABEL,
                web_identity::AUDIENCE_LABEL
            )),
            None => Ok(None),
        };
    };
    if audience.is_empty() {
        return Err(format!(
            "ResourceInitializationError: the docker label {} of container {} is empty; it names the audience of the \
             container's web identity token",
            web_identity::AUDIENCE_LABEL,
            def.name
        ));
    }
    if let Some(role) = &role_arn
        && !role.starts_with("arn:")
    {
        return Err(format!(
            "ResourceInitializationError: the docker label {} of container {} is not a role ARN: '{role}'",
            web_identity::ROLE_ARN_LABEL,
            def.name
        ));
    }
    Ok(Some(Request { audience, role_arn }))
}

/// The kind of a task's files (`task_files`) that hold its tokens.
const KIND: &str = "web-identity";

/// The directory holding a task's tokens: `<tasks_dir>/<task id>/web-identity`.
pub fn task_dir(tasks_dir: &Path, task_id: &str) -> PathBuf {
    task_files::task_dir(tasks_dir, task_id, KIND)
}

/// The directory mounted into one container: `<task dir>/<container name>`.
pub fn container_dir(tasks_dir: &Path, task_id: &str, container: &str) -> PathBuf {
    task_files::container_dir(tasks_dir, task_id, KIND, container)
}

/// The container's environment for its token (the path inside the container), and the role to assume when named.
pub fn env(request: &Request, task_id: &str) -> Vec<(String, String)> {
    let mut out =
        vec![(TOKEN_FILE_ENV.to_owned(), format!("{}/{}", web_identity::MOUNT_PATH, web_identity::TOKEN_FILE))];
    if let Some(role) = &request.role_arn {
        out.push((ROLE_ARN_ENV.to_owned(), role.clone()));
        out.push((SESSION_NAME_ENV.to_owned(), task_id.to_owned()));
    }
    out
}

/// Makes a container's directory (mode 0755) and writes its first token.
pub fn prepare(dir: &Path, token: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Every directory from the task's down, so the container's user can list the mounted one.
        let mut d = Some(dir);
        for _ in 0..3 {
            let Some(current) = d else { break };
            std::fs::set_permissions(current, std::fs::Permissions::from_mode(0o755))?;
            d = current.parent();
        }
    }
    write_token(dir, token)
}

/// Replaces the token in `dir` (which must exist), so a reader sees the old token or the new one, never a part.
pub fn write_token(dir: &Path, token: &str) -> std::io::Result<()> {
    task_files::replace(&dir.join(web_identity::TOKEN_FILE), token.as_bytes(), 0o644)
}

/// Deletes a task's token directory (and the task's own directory when nothing else is in it).
pub fn remove_task(tasks_dir: &Path, task_id: &str) {
    task_files::remove_task(tasks_dir, task_id, KIND, "web identity tokens");
}

/// How long until a token expiring at `expiration` is fetched again, seen at `now` (seconds since the epoch): once
/// 80% of what is left has passed.
pub fn refresh_delay(expiration: f64, now: f64) -> Duration {
    let left = expiration - now;
    if !left.is_finite() || left <= 0.0 {
        return MIN_REFRESH_DELAY;
    }
    Duration::try_from_secs_f64(left * 0.8).unwrap_or(MIN_REFRESH_DELAY).max(MIN_REFRESH_DELAY)
}

/// The first fetch of a token, at task start: a server that does not answer is retried with backoff for up to
/// [`START_FETCH_DEADLINE`]; a refusal is final. The error is the task's stop reason.
pub async fn fetch_for_start(
    source: &dyn CredentialsSource,
    task_arn: &str,
    audience: &str,
) -> Result<TaskWebIdentityToken, String> {
    let deadline = tokio::time::Instant::now() + START_FETCH_DEADLINE;
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
    loop {
        match source.web_identity_token(task_arn, audience).await {
            Ok(token) => return Ok(token),
            Err(FetchError::Refused { code, message }) => {
                warn!(task = %task_arn, %audience, %code, %message, "the server refused a web identity token");
                return Err(format!(
                    "ResourceInitializationError: unable to get a web identity token for audience '{audience}': \
                     {code}: {message}"
                ));
            }
            Err(FetchError::Unavailable(e)) => {
                let delay = backoff.next_delay();
                if tokio::time::Instant::now() + delay > deadline {
                    warn!(task = %task_arn, %audience, error = %e, "no web identity token; giving up");
                    return Err(format!(
                        "ResourceInitializationError: unable to get a web identity token for audience '{audience}' \
                         from the server: {e}"
                    ));
                }
                warn!(task = %task_arn, %audience, error = %e, retry_in_ms = delay.as_millis() as u64,
                    "no web identity token yet; retrying");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Writes `token` into each of `dirs` off the async threads.
pub async fn write_all(dirs: Vec<PathBuf>, token: String, create: bool) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || {
        for dir in &dirs {
            if create { prepare(dir, &token)? } else { write_token(dir, &token)? }
        }
        Ok(())
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Keeps one task's tokens fresh until dropped: one loop per audience, fetching at 80% of the token's lifetime and
/// writing it into the directory of every container that asked for that audience. Failures are retried with
/// backoff (capped at a minute) while the task runs; the token in place stays valid until it expires.
pub struct Refresher(Vec<tokio::task::JoinHandle<()>>);

impl Refresher {
    /// `audiences`: each audience, the directories its token goes to, and when to fetch it first
    /// (`Duration::ZERO`: at once, for an adopted task whose tokens this agent process never had).
    pub fn spawn(
        source: Arc<dyn CredentialsSource>,
        task_arn: String,
        audiences: Vec<(String, Vec<PathBuf>, Duration)>,
    ) -> Refresher {
        Refresher(
            audiences
                .into_iter()
                .map(|(audience, dirs, first)| {
                    tokio::spawn(refresh_loop(source.clone(), task_arn.clone(), audience, dirs, first))
                })
                .collect(),
        )
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        for handle in &self.0 {
            handle.abort();
        }
    }
}

async fn refresh_loop(
    source: Arc<dyn CredentialsSource>,
    task_arn: String,
    audience: String,
    dirs: Vec<PathBuf>,
    first: Duration,
) {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    let mut delay = first;
    loop {
        tokio::time::sleep(delay).await;
        let fetched = source.web_identity_token(&task_arn, &audience).await;
        match fetched {
            Ok(token) => {
                let expiration = token.expiration;
                // The directories go when the task stops (after this loop is aborted); a write then finds none.
                match write_all(dirs.clone(), token.token, false).await {
                    Ok(()) => {
                        backoff.reset();
                        delay = refresh_delay(expiration, super::epoch_now());
                        info!(task = %task_arn, %audience, expiration, next_in_s = delay.as_secs(),
                            "web identity token refreshed");
                    }
                    Err(e) => {
                        delay = backoff.next_delay();
                        warn!(task = %task_arn, %audience, error = %e, "could not write the web identity token");
                    }
                }
            }
            Err(e) => {
                delay = backoff.next_delay();
                warn!(task = %task_arn, %audience, error = %e, retry_in_ms = delay.as_millis() as u64,
                    "refreshing a web identity token failed; retrying");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(labels: &[(&str, &str)]) -> ContainerDefinition {
        let labels: serde_json::Map<String, serde_json::Value> =
            labels.iter().map(|(k, v)| ((*k).to_owned(), serde_json::json!(v))).collect();
        serde_json::from_value(serde_json::json!({"name": "app", "image": "x", "dockerLabels": labels})).unwrap()
    }

    #[test]
    fn labels_make_requests() {
        assert_eq!(request_of(&def(&[])).unwrap(), None);
        assert_eq!(
            request_of(&def(&[(web_identity::AUDIENCE_LABEL, "sts.amazonaws.com")])).unwrap(),
            Some(Request { audience: "sts.amazonaws.com".into(), role_arn: None })
        );
        let both = request_of(&def(&[
            (web_identity::AUDIENCE_LABEL, "minio"),
            (web_identity::ROLE_ARN_LABEL, "arn:minio:iam:::role/x"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(both.role_arn.as_deref(), Some("arn:minio:iam:::role/x"));
        assert_eq!(
            env(&both, "t1"),
            vec![
                (TOKEN_FILE_ENV.to_owned(), "/var/run/secrets/berth/web-identity/token".to_owned()),
                (ROLE_ARN_ENV.to_owned(), "arn:minio:iam:::role/x".to_owned()),
                (SESSION_NAME_ENV.to_owned(), "t1".to_owned()),
            ]
        );
        assert!(request_of(&def(&[(web_identity::AUDIENCE_LABEL, " ")])).unwrap_err().contains("is empty"));
        assert!(request_of(&def(&[(web_identity::ROLE_ARN_LABEL, "arn:aws:iam::1:role/x")])).is_err());
        let bad = def(&[(web_identity::AUDIENCE_LABEL, "a"), (web_identity::ROLE_ARN_LABEL, "role/x")]);
        assert!(request_of(&bad).unwrap_err().contains("not a role ARN"));
    }

    #[test]
    fn tokens_are_replaced_whole_and_readable_by_anyone() {
        let root = tempfile::tempdir().unwrap();
        let dir = container_dir(root.path(), "t1", "app");
        assert_eq!(dir, root.path().join("t1/web-identity/app"));
        assert_eq!(container_dir(root.path(), "t1", "../x"), root.path().join("t1/web-identity/___x"));
        prepare(&dir, "first").unwrap();
        write_token(&dir, "second").unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("token")).unwrap(), "second");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("token")], "no temporary file left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.join("token")), 0o644);
            assert_eq!(mode(&dir), 0o755);
        }
        remove_task(root.path(), "t1");
        assert!(!root.path().join("t1").exists());
        assert!(write_token(&dir, "late").is_err(), "a late refresh does not bring the directory back");
        assert!(!dir.exists());
        remove_task(root.path(), "t1");
    }

    #[test]
    fn refresh_comes_at_four_fifths_of_the_lifetime() {
        assert_eq!(refresh_delay(1_000.0 + 3600.0, 1_000.0), Duration::from_secs(2880));
        assert_eq!(refresh_delay(1_000.0, 1_000.0), MIN_REFRESH_DELAY);
        assert_eq!(refresh_delay(f64::NAN, 1_000.0), MIN_REFRESH_DELAY);
    }
}
