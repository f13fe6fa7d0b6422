//! Server-side verification of AWS Signature Version 4 (SigV4).
//!
//! Berth's API server accepts requests signed by the aws CLI, boto3/botocore
//! and aws-sdk-rust exactly as AWS would. This crate owns the one question
//! "was this request signed by the holder of that access key, for this
//! service, recently?" and nothing else: it does not know about HTTP servers,
//! credential storage or ECS operations. The server hands it the raw parts of
//! a request ([`SignedRequest`]), the service name it answers for, a secret
//! lookup and the current time, and gets back who signed ([`Verified`]) or an
//! [`AuthError`] that maps onto the AWS error code to return.
//!
//! What is supported:
//! - `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
//! - Exactly the headers the client listed in `SignedHeaders` are
//!   canonicalised (the SDKs disagree on which headers they sign, so a fixed
//!   set would reject one of them); `host` must be among them.
//! - Non-S3 URI rules: the received path is normalised and encoded a second
//!   time, as the SDKs do when signing.
//! - `x-amz-content-sha256`, when signed, is used as the payload hash after
//!   checking it matches the body (`UNSIGNED-PAYLOAD` is refused).
//! - `x-amz-security-token` is treated like any other header: covered if
//!   signed. Checking a temporary credential's token is the server's job
//!   ([`access_key_id`] tells it which key to look up first).
//!
//! What is not: presigned URLs (query-string auth), SigV4a, chunked
//! (`STREAMING-...`) payloads, the `Date` header as a substitute for
//! `x-amz-date`.
//!
//! The HMAC key derivation and final HMAC come from `aws-sigv4` itself
//! ([`aws_sigv4::sign::v4::generate_signing_key`] and
//! [`aws_sigv4::sign::v4::calculate_signature`]); the canonical request is
//! built here because `aws-sigv4` only exposes it for signing, not verifying.
//!
//! For HTTP/2 requests the caller must pass the `:authority` pseudo-header
//! as a `host` header, since that is what the client signed.

mod amz_date;
mod authorization;
mod canonical;

use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

/// The parts of an HTTP request the signature covers. Header names may come in any case.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// HTTP method as received, e.g. `"POST"`.
    pub method: &'a str,
    /// Raw path as received (still percent-encoded), e.g. `"/"`.
    pub path: &'a str,
    /// Raw query string without `?`, `""` when none.
    pub query: &'a str,
    /// Every header as received `(name, raw value)`; repeated names possible.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The complete request body.
    pub body: &'a [u8],
}

/// Who signed a request that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
    /// Region from the credential scope. Not checked: Berth serves every region name.
    pub region: String,
    /// Service from the credential scope; always equals the expected service.
    pub service: String,
}

/// Why a request was not authenticated. [`AuthError::code`] gives the AWS
/// error code to answer with; `Display` gives the message.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header at all.
    #[error("Missing Authentication Token")]
    MissingAuthentication,
    /// The signature information is present but unusable (unparseable
    /// `Authorization`, missing `x-amz-date`, inconsistent scope, ...).
    /// The message says what is wrong.
    #[error("{0}")]
    Malformed(String),
    /// The access key id is not known. Holds the access key id for logging;
    /// the message deliberately matches AWS's.
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey(String),
    /// The signature does not match what we computed with the stored secret.
    #[error(
        "The request signature we calculated does not match the signature you provided. \
         Check your AWS Secret Access Key and signing method."
    )]
    SignatureMismatch,
    /// `x-amz-date` is more than 15 minutes away from the server clock.
    /// All times are in `yyyyMMddTHHmmssZ` form.
    #[error("{}", expired_message(*.in_future, request_time, limit, now))]
    Expired {
        /// The request's `x-amz-date`.
        request_time: String,
        /// `now` minus (or, when `in_future`, plus) 15 minutes.
        limit: String,
        /// The server clock.
        now: String,
        /// The request claims a time after `now + 15 min` rather than before `now - 15 min`.
        in_future: bool,
    },
    /// The credential scope names another service than the one answering.
    #[error("Credential should be scoped to correct service: '{expected}' (the request was signed for '{got}').")]
    WrongService { expected: String, got: String },
}

fn expired_message(in_future: bool, request_time: &str, limit: &str, now: &str) -> String {
    // Same wording as AWS, so people can search for it.
    if in_future {
        format!("Signature not yet current: {request_time} is still later than {limit} ({now} + 15 min.)")
    } else {
        format!("Signature expired: {request_time} is now earlier than {limit} ({now} - 15 min.)")
    }
}

impl AuthError {
    /// The AWS error code (the `__type` of an ECS JSON error) for this error.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingAuthentication => "MissingAuthenticationTokenException",
            AuthError::Malformed(_) => "IncompleteSignatureException",
            AuthError::UnknownAccessKey(_) => "UnrecognizedClientException",
            AuthError::SignatureMismatch | AuthError::Expired { .. } | AuthError::WrongService { .. } => {
                "InvalidSignatureException"
            }
        }
    }
}

