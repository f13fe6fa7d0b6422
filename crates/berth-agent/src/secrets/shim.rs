//! Environment secrets without Docker's environment: `docker inspect` shows a container's `Config.Env` to anyone
//! who can reach the Docker socket, so the values never go there. Instead:
//!
//! - the agent writes each container's values to `<tasks dir>/<task id>/secrets/<container>/env` (`NAME=VALUE`
//!   entries, each ended by a NUL byte, so values may hold newlines), mode 0444 so the container's user, whoever it
//!   is, can read it inside; `<task id>/secrets` is 0700, so no other user of the host can reach it;
//! - that directory is bind-mounted read-only at [`SECRETS_DIR`], and the env shim ([`ENV_SHIM`], built by
//!   build.rs from `shim/env_shim.rs`: a static executable, std only) at [`SHIM_PATH`];
//! - the container's entry point becomes the shim with the file ([`wrap`]); its command is the container's real
//!   one: the definition's `entryPoint` and `command`, or the image's where the definition leaves them out, combined
//!   as Docker does ([`argv`]). The shim adds the file's variables to its environment and execve()s that command,
//!   which so runs as PID 1 with the definition's `user` and `workingDirectory`, as it would have without secrets.
//!   The container's health check, which Docker runs beside the command, goes through the shim the same way.
//!
//! The files go when the task stops (and an orphan's when a restarted agent removes its containers). Containers of
//! tasks without environment secrets are created exactly as before, without the shim.

use std::path::{Path, PathBuf};

use berth_model::taskdef::ContainerDefinition;

use crate::runtime::{ImageCommand, RuntimeError};
use crate::task_files;

/// The env shim, built for this agent's target (empty when build.rs could not link it statically).
pub const ENV_SHIM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/berth-env-shim"));

/// Where the shim is inside a container.
pub const SHIM_PATH: &str = "/run/berth/shim";
/// Where a container's secrets directory is mounted.
pub const SECRETS_DIR: &str = "/run/berth/secrets";
/// The file in that directory.
pub const ENV_FILE: &str = "env";
/// The shim's file name in the agent's support directory.
pub const SHIM_FILE: &str = "env-shim";

/// Whether this agent has a shim (it was built with one).
pub fn available() -> bool {
    !ENV_SHIM.is_empty()
}

/// The kind of a task's files (`task_files`) that hold its secrets.
const KIND: &str = "secrets";

/// The directory holding a task's secret files: `<tasks_dir>/<task id>/secrets`.
pub fn task_dir(tasks_dir: &Path, task_id: &str) -> PathBuf {
    task_files::task_dir(tasks_dir, task_id, KIND)
}

/// The directory mounted into one container: `<task dir>/<container name>`.
pub fn container_dir(tasks_dir: &Path, task_id: &str, container: &str) -> PathBuf {
    task_files::container_dir(tasks_dir, task_id, KIND, container)
}

/// Writes the shim to `<support_dir>/env-shim` (mode 0555) unless it is there already with the same bytes;
/// returns its path.
pub fn install(support_dir: &Path) -> std::io::Result<PathBuf> {
    let path = support_dir.join(SHIM_FILE);
    task_files::write_once(&path, ENV_SHIM, 0o555)?;
    Ok(path)
}

