//! The SigV4 canonical request: URI, query string and header canonicalisation.
//!
//! Every rule here mirrors what `aws-sigv4` (aws-sdk-rust) and botocore do when
//! they sign a non-S3 request, because the server must rebuild byte for byte
//! the text the client hashed. Where the two clients differ in corner cases we
//! follow `aws-sigv4`, which the property tests use as the oracle.

use std::borrow::Cow;

/// RFC 3986 unreserved characters, the only bytes SigV4 leaves unencoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes `bytes` the SigV4 way: everything but unreserved
/// characters (and `/` when `keep_slash`) becomes `%XX` with upper-case hex.
fn percent_encode_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// Removes `.`/`..` segments and empty segments (`//`), as the SDKs do before
/// signing (RFC 3986 section 5.2.4 plus AWS's "no consecutive slashes" rule).
/// A trailing slash, or a trailing dot segment, keeps the result ending in `/`.
fn normalize_path(path: &str) -> Cow<'_, str> {
    if path.starts_with('/') && !path.contains('.') && !path.contains("//") {
        return Cow::Borrowed(path);
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    out.push_str(&segments.join("/"));
    let trailing_slash = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if trailing_slash && !out.ends_with('/') {
        out.push('/');
    }
    Cow::Owned(out)
}

/// The canonical URI for a non-S3 service.
///
/// The path arrives already percent-encoded once (that is how it travels on
/// the wire). The SDKs normalise it and then encode it *again* (aws-sigv4's
/// `PercentEncodingMode::Double`, botocore's `quote(path, safe='/~')`), so a
/// segment `a b` sent as `a%20b` is signed as `a%2520b`. We do the same on the
/// raw path rather than decoding it, so both sides see the same bytes.
pub(crate) fn canonical_uri(raw_path: &str) -> String {
    let normalized = normalize_path(raw_path);
    let mut out = String::with_capacity(normalized.len());
    percent_encode_into(&mut out, normalized.as_bytes(), true);
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one query key or value with `application/x-www-form-urlencoded`
/// rules (`+` is a space, malformed `%` escapes stay literal), which is what
/// aws-sigv4 applies before re-encoding. Invalid UTF-8 is replaced with
/// U+FFFD, again as aws-sigv4 does, so the two sides agree even on garbage.
fn decode_query_component(component: &str) -> String {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push((hi << 4) | lo);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a raw query string into decoded `(key, value)` pairs. Empty pieces
/// (`a=1&&b=2`) are skipped; a piece without `=` is a key with empty value.
fn query_pairs(raw_query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    raw_query.split('&').filter(|piece| !piece.is_empty()).map(|piece| {
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        (decode_query_component(key), decode_query_component(value))
    })
}

/// Whether the query string carries the parameter `name` (case-insensitive),
/// used to recognise presigned-URL authentication.
pub(crate) fn query_has_param(raw_query: &str, name: &str) -> bool {
    query_pairs(raw_query).any(|(key, _)| key.eq_ignore_ascii_case(name))
}

/// The canonical query string: every pair decoded, re-encoded with the SigV4
/// rules, sorted by encoded key and then encoded value, joined `k=v&k=v`.
pub(crate) fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(raw_query)
        .map(|(key, value)| {
            let mut k = String::with_capacity(key.len());
            percent_encode_into(&mut k, key.as_bytes(), false);
            let mut v = String::with_capacity(value.len());
            percent_encode_into(&mut v, value.as_bytes(), false);
            (k, v)
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// One header value as it appears in the canonical request: leading and
/// trailing whitespace removed and inner runs of spaces collapsed to one.
///
/// Only spaces are collapsed inside the value, matching aws-sigv4 (botocore
/// also collapses tabs; the SDKs never put tabs inside the headers they sign).
/// Tabs are trimmed at the ends because HTTP servers strip that optional
/// whitespace before we ever see the value.
pub(crate) fn canonical_header_value(raw: &[u8]) -> Vec<u8> {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = raw.iter().position(|b| !is_ows(b)).unwrap_or(raw.len());
    let end = raw.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    let trimmed = raw.get(start..end).unwrap_or_default();
    let mut out = Vec::with_capacity(trimmed.len());
    for &b in trimmed {
        if b == b' ' && out.last() == Some(&b' ') {
            continue;
        }
        out.push(b);
    }
    out
}

/// The full canonical request text.
///
/// `headers` holds `(name, canonical value)` in `SignedHeaders` order, with
/// repeated headers already joined by `,`.
pub(crate) fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &[(&str, Vec<u8>)],
    signed_headers: &str,
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    for part in [method, canonical_uri, canonical_query] {
        out.extend_from_slice(part.as_bytes());
        out.push(b'\n');
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_root_and_plain_paths() {
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/v1/clusters"), "/v1/clusters");
        assert_eq!(canonical_uri("/a-b_c.d~e/"), "/a-b_c.d~e/");
    }

    #[test]
    fn uri_is_encoded_a_second_time() {
        // The client sent "a b" as "a%20b"; it signed "a%2520b".
        assert_eq!(canonical_uri("/a%20b"), "/a%2520b");
        assert_eq!(canonical_uri("/x:y@z"), "/x%3Ay%40z");
        assert_eq!(canonical_uri("/caf\u{e9}"), "/caf%C3%A9");
        assert_eq!(canonical_uri("/a+b=c"), "/a%2Bb%3Dc");
    }

    #[test]
    fn uri_dot_segments_and_double_slashes_are_removed() {
        assert_eq!(canonical_uri("/a/./b/../c"), "/a/c");
        assert_eq!(canonical_uri("//a//b/"), "/a/b/");
        assert_eq!(canonical_uri("/a/.."), "/");
        assert_eq!(canonical_uri("/a/b/."), "/a/b/");
        assert_eq!(canonical_uri("/../../a"), "/a");
        assert_eq!(canonical_uri("a/b"), "/a/b");
        assert_eq!(canonical_uri("/a.b/c"), "/a.b/c");
    }

    #[test]
    fn query_is_sorted_by_key_then_value_and_encoded() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("Version=2010-05-08&Action=ListUsers"), "Action=ListUsers&Version=2010-05-08");
        assert_eq!(canonical_query("b=2&a=3&a=1"), "a=1&a=3&b=2");
        assert_eq!(canonical_query("flag&x="), "flag=&x=");
        assert_eq!(canonical_query("a=1&&b=2&"), "a=1&b=2");
    }

    #[test]
    fn query_components_are_decoded_then_reencoded() {
        assert_eq!(canonical_query("k=a%20b"), "k=a%20b");
        assert_eq!(canonical_query("k=a+b"), "k=a%20b");
        assert_eq!(canonical_query("k=a%2fb"), "k=a%2Fb");
        assert_eq!(canonical_query("k=%7E%41"), "k=~A");
        assert_eq!(canonical_query("k=100%"), "k=100%25");
        assert_eq!(canonical_query("k=%zz"), "k=%25zz");
        assert_eq!(canonical_query("k=a/b:c"), "k=a%2Fb%3Ac");
        assert_eq!(canonical_query("k=%FF"), "k=%EF%BF%BD");
    }

    #[test]
    fn query_sorts_on_encoded_form() {
        // '%' (0x25) sorts before letters once encoded.
        assert_eq!(canonical_query("b=1&%21=2"), "%21=2&b=1");
    }

    #[test]
    fn query_param_detection() {
        assert!(query_has_param("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x", "X-Amz-Algorithm"));
        assert!(query_has_param("x-amz-algorithm", "X-Amz-Algorithm"));
        assert!(!query_has_param("Action=ListUsers", "X-Amz-Algorithm"));
        assert!(!query_has_param("", "X-Amz-Algorithm"));
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        assert_eq!(canonical_header_value(b"  a   b  c "), b"a b c");
        assert_eq!(canonical_header_value(b"\t a\tb \t"), b"a\tb");
        assert_eq!(canonical_header_value(b"plain"), b"plain");
        assert_eq!(canonical_header_value(b"   "), b"");
        assert_eq!(canonical_header_value(b""), b"");
        assert_eq!(canonical_header_value(b"\xff  \xfe"), b"\xff \xfe");
    }

    #[test]
    fn canonical_request_layout() {
        let creq = canonical_request(
            "POST",
            "/",
            "",
            &[("host", b"h".to_vec()), ("x-amz-date", b"d".to_vec())],
            "host;x-amz-date",
            "abc",
        );
        assert_eq!(creq, b"POST\n/\n\nhost:h\nx-amz-date:d\n\nhost;x-amz-date\nabc");
    }
}