/// The service named in the request's credential scope, unverified: what an endpoint serving several services
/// routes on before it verifies the request for that service. `None` when there is no parseable `Authorization`.
pub fn scope_service(headers: &[(&str, &[u8])]) -> Option<String> {
    let value = single_header(headers, "authorization").ok()??;
    let auth = authorization::parse(std::str::from_utf8(value).ok()?).ok()?;
    Some(auth.scope.service.to_owned())
}

/// The access key id the request says it was signed with, unverified: a server issuing temporary credentials reads
/// it to know which session token to check before it verifies the signature.
pub fn access_key_id(headers: &[(&str, &[u8])]) -> Option<String> {
    let value = single_header(headers, "authorization").ok()??;
    let auth = authorization::parse(std::str::from_utf8(value).ok()?).ok()?;
    Some(auth.access_key_id.to_owned())
}

/// How far `x-amz-date` may be from the server clock, either way (AWS's value).
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Verify `request`. `lookup` returns the secret for an access key id, None if unknown. `now` is injected for tests.
///
/// Checks run from cheapest to most expensive, and the secret is looked up
/// only once the request is well-formed, in scope and fresh.
pub fn verify(
    request: &SignedRequest<'_>,
    expected_service: &str,
    lookup: impl Fn(&str) -> Option<String>,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    if canonical::query_has_param(request.query, "X-Amz-Algorithm") {
        return Err(AuthError::Malformed(
            "presigned URLs are not supported; sign the request with an Authorization header".to_owned(),
        ));
    }

    let Some(auth_value) = single_header(request.headers, "authorization")? else {
        return Err(AuthError::MissingAuthentication);
    };
    let auth_value = std::str::from_utf8(auth_value)
        .map_err(|_| AuthError::Malformed("The Authorization header is not valid UTF-8.".to_owned()))?;
    let auth = authorization::parse(auth_value).map_err(AuthError::Malformed)?;

    let date_value = single_header(request.headers, "x-amz-date")?.ok_or_else(|| {
        AuthError::Malformed("The request must contain an X-Amz-Date header (yyyyMMddTHHmmssZ, UTC).".to_owned())
    })?;
    let date_text = std::str::from_utf8(&canonical::canonical_header_value(date_value))
        .map(str::to_owned)
        .map_err(|_| AuthError::Malformed("The X-Amz-Date header is not valid UTF-8.".to_owned()))?;
    let amz_date = amz_date::parse(&date_text).map_err(AuthError::Malformed)?;
    if auth.scope.date != amz_date.date {
        return Err(AuthError::Malformed(format!(
            "Date in Credential scope does not match YYYYMMDD from X-Amz-Date: '{}' != '{}', \
             from '{}'.",
            auth.scope.date, amz_date.date, amz_date.text
        )));
    }

    if !auth.signed_header_names.iter().any(|name| name.eq_ignore_ascii_case("host")) {
        return Err(AuthError::Malformed("'Host' must be a 'SignedHeader' in the AWS Authorization.".to_owned()));
    }

    if auth.scope.service != expected_service {
        return Err(AuthError::WrongService {
            expected: expected_service.to_owned(),
            got: auth.scope.service.to_owned(),
        });
    }

    check_skew(amz_date.time, now)?;

    // Canonical headers before the secret lookup: a signed header that is not
    // in the request is a client bug worth reporting precisely.
    let mut canonical_headers = Vec::with_capacity(auth.signed_header_names.len());
    for name in &auth.signed_header_names {
        let mut joined: Option<Vec<u8>> = None;
        for (_, raw) in request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
            let value = canonical::canonical_header_value(raw);
            match joined.as_mut() {
                None => joined = Some(value),
                Some(acc) => {
                    acc.push(b',');
                    acc.extend_from_slice(&value);
                }
            }
        }
        let Some(value) = joined else {
            return Err(AuthError::Malformed(format!(
                "The header '{name}' is listed in SignedHeaders but is not in the request."
            )));
        };
        canonical_headers.push((*name, value));
    }

    let Some(secret) = lookup(auth.access_key_id) else {
        return Err(AuthError::UnknownAccessKey(auth.access_key_id.to_owned()));
    };

    let payload_hash = payload_hash(request, &auth)?;
    let creq = canonical::canonical_request(
        request.method,
        &canonical::canonical_uri(request.path),
        &canonical::canonical_query(request.query),
        &canonical_headers,
        auth.signed_headers,
        &payload_hash,
    );
    let string_to_sign = format!(
        "{}\n{}\n{}\n{}",
        authorization::ALGORITHM,
        amz_date.text,
        auth.scope.to_line(),
        hex::encode(Sha256::digest(&creq)),
    );
    let signing_key =
        aws_sigv4::sign::v4::generate_signing_key(&secret, amz_date.time, auth.scope.region, auth.scope.service);
    let expected = aws_sigv4::sign::v4::calculate_signature(signing_key, string_to_sign.as_bytes());
    // calculate_signature yields lower-case hex; hex case carries no meaning.
    let provided = auth.signature.to_ascii_lowercase();
    if !constant_time_eq(expected.as_bytes(), provided.as_bytes()) {
        return Err(AuthError::SignatureMismatch);
    }

    Ok(Verified {
        access_key_id: auth.access_key_id.to_owned(),
        region: auth.scope.region.to_owned(),
        service: auth.scope.service.to_owned(),
    })
}

