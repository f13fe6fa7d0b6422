//! Parsing of the `Authorization: AWS4-HMAC-SHA256 ...` header value.
//!
//! Errors are returned as user-facing messages; the caller wraps them in
//! [`crate::AuthError::Malformed`].

/// The only signing algorithm we accept. SigV4a (`AWS4-ECDSA-P256-SHA256`)
/// exists, but no client talking to a single-region ECS endpoint uses it.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Fixed last element of every SigV4 credential scope.
const TERMINATOR: &str = "aws4_request";

/// A parsed `Authorization` header. Everything borrows from the header value,
/// so the verifier can put the exact bytes the client sent into the
/// string to sign.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Authorization<'a> {
    pub(crate) access_key_id: &'a str,
    pub(crate) scope: Scope<'a>,
    /// The `SignedHeaders` value verbatim; it is a line of the canonical request.
    pub(crate) signed_headers: &'a str,
    /// `signed_headers` split on `;`, in the order given.
    pub(crate) signed_header_names: Vec<&'a str>,
    /// 64 hex digits, case as sent.
    pub(crate) signature: &'a str,
}

/// The credential scope `yyyymmdd/region/service/aws4_request`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Scope<'a> {
    pub(crate) date: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

impl Scope<'_> {
    /// The scope line of the string to sign.
    pub(crate) fn to_line(&self) -> String {
        format!("{}/{}/{}/{TERMINATOR}", self.date, self.region, self.service)
    }
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request,
/// SignedHeaders=a;b;c, Signature=hex`.
///
/// Whitespace around the comma-separated parameters is tolerated (SDKs write
/// `, ` but hand-rolled clients differ); parameter order is free. Unknown or
/// repeated parameters are rejected, because silently picking one of two
/// `Signature=` values would make the header mean something other than what a
/// reader of a log sees.
pub(crate) fn parse(value: &str) -> Result<Authorization<'_>, String> {
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let (algorithm, params) = match value.split_once([' ', '\t']) {
        Some((algorithm, params)) => (algorithm, params),
        None => (value, ""),
    };
    if algorithm != ALGORITHM {
        return Err(format!(
            "Unsupported Authorization type '{algorithm}'. Only {ALGORITHM} \
             (AWS Signature Version 4) is accepted."
        ));
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for param in params.split(',') {
        let param = param.trim_matches(|c| c == ' ' || c == '\t');
        if param.is_empty() {
            continue;
        }
        let Some((key, val)) = param.split_once('=') else {
            return Err(format!("Authorization header parameter '{param}' is not of the form key=value."));
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            other => {
                return Err(format!(
                    "Unexpected parameter '{other}' in the Authorization header; \
                     expected Credential, SignedHeaders and Signature."
                ));
            }
        };
        if slot.replace(val).is_some() {
            return Err(format!("The Authorization header contains the '{key}' parameter more than once."));
        }
    }

    let missing: Vec<String> = [
        ("Credential", credential.is_none()),
        ("SignedHeaders", signed_headers.is_none()),
        ("Signature", signature.is_none()),
    ]
    .into_iter()
    .filter(|(_, absent)| *absent)
    .map(|(name, _)| format!("Authorization header requires '{name}' parameter."))
    .collect();
    let (Some(credential), Some(signed_headers), Some(signature)) = (credential, signed_headers, signature) else {
        return Err(missing.join(" "));
    };

    let (access_key_id, scope) = parse_credential(credential)?;
    let signed_header_names = parse_signed_headers(signed_headers)?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "The Signature in the Authorization header must be 64 hexadecimal characters, \
             got '{signature}'."
        ));
    }

    Ok(Authorization { access_key_id, scope, signed_headers, signed_header_names, signature })
}

fn parse_credential(credential: &str) -> Result<(&str, Scope<'_>), String> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts[..] else {
        return Err(format!(
            "Credential must have the form \
             <access key id>/<yyyymmdd>/<region>/<service>/{TERMINATOR}, got '{credential}'."
        ));
    };
    if access_key_id.is_empty() {
        return Err("Credential has an empty access key id.".to_owned());
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("Credential scope date must be yyyymmdd, got '{date}'."));
    }
    if region.is_empty() {
        return Err("Credential scope has an empty region.".to_owned());
    }
    if service.is_empty() {
        return Err("Credential scope has an empty service.".to_owned());
    }
    if terminator != TERMINATOR {
        return Err(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        ));
    }
    Ok((access_key_id, Scope { date, region, service }))
}

