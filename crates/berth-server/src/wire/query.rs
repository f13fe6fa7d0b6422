//! The AWS query protocol, as IAM and STS speak it (and, later, ELBv2 and EC2's dialect): a form-encoded request
//! `Action=CreateUser&Version=2010-05-08&UserName=alice&Tags.member.1.Key=team` (in the body of a POST, or the query
//! string of a GET), answered with XML as botocore parses it:
//!
//! ```text
//! <CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
//!   <CreateUserResult><User>...</User></CreateUserResult>
//!   <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata>
//! </CreateUserResponse>
//! ```
//!
//! and errors as `<ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>`.
//!
//! Parameters become a JSON value so that handlers decode them into typed requests as the JSON protocols' handlers
//! do: dotted names nest (`A.B=1` is `{"A": {"B": "1"}}`), `X.member.N` is the N-th element of the list `X`, and
//! `X.entry.N.key`/`.value` an entry of the map `X`. Every leaf is a string; [`de`] reads numbers and booleans from
//! them. Responses are built the same way: objects become elements, arrays `<member>` elements, as the IAM and STS
//! models have it (no flattened lists).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, ErrorCode};

/// A parsed query request.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRequest {
    pub action: String,
    pub version: String,
    /// Every parameter but `Action` and `Version`, nested.
    pub params: Value,
}

/// Whether a request speaks the query protocol: a form-encoded body, or a GET with `Action` in its query string.
pub fn is_query(content_type: Option<&str>, method: &str, query: &str) -> bool {
    let form = content_type.is_some_and(|c| c.trim_start().starts_with("application/x-www-form-urlencoded"));
    form || (method == "GET" && form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "Action"))
}

/// Parses a form-encoded request (`body`, or the query string of a GET).
pub fn parse(form: &[u8]) -> ApiResult<QueryRequest> {
    let mut action = None;
    let mut version = None;
    let mut root = Node::default();
    for (name, value) in form_urlencoded::parse(form) {
        match name.as_ref() {
            "Action" => action = Some(value.into_owned()),
            "Version" => version = Some(value.into_owned()),
            _ => root.insert(&name, value.into_owned())?,
        }
    }
    let Some(action) = action.filter(|a| !a.is_empty()) else {
        return Err(ApiError::new(ErrorCode::MissingAction, "The request must contain the parameter Action."));
    };
    Ok(QueryRequest { action, version: version.unwrap_or_default(), params: root.into_value() })
}

/// A parameter tree being built from dotted names.
#[derive(Debug, Default)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, name: &str, value: String) -> ApiResult<()> {
        if name.len() > 1024 || name.split('.').count() > 16 {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                "A parameter name is too long or too deeply nested.",
            ));
        }
        let mut node = self;
        for part in name.split('.') {
            if part.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::ValidationError,
                    format!("Parameter name '{}' is not valid.", berth_model::names::truncate(name, 128)),
                ));
            }
            node = node.children.entry(part.to_owned()).or_default();
        }
        node.value = Some(value);
        Ok(())
    }

    fn into_value(self) -> Value {
        if self.children.is_empty() {
            return self.value.map(Value::String).unwrap_or(Value::Null);
        }
        let mut children = self.children;
        if children.len() == 1 {
            if let Some(members) = children.remove("member") {
                return Value::Array(indexed(members).into_iter().map(Node::into_value).collect());
            }
            if let Some(entries) = children.remove("entry") {
                let mut map = Map::new();
                for mut entry in indexed(entries) {
                    let key = entry.children.remove("key").and_then(|k| k.value);
                    let value = entry.children.remove("value").map(Node::into_value);
                    if let (Some(k), Some(v)) = (key, value) {
                        map.insert(k, v);
                    }
                }
                return Value::Object(map);
            }
        }
        Value::Object(children.into_iter().map(|(k, v)| (k, v.into_value())).collect())
    }
}

/// The children of a `member`/`entry` node in the order of their 1-based indexes (others are ignored, as AWS does
/// with parameters it does not know).
fn indexed(node: Node) -> Vec<Node> {
    let mut numbered: Vec<(u32, Node)> = node
        .children
        .into_iter()
        .filter_map(|(k, v)| k.parse::<u32>().ok().filter(|n| *n > 0).map(|n| (n, v)))
        .collect();
    numbered.sort_by_key(|(n, _)| *n);
    numbered.into_iter().map(|(_, v)| v).collect()
}

/// The XML document answering `action`, `result` being the operation's output (an object, possibly empty).
pub fn response(action: &str, namespace: &str, result: &Value, request_id: &str) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(&format!("<{action}Response xmlns=\"{namespace}\">"));
    if result.as_object().is_some_and(|o| !o.is_empty()) {
        element(&mut out, &format!("{action}Result"), result);
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape_into(&mut out, request_id);
    out.push_str(&format!("</RequestId></ResponseMetadata></{action}Response>"));
    out
}

