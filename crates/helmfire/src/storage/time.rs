//! Go `time.Time` as Helm stores it: RFC 3339 with up to nine fraction digits (trailing zeros
//! trimmed) and a `Z` or `±hh:mm` offset. The text read is kept verbatim so that rewriting a
//! record (e.g. marking it superseded) changes nothing else in it.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

/// A point in time with the UTC offset it was written in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timestamp {
    text: String,
    /// Seconds since the Unix epoch (UTC).
    seconds: i64,
    nanos: u32,
    /// Offset east of UTC, in seconds.
    offset: i32,
}

/// A time that is not RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time `{0}`: expected RFC 3339 like 2006-01-02T15:04:05.999999999Z07:00")]
pub struct TimeError(pub String);

const ZERO: &str = "0001-01-01T00:00:00Z";

impl Timestamp {
    /// Go's zero time, `0001-01-01T00:00:00Z`.
    pub fn zero() -> Timestamp {
        Timestamp::parse(ZERO).expect("zero time parses")
    }

    /// True for Go's zero time.
    pub fn is_zero(&self) -> bool {
        self.seconds == Timestamp::zero_seconds() && self.nanos == 0
    }

    fn zero_seconds() -> i64 {
        days_from_civil(1, 1, 1) * 86_400
    }

    /// The current time in UTC, formatted as Go's RFC3339Nano.
    pub fn now() -> Timestamp {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp::from_unix(since.as_secs() as i64, since.subsec_nanos())
    }

    /// A UTC time from Unix seconds and nanoseconds.
    pub fn from_unix(seconds: i64, nanos: u32) -> Timestamp {
        let days = seconds.div_euclid(86_400);
        let secs = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let mut text = format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        if nanos > 0 {
            let fraction = format!("{nanos:09}");
            text.push('.');
            text.push_str(fraction.trim_end_matches('0'));
        }
        text.push('Z');
        Timestamp {
            text,
            seconds,
            nanos,
            offset: 0,
        }
    }

    /// Parses RFC 3339 (Go's `time.Time.UnmarshalJSON`).
    pub fn parse(text: &str) -> Result<Timestamp, TimeError> {
        let error = || TimeError(text.to_string());
        let b = text.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(error());
        }
        let number = |range: std::ops::Range<usize>| -> Result<i64, TimeError> {
            let part = &text[range];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(error());
            }
            part.parse::<i64>().map_err(|_| error())
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(error());
        }
        let mut rest = &text[19..];
        let mut nanos = 0u32;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return Err(error());
            }
            let padded = format!("{:0<9}", &fraction[..digits]);
            nanos = padded.parse().map_err(|_| error())?;
            rest = &fraction[digits..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ => {
                let rb = rest.as_bytes();
                if rb.len() != 6 || !matches!(rb[0], b'+' | b'-') || rb[3] != b':' {
                    return Err(error());
                }
                let hours: i32 = rest[1..3].parse().map_err(|_| error())?;
                let minutes: i32 = rest[4..6].parse().map_err(|_| error())?;
                if hours > 23 || minutes > 59 {
                    return Err(error());
                }
                let sign = if rb[0] == b'-' { -1 } else { 1 };
                sign * (hours * 3600 + minutes * 60)
            }
        };
        let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
        Ok(Timestamp {
            text: text.to_string(),
            seconds: local - i64::from(offset),
            nanos,
            offset,
        })
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.seconds
    }

    /// Go's `time.ANSIC` layout (`Mon Jan _2 15:04:05 2006`) in the time's own offset, as
    /// `helm history` and `helm status` print it.
    pub fn ansic(&self) -> String {
        let local = self.seconds + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{} {} {day:>2} {:02}:{:02}:{:02} {year}",
            WEEKDAYS[days.rem_euclid(7) as usize],
            MONTHS[(month - 1) as usize],
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    helmfire_value::time::days_from_civil(year, month as u32, day as u32)
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let (year, month, day) = helmfire_value::time::civil_from_days(days);
    (year, i64::from(month), i64::from(day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_keeps_text() {
        let t = Timestamp::parse("2025-03-01T10:11:12.123456789+01:00").unwrap();
        assert_eq!(t.as_str(), "2025-03-01T10:11:12.123456789+01:00");
        assert_eq!(t.unix_seconds(), 1_740_820_272);
        assert_eq!(t.ansic(), "Sat Mar  1 10:11:12 2025");
        assert!(Timestamp::zero().is_zero());
        assert!(!t.is_zero());
    }

    #[test]
    fn formats_like_go_rfc3339nano() {
        assert_eq!(Timestamp::from_unix(1_740_820_272, 0).as_str(), "2025-03-01T09:11:12Z");
        assert_eq!(
            Timestamp::from_unix(1_740_820_272, 120_000_000).as_str(),
            "2025-03-01T09:11:12.12Z"
        );
        assert_eq!(Timestamp::from_unix(0, 0).ansic(), "Thu Jan  1 00:00:00 1970");
    }

    #[test]
    fn rejects_malformed_times() {
        for bad in [
            "",
            "yesterday",
            "2025-13-01T00:00:00Z",
            "2025-02-30T00:00:00Z",
            "2025-01-01T00:00:00",
            "2025-01-01T00:00:00.Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }
}
