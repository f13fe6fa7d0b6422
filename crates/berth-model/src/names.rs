//! Naming rules ECS applies to user-chosen names and tags.

use crate::{ModelError, Tag};

/// Cluster names, task definition families, container names and service names: 1 to 255 ASCII letters, digits,
/// hyphens and underscores.
pub fn check_resource_name(field: &str, value: &str) -> Result<(), ModelError> {
    if !is_resource_name(value) {
        let ok_chars = value.bytes().all(is_name_byte);
        return Err(ModelError::invalid(format!(
            "{field} can have up to 255 characters: letters (uppercase and lowercase), numbers, hyphens and \
             underscores. Got {} characters{}.",
            value.chars().count(),
            if ok_chars { "" } else { " including characters outside that set" }
        )));
    }
    Ok(())
}

/// Whether `value` follows the resource name rule of [`check_resource_name`].
pub fn is_resource_name(value: &str) -> bool {
    !value.is_empty() && value.len() <= 255 && value.bytes().all(is_name_byte)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Tags: at most 50 per resource, keys 1-128 and values 0-256 characters, unique keys, and no `aws:` prefix
/// (reserved for AWS).
pub fn check_tags(tags: &[Tag]) -> Result<(), ModelError> {
    if tags.len() > 50 {
        return Err(ModelError::invalid(format!("tags: at most 50 tags per resource, got {}.", tags.len())));
    }
    let mut seen = std::collections::HashSet::new();
    for tag in tags {
        let key_len = tag.key.chars().count();
        if key_len == 0 || key_len > 128 {
            return Err(ModelError::invalid(format!("tags.key must be 1 to 128 characters, got {key_len}.")));
        }
        if tag.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(ModelError::invalid(format!("tags.key '{}' uses the reserved prefix 'aws:'.", tag.key)));
        }
        let value_len = tag.value.as_deref().map_or(0, |v| v.chars().count());
        if value_len > 256 {
            return Err(ModelError::invalid(format!(
                "tags.value for key '{}' must be at most 256 characters, got {value_len}.",
                tag.key
            )));
        }
        if !seen.insert(tag.key.as_str()) {
            return Err(ModelError::invalid(format!("tags: duplicate tag key '{}'.", tag.key)));
        }
    }
    Ok(())
}

/// Merges `new` tags into `existing`: a key already present takes the new value.
pub fn merge_tags(existing: &mut Vec<Tag>, new: Vec<Tag>) {
    for tag in new {
        match existing.iter_mut().find(|t| t.key == tag.key) {
            Some(old) => old.value = tag.value,
            None => existing.push(tag),
        }
    }
}

/// Attribute names: 1-128 of letters, digits, hyphens, underscores, forward slashes, back slashes and periods.
/// Values: 1-128 of letters, digits, hyphens, underscores, periods, at signs, forward slashes, back slashes, colons
/// and spaces, not starting or ending with a space (the ECS model's rule).
pub fn check_attribute(name: &str, value: Option<&str>) -> Result<(), ModelError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_/\\.".contains(&b));
    if !ok {
        return Err(ModelError::invalid(format!(
            "attributes.name '{}' must be 1 to 128 characters: letters, numbers, hyphens, underscores, forward \
             slashes, back slashes and periods.",
            truncate(name, 64)
        )));
    }
    if let Some(v) = value {
        let ok = !v.is_empty()
            && v.len() <= 128
            && !v.starts_with(' ')
            && !v.ends_with(' ')
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@/\\: ".contains(&b));
        if !ok {
            return Err(ModelError::invalid(format!(
                "attributes.value '{}' of '{name}' must be 1 to 128 characters: letters, numbers, hyphens, \
                 underscores, periods, at signs, forward slashes, back slashes, colons and spaces, not starting or \
                 ending with a space.",
                truncate(v, 64)
            )));
        }
    }
    Ok(())
}

/// Shortens user input quoted back in an error message.
/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`: the characters AWS allows in tag keys and values (CloudWatch Logs, IAM).
pub fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

pub fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_owned()
    } else {
        format!("{}...", s.chars().take(max_chars).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names() {
        assert!(check_resource_name("clusterName", "ml-prod_1").is_ok());
        assert!(check_resource_name("clusterName", "").is_err());
        assert!(check_resource_name("clusterName", &"a".repeat(256)).is_err());
        assert!(check_resource_name("clusterName", "grüße").is_err());
        assert!(check_resource_name("clusterName", "a b").is_err());
        let msg = check_resource_name("clusterName", &"x".repeat(10_000)).unwrap_err().to_string();
        assert!(msg.contains("clusterName"));
    }

    #[test]
    fn tags() {
        let t = |k: &str, v: &str| Tag { key: k.into(), value: Some(v.into()) };
        assert!(check_tags(&[t("team", "ml")]).is_ok());
        assert!(check_tags(&[t("aws:x", "1")]).is_err());
        assert!(check_tags(&[t("", "1")]).is_err());
        assert!(check_tags(&[t("a", "1"), t("a", "2")]).is_err());
        assert!(check_tags(&[t("a", &"v".repeat(257))]).is_err());
        let mut existing = vec![t("a", "1")];
        merge_tags(&mut existing, vec![t("a", "2"), t("b", "3")]);
        assert_eq!(existing, vec![t("a", "2"), t("b", "3")]);
    }

    #[test]
    fn attributes() {
        assert!(check_attribute("ecs.os-type", Some("linux")).is_ok());
        assert!(check_attribute("stack", None).is_ok());
        assert!(check_attribute("bad name", None).is_err());
        assert!(check_attribute("a", Some(&"v".repeat(129))).is_err());
        assert!(check_attribute("a", Some("us-east-1a")).is_ok());
        assert!(check_attribute("a", Some("user@host:/p\\q r")).is_ok());
        assert!(check_attribute("a", Some(" leading")).is_err());
        assert!(check_attribute("a", Some("trailing ")).is_err());
        assert!(check_attribute("a", Some("semi;colon")).is_err());
        assert!(check_attribute("a", Some("")).is_err());
    }
}
