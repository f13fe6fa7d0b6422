//! Requests signed by real botocore (the aws CLI and boto3 use it), captured
//! by `tests/fixtures/capture_botocore.py`. These pin the verifier to the
//! other major client besides aws-sdk-rust, independently of aws-sigv4.

mod common;
#[rustfmt::skip]
#[path = "fixtures/botocore_requests.rs"]
mod fixtures;

use std::time::Duration;

use berth_sigv4::AuthError;
use common::{Request, amz_time, verify_request};
use fixtures::{AKID, Captured, LAMBDA_GET_FUNCTION, LIST_CLUSTERS, RUN_TASK, SECRET};

/// Rebuilds the request as the server receives it: urllib3 adds the Host
/// header from the URL after botocore signed.
fn received(captured: &Captured) -> Request {
    let rest = captured.url.strip_prefix("http://").expect("fixture urls are http");
    let (authority, path_and_query) = rest.split_at(rest.find('/').expect("path"));
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let mut req =
        Request::new(captured.method, authority, path, query).header("Host", authority).body(captured.body.as_bytes());
    for (name, value) in captured.headers {
        req = req.header(name, value);
    }
    req
}

fn signed_at(req: &Request) -> std::time::SystemTime {
    let date = req.values("x-amz-date")[0];
    amz_time(std::str::from_utf8(date).expect("utf-8"))
}

#[test]
fn botocore_requests_verify() {
    for captured in [&LIST_CLUSTERS, &RUN_TASK, &LAMBDA_GET_FUNCTION] {
        let req = received(captured);
        let now = signed_at(&req) + Duration::from_secs(3);
        let verified = verify_request(&req, captured.service, &[(AKID, SECRET)], now)
            .unwrap_or_else(|e| panic!("{}: {e}", captured.url));
        assert_eq!(verified.access_key_id, AKID);
        assert_eq!(verified.service, captured.service);
    }
}

#[test]
fn botocore_signs_the_expected_header_set() {
    assert_eq!(received(&LIST_CLUSTERS).signed_headers(), "content-type;host;x-amz-date;x-amz-target");
    assert_eq!(received(&RUN_TASK).signed_headers(), "content-type;host;x-amz-date;x-amz-target");
}

#[test]
fn botocore_requests_verify_with_lowercased_header_names() {
    // hyper hands header names to the server in lower case.
    for captured in [&LIST_CLUSTERS, &RUN_TASK, &LAMBDA_GET_FUNCTION] {
        let mut req = received(captured);
        for (name, _) in &mut req.headers {
            *name = name.to_ascii_lowercase();
        }
        let now = signed_at(&req);
        assert!(verify_request(&req, captured.service, &[(AKID, SECRET)], now).is_ok());
    }
}

#[test]
fn botocore_request_with_altered_body_is_rejected() {
    let mut req = received(&RUN_TASK);
    let now = signed_at(&req);
    // "count": 2 -> "count": 3
    let at = req.body.windows(10).position(|w| w == b"\"count\": 2").expect("count");
    req.body[at + 9] = b'3';
    let err = verify_request(&req, "ecs", &[(AKID, SECRET)], now).expect_err("tampered");
    assert!(matches!(err, AuthError::SignatureMismatch), "{err:?}");
}

#[test]
fn botocore_request_with_altered_target_is_rejected() {
    let mut req = received(&LIST_CLUSTERS);
    let now = signed_at(&req);
    for (name, value) in &mut req.headers {
        if name.eq_ignore_ascii_case("x-amz-target") {
            *value = b"AmazonEC2ContainerServiceV20141113.DeleteCluster".to_vec();
        }
    }
    let err = verify_request(&req, "ecs", &[(AKID, SECRET)], now).expect_err("tampered");
    assert!(matches!(err, AuthError::SignatureMismatch), "{err:?}");
}

#[test]
fn botocore_request_with_altered_path_or_query_is_rejected() {
    let base = received(&LAMBDA_GET_FUNCTION);
    let now = signed_at(&base);
    let mut path = base.clone();
    path.path = path.path.replace("my%20fn", "my%20fm");
    let mut query = base.clone();
    query.query = query.query.replace("v%2B1", "v%2B2");
    for req in [path, query] {
        let err = verify_request(&req, "lambda", &[(AKID, SECRET)], now).expect_err("tampered");
        assert!(matches!(err, AuthError::SignatureMismatch), "{err:?}");
    }
}

#[test]
fn botocore_request_for_ecs_is_not_accepted_by_another_service() {
    let req = received(&LIST_CLUSTERS);
    let err = verify_request(&req, "sqs", &[(AKID, SECRET)], signed_at(&req)).expect_err("wrong service");
    assert!(matches!(&err, AuthError::WrongService { expected, got } if expected == "sqs" && got == "ecs"), "{err:?}");
}
