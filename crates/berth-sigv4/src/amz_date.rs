//! The SigV4 timestamp format `yyyyMMddTHHmmssZ` (ISO 8601 basic, UTC).

use std::time::SystemTime;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;

const FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// A validated `x-amz-date` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AmzDate<'a> {
    /// Exactly the text the client sent; it goes verbatim into the string to sign.
    pub(crate) text: &'a str,
    /// The `yyyymmdd` prefix, which the credential scope date must equal.
    pub(crate) date: &'a str,
    pub(crate) time: SystemTime,
}

/// Parses `yyyyMMddTHHmmssZ` strictly: no separators, no fractional seconds,
/// no offsets other than `Z`. Signers always produce this exact shape, and
/// accepting looser forms would let two different strings to sign describe
/// the same instant.
pub(crate) fn parse(text: &str) -> Result<AmzDate<'_>, String> {
    let invalid = || format!("X-Amz-Date '{text}' is not a valid timestamp of the form yyyyMMddTHHmmssZ.");
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 16
        && bytes[8] == b'T'
        && bytes[15] == b'Z'
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[9..15].iter().all(u8::is_ascii_digit);
    if !shape_ok {
        return Err(invalid());
    }
    // Each field is at most four ASCII digits, so the arithmetic cannot overflow.
    let num = |range: std::ops::Range<usize>| -> i16 {
        bytes[range].iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0'))
    };
    let two = |range: std::ops::Range<usize>| -> i8 { i8::try_from(num(range)).unwrap_or(i8::MAX) };
    let datetime = DateTime::new(num(0..4), two(4..6), two(6..8), two(9..11), two(11..13), two(13..15), 0)
        .map_err(|_| invalid())?;
    let timestamp = Offset::UTC.to_timestamp(datetime).map_err(|_| invalid())?;
    let time = SystemTime::try_from(timestamp).map_err(|_| invalid())?;
    Ok(AmzDate { text, date: text.get(..8).ok_or_else(invalid)?, time })
}

/// Formats `time` the way `x-amz-date` is written, for error messages.
pub(crate) fn format(time: SystemTime) -> String {
    match Timestamp::try_from(time) {
        Ok(ts) => ts.strftime(FORMAT).to_string(),
        // Only reachable for clocks beyond year 9999; still say something useful.
        Err(_) => format!("{time:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn parses_and_formats_round_trip() {
        let d = parse("20150830T123600Z").expect("valid");
        assert_eq!(d.date, "20150830");
        assert_eq!(d.text, "20150830T123600Z");
        assert_eq!(d.time, UNIX_EPOCH + Duration::from_secs(1_440_938_160));
        assert_eq!(format(d.time), "20150830T123600Z");
        assert_eq!(format(UNIX_EPOCH), "19700101T000000Z");
    }

    #[test]
    fn rejects_other_shapes_and_impossible_dates() {
        for bad in [
            "",
            "20150830T123600",
            "20150830T123600z",
            "2015-08-30T12:36:00Z",
            "20150830 123600Z",
            "20150830T123600.5Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20150830T246000Z",
            "20150830T123660Z",
            "+0150830T123600Z",
            "Sun, 30 Aug 2015 12:36:00 GMT",
            "2015083\u{e9}T12360Z",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.contains("yyyyMMddTHHmmssZ"), "{err}");
        }
    }

    #[test]
    fn leap_day() {
        assert!(parse("20240229T000000Z").is_ok());
        assert!(parse("20230229T000000Z").is_err());
    }
}
