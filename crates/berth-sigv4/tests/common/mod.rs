//! Helpers shared by the integration tests: a request model, signing with
//! aws-sigv4's public signer (the oracle), and calling `verify` on the result.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use berth_sigv4::{AuthError, SignedRequest, Verified, verify};

/// A request as it travels on the wire: path and query already percent-encoded.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub authority: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: &str, authority: &str, path: &str, query: &str) -> Self {
        Request {
            method: method.to_owned(),
            authority: authority.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.as_bytes().to_vec()));
        self
    }

    pub fn body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    pub fn uri(&self) -> String {
        if self.query.is_empty() {
            format!("https://{}{}", self.authority, self.path)
        } else {
            format!("https://{}{}?{}", self.authority, self.path, self.query)
        }
    }

    /// All values of a header, by case-insensitive name.
    pub fn values(&self, name: &str) -> Vec<&[u8]> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| &v[..]).collect()
    }

    /// The SignedHeaders list of the Authorization header.
    pub fn signed_headers(&self) -> String {
        let auth = self.values("authorization");
        let auth = std::str::from_utf8(auth[0]).expect("utf-8");
        let start = auth.find("SignedHeaders=").expect("SignedHeaders") + "SignedHeaders=".len();
        auth[start..].split(',').next().expect("value").to_owned()
    }
}

/// Signs `req` with aws-sigv4's public `http_request::sign` using default
/// settings (what aws-sdk-rust uses for non-S3 services), then applies the
/// signing instructions to the header list, as the SDK's HTTP layer does.
pub fn sign_with_oracle(
    req: &Request,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Request {
    let identity: Identity = Credentials::new(access_key_id, secret, None, None, "test").into();
    sign_as(req, &identity, region, service, time, SignableBody::Bytes(&req.body))
}

/// The oracle signer with every input chosen by the caller: the identity (e.g. with a session token) and how the
/// body is represented on the payload line (e.g. a precomputed hash).
pub fn sign_as(
    req: &Request,
    identity: &Identity,
    region: &str,
    service: &str,
    time: SystemTime,
    body: SignableBody<'_>,
) -> Request {
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .expect("signing params")
        .into();
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), std::str::from_utf8(v).expect("test headers are utf-8")))
        .collect();
    let signable = SignableRequest::new(&req.method, req.uri(), headers.into_iter(), body).expect("signable request");
    let (instructions, _signature) = sign(signable, &params).expect("sign").into_parts();
    let mut signed = req.clone();
    for (name, value) in instructions.headers() {
        signed.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        signed.headers.push((name.to_owned(), value.as_bytes().to_vec()));
    }
    signed
}

/// Adds the Host header the way an HTTP client does after signing, when the
/// request did not carry one (aws-sigv4 then signs the URI's authority).
pub fn with_host(mut req: Request) -> Request {
    if req.values("host").is_empty() {
        let authority = req.authority.clone();
        req.headers.push(("Host".to_owned(), authority.into_bytes()));
    }
    req
}

pub fn verify_request(
    req: &Request,
    expected_service: &str,
    keys: &[(&str, &str)],
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let headers: Vec<(&str, &[u8])> = req.headers.iter().map(|(n, v)| (n.as_str(), &v[..])).collect();
    let request =
        SignedRequest { method: &req.method, path: &req.path, query: &req.query, headers: &headers, body: &req.body };
    verify(
        &request,
        expected_service,
        |key| keys.iter().find(|(k, _)| *k == key).map(|(_, secret)| (*secret).to_owned()),
        now,
    )
}

/// Parses a `yyyyMMddTHHmmssZ` timestamp (test data only).
pub fn amz_time(text: &str) -> SystemTime {
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15]
    );
    let ts: jiff::Timestamp = iso.parse().expect("timestamp");
    SystemTime::try_from(ts).expect("in range")
}
