//! Go's time primitives, written once for every crate: `time.ParseDuration`, and the civil
//! (proleptic Gregorian) calendar behind every timestamp helmfire formats or parses — template
//! dates, release record times, the sandbox's object metadata, OCI annotations.

/// Go's `time.ParseDuration`, in nanoseconds: a sequence of decimal numbers with units (`ns`,
/// `us`/`µs`, `ms`, `s`, `m`, `h`), optionally signed; `0` alone needs no unit.
pub fn parse_duration(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        if digits == 0 {
            return None;
        }
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_length = rest.bytes().take_while(|b| !b.is_ascii_digit() && *b != b'.').count();
        let unit = match &rest[..unit_length] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_length..];
        total += number * unit;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let nanos = total.round() as i64;
    Some(if negative { -nanos } else { nanos })
}

/// [`parse_duration`] for timeouts and delays: non-negative durations only.
pub fn parse_std_duration(text: &str) -> Option<std::time::Duration> {
    let nanos = parse_duration(text.trim())?;
    u64::try_from(nanos).ok().map(std::time::Duration::from_nanos)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm, exact for the proleptic
/// Gregorian calendar).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date `(year, month, day)` of a day number since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let year = year_of_era + era * 400;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    (if month <= 2 { year + 1 } else { year }, month, day)
}

/// Unix seconds as RFC 3339 in UTC with second precision: `2026-12-07T03:08:00Z`.
pub fn rfc3339_utc(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let rest = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_parse_as_go_does() {
        assert_eq!(parse_std_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_std_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_std_duration("5m0s"), Some(Duration::from_secs(300)));
        assert_eq!(parse_std_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_std_duration("150ms"), Some(Duration::from_millis(150)));
        assert_eq!(parse_std_duration("500us"), Some(Duration::from_micros(500)));
        assert_eq!(parse_std_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("-1m"), Some(-60_000_000_000));
        for bad in ["", "5", "5x", "m", "1h-30m", "-1s"] {
            assert_eq!(parse_std_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-719_468, -1, 0, 59, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(rfc3339_utc(1_796_612_880), "2026-12-07T03:08:00Z");
    }
}
