//! Malformed and hostile requests over raw HTTP: each gets a 4xx ECS error naming the problem, nothing is stored,
//! and the server keeps serving. The server runs with `--auth none` so the bodies reach the API layer unsigned
//! (the Python suite sends the same cases signed).

use berth_e2e::Berth;
use serde_json::Value;

async fn call(berth: &Berth, target: Option<&str>, body: Vec<u8>) -> (u16, Value, bool) {
    let client = reqwest::Client::new();
    let mut req = client.post(berth.endpoint()).header("content-type", "application/x-amz-json-1.1").body(body);
    if let Some(t) = target {
        req = req.header("x-amz-target", format!("AmazonEC2ContainerServiceV20141113.{t}"));
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let has_request_id = resp.headers().contains_key("x-amzn-requestid");
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (status, body, has_request_id)
}

async fn cluster_count(berth: &Berth) -> usize {
    let (_, body, _) = call(berth, Some("ListClusters"), b"{}".to_vec()).await;
    body["clusterArns"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_ecs_errors_and_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = Berth::start_with(dir.path(), &["--auth", "none", "--no-agent"]);
    assert!(berth.stderr_contains("--auth none"), "berth must warn that authentication is off");

    // (what, target, body, status, code ("" = ClientException or InvalidParameterException), message mentions)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            Some("CreateCluster"),
            b"{\"clusterName\": ".to_vec(),
            400,
            "SerializationException",
            "JSON",
        ),
        ("not an object", Some("CreateCluster"), b"[1,2]".to_vec(), 400, "SerializationException", "object"),
        (
            "wrong type",
            Some("CreateCluster"),
            br#"{"clusterName": 5}"#.to_vec(),
            400,
            "InvalidParameterException",
            "clusterName",
        ),
        (
            "wrong nested type",
            Some("CreateCluster"),
            br#"{"clusterName": "a", "tags": [{"key": 1}]}"#.to_vec(),
            400,
            "InvalidParameterException",
            "tags",
        ),
        ("unknown operation", Some("FlyToTheMoon"), b"{}".to_vec(), 400, "UnknownOperationException", "FlyToTheMoon"),
        ("no target", None, b"{}".to_vec(), 400, "UnknownOperationException", "X-Amz-Target"),
        (
            "huge name",
            Some("CreateCluster"),
            format!(r#"{{"clusterName": "{}"}}"#, "a".repeat(10_000)).into_bytes(),
            400,
            "InvalidParameterException",
            "clusterName",
        ),
        (
            "non-ASCII name",
            Some("CreateCluster"),
            r#"{"clusterName": "grüße-集群"}"#.as_bytes().to_vec(),
            400,
            "InvalidParameterException",
            "clusterName",
        ),
        (
            "body over the limit",
            Some("CreateCluster"),
            vec![b' '; 2 * 1024 * 1024],
            413,
            "RequestEntityTooLargeException",
            "limit",
        ),
        (
            "maxResults out of range",
            Some("ListClusters"),
            br#"{"maxResults": 1000}"#.to_vec(),
            400,
            "InvalidParameterException",
            "maxResults",
        ),
        (
            "bad nextToken",
            Some("ListClusters"),
            br#"{"nextToken": "%%%"}"#.to_vec(),
            400,
            "InvalidParameterException",
            "nextToken",
        ),
        ("missing required", Some("DeleteCluster"), b"{}".to_vec(), 400, "InvalidParameterException", "cluster"),
        (
            "huge family",
            Some("RegisterTaskDefinition"),
            format!(
                r#"{{"family": "{}", "containerDefinitions": [{{"name": "a", "image": "b", "memory": 64}}]}}"#,
                "f".repeat(10_000)
            )
            .into_bytes(),
            400,
            "",
            "family",
        ),
    ];
    for (what, target, body, status, code, mentions) in cases {
        let (got_status, got, request_id) = call(&berth, target, body).await;
        assert_eq!(got_status, status, "{what}: {got}");
        assert!(request_id, "{what}: x-amzn-RequestId missing");
        let got_code = got["__type"].as_str().unwrap_or_default();
        if !code.is_empty() {
            assert_eq!(got_code, code, "{what}: {got}");
        } else {
            assert!(got_code == "ClientException" || got_code == "InvalidParameterException", "{what}: {got}");
        }
        let message = got["message"].as_str().unwrap_or_default();
        assert!(message.contains(mentions), "{what}: message should mention {mentions}: {message}");
        assert_eq!(cluster_count(&berth).await, 0, "{what}: nothing stored");
    }
    let (_, families, _) = call(&berth, Some("ListTaskDefinitionFamilies"), b"{}".to_vec()).await;
    assert_eq!(families["families"].as_array().map(Vec::len), Some(0));

    // Still serving.
    let (status, body, _) = call(&berth, Some("CreateCluster"), br#"{"clusterName": "ok"}"#.to_vec()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cluster_count(&berth).await, 1);
}
