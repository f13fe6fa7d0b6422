//! docs/API-COVERAGE.md, the botocore ECS model and the dispatch table must agree.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use berth_server::dispatch::OPERATIONS;

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

/// Operation -> status from the coverage document's ECS table (the part before the next `## ` section).
fn documented() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/API-COVERAGE.md");
    let text = std::fs::read_to_string(&path).expect("docs/API-COVERAGE.md");
    text.lines()
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
