//! Berth as an OpenID Connect issuer: tasks get signed tokens (JWTs) naming their role, which any STS that trusts
//! the issuer (AWS IAM OIDC providers, MinIO, Ceph RGW, and Berth's own `AssumeRoleWithWebIdentity`) exchanges for
//! credentials, with no static keys in the task.
//!
//! - Discovery: `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`, unauthenticated, answered
//!   by every replica from the store's key ring ([`keys`]).
//! - The issuer URL is `--oidc-issuer` ([`crate::ServerConfig::oidc_issuer`]), by default the server's own URL as
//!   the aws profile names it; no trailing slash. A verifier fetches `<issuer>/.well-known/openid-configuration`,
//!   so the issuer must reach these routes (AWS IAM needs an `https` issuer reachable from the internet; a
//!   path in the issuer URL needs a proxy that maps `<path>/.well-known/...` to Berth's `/.well-known/...`).
//! - Tokens: RS256, header `kid` = the signing key's RFC 7638 thumbprint; claims `iss`, `sub` (the task role's ARN),
//!   `aud` (the audience a container of the task definition names with the docker label
//!   `berth.web-identity.audience`), `iat`, `nbf`, `exp` ([`TOKEN_SECONDS`] later), `jti`, and [`ECS_CLAIM`] =
//!   `{cluster, task, taskDefinition, family}`. The agent operation `GetTaskWebIdentityToken`
//!   ([`crate::ops::agent`]) issues them to the agent of the task's instance.
//! - [`verify`] checks a token of this issuer: the algorithm (RS256 only: `none` and HMAC are refused), the
//!   signature against the ring's key named by `kid`, `iss`, `exp` and `nbf` with [`CLOCK_SKEW_SECONDS`], and that
//!   `sub` and `aud` are present.

use std::sync::OnceLock;
use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaPublicKeyComponents};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::api::Api;
use crate::error::{ApiError, ApiResult};

pub mod keys;

/// How long a task's token is valid.
pub const TOKEN_SECONDS: i64 = 3600;
/// How far `exp` and `nbf` may be off the server's clock.
pub const CLOCK_SKEW_SECONDS: i64 = 60;
/// The namespaced claim that says which task a token belongs to.
pub const ECS_CLAIM: &str = "https://berth.dev/ecs";
/// The default rotation period of the signing keys.
pub const DEFAULT_ROTATION: Duration = Duration::from_secs(24 * 3600);
/// The issuer when neither `--oidc-issuer` nor the server's URL was given (the default listen address).
pub const FALLBACK_ISSUER: &str = "http://127.0.0.1:8700";
/// Longest token accepted, in bytes (STS's `WebIdentityToken` limit).
pub const MAX_TOKEN_BYTES: usize = 20_000;

/// The issuer's settings and cached private keys, shared by the handlers.
pub struct Oidc {
    configured: Option<String>,
    default: OnceLock<String>,
    /// How old the newest signing key may get before a new one is added.
    pub rotation: Duration,
    private_keys: keys::KeyCache,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc").field("issuer", &self.issuer()).field("rotation", &self.rotation).finish()
    }
}

impl Oidc {
    /// An issuer at `issuer` (`None`: the URL given later with [`Oidc::set_default_issuer`]). The URL must be
    /// `http` or `https`, with a host, and without a query or fragment.
    pub fn new(issuer: Option<&str>, rotation: Duration) -> Result<Oidc, String> {
        let configured = issuer.map(normalize).transpose()?;
        if rotation < Duration::from_secs(60) {
            return Err("the OIDC key rotation period must be at least a minute".into());
        }
        Ok(Oidc { configured, default: OnceLock::new(), rotation, private_keys: keys::KeyCache::default() })
    }

    /// The issuer when none was configured: the server's own URL, known once it listens. Set once; ignored when
    /// an issuer was configured.
    pub fn set_default_issuer(&self, url: &str) {
        if let Ok(url) = normalize(url) {
            let _ = self.default.set(url);
        }
    }

    /// The issuer URL (`iss` of every token), without a trailing slash.
    pub fn issuer(&self) -> String {
        self.configured.clone().or_else(|| self.default.get().cloned()).unwrap_or_else(|| FALLBACK_ISSUER.to_owned())
    }

