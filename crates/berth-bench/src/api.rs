//! ECS API load: `concurrency` workers each keep one request in flight for `duration`, every request freshly
//! signed. The mix is 10% RegisterTaskDefinition, 45% DescribeTaskDefinition (a seeded family and revision) and 45%
//! ListTaskDefinitions (a seeded family, pages of 100), the mix of `bench/api_bench.py`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::pct;

const SEED_FAMILIES: u64 = 10;
const SEED_REVISIONS: u64 = 5;
const OPERATIONS: [&str; 3] = ["RegisterTaskDefinition", "DescribeTaskDefinition", "ListTaskDefinitions"];

/// What to run.
#[derive(Debug, Clone)]
pub struct ApiLoad {
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub duration: Duration,
    pub concurrency: usize,
    /// The CA certificates (PEM) to verify an `https://` endpoint with; `None`: the system's.
    pub ca_bundle: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("request to {endpoint} failed: {message}")]
    Request { endpoint: String, message: String },
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("seeding failed: {0}")]
    Seed(String),
}

/// A signing client for one endpoint, answering the HTTP status of each call.
#[derive(Clone)]
struct Client(berth_client::Client);

impl Client {
    fn new(load: &ApiLoad) -> Result<Self, BenchError> {
        let key = berth_client::AccessKey {
            access_key_id: load.access_key_id.clone(),
            secret_access_key: load.secret_access_key.clone(),
        };
        berth_client::Client::trusting(&load.endpoint, &load.region, &key, load.concurrency, load.ca_bundle.as_deref())
            .map(Client)
            .map_err(|e| BenchError::Request { endpoint: load.endpoint.clone(), message: e.to_string() })
    }

    /// Signs and sends one call; returns the HTTP status.
    async fn call(&self, operation: &str, body: &Value) -> Result<u16, BenchError> {
        let body = serde_json::to_vec(body).map_err(|e| BenchError::Signing(e.to_string()))?;
        let target = format!("{}{operation}", berth_client::ECS_TARGET_PREFIX);
        match self.0.send(&target, body, None).await {
            Ok((status, _)) => Ok(status),
            Err(berth_client::ClientError::Signing(e)) => Err(BenchError::Signing(e)),
            Err(e) => Err(BenchError::Request { endpoint: self.0.endpoint().to_owned(), message: e.to_string() }),
        }
    }
}

fn task_definition(family: &str) -> Value {
    json!({
        "family": family,
        "networkMode": "bridge",
        "containerDefinitions": [{
            "name": "trainer",
            "image": "berth-test/busybox:latest",
            "cpu": 256,
            "memory": 512,
            "essential": true,
            "command": ["python", "train.py", "--epochs", "3"],
            "environment": [{"name": "EPOCHS", "value": "3"}, {"name": "DATA_DIR", "value": "/data"}],
            "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}],
            "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}},
        }],
    })
}

/// A small deterministic generator (xorshift64*): the mix needs no more, and each worker's sequence repeats.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// The next request of worker `worker`: (operation index, body).
fn pick(rng: &mut Rng, worker: usize) -> (usize, Value) {
    let family = format!("bench-seed-{}", rng.below(SEED_FAMILIES));
    match rng.below(100) {
        0..10 => (0, task_definition(&format!("bench-reg-{}", worker % 16))),
        10..55 => (1, json!({ "taskDefinition": format!("{family}:{}", rng.below(SEED_REVISIONS) + 1) })),
        _ => (2, json!({ "familyPrefix": family, "maxResults": 100 })),
    }
}

/// Registers the families the mix reads.
async fn seed(client: &Client) -> Result<(), BenchError> {
    for f in 0..SEED_FAMILIES {
        for _ in 0..SEED_REVISIONS {
            let status = client.call("RegisterTaskDefinition", &task_definition(&format!("bench-seed-{f}"))).await?;
            if status != 200 {
                return Err(BenchError::Seed(format!("RegisterTaskDefinition answered {status}")));
            }
        }
    }
    Ok(())
}

/// Runs the load and returns the report line.
pub async fn run(load: &ApiLoad) -> Result<Value, BenchError> {
    let client = Client::new(load)?;
    seed(&client).await?;
    let start = Instant::now() + Duration::from_millis(200);
    let end = start + load.duration;
    let mut workers = Vec::new();
    for worker in 0..load.concurrency {
        let client = client.clone();
        workers.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (worker as u64 + 1));
            // (operation, micros) per completed request, and the number of failures.
            let mut samples: Vec<(usize, u32)> = Vec::new();
            let mut errors = 0u64;
            let _ = client.call("ListClusters", &json!({})).await; // open the connection before the clock starts
            tokio::time::sleep_until(start.into()).await;
            loop {
                let (op, body) = pick(&mut rng, worker);
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let ok = matches!(client.call(OPERATIONS[op], &body).await, Ok(200));
                let done = Instant::now();
                if done <= end {
                    samples.push((op, u32::try_from((done - sent).as_micros()).unwrap_or(u32::MAX)));
                    errors += u64::from(!ok);
                }
            }
            (samples, errors)
        }));
    }
    let mut all: Vec<(usize, u32)> = Vec::new();
    let mut errors = 0;
    for w in workers {
        if let Ok((samples, e)) = w.await {
            all.extend(samples);
            errors += e;
        }
    }
    let seconds = load.duration.as_secs_f64();
    let mut per_op = serde_json::Map::new();
    for (i, name) in OPERATIONS.iter().enumerate() {
        let mut lat: Vec<u32> = all.iter().filter(|(op, _)| *op == i).map(|(_, l)| *l).collect();
        lat.sort_unstable();
        per_op.insert((*name).into(), json!({ "n": lat.len(), "p50_ms": pct(&lat, 50.0), "p99_ms": pct(&lat, 99.0) }));
    }
    let mut lat: Vec<u32> = all.iter().map(|(_, l)| *l).collect();
    lat.sort_unstable();
    Ok(json!({
        "bench": "api",
        "client": "berth-bench (aws-sigv4, reqwest)",
        "endpoint": load.endpoint,
        "concurrency": load.concurrency,
        "duration_s": seconds,
        "requests": lat.len(),
        "rps": (lat.len() as f64 / seconds * 10.0).round() / 10.0,
        "p50_ms": pct(&lat, 50.0),
        "p99_ms": pct(&lat, 99.0),
        "errors": errors,
        "per_op": per_op,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_follows_the_documented_shares() {
        let mut rng = Rng(7);
        let mut counts = [0usize; 3];
        for i in 0..10_000 {
            counts[pick(&mut rng, i).0] += 1;
        }
        assert!((800..1200).contains(&counts[0]), "{counts:?}");
        assert!((4100..4900).contains(&counts[1]), "{counts:?}");
        assert!((4100..4900).contains(&counts[2]), "{counts:?}");
    }
}
