//! `berth bench cluster` at a tiny size, end to end: the bench starts its own server process, registers hollow
//! agents, places tasks through RunTask and waits for the server to count them RUNNING. Checks the report line's
//! counts and that every figure is there; asserts no timing.

use std::process::Command;

use serde_json::Value;

#[test]
fn hollow_cluster_bench_places_every_task_and_reports_every_figure() {
    let output = Command::new(berth_e2e::berth_bin())
        .args(["bench", "cluster", "--hollow", "3", "--tasks", "30", "--concurrency", "4", "--timeout", "60"])
        // The agents' "registered" lines are not what this test reads.
        .env("BERTH_LOG", "warn")
        .output()
        .expect("running berth bench cluster");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "berth bench cluster failed ({}):\n{stdout}\n{stderr}", output.status);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one JSON line expected:\n{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(lines[0]).expect("the report is JSON");

    assert_eq!(report["bench"], "cluster");
    assert_eq!(report["server"], "spawned");
    assert_eq!(report["hollow"], 3);
    assert_eq!(report["tasks"], 30);
    assert_eq!(report["placed"], 30, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["run_task_errors"], 0, "{report}");
    assert_eq!(report["running"], 30, "{report}");
    assert_eq!(report["all_running"], true, "{report}");
    // 30 tasks by RunTask calls of 10.
    assert_eq!(report["run_task_calls"], 3, "{report}");
    assert_eq!(report["server_stopped_cleanly"], true, "{report}");
    for figure in [
        "tasks_per_sec",
        "placements_per_sec",
        "run_task_p50_ms",
        "run_task_p99_ms",
        "run_task_max_ms",
        "register_secs",
        "registrations_per_sec",
        "placement_secs",
        "containers_started_secs",
        "running_secs",
        "observe_poll_mean_ms",
        "server_rss_registered_mib",
        "server_peak_rss_mib",
        "bench_rss_mib",
    ] {
        assert!(report[figure].as_f64().is_some_and(|v| v >= 0.0), "{figure} missing or not a number: {report}");
    }
    assert!(report["server_peak_rss_mib"].as_f64().is_some_and(|v| v > 0.0), "{report}");
}
