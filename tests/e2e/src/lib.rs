//! Harness for the end-to-end tests: starts a real `berth` process on a free port with its own data directory,
//! reads the credentials it wrote, and builds aws-sdk-ecs clients for it.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `berth` binary: `$BERTH_BIN`, else the workspace's debug build, built once if missing.
pub fn berth_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("BERTH_BIN") {
            return PathBuf::from(p);
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("target"));
        let bin = target.join("debug").join("berth");
        // Always ask cargo: it is a no-op when the binary is current, and a stale binary would test old code.
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "-q", "-p", "berth-cli", "--bin", "berth"])
            .current_dir(&workspace)
            .status()
            .expect("running cargo build for the berth binary");
        assert!(status.success(), "cargo build of berth failed");
        bin
    })
    .clone()
}

/// A running `berth up` process, stopped (SIGTERM) when dropped.
pub struct Berth {
    child: Option<Child>,
    pub port: u16,
    pub data_dir: PathBuf,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub stderr_lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    extra_args: Vec<String>,
}

impl Berth {
    /// Starts berth with a fresh data directory inside `dir`.
    pub fn start(dir: &Path) -> Berth {
        Self::start_with(dir, &[])
    }

    /// Starts the API alone (`--no-agent`): tests of the API that must not see a local instance.
    pub fn api_only(dir: &Path) -> Berth {
        Self::start_with(dir, &["--no-agent"])
    }

    /// Starts berth with extra arguments (e.g. `--auth none`).
    pub fn start_with(dir: &Path, extra: &[&str]) -> Berth {
        let port = free_port();
        let mut berth = Berth {
            child: None,
            port,
            data_dir: dir.join("data"),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            stderr_lines: Default::default(),
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
        };
        berth.spawn();
        berth
    }

    fn spawn(&mut self) {
        let mut child = Command::new(berth_bin())
            // Port 0 for the metadata endpoint: tests run many berths on one host at once.
            .args(["up", "--no-aws-profile", "--metadata-port", "0", "--listen", &format!("127.0.0.1:{}", self.port)])
            // The Rust SDK's client trusts the system's CAs only; these tests are about ECS, not TLS (which the
            // Python suite's test_tls.py covers with the aws CLI and boto3).
            .arg("--insecure-http")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.extra_args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning berth");
        let stderr = child.stderr.take().expect("piped stderr");
        let lines = self.stderr_lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().expect("stderr lock").push(line);
            }
        });
        self.child = Some(child);
        self.wait_ready();
        if let Ok(text) = std::fs::read_to_string(self.data_dir.join("credentials")) {
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    match k.trim() {
                        "aws_access_key_id" => self.access_key_id = v.trim().to_owned(),
                        "aws_secret_access_key" => self.secret_access_key = v.trim().to_owned(),
                        _ => {}
                    }
                }
            }
        }
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("berth exited early with {status}: {:?}", self.stderr_lines.lock().expect("lock"));
            }
            if healthz_ok(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("berth did not start listening within 30 s");
    }

    /// Whether berth's stderr has (within a few seconds) a line containing `needle`.
    pub fn stderr_contains(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.stderr_lines.lock().expect("stderr lock").iter().any(|l| l.contains(needle)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends SIGTERM and waits; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok().and_then(|s| s.code())
    }

    /// Stops and starts again on the same port and data directory.
    pub fn restart(&mut self) {
        let code = self.stop();
        assert_eq!(code, Some(0), "berth should exit cleanly on SIGTERM");
        self.spawn();
    }

    /// An ECS client signed with the admin key.
    pub fn ecs(&self) -> aws_sdk_ecs::Client {
        self.ecs_with(&self.access_key_id, &self.secret_access_key)
    }

    /// An ECS client signed with the given key.
    pub fn ecs_with(&self, key: &str, secret: &str) -> aws_sdk_ecs::Client {
        let conf = aws_sdk_ecs::Config::builder()
            .region(aws_sdk_ecs::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(key, secret, None, None, "berth-e2e"))
            .endpoint_url(self.endpoint())
            .build();
        aws_sdk_ecs::Client::from_conf(conf)
    }
}