    /// The issuer without its scheme: how IAM names an OIDC provider and prefixes its condition keys
    /// (`<provider>:aud`, `<provider>:sub`).
    pub fn provider(&self) -> String {
        provider_of(&self.issuer())
    }

    /// The implicit OIDC provider of this issuer: `arn:aws:iam::<account>:oidc-provider/<provider>`.
    pub fn provider_arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:oidc-provider/{}", self.provider())
    }
}

/// An issuer URL as tokens carry it, or why it is not one.
fn normalize(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("the OIDC issuer '{url}' must be an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(['?', '#', ' ']) {
        return Err(format!("the OIDC issuer '{url}' must name a host, with no query or fragment"));
    }
    Ok(url.to_owned())
}

/// `issuer` without `https://` or `http://`.
pub fn provider_of(issuer: &str) -> String {
    issuer.strip_prefix("https://").or_else(|| issuer.strip_prefix("http://")).unwrap_or(issuer).to_owned()
}

/// `GET /.well-known/openid-configuration`.
pub async fn discovery(State(api): State<std::sync::Arc<Api>>) -> Response {
    json_response(discovery_document(&api.oidc.issuer()), 3600)
}

/// The discovery document (OpenID Connect Discovery 1.0) of an issuer.
pub fn discovery_document(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"],
        "claims_supported": ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", ECS_CLAIM],
    })
}

/// `GET /.well-known/jwks.json`: the public keys of the ring (new keys appear here before they sign).
pub async fn jwks(State(api): State<std::sync::Arc<Api>>) -> Response {
    match keys::load(&api).await {
        Ok(ring) => json_response(ring.jwks(), keys::PUBLISH_DELAY as u32),
        Err(e) => crate::wire::error_response(e),
    }
}

fn json_response(body: Value, max_age: u32) -> Response {
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert("cache-control", v);
    }
    response
}

/// Signs `claims` (a JSON object) with the ring's signing key at `now`; returns the compact JWS.
pub async fn sign(api: &Api, claims: &Value, now: f64) -> ApiResult<String> {
    let ring = keys::ensure(api).await?;
    let key = ring.signing_key(now).ok_or_else(|| ApiError::server("the OIDC issuer has no signing key"))?;
    let pair = api.oidc.private_keys.get_or_open(&api.sealer, key)?;
    sign_with(&pair, &key.kid, claims)
}

/// A compact JWS of `claims` signed RS256 by `pair`, with `kid` in the header.
pub fn sign_with(pair: &aws_lc_rs::rsa::KeyPair, kid: &str, claims: &Value) -> ApiResult<String> {
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut signature = vec![0u8; pair.public_modulus_len()];
    pair.sign(&RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), input.as_bytes(), &mut signature)
        .map_err(|_| ApiError::server("signing a web identity token failed"))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// The claims of a task's token.
pub struct TaskClaims<'a> {
    pub role_arn: &'a str,
    pub audience: &'a str,
    pub cluster_arn: &'a str,
    pub task_arn: &'a str,
    pub task_definition_arn: &'a str,
    pub family: &'a str,
}

/// A token for a task, issued at `now`: the JWT and its expiration (seconds since the epoch).
pub async fn issue_task_token(api: &Api, claims: TaskClaims<'_>, now: f64) -> ApiResult<(String, i64)> {
    let iat = now.floor() as i64;
    let exp = iat + TOKEN_SECONDS;
    let body = json!({
        "iss": api.oidc.issuer(),
        "sub": claims.role_arn,
        "aud": claims.audience,
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "jti": uuid::Uuid::new_v4().to_string(),
        ECS_CLAIM: {
            "cluster": claims.cluster_arn,
            "task": claims.task_arn,
            "taskDefinition": claims.task_definition_arn,
            "family": claims.family,
        },
    });
    Ok((sign(api, &body, now).await?, exp))
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, a header or algorithm this issuer never uses, a bad signature, an unknown key, a claim missing.
    #[error("{0}")]
    Invalid(String),
    /// A well-formed token of another issuer.
    #[error("No OpenIDConnect provider found in your account for {issuer}")]
    OtherIssuer { issuer: String },
    /// Signed by this issuer, but past its `exp`.
    #[error("Token expired: current date/time {now} must be before the expiration date/time {exp}")]
    Expired { now: i64, exp: i64 },
}

