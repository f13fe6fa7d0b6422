//! Base64 (RFC 4648 standard alphabet, padding optional) for the `BinaryEquals` operator, which compares the bytes
//! of the request value with the base64-encoded bytes in the policy. Twenty lines do not warrant a dependency.

/// The bytes `text` encodes, or `None` when it is not base64.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    // A single leftover character cannot encode a byte.
    (bits < 6).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes() {
        // The example of the IAM User Guide's BinaryEquals section.
        assert_eq!(decode("QmluYXJ5VmFsdWVJbkJhc2U2NA==").as_deref(), Some(&b"BinaryValueInBase64"[..]));
        assert_eq!(decode("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(decode("").as_deref(), Some(&b""[..]));
        assert_eq!(decode("a"), None);
        assert_eq!(decode("a b"), None);
    }
}
