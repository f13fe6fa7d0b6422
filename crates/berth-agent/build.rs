//! Builds the env shim (`shim/env_shim.rs`, see `src/secrets/shim.rs`): a static executable that containers of
//! tasks with `secrets` start through, embedded in the agent with `include_bytes!`. Static (glibc's `crt-static`),
//! so it runs in any image, including ones without a libc; std only, size-optimized, panics abort.
//!
//! When the toolchain cannot link it statically (no static libc for the target), the agent is built with an empty
//! shim and says so at build time; such an agent refuses tasks with `secrets` with a clear stop reason.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let source = "shim/env_shim.rs";
    println!("cargo:rerun-if-changed={source}");
    println!("cargo:rerun-if-changed=build.rs");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let out = out_dir.join("berth-env-shim");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut command = Command::new(rustc);
    command.args([
        "--edition",
        "2021",
        "--crate-type",
        "bin",
        "--crate-name",
        "berth_env_shim",
        "-C",
        "opt-level=s",
        "-C",
        "panic=abort",
        "-C",
        "target-feature=+crt-static",
        "-C",
        "strip=symbols",
        "-C",
        "lto",
        "-C",
        "codegen-units=1",
    ]);
    if let Ok(target) = std::env::var("TARGET") {
        command.args(["--target", &target]);
    }
    command.arg("-o").arg(&out).arg(source);
    // Cargo's flags for the crate itself (coverage, sanitizers, ...) are not meant for the shim.
    command.env_remove("CARGO_ENCODED_RUSTFLAGS").env_remove("RUSTFLAGS");
    let built = match command.output() {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("(no output)");
            println!(
                "cargo:warning=the env shim could not be built statically ({first}); tasks with secrets will not start"
            );
            false
        }
        Err(e) => {
            println!("cargo:warning=cannot run rustc to build the env shim ({e}); tasks with secrets will not start");
            false
        }
    };
    if !built {
        std::fs::write(&out, b"").expect("write an empty env shim");
    }
}
