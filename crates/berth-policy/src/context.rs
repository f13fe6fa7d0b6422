//! The request's condition keys and their values (IAM's "request context"): what `Condition` blocks test and what
//! policy variables (`${aws:username}`) are replaced with.
//!
//! Keys are compared case-insensitively, as IAM does (`aws:CurrentTime` is `AWS:currenttime`); values keep their
//! case. Every key is multi-valued; a key set to no values is the same as an absent key, which is how IAM treats a
//! key that resolves to an empty set (`ForAllValues` true, `ForAnyValue` false, `Null` true).

use std::collections::BTreeMap;

use crate::principal::{Principal, PrincipalKind};

/// Condition key values of one request; keys case-insensitive, values case-sensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Keyed by the lowercased key name.
    values: BTreeMap<String, Vec<String>>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// This context with `key` set to `values` (replacing earlier values).
    pub fn with<I, V>(mut self, key: &str, values: I) -> Context
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        self.set(key, values.into_iter().map(Into::into).collect());
        self
    }

    /// Sets `key` to `values`, replacing earlier values; no values removes the key.
    pub fn set(&mut self, key: &str, values: Vec<String>) {
        if values.is_empty() {
            self.values.remove(&key.to_lowercase());
        } else {
            self.values.insert(key.to_lowercase(), values);
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.values.remove(&key.to_lowercase());
    }

    /// The values of `key`, never empty; `None` when the request does not have the key.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        if key.chars().any(char::is_uppercase) {
            return self.get_lowercase(&key.to_lowercase());
        }
        self.get_lowercase(key)
    }

    /// [`Context::get`] for a key already lowercased (no allocation).
    pub(crate) fn get_lowercase(&self, key: &str) -> Option<&[String]> {
        self.values.get(key).map(Vec::as_slice)
    }

    /// The value a policy variable `${key}` stands for: only a key with exactly one value has one (IAM does not
    /// substitute multivalued keys).
    pub(crate) fn single(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some([value]) => Some(value),
            _ => None,
        }
    }

    /// This context with the keys IAM derives from the principal alone: `aws:PrincipalArn`,
    /// `aws:PrincipalAccount`, `aws:PrincipalType` and, for IAM users, `aws:username`; for service principals
    /// `aws:PrincipalServiceName`. Keys that need the principal's stored record (`aws:userid`,
    /// `aws:PrincipalTag/*`, the role ARN behind an assumed-role session) are the caller's to add.
    pub fn with_principal(mut self, principal: &Principal) -> Context {
        let mut set = |key: &str, value: &str| self.set(key, vec![value.to_owned()]);
        match &principal.kind {
            PrincipalKind::Root => {
                set("aws:PrincipalArn", &principal.arn);
                set("aws:PrincipalAccount", &principal.account);
                set("aws:PrincipalType", "Account");
            }
            PrincipalKind::User => {
                set("aws:PrincipalArn", &principal.arn);
                set("aws:PrincipalAccount", &principal.account);
                set("aws:PrincipalType", "User");
                // The friendly name is the last segment of the user's path.
                if let Some(name) = principal.arn.rsplit('/').next() {
                    set("aws:username", name);
                }
            }
            PrincipalKind::AssumedRole => {
                set("aws:PrincipalAccount", &principal.account);
                set("aws:PrincipalType", "AssumedRole");
            }
            PrincipalKind::Service(name) => set("aws:PrincipalServiceName", name),
            PrincipalKind::Federated(_) => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::Context;
    use crate::Principal;

    #[test]
    fn keys_are_case_insensitive_and_empty_means_absent() {
        let mut c = Context::new().with("aws:PrincipalTag/Team", ["Blue"]);
        assert_eq!(c.get("AWS:principaltag/team"), Some(&["Blue".to_string()][..]));
        assert_eq!(c.single("aws:principaltag/TEAM"), Some("Blue"));
        c.set("aws:TagKeys", vec![]);
        assert_eq!(c.get("aws:TagKeys"), None);
        c.set("aws:TagKeys", vec!["a".into(), "b".into()]);
        assert_eq!(c.single("aws:TagKeys"), None);
        c.remove("AWS:TAGKEYS");
        assert_eq!(c.get("aws:TagKeys"), None);
    }

    #[test]
    fn principal_keys() {
        let c = Context::new().with_principal(&Principal::user("123456789012", "/division/", "Bob"));
        assert_eq!(c.single("aws:username"), Some("Bob"));
        assert_eq!(c.single("aws:PrincipalArn"), Some("arn:aws:iam::123456789012:user/division/Bob"));
        assert_eq!(c.single("aws:PrincipalType"), Some("User"));
        assert_eq!(c.single("aws:PrincipalAccount"), Some("123456789012"));
    }
}