/// A verified token: its claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub claims: Map<String, Value>,
}

impl Verified {
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// `aud` as a list (a JWT's `aud` is a string or an array of strings).
    pub fn audiences(&self) -> Vec<String> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => vec![],
        }
    }

    /// `amr` as a list, when the token has one.
    pub fn amr(&self) -> Vec<String> {
        match self.claims.get("amr") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => vec![],
        }
    }
}

/// Verifies a token of this server's issuer against the stored key ring at `now`.
pub async fn verify(api: &Api, token: &str, now: f64) -> ApiResult<Result<Verified, TokenError>> {
    let ring = keys::load(api).await?;
    Ok(verify_with(&ring, &api.oidc.issuer(), token, now))
}

/// Verifies `token` for `issuer` against `ring` at `now` (seconds since the epoch).
pub fn verify_with(ring: &keys::KeyRing, issuer: &str, token: &str, now: f64) -> Result<Verified, TokenError> {
    let invalid = |why: &str| TokenError::Invalid(why.to_owned());
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid("The web identity token is too long."));
    }
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("The web identity token is not a JWT (three base64url parts separated by dots)."));
    };
    let decode = |part: &str, what: &str| -> Result<Map<String, Value>, TokenError> {
        let bytes =
            URL_SAFE_NO_PAD.decode(part).map_err(|_| invalid(&format!("The token's {what} is not base64url.")))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(invalid(&format!("The token's {what} is not a JSON object."))),
        }
    };
    let header_json = decode(header, "header")?;
    let claims = decode(payload, "payload")?;
    // The issuer first: a token of another provider cannot be checked here, whatever its signature.
    let iss = claims.get("iss").and_then(Value::as_str).ok_or_else(|| invalid("Missing a required claim: iss"))?;
    if iss.trim_end_matches('/') != issuer {
        return Err(TokenError::OtherIssuer { issuer: iss.to_owned() });
    }
    match header_json.get("alg").and_then(Value::as_str) {
        Some("RS256") => {}
        Some(alg) => {
            return Err(invalid(&format!(
                "The token's signing algorithm {} is not accepted; this issuer signs with RS256 only.",
                berth_model::names::truncate(alg, 32)
            )));
        }
        None => return Err(invalid("The token's header has no signing algorithm (alg).")),
    }
    if header_json.get("crit").is_some() {
        return Err(invalid("The token's header has critical extensions (crit) this issuer does not use."));
    }
    let kid =
        header_json.get("kid").and_then(Value::as_str).ok_or_else(|| invalid("The token's header has no kid."))?;
    let key = ring.get(kid).ok_or_else(|| {
        invalid(&format!(
            "The token's signing key {} is not one of the issuer's keys (unknown, or retired after its tokens \
             expired).",
            berth_model::names::truncate(kid, 64)
        ))
    })?;
    let signature =
        URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid("The token's signature is not base64url."))?;
    let (n, e) = key.components().ok_or_else(|| invalid("The issuer's key is damaged."))?;
    let input = &token.trim()[..header.len() + 1 + payload.len()];
    RsaPublicKeyComponents { n: &n, e: &e }
        .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &signature)
        .map_err(|_| invalid("The token's signature is not valid."))?;
    // Signed by this issuer: the claims can be believed.
    let number = |name: &str| claims.get(name).and_then(Value::as_f64);
    let exp = number("exp").ok_or_else(|| invalid("Missing a required claim: exp"))?;
    let skew = CLOCK_SKEW_SECONDS as f64;
    if exp + skew <= now {
        return Err(TokenError::Expired { now: now.floor() as i64, exp: exp as i64 });
    }
    if number("nbf").is_some_and(|nbf| nbf > now + skew) || number("iat").is_some_and(|iat| iat > now + skew) {
        return Err(invalid("The token is not valid yet (nbf or iat is in the future)."));
    }
    let verified = Verified { claims };
    if verified.str_claim("sub").is_none_or(str::is_empty) {
        return Err(invalid("Missing a required claim: sub"));
    }
    if verified.audiences().is_empty() {
        return Err(invalid("Missing a required claim: aud"));
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::keys::{KeyRing, generate, open};
    use super::*;
    use crate::sealing::Sealer;

    const ISSUER: &str = "https://berth.example.com";

    fn claims(now: i64) -> Value {
        json!({"iss": ISSUER, "sub": "arn:aws:iam::000000000000:role/app", "aud": "sts.amazonaws.com",
               "iat": now, "nbf": now, "exp": now + TOKEN_SECONDS, "jti": "1"})
    }

    fn ring_and_token(now: i64) -> (KeyRing, Sealer, String) {
        let sealer = Sealer::ephemeral();
        let key = generate(&sealer, 0.0).unwrap();
        let pair = open(&sealer, &key).unwrap();
        let token = sign_with(&pair, &key.kid, &claims(now)).unwrap();
        (KeyRing { keys: vec![key] }, sealer, token)
    }

    fn part(token: &str, i: usize) -> String {
        token.split('.').nth(i).unwrap().to_owned()
    }

    /// Refused as invalid, saying `word`.
    fn invalid_with(result: Result<Verified, TokenError>, word: &str) -> bool {
        matches!(result, Err(TokenError::Invalid(m)) if m.contains(word))
    }

    fn encode(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn issuers_are_urls_without_a_trailing_slash() {
        let oidc = Oidc::new(Some("https://berth.example.com/"), DEFAULT_ROTATION).unwrap();
        assert_eq!(oidc.issuer(), "https://berth.example.com");
        assert_eq!(oidc.provider_arn("123456789012"), "arn:aws:iam::123456789012:oidc-provider/berth.example.com");
        oidc.set_default_issuer("http://127.0.0.1:1");
        assert_eq!(oidc.issuer(), "https://berth.example.com", "configured wins");
        let default = Oidc::new(None, DEFAULT_ROTATION).unwrap();
        assert_eq!(default.issuer(), FALLBACK_ISSUER);
        default.set_default_issuer("http://127.0.0.1:8123");
        assert_eq!(default.provider(), "127.0.0.1:8123");
        for bad in ["ftp://x", "https://", "https:///path", "berth.example.com", "https://a?b=c"] {
            assert!(Oidc::new(Some(bad), DEFAULT_ROTATION).is_err(), "{bad}");
        }
        assert!(Oidc::new(None, Duration::from_secs(1)).is_err());
        let doc = discovery_document(ISSUER);
        assert_eq!(doc["jwks_uri"], "https://berth.example.com/.well-known/jwks.json");
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["RS256"]));
    }

    #[test]
    fn a_signed_token_verifies_with_its_claims() {
        let now = 1_700_000_000;
        let (ring, _, token) = ring_and_token(now);
        let v = verify_with(&ring, ISSUER, &token, now as f64 + 10.0).unwrap();
        assert_eq!(v.str_claim("sub"), Some("arn:aws:iam::000000000000:role/app"));
        assert_eq!(v.audiences(), vec!["sts.amazonaws.com".to_owned()]);
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part(&token, 0)).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": ring.keys[0].kid}));
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let now = 1_700_000_000;
        let (ring, sealer, token) = ring_and_token(now);
        let at = now as f64;
        let refused = |t: &str| verify_with(&ring, ISSUER, t, at);
        let (h, p, s) = (part(&token, 0), part(&token, 1), part(&token, 2));
        // Another payload under the same signature.
        let mut forged = claims(now);
        forged["sub"] = json!("arn:aws:iam::000000000000:role/admin");
        assert!(invalid_with(refused(&format!("{h}.{}.{s}", encode(&forged))), "signature"));
        // A flipped signature byte.
        let mut sig = URL_SAFE_NO_PAD.decode(&s).unwrap();
        sig[10] ^= 1;
        assert!(invalid_with(refused(&format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(&sig))), "signature"));
        // alg none, with and without a signature; HS256 (the key-confusion attack): refused by algorithm alone.
        let kid = &ring.keys[0].kid;
        let none = encode(&json!({"alg": "none", "kid": kid}));
        assert!(invalid_with(refused(&format!("{none}.{p}.")), "algorithm"));
        assert!(matches!(refused(&format!("{none}.{p}.{s}")), Err(TokenError::Invalid(_))));
        let hs = encode(&json!({"alg": "HS256", "kid": kid}));
        assert!(matches!(refused(&format!("{hs}.{p}.{s}")), Err(TokenError::Invalid(_))));
        // A header naming an unknown key, or none.
        let unknown = encode(&json!({"alg": "RS256", "kid": "nope"}));
        assert!(invalid_with(refused(&format!("{unknown}.{p}.{s}")), "signing key"));
        let no_kid = encode(&json!({"alg": "RS256"}));
        assert!(refused(&format!("{no_kid}.{p}.{s}")).is_err());
        // A valid signature by a key outside the ring.
        let stranger = generate(&sealer, 0.0).unwrap();
        let t = sign_with(&open(&sealer, &stranger).unwrap(), kid, &claims(now)).unwrap();
        assert!(invalid_with(refused(&t), "signature"));
        // Garbage.
        for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30.", &"x".repeat(MAX_TOKEN_BYTES + 1)] {
            assert!(matches!(refused(junk), Err(TokenError::Invalid(_))), "{junk:.20}");
        }
    }

    #[test]
    fn expiry_issuer_and_required_claims() {
        let now = 1_700_000_000;
        let (ring, sealer, token) = ring_and_token(now);
        let exp = (now + TOKEN_SECONDS) as f64;
        assert!(verify_with(&ring, ISSUER, &token, exp + 59.0).is_ok(), "within the skew");
        assert_eq!(
            verify_with(&ring, ISSUER, &token, exp + 60.0),
            Err(TokenError::Expired { now: now + TOKEN_SECONDS + 60, exp: now + TOKEN_SECONDS })
        );
        assert!(invalid_with(verify_with(&ring, ISSUER, &token, now as f64 - 120.0), "not valid yet"));
        assert_eq!(
            verify_with(&ring, "https://other.example.com", &token, now as f64),
            Err(TokenError::OtherIssuer { issuer: ISSUER.into() })
        );
        let pair = open(&sealer, &ring.keys[0]).unwrap();
        let kid = &ring.keys[0].kid;
        for missing in ["sub", "aud", "exp"] {
            let mut c = claims(now);
            c.as_object_mut().unwrap().remove(missing);
            let t = sign_with(&pair, kid, &c).unwrap();
            assert!(invalid_with(verify_with(&ring, ISSUER, &t, now as f64), missing), "{missing}");
        }
        let mut c = claims(now);
        c["aud"] = json!(["a", "b"]);
        let t = sign_with(&pair, kid, &c).unwrap();
        assert_eq!(verify_with(&ring, ISSUER, &t, now as f64).unwrap().audiences(), vec!["a", "b"]);
    }

    #[test]
    fn rotation_keeps_old_tokens_verifiable_until_their_key_is_dropped() {
        let sealer = Sealer::ephemeral();
        let now = 1_700_000_000_f64;
        let old = generate(&sealer, now).unwrap();
        let t_old = sign_with(&open(&sealer, &old).unwrap(), &old.kid, &claims(now as i64)).unwrap();
        let later = now + DEFAULT_ROTATION.as_secs_f64();
        let new = generate(&sealer, later).unwrap();
        let mut ring = KeyRing { keys: vec![old.clone(), new.clone()] };
        assert_ne!(old.kid, new.kid);
        let active = later + keys::PUBLISH_DELAY;
        assert_eq!(ring.signing_key(active).unwrap().kid, new.kid);
        let t_new = sign_with(&open(&sealer, &new).unwrap(), &new.kid, &claims(active as i64)).unwrap();
        assert!(verify_with(&ring, ISSUER, &t_new, active).is_ok());
        // The old key's token still verifies by signature (it has expired by the clock, which is a separate error).
        assert!(matches!(verify_with(&ring, ISSUER, &t_old, active), Err(TokenError::Expired { .. })));
        let plan = ring.plan(
            active + (TOKEN_SECONDS + CLOCK_SKEW_SECONDS) as f64,
            DEFAULT_ROTATION,
            TOKEN_SECONDS,
            CLOCK_SKEW_SECONDS,
        );
        assert_eq!(plan.drop, vec![old.kid.clone()]);
        ring.keys.retain(|k| !plan.drop.contains(&k.kid));
        assert!(invalid_with(verify_with(&ring, ISSUER, &t_old, now), "signing key"));
    }
}
