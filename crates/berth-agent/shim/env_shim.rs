//! Berth's env shim: the first program of a container whose task has `secrets`. It reads the container's secret
//! environment from a file the agent bind-mounted read-only, adds it to its own environment and becomes the
//! container's real command (execve), so the values are in the process's environment without ever being in the
//! container's configuration (`docker inspect`).
//!
//! Usage: `env-shim <env file> <program> [args...]`. The file holds `NAME=VALUE` entries, each ended by a NUL byte
//! (values may hold newlines). A program without a `/` is looked up in `PATH` as execvp does.
//!
//! Built by berth-agent's build.rs as a static executable (std only, no dependencies), so it runs in any image,
//! including ones without a libc. It never prints a value: errors name the file or the program only.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

/// Exit code when the program cannot be run (as a shell's for a command not found).
const CANNOT_RUN: u8 = 127;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(file), Some(program)) = (args.next(), args.next()) else {
        eprintln!("berth env shim: usage: env-shim <env file> <program> [args...]");
        return ExitCode::from(CANNOT_RUN);
    };
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("berth env shim: cannot read the secrets file {}: {e}", file.to_string_lossy());
            return ExitCode::from(CANNOT_RUN);
        }
    };
    let mut command = Command::new(&program);
    command.args(args);
    for entry in bytes.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let Some(eq) = entry.iter().position(|b| *b == b'=').filter(|&at| at > 0) else {
            eprintln!("berth env shim: the secrets file {} holds an entry without a name", file.to_string_lossy());
            return ExitCode::from(CANNOT_RUN);
        };
        command.env(OsStr::from_bytes(&entry[..eq]), OsStr::from_bytes(&entry[eq + 1..]));
    }
    // Only returns when the program could not be run.
    let error = command.exec();
    eprintln!("berth env shim: cannot run {}: {error}", OsString::from(program).to_string_lossy());
    ExitCode::from(CANNOT_RUN)
}
