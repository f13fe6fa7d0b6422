//! `verify` against aws-sigv4's own signer (`http_request::sign`), the code
//! aws-sdk-rust runs: whatever it signs must verify, and any change to what
//! it covered must not.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_sigv4::{AuthError, SignedRequest, verify};
use common::{Request, sign_as, sign_with_oracle, verify_request, with_host};
use proptest::prelude::*;

const AKID: &str = "AKIDBERTHORACLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TARGET: &str = "AmazonEC2ContainerServiceV20141113.ListClusters";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// 2026-11-29T12:31:00Z
const T0: u64 = 1_795_955_460;

fn ecs_request(body: &[u8]) -> Request {
    Request::new("POST", "ecs.us-east-1.amazonaws.com", "/", "")
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Target", TARGET)
        .body(body)
}

fn keys() -> [(&'static str, &'static str); 1] {
    [(AKID, SECRET)]
}

#[test]
fn aws_sdk_rust_header_set_verifies() {
    // What aws-sdk-ecs sends to its signer (Host is added from the URI).
    let body = br#"{"cluster":"default"}"#;
    let req = ecs_request(body)
        .header("Content-Length", &body.len().to_string())
        .header("X-Amz-User-Agent", "aws-sdk-rust/1.3.9 api/ecs/1.157.0 os/linux lang/rust/1.95.0")
        .header("User-Agent", "aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0")
        .header("amz-sdk-invocation-id", "0d1c0e6e-5a55-4b8e-9a4a-1f2f0c1b0e9d")
        .header("amz-sdk-request", "attempt=1; max=3");
    let signed = with_host(sign_with_oracle(&req, AKID, SECRET, "us-east-1", "ecs", at(T0)));
    assert_eq!(
        signed.signed_headers(),
        "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date;\
         x-amz-target;x-amz-user-agent"
    );
    verify_request(&signed, "ecs", &keys(), at(T0)).expect("verifies");

    // The SDK's retry/invocation headers are added by its interceptors; the
    // set observed on the wire (rust-stack.md 2.3) is exactly this one.
    let exact = ecs_request(body)
        .header("Content-Length", &body.len().to_string())
        .header("X-Amz-User-Agent", "aws-sdk-rust/1.3.9 api/ecs/1.157.0");
    let signed = with_host(sign_with_oracle(&exact, AKID, SECRET, "us-east-1", "ecs", at(T0)));
    assert_eq!(signed.signed_headers(), "content-length;content-type;host;x-amz-date;x-amz-target;x-amz-user-agent");
    let verified = verify_request(&signed, "ecs", &keys(), at(T0)).expect("verifies");
    assert_eq!(verified.access_key_id, AKID);
    assert_eq!(verified.region, "us-east-1");
    assert_eq!(verified.service, "ecs");
}

#[test]
fn botocore_header_set_verifies() {
    let req = ecs_request(b"{}");
    let signed = with_host(sign_with_oracle(&req, AKID, SECRET, "eu-west-1", "ecs", at(T0)));
    assert_eq!(signed.signed_headers(), "content-type;host;x-amz-date;x-amz-target");
    verify_request(&signed, "ecs", &keys(), at(T0)).expect("verifies");
}

#[test]
fn unsigned_headers_added_after_signing_are_ignored() {
    let signed = with_host(sign_with_oracle(&ecs_request(b"{}"), AKID, SECRET, "us-east-1", "ecs", at(T0)));
    let extended = signed
        .clone()
        .header("User-Agent", "aws-cli/2.27.0")
        .header("X-Forwarded-For", "10.0.0.1")
        .header("x-amzn-trace-id", "Root=1-abc")
        .header("X-Amz-Content-Sha256", "not-signed-so-ignored");
    verify_request(&extended, "ecs", &keys(), at(T0)).expect("verifies");
}

#[test]
fn user_agent_is_never_signed_by_the_sdk() {
    let req = ecs_request(b"{}").header("User-Agent", "aws-cli/2.27.0");
    let mut signed = with_host(sign_with_oracle(&req, AKID, SECRET, "us-east-1", "ecs", at(T0)));
    assert!(!signed.signed_headers().contains("user-agent"));
    // A proxy rewriting it must not matter.
    for (name, value) in &mut signed.headers {
        if name.eq_ignore_ascii_case("user-agent") {
            *value = b"proxy/1.0".to_vec();
        }
    }
    verify_request(&signed, "ecs", &keys(), at(T0)).expect("verifies");
}

