//! Stateless checks of Parameter Store input shared by its handlers: page sizes and tokens, name lists, tags,
//! descriptions, allowed patterns, KMS keys (the default only), data types and policies. Failures are
//! `ValidationException` naming the field unless Parameter Store has a code of its own (`InvalidNextToken`,
//! `InvalidKeyId`, `InvalidAllowedPatternException`). Messages never quote a parameter's value.

use berth_model::names::{is_tag_char, truncate};

use super::pattern::Pattern;
use super::record::{DEFAULT_KEY, Tag};
use super::validation;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// `MaxResults` within 1..=`max`, or `default` when absent.
pub fn max_results(value: Option<i64>, max: i64, default: usize) -> ApiResult<usize> {
    match value {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have \
             value between 1 and {max} (MaxResults)."
        ))),
    }
}

/// The sort key a `NextToken` continues after.
pub fn next_token(token: Option<&str>) -> ApiResult<Option<String>> {
    let invalid = || ApiError::new(ErrorCode::Service("InvalidNextToken"), "The nextToken is not valid (NextToken).");
    match token {
        None => Ok(None),
        Some(t) => {
            let bytes = hex::decode(t).map_err(|_| invalid())?;
            String::from_utf8(bytes).map(Some).map_err(|_| invalid())
        }
    }
}

/// The token that continues after `key`.
pub fn token_after(key: &str) -> String {
    hex::encode(key.as_bytes())
}

/// One page of `items` (sorted ascending by their keys) after `after`, and the next page's token.
pub fn page<T>(items: Vec<(String, T)>, after: Option<&str>, size: usize) -> (Vec<T>, Option<String>) {
    let mut rest: Vec<(String, T)> = items.into_iter().filter(|(k, _)| after.is_none_or(|a| k.as_str() > a)).collect();
    let more = rest.len() > size;
    rest.truncate(size);
    let token = if more { rest.last().map(|(k, _)| token_after(k)) } else { None };
    (rest.into_iter().map(|(_, v)| v).collect(), token)
}

