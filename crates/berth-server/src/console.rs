//! The web console: the static files of the repository's `console/` directory, embedded in the binary at build time
//! and served under `/ui`. The console is a one-page application that signs its own API calls (SigV4 in the browser),
//! so serving it needs no authentication and no state: `/ui` and `/ui/` answer `index.html`, `/ui/<file>` one of
//! the assets below, anything else under `/ui/` a plain 404.
//!
//! Responses carry an `ETag` (a digest of the file) with `Cache-Control: no-cache`: browsers revalidate on every load
//! and get a 304 while the binary is unchanged, and never run a stale script after an upgrade.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset { name: $name, content_type: $content_type, body: include_bytes!(concat!("../../../console/", $name)) }
    };
}

/// Every file the console consists of; `index.html` first.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("sigv4.js", "text/javascript; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("events.js", "text/javascript; charset=utf-8"),
    asset!("dom.js", "text/javascript; charset=utf-8"),
    asset!("charts.js", "text/javascript; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("clusters.js", "text/javascript; charset=utf-8"),
    asset!("services.js", "text/javascript; charset=utf-8"),
    asset!("tasks.js", "text/javascript; charset=utf-8"),
    asset!("instances.js", "text/javascript; charset=utf-8"),
];

/// The page may load only its own files and talk only to its own server: nothing comes from elsewhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Quoted strong ETags, in the order of [`ASSETS`].
static ETAGS: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.body))[..20])).collect());

/// The console's routes; merged into the API router (they need no state of their own).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/ui", get(index))
        .route("/ui/", get(index))
        .route("/ui/{*path}", get(|Path(path): Path<String>, headers: HeaderMap| async move { serve(&path, &headers) }))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// Answers one file by name, a 304 when the client's `If-None-Match` holds its current ETag, a 404 when unknown.
fn serve(name: &str, request_headers: &HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        let mut response = (StatusCode::NOT_FOUND, "Not found: the console has no such file.\n").into_response();
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    };
    let (Some(asset), Some(etag)) = (ASSETS.get(i), ETAGS.get(i)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let fresh = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*");
    let mut response =
        if fresh { StatusCode::NOT_MODIFIED.into_response() } else { (StatusCode::OK, asset.body).into_response() };
    let headers = response.headers_mut();
    if !fresh {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    }
    if let Ok(v) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if asset.content_type.starts_with("text/html") {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(name: &str, if_none_match: Option<&str>) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(tag) = if_none_match {
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(tag).unwrap());
        }
        serve(name, &headers)
    }

    #[test]
    fn every_asset_has_its_content_type_and_an_etag() {
        for asset in ASSETS {
            let r = get(asset.name, None);
            assert_eq!(r.status(), StatusCode::OK, "{}", asset.name);
            assert_eq!(r.headers()[header::CONTENT_TYPE], asset.content_type);
            assert!(r.headers().contains_key(header::ETAG));
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        }
        assert!(get("index.html", None).headers().contains_key(header::CONTENT_SECURITY_POLICY));
    }

    #[test]
    fn a_matching_etag_answers_304() {
        let etag = get("app.js", None).headers()[header::ETAG].to_str().unwrap().to_owned();
        assert_eq!(get("app.js", Some(&etag)).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(get("app.js", Some(&format!("\"x\", {etag}"))).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(get("app.js", Some("\"other\"")).status(), StatusCode::OK);
    }

    #[test]
    fn unknown_files_are_404() {
        for name in ["nope.js", "", "../Cargo.toml", "app.js/x", "APP.JS"] {
            assert_eq!(get(name, None).status(), StatusCode::NOT_FOUND, "{name}");
        }
    }

    #[test]
    fn the_page_refers_only_to_embedded_files() {
        // Every `/ui/<file>` the page or a module imports must be one of the assets, or the console breaks silently.
        for asset in ASSETS {
            let text = std::str::from_utf8(asset.body).unwrap();
            for (at, _) in text.match_indices("/ui/") {
                let rest = &text[at + 4..];
                let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')).unwrap_or(0);
                let name = &rest[..end];
                if name.contains('.') {
                    assert!(ASSETS.iter().any(|a| a.name == name), "{} refers to /ui/{name}", asset.name);
                }
            }
        }
    }
}
