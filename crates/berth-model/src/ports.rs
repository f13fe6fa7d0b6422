//! Host port ranges: the range an agent offers for dynamic host ports (portMappings without a `hostPort`), which it
//! registers as an instance attribute and the scheduler assigns from.

use std::fmt;
use std::str::FromStr;

/// The instance attribute in which an agent states its dynamic host port range (`LOW-HIGH`).
pub const DYNAMIC_PORT_RANGE_ATTRIBUTE: &str = "berth.dynamic-host-port-range";

/// Docker's and ECS's default ephemeral range for dynamic host ports.
pub const DEFAULT_DYNAMIC_HOST_PORT_RANGE: HostPortRange = HostPortRange { low: 49153, high: 65535 };

/// A port range that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "dynamic host port range '{value}': {why} (expected LOW-HIGH with 1 <= LOW <= HIGH <= 65535, e.g. 49153-65535)"
)]
pub struct PortRangeError {
    value: String,
    why: &'static str,
}

/// An inclusive range of host ports, written `LOW-HIGH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPortRange {
    pub low: u16,
    pub high: u16,
}

impl HostPortRange {
    /// `low..=high`; port 0 is not a port, and an empty range would leave the server nothing to assign.
    pub fn new(low: u16, high: u16) -> Result<HostPortRange, PortRangeError> {
        let fail = |why| Err(PortRangeError { value: format!("{low}-{high}"), why });
        if low == 0 {
            return fail("ports start at 1");
        }
        if low > high {
            return fail("LOW is above HIGH");
        }
        Ok(HostPortRange { low, high })
    }
}

impl Default for HostPortRange {
    fn default() -> Self {
        DEFAULT_DYNAMIC_HOST_PORT_RANGE
    }
}

impl fmt::Display for HostPortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.low, self.high)
    }
}

impl FromStr for HostPortRange {
    type Err = PortRangeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |why| PortRangeError { value: s.to_owned(), why };
        let (low, high) = s.trim().split_once('-').ok_or_else(|| fail("no '-' between LOW and HIGH"))?;
        let port = |p: &str| p.trim().parse::<u16>().map_err(|_| fail("LOW and HIGH must be numbers up to 65535"));
        HostPortRange::new(port(low)?, port(high)?).map_err(|e| fail(e.why))
    }
}

impl HostPortRange {
    pub fn contains(&self, port: u16) -> bool {
        (self.low..=self.high).contains(&port)
    }

    /// How many ports the range holds (none when built by hand with LOW above HIGH).
    pub fn len(&self) -> usize {
        if self.is_empty() { 0 } else { usize::from(self.high - self.low) + 1 }
    }

    pub fn is_empty(&self) -> bool {
        self.low > self.high
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_ranges_parse_and_print() {
        assert_eq!("49153-65535".parse::<HostPortRange>().unwrap(), HostPortRange::default());
        assert_eq!(" 1000 - 2000 ".parse::<HostPortRange>().unwrap(), HostPortRange { low: 1000, high: 2000 });
        assert_eq!("8080-8080".parse::<HostPortRange>().unwrap().to_string(), "8080-8080");
        for (bad, why) in [
            ("2000-1000", "LOW is above HIGH"),
            ("0-100", "ports start at 1"),
            ("100", "no '-'"),
            ("100-70000", "numbers up to 65535"),
            ("-5-10", "numbers up to 65535"),
            ("a-b", "numbers up to 65535"),
        ] {
            let err = bad.parse::<HostPortRange>().unwrap_err().to_string();
            assert!(err.contains(why) && err.contains(bad), "{bad}: {err}");
        }
    }
}