/// The value of a header that may appear at most once. Two `Authorization`
/// or `x-amz-date` headers would leave it ambiguous which one was meant, so
/// that is malformed rather than "pick the first".
fn single_header<'a>(headers: &'a [(&'a str, &'a [u8])], name: &str) -> Result<Option<&'a [u8]>, AuthError> {
    let mut found = None;
    for (n, value) in headers {
        if n.eq_ignore_ascii_case(name) {
            if found.is_some() {
                return Err(AuthError::Malformed(format!("The request has more than one '{name}' header.")));
            }
            found = Some(*value);
        }
    }
    Ok(found)
}

/// Rejects `request_time` more than [`MAX_SKEW`] before or after `now`
/// (exactly 15 minutes is still accepted, as at AWS).
fn check_skew(request_time: SystemTime, now: SystemTime) -> Result<(), AuthError> {
    let (skew, in_future) = match now.duration_since(request_time) {
        Ok(past) => (past, false),
        Err(future) => (future.duration(), true),
    };
    if skew <= MAX_SKEW {
        return Ok(());
    }
    let limit = if in_future { now.checked_add(MAX_SKEW) } else { now.checked_sub(MAX_SKEW) };
    Err(AuthError::Expired {
        request_time: amz_date::format(request_time),
        limit: limit.map_or_else(|| "?".to_owned(), amz_date::format),
        now: amz_date::format(now),
        in_future,
    })
}

/// The payload hash line of the canonical request.
///
/// Normally hex SHA-256 of the body. When the client signed an
/// `x-amz-content-sha256` header, it put that header's value on this line
/// instead, so we must too; but a value that is not the body's hash would let a
/// body be swapped under a valid signature, so it is a mismatch. That includes
/// `UNSIGNED-PAYLOAD`: no ECS client sends it, and an API whose bodies are the
/// whole request must not accept unauthenticated ones. An unsigned
/// `x-amz-content-sha256` is ignored.
fn payload_hash(request: &SignedRequest<'_>, auth: &authorization::Authorization<'_>) -> Result<String, AuthError> {
    let body_hash = hex::encode(Sha256::digest(request.body));
    let signed = auth.signed_header_names.iter().any(|name| name.eq_ignore_ascii_case("x-amz-content-sha256"));
    if !signed {
        return Ok(body_hash);
    }
    let Some(raw) = single_header(request.headers, "x-amz-content-sha256")? else {
        // Unreachable in practice: every signed header was found above.
        return Ok(body_hash);
    };
    let claimed = canonical::canonical_header_value(raw);
    if claimed.eq_ignore_ascii_case(body_hash.as_bytes()) {
        // Keep the client's spelling (case): that is what it hashed.
        return Ok(String::from_utf8_lossy(&claimed).into_owned());
    }
    Err(AuthError::SignatureMismatch)
}