#[test]
fn signed_content_sha256_must_match_the_body() {
    let body = b"{\"cluster\":\"x\"}";
    let hash = "0f1c3d3ab1bd4b2a4a4b0fca1e7f6e6e8c9b1a0d0e3e5f7a9b2c4d6e8f0a1b2c";
    let real = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(body))
    };
    // Correct hash, UNSIGNED-PAYLOAD (refused: the body would be unauthenticated) and a wrong hash, all signed.
    for (claimed, ok) in
        [(real.as_str(), true), (real.to_uppercase().as_str(), true), ("UNSIGNED-PAYLOAD", false), (hash, false)]
    {
        let req = ecs_request(body).header("X-Amz-Content-Sha256", claimed);
        // aws-sigv4 puts its own body hash on the payload line; to sign the
        // claimed value the way S3-style clients do, precompute it.
        let signed = with_host(sign_precomputed(&req, claimed));
        assert!(signed.signed_headers().contains("x-amz-content-sha256"));
        let result = verify_request(&signed, "ecs", &keys(), at(T0));
        if ok {
            result.unwrap_or_else(|e| panic!("{claimed}: {e}"));
        } else {
            assert!(matches!(result, Err(AuthError::SignatureMismatch)), "{claimed}: {result:?}");
        }
    }
}

/// Signs with `SignableBody::Precomputed(claimed)` so the payload line is
/// the claimed hash, as S3-style signers do with x-amz-content-sha256.
fn sign_precomputed(req: &Request, claimed: &str) -> Request {
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::SignableBody;
    use aws_smithy_runtime_api::client::identity::Identity;
    let identity: Identity = Credentials::new(AKID, SECRET, None, None, "test").into();
    let body = if claimed == "UNSIGNED-PAYLOAD" {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Precomputed(claimed.to_owned())
    };
    sign_as(req, &identity, "us-east-1", "ecs", at(T0), body)
}

#[test]
fn session_token_is_covered_when_signed() {
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::SignableBody;
    use aws_smithy_runtime_api::client::identity::Identity;
    let identity: Identity = Credentials::new(AKID, SECRET, Some("session-token".to_owned()), None, "t").into();
    let req = ecs_request(b"{}");
    let signed = sign_as(&req, &identity, "us-east-1", "ecs", at(T0), SignableBody::Bytes(&req.body));
    let mut signed = with_host(signed);
    assert!(signed.signed_headers().contains("x-amz-security-token"));
    verify_request(&signed, "ecs", &keys(), at(T0)).expect("verifies");
    for (name, value) in &mut signed.headers {
        if name.eq_ignore_ascii_case("x-amz-security-token") {
            *value = b"other-token".to_vec();
        }
    }
    let err = verify_request(&signed, "ecs", &keys(), at(T0)).expect_err("token swapped");
    assert!(matches!(err, AuthError::SignatureMismatch), "{err:?}");
}

#[test]
fn request_level_errors() {
    let signed = with_host(sign_with_oracle(&ecs_request(b"{}"), AKID, SECRET, "us-east-1", "ecs", at(T0)));
    let without = |name: &str| {
        let mut r = signed.clone();
        r.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        r
    };

    let err = verify_request(&without("authorization"), "ecs", &keys(), at(T0)).expect_err("no auth");
    assert!(matches!(err, AuthError::MissingAuthentication), "{err:?}");
    assert_eq!(err.code(), "MissingAuthenticationTokenException");

    let err = verify_request(&without("x-amz-date"), "ecs", &keys(), at(T0)).expect_err("date");
    assert!(matches!(&err, AuthError::Malformed(m) if m.contains("X-Amz-Date")), "{err:?}");
    assert_eq!(err.code(), "IncompleteSignatureException");

    let err = verify_request(&without("x-amz-target"), "ecs", &keys(), at(T0)).expect_err("signed header missing");
    assert!(matches!(&err, AuthError::Malformed(m) if m.contains("'x-amz-target'")), "{err:?}");

    let twice = signed.clone().header("Authorization", "AWS4-HMAC-SHA256 x");
    let err = verify_request(&twice, "ecs", &keys(), at(T0)).expect_err("two auth");
    assert!(matches!(&err, AuthError::Malformed(m) if m.contains("more than one")), "{err:?}");

    let mut presigned = signed.clone();
    presigned.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00".to_owned();
    let err = verify_request(&presigned, "ecs", &keys(), at(T0)).expect_err("presigned");
    assert!(matches!(&err, AuthError::Malformed(m) if m.contains("presigned URLs are not supported")), "{err:?}");
    let mut presigned = without("authorization");
    presigned.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256".to_owned();
    assert!(matches!(verify_request(&presigned, "ecs", &keys(), at(T0)), Err(AuthError::Malformed(_))));

    let err = verify_request(&signed, "ecs", &[], at(T0)).expect_err("unknown");
    assert!(matches!(&err, AuthError::UnknownAccessKey(k) if k == AKID), "{err:?}");
    assert_eq!(err.code(), "UnrecognizedClientException");
}

