//! Address ranges of the `IpAddress`/`NotIpAddress` operators: IPv4 or IPv6 CIDR (`203.0.113.0/24`,
//! `2001:DB8:1234:5678::/64`); an address without a prefix length is the single address (/32 or /128), as IAM
//! documents. An IPv4-mapped IPv6 request address (`::ffff:203.0.113.5`) is compared as the IPv4 address.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u32,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().ok()?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
            None => bits,
        };
        (prefix <= bits).then_some(Cidr { network, prefix })
    }

    /// Whether the request's address `text` is inside the range.
    pub(crate) fn contains(&self, text: &str) -> bool {
        let Ok(address) = text.trim().parse::<IpAddr>() else { return false };
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                same_prefix(network.to_bits().into(), address.to_bits().into(), 32, self.prefix)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                same_prefix(network.to_bits(), address.to_bits(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` of `bits` bits of `a` and `b` agree.
fn same_prefix(a: u128, b: u128, bits: u32, prefix: u32) -> bool {
    let shift = bits - prefix;
    // A shift of 128 (prefix 0 of an IPv6 range) would overflow: everything matches.
    a.checked_shr(shift).unwrap_or(0) == b.checked_shr(shift).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::Cidr;

    #[test]
    fn ranges() {
        let v4 = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(v4.contains("203.0.113.7") && !v4.contains("203.0.114.7") && !v4.contains("2001:db8::1"));
        assert!(v4.contains("::ffff:203.0.113.9"));
        let v6 = Cidr::parse("2001:DB8:1234:5678::/64").unwrap();
        assert!(v6.contains("2001:db8:1234:5678:abcd::1") && !v6.contains("2001:db8:1234:5679::1"));
        let single = Cidr::parse("192.0.2.1").unwrap();
        assert!(single.contains("192.0.2.1") && !single.contains("192.0.2.2"));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8"));
        assert!(Cidr::parse("::/0").unwrap().contains("::1"));
        assert!(!Cidr::parse("0.0.0.0/0").unwrap().contains("not an address"));
        for bad in ["203.0.113.0/33", "::/129", "x", "1.2.3.4/", "1.2.3.4/a"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }
}
