//! Dates of the `Date*` condition operators: the W3C profiles of ISO 8601 (`2020-01-01`, `2020-01-01T00:00:01Z`,
//! `2016-12-13T21:20:37.593194+00:00`) or epoch seconds (`1577836800`), as an instant in nanoseconds since the epoch.
//!
//! The same parser checks policy values at parse time (a value it refuses fails IAM's "legacy parsing") and reads
//! request values at evaluation. It accepts what IAM accepts according to moto's recording of IAM: a value holding
//! `T` or `-` is a date (year, optional month and day, optional time, optional `Z` or `+hh[:mm]` offset, one-digit
//! hours allowed, years -292275054..=292278993 as Java's millisecond instants allow), anything else must be an
//! integer number of seconds 0..=i64::MAX. Negative offsets (`-05:00`) are accepted too. Days are checked against
//! 1..=31 only, as IAM does; 2021-02-30 reads as 2021-03-02.
//!
//! Calendar arithmetic is done here (days from civil date, proleptic Gregorian) because the accepted years exceed
//! what date libraries represent.

const NANOS: i128 = 1_000_000_000;

/// Nanoseconds since 1970-01-01T00:00:00Z, or `None` when `text` is not a date IAM accepts.
pub(crate) fn parse(text: &str) -> Option<i128> {
    let lower = text.to_ascii_lowercase();
    if !lower.contains(['t', '-']) {
        let seconds: i64 = digits(&lower)?.parse().ok()?;
        return Some(i128::from(seconds) * NANOS);
    }
    let (date, time) = lower.split_once('t').unwrap_or((&lower, ""));
    let (negative, date) = match date.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, date),
    };
    let mut fields = date.split('-');
    let year: i64 = digits(fields.next()?)?.parse().ok()?;
    let year = if negative { -year } else { year };
    let month = fields.next().map_or(Some(1), |m| number_in(m, 1, 12))?;
    let day = fields.next().map_or(Some(1), |d| number_in(d, 1, 31))?;
    if fields.next().is_some() || !(-292_275_054..=292_278_993).contains(&year) {
        return None;
    }
    let (seconds_of_day, nanos, offset) = if time.is_empty() { (0, 0, 0) } else { parse_time(time)? };
    let seconds = i128::from(days_from_civil(year, month, day)) * 86_400 + seconds_of_day - offset;
    Some(seconds * NANOS + nanos)
}

/// `hh[:mm[:ss[.fraction]]][z|+hh[:mm]|-hh[:mm]]` as (seconds of the day, nanoseconds, offset seconds).
fn parse_time(time: &str) -> Option<(i128, i128, i128)> {
    let (clock, offset) = if let Some(clock) = time.strip_suffix('z') {
        (clock, 0)
    } else if let Some(at) = time.rfind(['+', '-']) {
        let (clock, zone) = time.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        (clock, sign * parse_offset(&zone[1..])?)
    } else {
        (time, 0)
    };
    let mut fields = clock.split(':');
    let hour = number_in(fields.next()?, 0, 23)?;
    let minute = fields.next().map_or(Some(0), |m| number_in(m, 0, 59))?;
    let (second, nanos) = match fields.next() {
        None => (0, 0),
        Some(s) => {
            let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
            let second = number_in(whole, 0, 59)?;
            let nanos = if s.contains('.') {
                // IAM takes the digits as an integer of at most 999999999; as a fraction, the first nine count.
                let _: u32 = number_in(fraction, 0, 999_999_999)?;
                let nine: String = fraction.chars().chain(std::iter::repeat('0')).take(9).collect();
                nine.parse().ok()?
            } else {
                0
            };
            (second, nanos)
        }
    };
    if fields.next().is_some() {
        return None;
    }
    Some((i128::from(hour) * 3600 + i128::from(minute) * 60 + i128::from(second), nanos, offset))
}

/// `hh`, `hh:mm` or `hhmm`, in seconds.
fn parse_offset(zone: &str) -> Option<i128> {
    let (hours, minutes) = match zone.split_once(':') {
        Some((h, m)) => (h, m),
        None if zone.len() == 4 => zone.split_at(2),
        None => (zone, "00"),
    };
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    Some(i128::from(number_in(hours, 0, 23)?) * 3600 + i128::from(number_in(minutes, 0, 59)?) * 60)
}

/// `text` when it is one or more ASCII digits.
fn digits(text: &str) -> Option<&str> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

fn number_in(text: &str, low: u32, high: u32) -> Option<u32> {
    let n: u64 = digits(text)?.parse().ok()?;
    u32::try_from(n).ok().filter(|n| (low..=high).contains(n))
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::{NANOS, parse};

    fn seconds(text: &str) -> Option<i128> {
        parse(text).map(|n| n.div_euclid(NANOS))
    }

    #[test]
    fn iso_8601_and_epoch() {
        assert_eq!(seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(seconds("2020-01-01T00:00:01Z"), Some(1_577_836_801));
        assert_eq!(seconds("2020-01-01"), Some(1_577_836_800));
        assert_eq!(seconds("2020-01-01T01:00:01+01:00"), Some(1_577_836_801));
        assert_eq!(seconds("2019-12-31T19:00:01-05:00"), Some(1_577_836_801));
        assert_eq!(seconds("1577836801"), Some(1_577_836_801));
        assert_eq!(seconds("2000-03-01"), Some(951_868_800));
        assert_eq!(seconds("1969-12-31T23:59:59Z"), Some(-1));
        assert_eq!(parse("2016-12-13T21:20:37.593194+00:00").map(|n| n % NANOS), Some(593_194_000));
        assert!(parse("2020").is_some());
        assert!(parse("2020-06").is_some());
    }

    // The accepted and refused values of moto's IAM policy tests (tests/test_iam/test_iam_policies.py).
    #[test]
    fn what_iam_accepts() {
        for ok in ["01T", "2019-07-01T13:20:15Z", "2016-12-13t2:00:00.593194+23", "-292275054", "9223372036854775807"] {
            assert!(parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "sdfdsf",
            "234-13",
            "2016-12-13t2:00:00.593194+1",
            "2016-12-13t2:00:00.1999999999+10:59",
            "9223372036854775808",
            "",
            "2020-01-01T24:00:00Z",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