#[test]
fn scope_date_must_match_x_amz_date() {
    let signed = with_host(sign_with_oracle(&ecs_request(b"{}"), AKID, SECRET, "us-east-1", "ecs", at(T0)));
    let mut other_day = signed.clone();
    for (name, value) in &mut other_day.headers {
        if name.eq_ignore_ascii_case("authorization") {
            let text = String::from_utf8(value.clone()).expect("utf-8");
            *value = text.replace("/20261129/", "/20261128/").into_bytes();
        }
    }
    let err = verify_request(&other_day, "ecs", &keys(), at(T0)).expect_err("scope date");
    assert!(matches!(&err, AuthError::Malformed(m) if m.contains("'20261128' != '20261129'")), "{err:?}");
}

#[test]
fn host_must_be_signed() {
    // A hand-built header that leaves host out of SignedHeaders.
    let headers: Vec<(&str, &[u8])> = vec![
        ("Host", b"ecs.us-east-1.amazonaws.com"),
        ("X-Amz-Date", b"20261129T123100Z"),
        (
            "Authorization",
            b"AWS4-HMAC-SHA256 Credential=AKIDBERTHORACLE/20261129/us-east-1/ecs/aws4_request, \
              SignedHeaders=x-amz-date, \
              Signature=0000000000000000000000000000000000000000000000000000000000000000",
        ),
    ];
    let request = SignedRequest { method: "POST", path: "/", query: "", headers: &headers, body: b"" };
    let err = verify(&request, "ecs", |_| Some(SECRET.to_owned()), at(T0)).expect_err("no host");
    assert!(matches!(&err, AuthError::Malformed(m) if m.contains("'Host'")), "{err:?}");
}

// ----------------------------------------------------------------------------
// Property tests
// ----------------------------------------------------------------------------

/// A header name that is neither one the signer treats specially nor one the
/// generator uses for its fixed headers, in random case.
fn extra_header_name() -> impl Strategy<Value = String> {
    ("[a-z][a-z0-9-]{0,12}", any::<u64>()).prop_map(|(tail, case_bits)| {
        format!("x-test-{tail}")
            .chars()
            .enumerate()
            .map(|(i, c)| if case_bits >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

/// Visible ASCII and spaces, including leading, trailing and repeated ones.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,24}",
        // Words separated by runs of spaces, padded: exercises trim + collapse.
        prop::collection::vec(("[!-~]{1,6}", " {1,4}"), 1..4).prop_map(|parts| {
            parts.iter().flat_map(|(word, gap)| [gap.as_str(), word.as_str()]).collect::<String>() + "  "
        }),
    ]
}

/// One raw path segment, percent-encoded the way a client puts it on the wire.
fn path_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[A-Za-z0-9._~ :@!$'()*+,;=é-]{1,10}",
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
    ]
    .prop_map(|raw| encode(&raw))
}

fn encode(raw: &str) -> String {
    let mut out = String::new();
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Query encoding as clients vary it: `+` or `%20` for spaces, upper- or
/// lower-case hex; the canonical form must come out the same.
fn encode_query_component(raw: &str, plus_for_space: bool, lower_hex: bool) -> String {
    let encoded = if plus_for_space { raw.split(' ').map(encode).collect::<Vec<_>>().join("+") } else { encode(raw) };
    if lower_hex {
        // Only the two hex digits after each '%' change case.
        let mut out = String::new();
        let mut hex_left = 0;
        for c in encoded.chars() {
            if hex_left > 0 {
                out.push(c.to_ascii_lowercase());
                hex_left -= 1;
            } else {
                if c == '%' {
                    hex_left = 2;
                }
                out.push(c);
            }
        }
        out
    } else {
        encoded
    }
}

fn query_string() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(("[A-Za-z0-9 ._~/+=&-]{1,8}", "[A-Za-z0-9 ._~/+=&é-]{0,8}"), 0..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(pairs, plus, lower)| {
            pairs
                .iter()
                .map(|(k, v)| {
                    format!("{}={}", encode_query_component(k, plus, lower), encode_query_component(v, plus, lower))
                })
                .collect::<Vec<_>>()
                .join("&")
        })
}

#[derive(Debug, Clone)]
struct Case {
    req: Request,
    region: String,
    time: u64,
    skew: i64,
    /// Whether the client put Host in the header list before signing.
    host_before_signing: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::vec((extra_header_name(), header_value()), 0..5),
        "[a-z]{2}-[a-z]{4,9}-[1-9]",
        // 2000-01-01 .. 2100-01-01
        946_684_800u64..4_102_444_800u64,
        -900i64..=900,
        prop::collection::vec(path_segment(), 0..4),
        query_string(),
        any::<bool>(),
        any::<bool>(),
        header_value(),
        prop::sample::select(vec!["POST", "GET", "PUT", "DELETE"]),
    )
        .prop_map(
            |(
                body,
                extras,
                region,
                time,
                skew,
                segments,
                query,
                host_before_signing,
                trailing_slash,
                target_suffix,
                method,
            )| {
                let mut path = format!("/{}", segments.join("/"));
                if trailing_slash && !path.ends_with('/') {
                    path.push('/');
                }
                let mut req = Request::new(method, "berth.example:8443", &path, &query)
                    .header("Content-Type", "application/x-amz-json-1.1")
                    .header("X-Amz-Target", &format!("{TARGET}{target_suffix}"))
                    .body(&body);
                if host_before_signing {
                    req = req.header("Host", "berth.example:8443");
                }
                for (name, value) in &extras {
                    req = req.header(name, value);
                }
                Case { req, region, time, skew, host_before_signing }
            },
        )
}

