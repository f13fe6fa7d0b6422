//! `nextToken`/`maxResults` paging for List calls. A token is the hex of the last item's sort key, so a page
//! continues after that item even when items were added or removed meanwhile.

use crate::error::{ApiError, ApiResult};

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    after: Option<String>,
    size: usize,
}

impl PageRequest {
    /// Validates `maxResults` (1 to 100) and `nextToken`; `default_size` applies when maxResults is absent.
    pub fn new(next_token: Option<&str>, max_results: Option<i64>, default_size: usize) -> ApiResult<Self> {
        let size = match max_results {
            None => default_size,
            Some(n) if (1..=100).contains(&n) => n as usize,
            Some(n) => {
                return Err(ApiError::invalid(format!("maxResults must be between 1 and 100, got {n}.")));
            }
        };
        let after = match next_token {
            None | Some("") => None,
            Some(token) => Some(decode_token(token)?),
        };
        Ok(PageRequest { after, size })
    }

    /// The page size.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The sort key the previous page ended at.
    pub fn after(&self) -> Option<&str> {
        self.after.as_deref()
    }

    /// The token that continues after `key`.
    pub fn token_after(key: &str) -> String {
        encode_token(key)
    }

    /// One page of `items`, which must be sorted ascending by `key`, and the token for the next page.
    pub fn apply<T>(&self, items: Vec<T>, key: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
        self.apply_ordered(items, key, false)
    }

    /// Like [`PageRequest::apply`] for items sorted ascending, or descending when `descending`.
    pub fn apply_ordered<T>(
        &self,
        items: Vec<T>,
        key: impl Fn(&T) -> String,
        descending: bool,
    ) -> (Vec<T>, Option<String>) {
        let mut page: Vec<T> = match &self.after {
            Some(after) => items
                .into_iter()
                .filter(|item| {
                    let k = key(item);
                    if descending { k.as_str() < after.as_str() } else { k.as_str() > after.as_str() }
                })
                .collect(),
            None => items,
        };
        let more = page.len() > self.size;
        page.truncate(self.size);
        let token = if more { page.last().map(|item| encode_token(&key(item))) } else { None };
        (page, token)
    }
}

fn encode_token(key: &str) -> String {
    hex::encode(key.as_bytes())
}

fn decode_token(token: &str) -> ApiResult<String> {
    let invalid = || ApiError::invalid("Invalid nextToken: it was not issued by this server.");
    let bytes = hex::decode(token).map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_sorted_items() {
        let items: Vec<String> = (0..5).map(|i| format!("k{i}")).collect();
        let first = PageRequest::new(None, Some(2), 100).unwrap();
        let (page, token) = first.apply(items.clone(), |s| s.clone());
        assert_eq!(page, vec!["k0", "k1"]);
        let second = PageRequest::new(token.as_deref(), Some(2), 100).unwrap();
        let (page, token) = second.apply(items.clone(), |s| s.clone());
        assert_eq!(page, vec!["k2", "k3"]);
        let third = PageRequest::new(token.as_deref(), Some(2), 100).unwrap();
        let (page, token) = third.apply(items, |s| s.clone());
        assert_eq!(page, vec!["k4"]);
        assert!(token.is_none());
    }

    #[test]
    fn rejects_bad_input() {
        assert!(PageRequest::new(None, Some(0), 100).is_err());
        assert!(PageRequest::new(None, Some(101), 100).is_err());
        assert!(PageRequest::new(Some("zz-not-hex"), None, 100).is_err());
    }
}