/// Compares two byte strings in time that depends only on their lengths, so
/// an attacker cannot learn how many leading characters of a forged
/// signature were right. Lengths are public (a signature is always 64 hex
/// digits), so a length mismatch may return early.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// AWS documentation example (IAM ListUsers, "Create a signed AWS API request").
    const DOC_SIGNATURE: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
    const DOC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const DOC_TIME: u64 = 1_440_938_160; // 20150830T123600Z

    fn doc_headers(authorization: &str) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("Content-Type", b"application/x-www-form-urlencoded; charset=utf-8".to_vec()),
            ("Host", b"iam.amazonaws.com".to_vec()),
            ("X-Amz-Date", b"20150830T123600Z".to_vec()),
            ("Authorization", authorization.as_bytes().to_vec()),
        ]
    }

    fn doc_authorization(signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
        )
    }

    #[test]
    fn the_scope_names_the_service_before_verification() {
        let headers = doc_headers(&doc_authorization(DOC_SIGNATURE));
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, &v[..])).collect();
        assert_eq!(scope_service(&headers).as_deref(), Some("iam"));
        assert_eq!(access_key_id(&headers).as_deref(), Some("AKIDEXAMPLE"));
        assert_eq!(scope_service(&headers[..3]), None, "no Authorization header");
    }

    fn run(headers: &[(&str, Vec<u8>)], now: SystemTime) -> Result<Verified, AuthError> {
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, &v[..])).collect();
        let request = SignedRequest {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
            body: b"",
        };
        verify(&request, "iam", |key| (key == "AKIDEXAMPLE").then(|| DOC_SECRET.to_owned()), now)
    }

    #[test]
    fn aws_documentation_vector_canonical_request_hash() {
        let creq = canonical::canonical_request(
            "GET",
            &canonical::canonical_uri("/"),
            &canonical::canonical_query("Action=ListUsers&Version=2010-05-08"),
            &[
                ("content-type", b"application/x-www-form-urlencoded; charset=utf-8".to_vec()),
                ("host", b"iam.amazonaws.com".to_vec()),
                ("x-amz-date", b"20150830T123600Z".to_vec()),
            ],
            "content-type;host;x-amz-date",
            &hex::encode(Sha256::digest(b"")),
        );
        // Hash published alongside the example.
        assert_eq!(
            hex::encode(Sha256::digest(&creq)),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
    }

    #[test]
    fn aws_documentation_vector_verifies() {
        let now = UNIX_EPOCH + Duration::from_secs(DOC_TIME);
        let verified = run(&doc_headers(&doc_authorization(DOC_SIGNATURE)), now).expect("doc vector");
        assert_eq!(
            verified,
            Verified {
                access_key_id: "AKIDEXAMPLE".to_owned(),
                region: "us-east-1".to_owned(),
                service: "iam".to_owned(),
            }
        );
        // Upper-case hex is the same signature.
        let upper = doc_authorization(&DOC_SIGNATURE.to_uppercase());
        assert!(run(&doc_headers(&upper), now).is_ok());
    }

    #[test]
    fn aws_documentation_vector_wrong_signature() {
        let now = UNIX_EPOCH + Duration::from_secs(DOC_TIME);
        let wrong = DOC_SIGNATURE.replacen('5', "6", 1);
        let err = run(&doc_headers(&doc_authorization(&wrong)), now).expect_err("mismatch");
        assert!(matches!(err, AuthError::SignatureMismatch), "{err:?}");
    }

    #[test]
    fn skew_boundaries() {
        let t = UNIX_EPOCH + Duration::from_secs(DOC_TIME);
        assert!(check_skew(t, t).is_ok());
        assert!(check_skew(t, t + MAX_SKEW).is_ok());
        assert!(check_skew(t, t - MAX_SKEW).is_ok());
        let err = check_skew(t, t + MAX_SKEW + Duration::from_secs(1)).expect_err("old");
        assert_eq!(
            err.to_string(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z \
             (20150830T125101Z - 15 min.)"
        );
        let err = check_skew(t, t - MAX_SKEW - Duration::from_secs(60)).expect_err("future");
        assert_eq!(
            err.to_string(),
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z \
             (20150830T122000Z + 15 min.)"
        );
        assert_eq!(err.code(), "InvalidSignatureException");
    }

    #[test]
    fn expired_message_matches_brief_example() {
        let err = AuthError::Expired {
            request_time: "20261129T120000Z".to_owned(),
            limit: "20261129T121600Z".to_owned(),
            now: "20261129T123100Z".to_owned(),
            in_future: false,
        };
        assert_eq!(
            err.to_string(),
            "Signature expired: 20261129T120000Z is now earlier than 20261129T121600Z \
             (20261129T123100Z - 15 min.)"
        );
    }

    #[test]
    fn constant_time_eq_behaves_like_eq() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"xbc"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn error_codes_and_messages() {
        let cases: [(AuthError, &str, &str); 6] = [
            (AuthError::MissingAuthentication, "MissingAuthenticationTokenException", "Missing Authentication Token"),
            (AuthError::Malformed("bad".to_owned()), "IncompleteSignatureException", "bad"),
            (
                AuthError::UnknownAccessKey("AK".to_owned()),
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            (
                AuthError::SignatureMismatch,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method.",
            ),
            (
                AuthError::WrongService { expected: "ecs".to_owned(), got: "iam".to_owned() },
                "InvalidSignatureException",
                "Credential should be scoped to correct service: 'ecs' \
                 (the request was signed for 'iam').",
            ),
            (
                AuthError::Expired {
                    request_time: "a".to_owned(),
                    limit: "b".to_owned(),
                    now: "c".to_owned(),
                    in_future: true,
                },
                "InvalidSignatureException",
                "Signature not yet current: a is still later than b (c + 15 min.)",
            ),
        ];
        for (err, code, message) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.to_string(), message);
        }
    }
}