fn parse_signed_headers(signed_headers: &str) -> Result<Vec<&str>, String> {
    let names: Vec<&str> = signed_headers.split(';').collect();
    if names.iter().any(|name| name.is_empty()) {
        return Err(format!("SignedHeaders must be a ';'-separated list of header names, got '{signed_headers}'."));
    }
    for (i, name) in names.iter().enumerate() {
        // A repeated name would put the same header in the canonical request
        // twice; no signer does that, so it can only be a mistake or a probe.
        if names[..i].iter().any(|prev| prev.eq_ignore_ascii_case(name)) {
            return Err(format!("SignedHeaders lists '{name}' more than once."));
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    fn header(rest: &str) -> String {
        format!("AWS4-HMAC-SHA256 {rest}")
    }

    #[test]
    fn parses_sdk_format() {
        let value = header(&format!(
            "Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature={SIG}"
        ));
        let auth = parse(&value).expect("valid header");
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
        assert_eq!(auth.scope, Scope { date: "20150830", region: "us-east-1", service: "iam" });
        assert_eq!(auth.scope.to_line(), "20150830/us-east-1/iam/aws4_request");
        assert_eq!(auth.signed_headers, "content-type;host;x-amz-date");
        assert_eq!(auth.signed_header_names, ["content-type", "host", "x-amz-date"]);
        assert_eq!(auth.signature, SIG);
    }

    #[test]
    fn tolerates_spacing_and_order() {
        let value = format!(
            "  AWS4-HMAC-SHA256   Signature={SIG},SignedHeaders=host ,\t\
             Credential=AK/20150830/eu-west-1/ecs/aws4_request  "
        );
        let auth = parse(&value).expect("valid header");
        assert_eq!(auth.access_key_id, "AK");
        assert_eq!(auth.scope.region, "eu-west-1");
        assert_eq!(auth.signed_header_names, ["host"]);
    }

    #[test]
    fn rejects_other_algorithms() {
        let err = parse("AWS4-ECDSA-P256-SHA256 Credential=x").expect_err("sigv4a");
        assert!(err.contains("Unsupported Authorization type"), "{err}");
        let err = parse("Bearer abc").expect_err("bearer");
        assert!(err.contains("'Bearer'"), "{err}");
        assert!(parse("").is_err());
    }

    #[test]
    fn reports_every_missing_parameter() {
        let err = parse("AWS4-HMAC-SHA256").expect_err("nothing");
        assert!(err.contains("'Credential'"), "{err}");
        assert!(err.contains("'SignedHeaders'"), "{err}");
        assert!(err.contains("'Signature'"), "{err}");
        let err = parse(&header(&format!("SignedHeaders=host, Signature={SIG}"))).expect_err("no credential");
        assert_eq!(err, "Authorization header requires 'Credential' parameter.");
    }

    #[test]
    fn rejects_duplicate_unknown_and_bare_parameters() {
        let cred = "Credential=AK/20150830/us-east-1/ecs/aws4_request";
        let dup = header(&format!("{cred}, SignedHeaders=host, Signature={SIG}, Signature={SIG}"));
        assert!(parse(&dup).expect_err("dup").contains("more than once"));
        let unknown = header(&format!("{cred}, SignedHeaders=host, Signature={SIG}, Foo=bar"));
        assert!(parse(&unknown).expect_err("unknown").contains("'Foo'"));
        let bare = header(&format!("{cred}, SignedHeaders=host, {SIG}"));
        assert!(parse(&bare).expect_err("bare").contains("key=value"));
    }

    #[test]
    fn validates_credential_scope() {
        let with =
            |cred: &str| parse(&header(&format!("Credential={cred}, SignedHeaders=host, Signature={SIG}"))).map(|_| ());
        assert!(with("AK/20150830/us-east-1/ecs/aws4_request").is_ok());
        let err = with("AK/20150830/us-east-1/ecs").expect_err("short");
        assert!(err.contains("must have the form"), "{err}");
        let err = with("AK/20150830/us-east-1/ecs/aws4_request/x").expect_err("long");
        assert!(err.contains("must have the form"), "{err}");
        let err = with("AK/2015083/us-east-1/ecs/aws4_request").expect_err("date");
        assert!(err.contains("yyyymmdd"), "{err}");
        let err = with("AK/2015-8-3/us-east-1/ecs/aws4_request").expect_err("date");
        assert!(err.contains("yyyymmdd"), "{err}");
        let err = with("/20150830/us-east-1/ecs/aws4_request").expect_err("akid");
        assert!(err.contains("access key id"), "{err}");
        let err = with("AK/20150830//ecs/aws4_request").expect_err("region");
        assert!(err.contains("region"), "{err}");
        let err = with("AK/20150830/us-east-1//aws4_request").expect_err("service");
        assert!(err.contains("service"), "{err}");
        let err = with("AK/20150830/us-east-1/ecs/aws5_request").expect_err("term");
        assert!(err.contains("valid terminator"), "{err}");
    }

    #[test]
    fn validates_signed_headers_and_signature() {
        let cred = "Credential=AK/20150830/us-east-1/ecs/aws4_request";
        let with =
            |sh: &str, sig: &str| parse(&header(&format!("{cred}, SignedHeaders={sh}, Signature={sig}"))).map(|_| ());
        assert!(with("host;x-amz-date", SIG).is_ok());
        assert!(with("", SIG).is_err());
        assert!(with("host;;x-amz-date", SIG).is_err());
        assert!(with("host;", SIG).is_err());
        assert!(with("host;x-amz-date;Host", SIG).expect_err("dup").contains("more than once"));
        assert!(with("host", &SIG[..63]).is_err());
        assert!(with("host", &format!("{SIG}0")).is_err());
        assert!(with("host", &SIG.replace('5', "g")).is_err());
        assert!(with("host", &SIG.to_uppercase()).is_ok());
    }
}