/// The bytes of an env file: `NAME=VALUE` entries each ended by NUL. `Err` (the task's stop reason): a value holds
/// a NUL byte, which no environment variable can; the error names the variable, not the value.
pub fn encode(container: &str, entries: &[(String, String)]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (name, value) in entries {
        if value.contains('\0') {
            return Err(format!(
                "{}container {container}: the value of secret {name} holds a NUL character, which an environment \
                 variable cannot",
                super::REASON_PREFIX
            ));
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
        out.push(0);
    }
    Ok(out)
}

/// Writes a container's env file into `dir` (created 0755 under a 0700 task directory), mode 0444, replacing any
/// earlier one whole.
pub fn write_env(dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        if let Some(task) = dir.parent() {
            std::fs::set_permissions(task, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    task_files::replace(&dir.join(ENV_FILE), bytes, 0o444)
}

/// Deletes a task's secret files (and the task's own directory when nothing else is in it).
pub fn remove_task(tasks_dir: &Path, task_id: &str) {
    task_files::remove_task(tasks_dir, task_id, KIND, "secret files");
}

/// The definition's entry point when it sets one: `Some(empty)` for an explicitly empty one (`[]` or `[""]`, which
/// Docker takes as "no entry point, not even the image's").
fn own_entrypoint(def: &ContainerDefinition) -> Option<Vec<String>> {
    let entry = def.entry_point.as_ref()?;
    if entry.is_empty() || (entry.len() == 1 && entry[0].is_empty()) {
        return Some(Vec::new());
    }
    Some(entry.clone())
}

/// Whether the container's command depends on its image's configuration: its definition sets no entry point (the
/// image's applies), or an empty one and no command (the image's command applies).
pub fn needs_image(def: &ContainerDefinition) -> bool {
    match own_entrypoint(def) {
        None => true,
        Some(entry) => entry.is_empty() && def.command.as_deref().is_none_or(<[String]>::is_empty),
    }
}

/// The command a container runs, combined as Docker does: the definition's entry point, else the image's; then
/// the definition's command, else the image's, except that an entry point the definition sets drops the image's
/// command.
pub fn argv(def: &ContainerDefinition, image: Option<&ImageCommand>) -> Vec<String> {
    let own_command = def.command.clone().filter(|c| !c.is_empty());
    let image_entry = image.map(|i| i.entrypoint.clone()).unwrap_or_default();
    let image_cmd = image.map(|i| i.cmd.clone()).unwrap_or_default();
    let (entry, command) = match own_entrypoint(def) {
        Some(entry) if !entry.is_empty() => (entry, own_command.unwrap_or_default()),
        Some(_) => (Vec::new(), own_command.unwrap_or(image_cmd)),
        None => (image_entry, own_command.unwrap_or(image_cmd)),
    };
    entry.into_iter().chain(command).collect()
}

/// Makes the container start through the shim: its entry point becomes the shim with the env file, its command
/// the real one ([`argv`]; `image` is needed when [`needs_image`] says so), and its health check runs through the
/// shim as well. Fails as Docker would for a container with nothing to run.
pub fn wrap(def: &mut ContainerDefinition, image: Option<&ImageCommand>) -> Result<(), RuntimeError> {
    let command = argv(def, image);
    if command.is_empty() {
        return Err(RuntimeError::Rejected(format!(
            "No command specified: container {} has no entryPoint or command, and neither has its image",
            def.name
        )));
    }
    def.entry_point = Some(vec![SHIM_PATH.to_owned(), format!("{SECRETS_DIR}/{ENV_FILE}")]);
    def.command = Some(command);
    wrap_health_check(def);
    Ok(())
}

/// A health check runs beside the command (Docker execs it in the container with the container's configured
/// environment), so it goes through the shim too: it sees the secrets, as on ECS, where they are in that
/// environment. `CMD-SHELL` becomes `/bin/sh -c` (Docker's shell for it on Linux) with the words joined by spaces,
/// as Docker joins them; `NONE` and anything else are left as they are.
fn wrap_health_check(def: &mut ContainerDefinition) {
    let Some(check) = def.health_check.as_mut() else { return };
    let Some((kind, rest)) = check.command.split_first().filter(|(_, rest)| !rest.is_empty()) else { return };
    let program: Vec<String> = match kind.as_str() {
        "CMD" => rest.to_vec(),
        "CMD-SHELL" => vec!["/bin/sh".to_owned(), "-c".to_owned(), rest.join(" ")],
        _ => return,
    };
    check.command = ["CMD".to_owned(), SHIM_PATH.to_owned(), format!("{SECRETS_DIR}/{ENV_FILE}")]
        .into_iter()
        .chain(program)
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(extra: serde_json::Value) -> ContainerDefinition {
        let mut value = json!({"name": "app", "image": "busybox"});
        if let (Some(base), serde_json::Value::Object(more)) = (value.as_object_mut(), extra) {
            base.extend(more);
        }
        serde_json::from_value(value).unwrap()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn image(entrypoint: &[&str], cmd: &[&str]) -> ImageCommand {
        ImageCommand { entrypoint: strings(entrypoint), cmd: strings(cmd) }
    }

    #[test]
    fn the_command_combines_definition_and_image_as_docker_does() {
        let img = image(&["/entry.sh"], &["serve", "--port", "80"]);
        // Neither set: the image's entry point and command.
        assert_eq!(argv(&def(json!({})), Some(&img)), strings(&["/entry.sh", "serve", "--port", "80"]));
        assert!(needs_image(&def(json!({}))));
        // A command only: the image's entry point with it.
        let cmd = def(json!({"command": ["sh", "-c", "echo hi"]}));
        assert_eq!(argv(&cmd, Some(&img)), strings(&["/entry.sh", "sh", "-c", "echo hi"]));
        assert!(needs_image(&cmd));
        // An entry point: the image's command is dropped.
        let entry = def(json!({"entryPoint": ["/bin/run"]}));
        assert_eq!(argv(&entry, Some(&img)), strings(&["/bin/run"]));
        assert!(!needs_image(&entry));
        let both = def(json!({"entryPoint": ["/bin/run", "-v"], "command": ["x"]}));
        assert_eq!(argv(&both, None), strings(&["/bin/run", "-v", "x"]));
        assert!(!needs_image(&both));
        // An empty entry point resets the image's; its command still applies when the definition has none.
        for empty in [json!([]), json!([""])] {
            let reset = def(json!({"entryPoint": empty}));
            assert_eq!(argv(&reset, Some(&img)), strings(&["serve", "--port", "80"]));
            assert!(needs_image(&reset));
            let reset_cmd = def(json!({"entryPoint": empty, "command": ["sleep", "1"]}));
            assert_eq!(argv(&reset_cmd, Some(&img)), strings(&["sleep", "1"]));
            assert!(!needs_image(&reset_cmd));
        }
        // An empty command is no command.
        assert_eq!(argv(&def(json!({"command": []})), Some(&img)), strings(&["/entry.sh", "serve", "--port", "80"]));
        // The test image: no entry point, `sh`.
        assert_eq!(argv(&def(json!({})), Some(&image(&[], &["sh"]))), strings(&["sh"]));
    }

    #[test]
    fn wrapping_puts_the_shim_first_and_keeps_the_real_command() {
        let mut d = def(json!({"command": ["sh", "-c", "test \"$X\" = 1"], "user": "1000", "workingDirectory": "/w"}));
        wrap(&mut d, Some(&image(&[], &["sh"]))).unwrap();
        assert_eq!(d.entry_point, Some(strings(&["/run/berth/shim", "/run/berth/secrets/env"])));
        assert_eq!(d.command, Some(strings(&["sh", "-c", "test \"$X\" = 1"])));
        assert_eq!((d.user.as_deref(), d.working_directory.as_deref()), (Some("1000"), Some("/w")));
        assert_eq!(d.health_check, None);
        // Health checks run through the shim as well.
        let shimmed = |rest: &[&str]| {
            let mut out = strings(&["CMD", "/run/berth/shim", "/run/berth/secrets/env"]);
            out.extend(strings(rest));
            out
        };
        for (given, wrapped) in [
            (json!(["CMD-SHELL", "test -n \"$X\""]), shimmed(&["/bin/sh", "-c", "test -n \"$X\""])),
            (json!(["CMD-SHELL", "test", "-n", "$X"]), shimmed(&["/bin/sh", "-c", "test -n $X"])),
            (json!(["CMD", "/bin/check", "--deep"]), shimmed(&["/bin/check", "--deep"])),
            (json!(["NONE"]), strings(&["NONE"])),
            (json!(["CMD"]), strings(&["CMD"])),
            (json!(["/bin/check"]), strings(&["/bin/check"])),
        ] {
            let mut d = def(json!({"command": ["sleep", "9"], "healthCheck": {"command": given, "interval": 5}}));
            wrap(&mut d, None).unwrap();
            let check = d.health_check.unwrap();
            assert_eq!((check.command, check.interval), (wrapped, Some(5)));
        }
        let mut nothing = def(json!({}));
        let err = wrap(&mut nothing, Some(&image(&[], &[]))).unwrap_err();
        assert!(err.to_string().starts_with("No command specified"), "{err}");
        assert_eq!(nothing.entry_point, None);
    }

    #[test]
    fn env_files_are_nul_separated_readable_by_anyone_inside_and_private_on_the_host() {
        let bytes = encode("app", &[("A".into(), "1".into()), ("B".into(), "two\nlines=x".into())]).unwrap();
        assert_eq!(bytes, b"A=1\0B=two\nlines=x\0");
        let err = encode("app", &[("TOKEN".into(), "xyzzy\0plugh".into())]).unwrap_err();
        assert!(err.contains("secret TOKEN holds a NUL") && !err.contains("xyzzy"), "{err}");

        let root = tempfile::tempdir().unwrap();
        let dir = container_dir(root.path(), "t1", "app");
        assert_eq!(dir, root.path().join("t1/secrets/app"));
        write_env(&dir, &bytes).unwrap();
        write_env(&dir, b"A=2\0").unwrap();
        assert_eq!(std::fs::read(dir.join(ENV_FILE)).unwrap(), b"A=2\0");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from(ENV_FILE)], "no temporary file left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.join(ENV_FILE)), 0o444);
            assert_eq!(mode(&dir), 0o755);
            assert_eq!(mode(&root.path().join("t1/secrets")), 0o700);
        }
        remove_task(root.path(), "t1");
        assert!(!root.path().join("t1").exists());
        remove_task(root.path(), "t1");
    }

    #[test]
    fn the_shim_is_written_once() {
        assert!(available(), "build.rs built the shim");
        assert!(ENV_SHIM.starts_with(b"\x7fELF"));
        let root = tempfile::tempdir().unwrap();
        let path = install(root.path()).unwrap();
        assert_eq!(path, root.path().join(SHIM_FILE));
        assert_eq!(std::fs::read(&path).unwrap(), ENV_SHIM);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o555);
            let inode = std::fs::metadata(&path).unwrap().ino();
            install(root.path()).unwrap();
            assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode, "not written again");
        }
        // Another file there (an older agent's) is replaced.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"old").unwrap();
        install(root.path()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), ENV_SHIM);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_shim_runs_the_command_with_the_secrets_in_its_environment() {
        let root = tempfile::tempdir().unwrap();
        let shim = install(root.path()).unwrap();
        let env = root.path().join("env");
        std::fs::write(&env, b"HF_TOKEN=hf_abc\0MULTI=a\nb\0").unwrap();
        let out = std::process::Command::new(&shim)
            .arg(&env)
            .args(["sh", "-c", "printf '%s|%s|%s' \"$HF_TOKEN\" \"$MULTI\" \"$KEPT\""])
            .env("KEPT", "yes")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hf_abc|a\nb|yes");
        // No file: a clear error, exit 127, nothing run.
        let out = std::process::Command::new(&shim).arg(root.path().join("none")).args(["true"]).output().unwrap();
        assert_eq!(out.status.code(), Some(127));
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the secrets file"));
        let out = std::process::Command::new(&shim).arg(&env).arg("/no/such/program").output().unwrap();
        assert_eq!(out.status.code(), Some(127));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("cannot run /no/such/program") && !stderr.contains("hf_abc"), "{stderr}");
    }
}