impl Berth {
    /// The container instance ARN the local agent registered (from its state file), once it has.
    pub fn instance_arn(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.data_dir.join("agent-state.json")).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        value["containerInstanceArn"].as_str().map(str::to_owned)
    }

    /// Waits until the local agent has registered and connected; returns its instance ARN.
    ///
    /// Registered is not enough: the agent writes its state file on registration, then fetches its instance's
    /// session and only then polls for work, and until it does the instance is `agentConnected: false` and a
    /// RunTask right then fails placement with AGENT.
    pub fn wait_agent(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let arn = loop {
            if let Some(arn) = self.instance_arn() {
                break arn;
            }
            if Instant::now() > deadline {
                panic!("the agent did not register within 30 s: {:?}", self.stderr_lines.lock().expect("lock"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Its own thread and runtime: callers are sync helpers called from async tests of either runtime flavour.
        let ecs = self.ecs();
        let instance = arn.clone();
        let connected = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async {
                while Instant::now() < deadline {
                    let described = ecs.describe_container_instances().container_instances(&instance).send().await;
                    if described.is_ok_and(|d| d.container_instances().first().is_some_and(|ci| ci.agent_connected())) {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                false
            })
        })
        .join()
        .expect("the wait for the agent");
        assert!(connected, "the agent did not connect within 30 s: {:?}", self.stderr_lines.lock().expect("lock"));
        arn
    }

    /// Sends SIGKILL to the process (server and agent die at once; containers keep running).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again after `kill`.
    pub fn start_again(&mut self) {
        self.spawn();
    }
}

/// Removes every container a berth data directory's agent created.
pub fn remove_containers(instance_arn: &str) {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=berth.container-instance={instance_arn}")])
        .output();
    let Ok(out) = out else { return };
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect();
    if !ids.is_empty() {
        let _ = Command::new("docker").arg("rm").arg("-f").args(&ids).stdout(Stdio::null()).status();
    }
}

/// Builds the test image (tests/images/build.sh) once per process.
pub fn test_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images/build.sh");
        let status = Command::new("bash").arg(script).stdout(Stdio::null()).status().expect("running build.sh");
        assert!(status.success(), "tests/images/build.sh failed");
    });
    "berth-test/busybox:latest"
}

impl Drop for Berth {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(arn) = self.instance_arn() {
            remove_containers(&arn);
        }
    }
}

/// Whether `GET /healthz` answers 200: the server is serving, so its credentials file is written.
fn healthz_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n").is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// An HTTP/1.0 GET of `/` on a loopback port, retried for about 5 s until something answers; the raw response
/// (empty when nothing did).
pub fn http_get(port: i32) -> String {
    use std::io::{Read, Write};
    let mut last = String::new();
    for _ in 0..50 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port as u16)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n");
            let mut body = String::new();
            let _ = s.read_to_string(&mut body);
            if !body.is_empty() {
                return body;
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    last
}

/// Starts a hollow agent (the real agent on a fake runtime, DESIGN.md section 5) in this process, joining `berth`'s
/// default cluster in zone `az` with attributes `role=hollow` and `name=<name>` and the given GPU ids.
pub async fn hollow_agent(berth: &Berth, dir: &Path, name: &str, az: &str, gpus: &[&str]) -> berth_agent::Agent {
    let config = berth_agent::AgentConfig {
        server: berth.endpoint(),
        ca_bundle: None,
        region: "us-east-1".into(),
        access_key: berth_client::AccessKey {
            access_key_id: berth.access_key_id.clone(),
            secret_access_key: berth.secret_access_key.clone(),
        },
        cluster: "default".into(),
        data_dir: dir.join(name),
        availability_zone: Some(az.into()),
        instance_type: "hollow.large".into(),
        reserved_memory_mib: 0,
        reserved_ports: berth_agent::config::DEFAULT_RESERVED_PORTS.to_vec(),
        reserved_udp_ports: vec![],
        metadata_port: None,
        default_stop_timeout: std::time::Duration::from_secs(30),
        cleanup_wait: std::time::Duration::from_secs(3600),
        attributes: vec![("role".into(), Some("hollow".into())), ("name".into(), Some(name.into()))],
        gpus: berth_agent::GpuDiscovery::List(gpus.iter().map(|g| g.to_string()).collect()),
        dynamic_host_port_range: berth_agent::config::DEFAULT_DYNAMIC_HOST_PORT_RANGE,
        // Hollow agents keep no logs: no link endpoint, no shipping.
        link_listen: None,
        link_advertise: None,
        log_max_bytes: berth_agent::logs::DEFAULT_HOST_MAX_BYTES,
        log_stream_max_bytes: berth_agent::logs::DEFAULT_STREAM_MAX_BYTES,
        // Fake containers have no stats worth sampling.
        stats_interval: None,
    };
    let runtime = std::sync::Arc::new(berth_agent::runtime::fake::FakeRuntime::hollow());
    berth_agent::start(config, runtime).await.expect("hollow agent starts")
}