/// The XML error document: `Sender` for client errors, `Receiver` for the server's.
pub fn error(code: &str, message: &str, sender: bool, request_id: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<ErrorResponse><Error><Type>");
    out.push_str(if sender { "Sender" } else { "Receiver" });
    out.push_str("</Type><Code>");
    escape_into(&mut out, code);
    out.push_str("</Code><Message>");
    escape_into(&mut out, message);
    out.push_str("</Message></Error><RequestId>");
    escape_into(&mut out, request_id);
    out.push_str("</RequestId></ErrorResponse>");
    out
}

fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => return,
        _ => out.push_str(&format!("<{name}>")),
    }
    match value {
        Value::Object(members) => {
            for (k, v) in members {
                element(out, k, v);
            }
        }
        Value::Array(items) => {
            for item in items {
                element(out, "member", item);
            }
        }
        Value::String(s) => escape_into(out, s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Null => {}
    }
    out.push_str(&format!("</{name}>"));
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// A timestamp as the query protocol writes it (ISO 8601, UTC, seconds).
pub fn timestamp(epoch_seconds: f64) -> String {
    match jiff::Timestamp::from_second(epoch_seconds.floor() as i64) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => "1970-01-01T00:00:00Z".to_owned(),
    }
}

/// A policy document as IAM returns it: URL-encoded (botocore decodes it).
pub fn url_encoded(document: &str) -> String {
    percent_encoding::utf8_percent_encode(document, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Readers for the query protocol's string leaves, for `#[serde(deserialize_with = ...)]`.
pub mod de {
    use serde::Deserialize;
    use serde::de::{Deserializer, Error};

    /// An optional integer sent as a string (`MaxItems=10`).
    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => s.trim().parse().map(Some).map_err(|_| D::Error::custom(format!("'{s}' is not an integer"))),
        }
    }

    /// An optional boolean sent as `true`/`false`.
    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => match s.as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                other => Err(D::Error::custom(format!("'{other}' is not true or false"))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parameters_nest_lists_and_maps() {
        let form = b"Action=CreateUser&Version=2010-05-08&UserName=alice%2B1&Path=%2Fml%2F\
&Tags.member.2.Key=b&Tags.member.2.Value=&Tags.member.1.Key=a&Tags.member.1.Value=x%20y\
&PolicyArns.member.1=arn%3Aaws&Attributes.entry.1.key=k&Attributes.entry.1.value=v";
        let req = parse(form).unwrap();
        assert_eq!((req.action.as_str(), req.version.as_str()), ("CreateUser", "2010-05-08"));
        assert_eq!(
            req.params,
            json!({
                "UserName": "alice+1",
                "Path": "/ml/",
                "Tags": [{"Key": "a", "Value": "x y"}, {"Key": "b", "Value": ""}],
                "PolicyArns": ["arn:aws"],
                "Attributes": {"k": "v"},
            })
        );
        assert_eq!(parse(b"UserName=a").unwrap_err().code, ErrorCode::MissingAction);
        assert!(parse(b"Action=X&A..B=1").is_err());
    }

    #[test]
    fn responses_and_errors_are_the_xml_botocore_reads() {
        let result =
            json!({"User": {"UserName": "a<b", "Tags": [{"Key": "k"}], "Missing": null}, "IsTruncated": false});
        assert_eq!(
            response("GetUser", "https://iam.amazonaws.com/doc/2010-05-08/", &result, "r-1"),
            "<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetUserResult>\
<IsTruncated>false</IsTruncated><User><Tags><member><Key>k</Key></member></Tags><UserName>a&lt;b</UserName></User>\
</GetUserResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetUserResponse>"
        );
        assert_eq!(
            response("DeleteUser", "ns", &json!({}), "r"),
            "<DeleteUserResponse xmlns=\"ns\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteUserResponse>"
        );
        assert_eq!(
            error("NoSuchEntity", "The user with name x cannot be found.", true, "r"),
            "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name x cannot be \
found.</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        );
    }

    #[test]
    fn timestamps_and_documents() {
        assert_eq!(timestamp(1_700_000_000.7), "2023-11-14T22:13:20Z");
        assert_eq!(url_encoded("{\"a\": 1}"), "%7B%22a%22%3A%201%7D");
        assert!(is_query(Some("application/x-www-form-urlencoded; charset=utf-8"), "POST", ""));
        assert!(is_query(None, "GET", "Action=ListUsers&Version=2010-05-08"));
        assert!(!is_query(Some("application/x-amz-json-1.1"), "POST", ""));
    }
}
