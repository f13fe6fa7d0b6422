//! The JSON of a policy document as written: object members keep their order and duplicates survive, because
//! IAM refuses a document that names a member twice while `serde_json::Value` would keep only the last one.
//!
//! Numbers are kept as the text `serde_json` gives back for them (`10`, `1.5`): IAM accepts unquoted numbers and
//! booleans as condition values and compares them as strings.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// `None` when the text is not JSON.
    pub(crate) fn parse(text: &str) -> Option<Json> {
        serde_json::from_str(text).ok()
    }

    /// The first member called `name`.
    pub(crate) fn member<'a>(members: &'a [(String, Json)], name: &str) -> Option<&'a Json> {
        members.iter().find(|(key, _)| key == name).map(|(_, value)| value)
    }

    /// The first name that appears twice among `members`.
    pub(crate) fn duplicate(members: &[(String, Json)]) -> Option<&str> {
        members
            .iter()
            .enumerate()
            .find(|(i, (key, _))| members[..*i].iter().any(|(earlier, _)| earlier == key))
            .map(|(_, (key, _))| key.as_str())
    }

    /// A scalar as the string IAM compares: strings as they are, numbers and booleans as written.
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match self {
            Json::String(s) | Json::Number(s) => Some(s.clone()),
            Json::Bool(b) => Some(b.to_string()),
            Json::Null | Json::Array(_) | Json::Object(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        // JSON has no NaN or infinity, so `from_f64` always succeeds on parsed input.
        Ok(Json::Number(serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string())))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[test]
    fn keeps_order_and_duplicates() {
        let Some(Json::Object(members)) = Json::parse(r#"{"b": 1, "a": [true, null, "x", 1.5], "b": 2}"#) else {
            panic!("not an object")
        };
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
        assert_eq!(Json::duplicate(&members), Some("b"));
        assert_eq!(
            members[1].1,
            Json::Array(vec![Json::Bool(true), Json::Null, Json::String("x".into()), Json::Number("1.5".into())])
        );
        assert_eq!(Json::parse("{"), None);
        assert_eq!(Json::parse("{} x"), None);
    }
}