/// `Names`: 1 to 10 names, each once (first occurrence kept).
pub fn names(given: Vec<String>) -> ApiResult<Vec<String>> {
    if given.is_empty() || given.len() > 10 {
        return Err(validation(format!(
            "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length \
             between 1 and 10 (Names has {}).",
            given.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(given.len());
    for n in given {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// Tags: keys of 1 to 128 and values of at most 256 letters, digits, spaces and `_.:/=+-@`, no keys under `aws:`;
/// a key given twice keeps its last value.
pub fn tags(given: Vec<Tag>) -> ApiResult<Vec<Tag>> {
    if given.len() > 1000 {
        return Err(validation("Tags can hold at most 1000 tags per request."));
    }
    let mut out: Vec<Tag> = Vec::with_capacity(given.len());
    for tag in given {
        tag_key("Tags", &tag.key)?;
        if tag.value.chars().count() > 256 || !tag.value.chars().all(is_tag_char) {
            return Err(validation(format!(
                "1 validation error detected: the value of tag '{}' failed to satisfy constraint: Member must have \
                 length less than or equal to 256 and hold letters, digits, spaces and _.:/=+-@ only (Tags).",
                truncate(&tag.key, 128)
            )));
        }
        match out.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value,
            None => out.push(tag),
        }
    }
    Ok(out)
}

/// A tag key: 1 to 128 tag characters, not under `aws:`.
pub fn tag_key(field: &str, key: &str) -> ApiResult<()> {
    if key.is_empty() || key.chars().count() > 128 || !key.chars().all(is_tag_char) {
        return Err(validation(format!(
            "1 validation error detected: Value '{}' at '{field}' (a tag key) failed to satisfy constraint: Member \
             must have length between 1 and 128 and hold letters, digits, spaces and _.:/=+-@ only.",
            truncate(key, 128)
        )));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(validation(format!("{field}: tag keys starting with 'aws:' are reserved.")));
    }
    Ok(())
}

/// A description: at most 1024 characters.
pub fn description(d: &str) -> ApiResult<()> {
    if d.chars().count() > 1024 {
        return Err(validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have \
             length less than or equal to 1024 (Description).",
        ));
    }
    Ok(())
}

/// An `AllowedPattern`: at most 1024 characters of a regular expression Berth can check.
pub fn allowed_pattern(text: &str) -> ApiResult<Pattern> {
    if text.chars().count() > 1024 {
        return Err(validation(
            "1 validation error detected: Value at 'allowedPattern' failed to satisfy constraint: Member must have \
             length less than or equal to 1024 (AllowedPattern).",
        ));
    }
    Pattern::new(text).map_err(|why| {
        ApiError::new(
            ErrorCode::Service("InvalidAllowedPatternException"),
            format!("The AllowedPattern '{}' is not a valid regular expression: {why}.", truncate(text, 256)),
        )
    })
}

/// `KeyId`: Berth has no KMS, so only the default key is accepted; whether one was given.
pub fn key_id(key: Option<&str>) -> ApiResult<bool> {
    match key {
        None => Ok(false),
        Some(k) if k == DEFAULT_KEY => Ok(true),
        Some(k) => Err(ApiError::new(
            ErrorCode::Service("InvalidKeyId"),
            format!(
                "KeyId '{}' is not supported: Berth has no KMS. SecureString values are sealed with the server's own \
                 key; omit KeyId (or give {DEFAULT_KEY}).",
                truncate(k, 256)
            ),
        )),
    }
}

/// `DataType`: `text` only.
pub fn data_type(value: Option<&str>) -> ApiResult<()> {
    match value {
        None | Some("text") => Ok(()),
        Some(other) => Err(validation(format!(
            "The following data type is not supported: {} (DataType). Berth supports text only: it has no EC2 images \
             or integrations to validate against.",
            truncate(other, 128)
        ))),
    }
}

/// `Policies`: parameter policies (expiration, notifications) are not supported.
pub fn policies(value: Option<&str>) -> ApiResult<()> {
    match value {
        None | Some("") | Some("[]") => Ok(()),
        Some(_) => Err(validation(
            "Policies: parameter policies (Expiration, ExpirationNotification, NoChangeNotification) are not \
             supported by Berth.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging() {
        assert_eq!(max_results(None, 10, 10).unwrap(), 10);
        assert!(max_results(Some(11), 10, 10).unwrap_err().message.contains("MaxResults"));
        assert!(max_results(Some(0), 50, 50).is_err());
        let t = token_after("/a/b");
        assert_eq!(next_token(Some(&t)).unwrap().as_deref(), Some("/a/b"));
        assert_eq!(next_token(Some("xyz")).unwrap_err().code, ErrorCode::Service("InvalidNextToken"));
        let items: Vec<(String, u32)> = (0..5).map(|i| (format!("k{i}"), i)).collect();
        let (p, t) = page(items.clone(), None, 2);
        assert_eq!(p, [0, 1]);
        let after = next_token(t.as_deref()).unwrap();
        assert_eq!(page(items.clone(), after.as_deref(), 2).0, [2, 3]);
        assert_eq!(page(items, Some("k3"), 2), (vec![4], None));
    }

    #[test]
    fn name_lists() {
        assert_eq!(names(vec!["a".into(), "a".into(), "b".into()]).unwrap(), ["a", "b"]);
        assert!(names(vec![]).is_err());
        assert!(names((0..11).map(|i| i.to_string()).collect()).unwrap_err().message.contains("Names"));
    }

    #[test]
    fn tag_checks() {
        let t = |k: &str, v: &str| Tag { key: k.into(), value: v.into() };
        assert_eq!(tags(vec![t("a", "1"), t("a", "2")]).unwrap(), [t("a", "2")]);
        assert!(tags(vec![t("aws:x", "1")]).is_err());
        assert!(tags(vec![t("", "1")]).is_err());
        assert!(tags(vec![t("k", "a*")]).is_err());
        assert!(tag_key("TagKeys", &"k".repeat(129)).unwrap_err().message.contains("TagKeys"));
    }

    #[test]
    fn options_berth_does_not_have_are_refused_clearly() {
        assert!(key_id(None).is_ok_and(|given| !given));
        assert!(key_id(Some(DEFAULT_KEY)).is_ok_and(|given| given));
        let e = key_id(Some("alias/mine")).unwrap_err();
        assert_eq!(e.code, ErrorCode::Service("InvalidKeyId"));
        assert!(e.message.contains("KMS"));
        assert!(data_type(Some("text")).is_ok());
        assert!(data_type(Some("aws:ec2:image")).unwrap_err().message.contains("DataType"));
        assert!(policies(Some(r#"[{"Type":"Expiration"}]"#)).unwrap_err().message.contains("Policies"));
        assert!(description(&"d".repeat(1025)).unwrap_err().message.contains("Description"));
        let e = allowed_pattern("(?=x)").unwrap_err();
        assert_eq!(e.code, ErrorCode::Service("InvalidAllowedPatternException"));
        assert!(allowed_pattern(r"^\d+$").is_ok());
    }
}
