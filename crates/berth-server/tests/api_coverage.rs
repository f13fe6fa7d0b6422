//! docs/API-COVERAGE.md, the botocore models and the server's operation tables must agree (ECS, IAM, STS, Secrets
//! Manager, SSM).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use berth_server::dispatch::OPERATIONS;

/// Operation names of a model in the installed botocore package.
fn model_operations_of(service: &str) -> Vec<String> {
    let script = format!(
        "import json, botocore.session\nprint(json.dumps(sorted(botocore.session.get_session().get_service_model('{service}').operation_names)))"
    );
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let python = if venv.exists() { venv.to_string_lossy().into_owned() } else { "python3".to_owned() };
    let out = Command::new(&python).args(["-c", &script]).output().expect("python with botocore");
    assert!(out.status.success(), "botocore must be installed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("a JSON list of names")
}

/// The model, the server's table (operation -> has a handler) and the section's table agree.
fn check_section(service: &str, heading: &str, table: BTreeMap<&str, bool>) {
    let model = model_operations_of(service);
    let docs = section_table(Some(heading));
    assert!(model.len() > 5, "the {service} model has operations");
    for name in &model {
        assert!(table.contains_key(name.as_str()), "{name} is in the {service} model but not in the server's table");
        let expected = if table[name.as_str()] { "implemented" } else { "not yet" };
        assert_eq!(docs.get(name).map(String::as_str), Some(expected), "{heading} status of {name}");
    }
    assert_eq!(table.len(), model.len(), "the server's {service} table has operations outside the model");
    assert_eq!(docs.len(), model.len(), "{heading} lists operations outside the model");
}

#[test]
fn iam_and_sts_sections_match_their_models_and_tables() {
    let iam = berth_server::iam::OPERATIONS.iter().map(|o| (o.name, o.handler.is_some())).collect();
    check_section("iam", "## IAM", iam);
    let sts = berth_server::sts::OPERATIONS.iter().map(|o| (o.name, o.handler.is_some())).collect();
    check_section("sts", "## STS", sts);
}

#[test]
fn secrets_manager_and_ssm_sections_match_their_models_and_tables() {
    let secrets = berth_server::secrets::OPERATIONS.iter().map(|o| (o.name, o.handler.is_some())).collect();
    check_section("secretsmanager", "## Secrets Manager", secrets);
    let ssm = berth_server::ssm::OPERATIONS.iter().map(|o| (o.name, o.handler.is_some())).collect();
    check_section("ssm", "## SSM Parameter Store", ssm);
}

/// Operation names of the ECS model in the installed botocore package.
fn model_operations() -> Vec<String> {
    let script = r#"
import gzip, json, os, botocore
base = os.path.join(os.path.dirname(botocore.__file__), 'data', 'ecs', '2014-11-13', 'service-2.json')
model = json.load(open(base)) if os.path.exists(base) else json.load(gzip.open(base + '.gz'))
print(json.dumps(sorted(model['operations'])))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .expect("python3 must be installed (tests/python/requirements.txt)");
    assert!(out.status.success(), "botocore must be installed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let names: Vec<String> = serde_json::from_str(&text).expect("a JSON list of names");
    assert!(names.len() > 50, "the ECS model has more operations than {}", names.len());
    names
}

/// Operation -> status from the coverage document's ECS table (the part before the first `## ` section).
fn documented() -> BTreeMap<String, String> {
    section_table(None)
}

/// Operation -> status from the operation table of a section of the coverage document (`None`: the ECS table at
/// the top), up to the next `## ` section.
fn section_table(heading: Option<&str>) -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/API-COVERAGE.md");
    let text = std::fs::read_to_string(&path).expect("docs/API-COVERAGE.md");
    let mut lines = text.lines();
    if let Some(h) = heading {
        assert!(lines.any(|l| l == h), "docs/API-COVERAGE.md has no section '{h}'");
    }
    lines
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Operation"))
        .map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            (cols[1].to_owned(), cols[2].to_owned())
        })
        .collect()
}

#[test]
fn coverage_document_matches_model_and_dispatch_table() {
    let model = model_operations();
    let table: BTreeMap<&str, bool> = OPERATIONS.iter().map(|o| (o.name, o.handler.is_some())).collect();
    let docs = documented();
    for name in &model {
        assert!(table.contains_key(name.as_str()), "{name} is in the ECS model but not in the dispatch table");
        assert!(docs.contains_key(name), "{name} is in the ECS model but not in docs/API-COVERAGE.md");
    }
    for (name, implemented) in &table {
        assert!(model.iter().any(|m| m == name), "{name} is in the dispatch table but not in the ECS model");
        let expected = if *implemented { "implemented" } else { "not yet" };
        assert_eq!(docs.get(*name).map(String::as_str), Some(expected), "docs/API-COVERAGE.md status of {name}");
    }
    assert_eq!(docs.len(), model.len(), "docs/API-COVERAGE.md lists operations outside the model");
}