fn signed(case: &Case, secret: &str) -> Request {
    let signed = sign_with_oracle(&case.req, AKID, secret, &case.region, "ecs", at(case.time));
    if case.host_before_signing { signed } else { with_host(signed) }
}

fn now(case: &Case) -> SystemTime {
    let t = at(case.time);
    if case.skew >= 0 {
        t + Duration::from_secs(case.skew.unsigned_abs())
    } else {
        t - Duration::from_secs(case.skew.unsigned_abs())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn whatever_aws_sigv4_signs_verifies(case in case()) {
        let req = signed(&case, SECRET);
        let verified = verify_request(&req, "ecs", &keys(), now(&case));
        prop_assert!(verified.is_ok(), "{:?}\n{:?}", verified, req);
        let verified = verified.expect("checked");
        prop_assert_eq!(verified.access_key_id, AKID);
        prop_assert_eq!(verified.region, case.region.clone());
        prop_assert_eq!(verified.service, "ecs");
    }

    #[test]
    fn unsigned_headers_added_later_do_not_matter(
        case in case(),
        late in prop::collection::vec((extra_header_name(), header_value()), 1..4),
    ) {
        let mut req = signed(&case, SECRET).header("User-Agent", "aws-cli/2 botocore/1.43");
        for (name, value) in &late {
            // Use a prefix the signer never saw, so the header is unsigned.
            req = req.header(&format!("x-late-{name}"), value);
        }
        let result = verify_request(&req, "ecs", &keys(), now(&case));
        prop_assert!(result.is_ok(), "{:?}", result);
    }

    #[test]
    fn changing_one_body_byte_is_a_mismatch(case in case(), index: prop::sample::Index, flip in 1u8..=255) {
        prop_assume!(!case.req.body.is_empty());
        let mut req = signed(&case, SECRET);
        let i = index.index(req.body.len());
        req.body[i] ^= flip;
        let result = verify_request(&req, "ecs", &keys(), now(&case));
        prop_assert!(matches!(result, Err(AuthError::SignatureMismatch)), "{:?}", result);
    }

    #[test]
    fn changing_a_signed_header_value_is_a_mismatch(
        case in case(),
        pick: prop::sample::Index,
        extra in "[!-~]{1,4}",
    ) {
        let mut req = signed(&case, SECRET);
        let signed_names: Vec<String> = req
            .signed_headers()
            .split(';')
            .filter(|n| *n != "x-amz-date")
            .map(str::to_owned)
            .collect();
        let name = pick.get(&signed_names).clone();
        let position = req
            .headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name))
            .expect("signed header present");
        // Appending visible characters always changes the canonical value.
        req.headers[position].1.extend_from_slice(extra.as_bytes());
        let result = verify_request(&req, "ecs", &keys(), now(&case));
        prop_assert!(matches!(result, Err(AuthError::SignatureMismatch)), "{} {:?}", name, result);
    }

    #[test]
    fn changing_the_method_path_or_query_is_a_mismatch(case in case(), which in 0..3u8) {
        let mut req = signed(&case, SECRET);
        match which {
            0 => req.method = if req.method == "POST" { "PATCH".into() } else { "POST".into() },
            1 => req.path = format!("{}x", req.path),
            _ => req.query = if req.query.is_empty() { "x=1".into() } else { format!("{}0", req.query) },
        }
        let result = verify_request(&req, "ecs", &keys(), now(&case));
        prop_assert!(matches!(result, Err(AuthError::SignatureMismatch)), "{:?}", result);
    }

    #[test]
    fn a_different_secret_is_a_mismatch(case in case(), index: prop::sample::Index, flip in 1u8..=0x7f) {
        // Sign with the real secret, verify against a one-character change.
        let req = signed(&case, SECRET);
        let mut wrong = SECRET.as_bytes().to_vec();
        let i = index.index(wrong.len());
        wrong[i] ^= flip;
        prop_assume!(wrong[i].is_ascii() && wrong[i] != 0);
        let wrong = String::from_utf8(wrong).expect("ascii");
        let result = verify_request(&req, "ecs", &[(AKID, wrong.as_str())], now(&case));
        prop_assert!(matches!(result, Err(AuthError::SignatureMismatch)), "{:?}", result);
    }

    #[test]
    fn an_unknown_key_is_reported(case in case()) {
        let req = signed(&case, SECRET);
        let result = verify_request(&req, "ecs", &[("AKIDSOMEONEELSE", SECRET)], now(&case));
        prop_assert!(
            matches!(&result, Err(AuthError::UnknownAccessKey(k)) if k == AKID),
            "{:?}", result
        );
    }

    #[test]
    fn outside_fifteen_minutes_is_expired(
        case in case(),
        beyond in 1u64..1_000_000,
        future: bool,
    ) {
        let req = signed(&case, SECRET);
        let t = at(case.time);
        let now = if future {
            t - Duration::from_secs(900 + beyond)
        } else {
            t + Duration::from_secs(900 + beyond)
        };
        let result = verify_request(&req, "ecs", &keys(), now);
        match result {
            Err(AuthError::Expired { in_future, .. }) => prop_assert_eq!(in_future, future),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn another_service_is_rejected(case in case()) {
        let req = sign_with_oracle(&case.req, AKID, SECRET, &case.region, "sqs", at(case.time));
        let req = with_host(req);
        let result = verify_request(&req, "ecs", &keys(), now(&case));
        prop_assert!(
            matches!(&result, Err(AuthError::WrongService { got, .. }) if got == "sqs"),
            "{:?}", result
        );
    }
}

/// Fragments that make up plausible and implausible Authorization headers.
fn authorization_value() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        Just("AWS4-HMAC-SHA256 ".to_owned()),
        Just("Credential=".to_owned()),
        Just("AKID/20261129/us-east-1/ecs/aws4_request".to_owned()),
        Just(", SignedHeaders=".to_owned()),
        Just("host;x-amz-date".to_owned()),
        Just(", Signature=".to_owned()),
        "[0-9a-f]{60,66}",
        "[ -~]{0,8}",
        Just("/".to_owned()),
        Just(",".to_owned()),
        Just("=".to_owned()),
        Just("é".to_owned()),
    ];
    prop_oneof![
        prop::collection::vec(fragment, 0..10).prop_map(|parts| parts.concat().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Hostile input must produce an error, never a panic.
    #[test]
    fn garbage_never_panics(
        auth in authorization_value(),
        date in prop_oneof![
            Just(b"20261129T123100Z".to_vec()),
            "[0-9TZ]{14,18}".prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..20),
        ],
        path in "[ -~]{0,12}",
        query in "[ -~]{0,12}",
        body in prop::collection::vec(any::<u8>(), 0..16),
        extra in prop::collection::vec(("[a-zA-Z-]{1,12}", prop::collection::vec(any::<u8>(), 0..12)), 0..4),
    ) {
        let mut headers: Vec<(&str, &[u8])> = vec![
            ("host", b"h"),
            ("authorization", &auth),
            ("x-amz-date", &date),
        ];
        for (name, value) in &extra {
            headers.push((name, value));
        }
        let request = SignedRequest {
            method: "POST",
            path: &path,
            query: &query,
            headers: &headers,
            body: &body,
        };
        let result = verify(&request, "ecs", |_| Some(SECRET.to_owned()), at(T0));
        if let Err(err) = result {
            // Every error renders and has a code.
            prop_assert!(!err.to_string().is_empty());
            prop_assert!(err.code().ends_with("Exception"));
        }
    }
}
