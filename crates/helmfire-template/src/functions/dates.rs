//! Sprig's date functions over a Go-like `time.Time` object, with an injectable clock.
//!
//! Only the UTC and fixed-offset zones are known (no tz database): `dateInZone` with an unknown
//! zone falls back to UTC exactly as Sprig does when `time.LoadLocation` fails, and "Local" is
//! the clock's zone.

use helmfire_value::time::{civil_from_days, days_from_civil, parse_duration};
use std::any::Any;
use std::sync::Arc;

use super::{Functions, Param, arg_str};
use crate::error::FuncError;
use Param::*;
use helmfire_value::{IntType, Object, Value};

/// A Go `time.Time`: an instant plus the zone it is shown in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Time {
    pub unix_nanos: i128,
    /// Seconds east of UTC.
    pub offset: i32,
    pub zone: String,
    /// Go's monotonic clock reading printed by `String()` for `time.Now()` values (`m=+…`).
    pub monotonic: Option<i64>,
}

impl Time {
    pub fn utc(unix_nanos: i128) -> Time {
        Time {
            unix_nanos,
            offset: 0,
            zone: "UTC".into(),
            monotonic: None,
        }
    }

    pub fn unix(&self) -> i64 {
        self.unix_nanos.div_euclid(1_000_000_000) as i64
    }

    fn local_secs(&self) -> i64 {
        self.unix() + self.offset as i64
    }

    fn nanos(&self) -> i64 {
        self.unix_nanos.rem_euclid(1_000_000_000) as i64
    }

    /// (year, month 1-12, day, hour, minute, second, weekday 0=Sunday, yday 1-366)
    fn civil(&self) -> (i64, u32, u32, u32, u32, u32, u32, u32) {
        let secs = self.local_secs();
        let days = secs.div_euclid(86400);
        let rem = secs.rem_euclid(86400);
        let (y, m, d) = civil_from_days(days);
        let wd = (days + 4).rem_euclid(7) as u32;
        let yday = (days - days_from_civil(y, 1, 1)) as u32 + 1;
        (
            y,
            m,
            d,
            (rem / 3600) as u32,
            (rem % 3600 / 60) as u32,
            (rem % 60) as u32,
            wd,
            yday,
        )
    }

    pub fn in_zone(&self, zone: &str, local: &Time) -> Time {
        let (offset, name) = match zone {
            "Local" => (local.offset, local.zone.clone()),
            _ => (0, "UTC".to_string()),
        };
        Time {
            unix_nanos: self.unix_nanos,
            offset,
            zone: name,
            monotonic: None,
        }
    }

    /// Go's `Time.Format`.
    pub fn format(&self, layout: &str) -> String {
        format_time(self, layout)
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn format_time(t: &Time, layout: &str) -> String {
    let (y, mo, d, h, mi, s, wd, yday) = t.civil();
    let mut out = String::new();
    let mut rest = layout;
    let tz = |out: &mut String, colon: bool, secs: bool, z: bool, short: bool| {
        if z && t.offset == 0 {
            out.push('Z');
            return;
        }
        let off = t.offset;
        out.push(if off < 0 { '-' } else { '+' });
        let a = off.unsigned_abs();
        out.push_str(&format!("{:02}", a / 3600));
        if !short {
            if colon {
                out.push(':');
            }
            out.push_str(&format!("{:02}", a % 3600 / 60));
        }
        if secs {
            if colon {
                out.push(':');
            }
            out.push_str(&format!("{:02}", a % 60));
        }
    };
    while !rest.is_empty() {
        let tokens: &[(&str, u8)] = &[
            ("January", 1),
            ("Jan", 2),
            ("Monday", 3),
            ("Mon", 4),
            ("MST", 5),
            ("2006", 6),
            ("06", 7),
            ("01", 8),
            ("15", 15),
            ("1", 9),
            ("002", 10),
            ("02", 11),
            ("_2", 12),
            ("__2", 13),
            ("2", 14),
            ("03", 16),
            ("3", 17),
            ("04", 18),
            ("4", 19),
            ("05", 20),
            ("5", 21),
            ("PM", 22),
            ("pm", 23),
            ("Z07:00:00", 24),
            ("Z070000", 25),
            ("Z07:00", 26),
            ("Z0700", 27),
            ("Z07", 28),
            ("-07:00:00", 29),
            ("-070000", 30),
            ("-07:00", 31),
            ("-0700", 32),
            ("-07", 33),
        ];
        // Fractional seconds: .000 / .999 / ,000 after which no digit follows.
        if (rest.starts_with(".0") || rest.starts_with(".9") || rest.starts_with(",0") || rest.starts_with(",9"))
            && out.chars().last().is_none_or(|_| true)
        {
            let ch = rest.as_bytes()[1];
            let n = rest[1..].bytes().take_while(|&b| b == ch).count();
            let next = rest.as_bytes().get(1 + n);
            if next.is_none_or(|b| !b.is_ascii_digit()) {
                let nanos = format!("{:09}", t.nanos());
                let sep = &rest[..1];
                if ch == b'0' {
                    out.push_str(sep);
                    out.push_str(&nanos[..n.min(9)]);
                } else {
                    let digits = nanos[..n.min(9)].trim_end_matches('0');
                    if !digits.is_empty() {
                        out.push_str(sep);
                        out.push_str(digits);
                    }
                }
                rest = &rest[1 + n..];
                continue;
            }
        }
        let mut matched = None;
        for (tok, id) in tokens {
            if rest.starts_with(tok) {
                // "Jan"/"Mon" must not be followed by a lower-case letter (Go's startsWithLowerCase).
                if (*id == 2 || *id == 4)
                    && rest
                        .strip_prefix(tok)
                        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_lowercase()))
                {
                    continue;
                }
                matched = Some((tok.len(), *id));
                break;
            }
        }
        let Some((len, id)) = matched else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        rest = &rest[len..];
        let h12 = if h % 12 == 0 { 12 } else { h % 12 };
        match id {
            1 => out.push_str(MONTHS[(mo - 1) as usize]),
            2 => out.push_str(&MONTHS[(mo - 1) as usize][..3]),
            3 => out.push_str(DAYS[wd as usize]),
            4 => out.push_str(&DAYS[wd as usize][..3]),
            5 => {
                if t.zone.is_empty() {
                    tz(&mut out, false, false, false, false);
                } else {
                    out.push_str(&t.zone)
                }
            }
            6 => out.push_str(&format!("{y:04}")),
            7 => out.push_str(&format!("{:02}", y.rem_euclid(100))),
            8 => out.push_str(&format!("{mo:02}")),
            9 => out.push_str(&mo.to_string()),
            10 => out.push_str(&format!("{yday:03}")),
            11 => out.push_str(&format!("{d:02}")),
            12 => out.push_str(&format!("{d:>2}")),
            13 => out.push_str(&format!("{yday:>3}")),
            14 => out.push_str(&d.to_string()),
            15 => out.push_str(&format!("{h:02}")),
            16 => out.push_str(&format!("{h12:02}")),
            17 => out.push_str(&h12.to_string()),
            18 => out.push_str(&format!("{mi:02}")),
            19 => out.push_str(&mi.to_string()),
            20 => out.push_str(&format!("{s:02}")),
            21 => out.push_str(&s.to_string()),
            22 => out.push_str(if h >= 12 { "PM" } else { "AM" }),
            23 => out.push_str(if h >= 12 { "pm" } else { "am" }),
            24 => tz(&mut out, true, true, true, false),
            25 => tz(&mut out, false, true, true, false),
            26 => tz(&mut out, true, false, true, false),
            27 => tz(&mut out, false, false, true, false),
            28 => tz(&mut out, false, false, true, true),
            29 => tz(&mut out, true, true, false, false),
            30 => tz(&mut out, false, true, false, false),
            31 => tz(&mut out, true, false, false, false),
            32 => tz(&mut out, false, false, false, false),
            _ => tz(&mut out, false, false, false, true),
        }
    }
    out
}

/// Go's `Duration.String`.
pub fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_string(u, div));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let h = secs_total / 3600;
        let m = secs_total % 3600 / 60;
        let sec_part = u % 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac_string(sec_part, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

fn frac_string(v: u64, div: u64) -> String {
    let whole = v / div;
    let frac = v % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn to_plain(&self) -> Value {
        let mut s = self.format("2006-01-02T15:04:05.999999999Z07:00");
        if s.is_empty() {
            s = String::new();
        }
        Value::from(s)
    }
    fn string(&self) -> Option<String> {
        let mut s = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.monotonic {
            let sign = if m < 0 { '-' } else { '+' };
            let a = m.unsigned_abs();
            s.push_str(&format!(" m={sign}{}.{:09}", a / 1_000_000_000, a % 1_000_000_000));
        }
        Some(s)
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Unix"
                | "UnixNano"
                | "Year"
                | "YearDay"
                | "Day"
                | "Hour"
                | "Minute"
                | "Second"
                | "Nanosecond"
                | "Format"
                | "UTC"
                | "String"
                | "IsZero"
        )
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let want = if name == "Format" { 1 } else { 0 };
        if args.len() != want {
            return Err(format!(
                "wrong number of args for {name}: want {want} got {}",
                args.len()
            ));
        }
        let (y, _, d, h, mi, s, _, yday) = self.civil();
        let int = |v: i64| Value::Int(v, IntType::Int);
        Ok(match name {
            "Unix" => Value::int64(self.unix()),
            "UnixNano" => Value::int64(self.unix_nanos as i64),
            "Year" => int(y),
            "YearDay" => int(yday as i64),
            "Day" => int(d as i64),
            "Hour" => int(h as i64),
            "Minute" => int(mi as i64),
            "Second" => int(s as i64),
            "Nanosecond" => int(self.nanos()),
            "Format" => Value::from(self.format(args[0].as_str().unwrap_or(""))),
            "UTC" => Value::Object(Arc::new(Time::utc(self.unix_nanos))),
            "IsZero" => Value::Bool(self.unix_nanos == -62_135_596_800_000_000_000),
            _ => Value::from(self.string().unwrap_or_default()),
        })
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

/// The real clock (UTC, like a Go process with no local zone configured).
pub struct SystemClock;

impl super::Clock for SystemClock {
    fn now(&self) -> Time {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        Time {
            monotonic: Some(1),
            ..Time::utc(d)
        }
    }
}

/// A clock stuck at one instant (tests, reproducible renders).
pub struct FixedClock(pub Time);

impl super::Clock for FixedClock {
    fn now(&self) -> Time {
        self.0.clone()
    }
}

fn as_time(v: &Value) -> Option<Time> {
    match v {
        Value::Object(o) => o.as_any().and_then(|a| a.downcast_ref::<Time>()).cloned(),
        _ => None,
    }
}

fn time_value(t: Time) -> Value {
    Value::Object(Arc::new(t))
}

/// Sprig's date argument: time.Time, or int/int64/int32 seconds; anything else is "now".
fn date_arg(v: &Value, now: &Time) -> Time {
    if let Some(t) = as_time(v) {
        return t;
    }
    match v {
        Value::Int(i, IntType::Int | IntType::Int64 | IntType::Int32) => Time {
            offset: now.offset,
            zone: now.zone.clone(),
            ..Time::utc(*i as i128 * 1_000_000_000)
        },
        _ => now.clone(),
    }
}

fn date_in_zone(st: &mut super::State<'_, '_>, layout: &str, date: &Value, zone: &str) -> String {
    let now = st.ctx.clock.now();
    date_arg(date, &now).in_zone(zone, &now).format(layout)
}

pub fn register(f: &mut Functions) {
    f.add("now", &[], None, |st, _| Ok(time_value(st.ctx.clock.now())));
    f.add("date", &[Str, Any], None, |st, a| {
        Ok(Value::from(date_in_zone(st, arg_str(&a[0]), &a[1], "Local")))
    });
    for name in ["dateInZone", "date_in_zone"] {
        f.add(name, &[Str, Any, Str], None, |st, a| {
            Ok(Value::from(date_in_zone(st, arg_str(&a[0]), &a[1], arg_str(&a[2]))))
        });
    }
    f.add("htmlDate", &[Any], None, |st, a| {
        Ok(Value::from(date_in_zone(st, "2006-01-02", &a[0], "Local")))
    });
    f.add("htmlDateInZone", &[Any, Str], None, |st, a| {
        Ok(Value::from(date_in_zone(st, "2006-01-02", &a[0], arg_str(&a[1]))))
    });
    for name in ["dateModify", "date_modify", "mustDateModify", "must_date_modify"] {
        let must = name.starts_with("must");
        f.pure(name, &[Str, Time], None, move |a| {
            let t = as_time(&a[1]).unwrap_or_else(|| Time::utc(0));
            match parse_duration(arg_str(&a[0])) {
                Some(d) => Ok(time_value(Time {
                    unix_nanos: t.unix_nanos + d as i128,
                    monotonic: None,
                    ..t
                })),
                None if must => Err(FuncError::Plain(format!(
                    "time: invalid duration {}",
                    crate::fmt::quote_go(arg_str(&a[0]))
                ))),
                None => Ok(time_value(t)),
            }
        });
    }
    f.add("ago", &[Any], None, |st, a| {
        let now = st.ctx.clock.now();
        let t = date_arg(&a[0], &now);
        let d = (now.unix_nanos - t.unix_nanos) as i64;
        let rounded = ((d as f64 / 1e9).round() as i64).saturating_mul(1_000_000_000);
        Ok(Value::from(duration_string(rounded)))
    });
    f.pure("duration", &[Any], None, |a| {
        let n = match &a[0] {
            Value::String(s) => s.parse::<i64>().unwrap_or(0),
            Value::Int(i, IntType::Int64) => *i,
            _ => 0,
        };
        Ok(Value::from(duration_string(n.wrapping_mul(1_000_000_000))))
    });
    f.add("durationRound", &[Any], None, |st, a| {
        let d: i64 = match &a[0] {
            Value::String(s) => parse_duration(s).unwrap_or(0),
            Value::Int(i, IntType::Int64) => *i,
            v => match as_time(v) {
                Some(t) => (st.ctx.clock.now().unix_nanos - t.unix_nanos) as i64,
                None => 0,
            },
        };
        let u = d.unsigned_abs();
        let hour = 3_600_000_000_000u64;
        let units = [
            (hour * 24 * 365, "y"),
            (hour * 24 * 30, "mo"),
            (hour * 24, "d"),
            (hour, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
        ];
        for (size, suffix) in units {
            if u > size {
                return Ok(Value::from(format!("{}{suffix}", u / size)));
            }
        }
        Ok(Value::from("0s"))
    });
    for name in ["toDate", "mustToDate"] {
        let must = name.starts_with("must");
        f.add(name, &[Str, Str], None, move |st, a| {
            let local = st.ctx.clock.now();
            match parse_time(arg_str(&a[0]), arg_str(&a[1]), &local) {
                Ok(t) => Ok(time_value(t)),
                Err(e) if must => Err(FuncError::Plain(e)),
                Err(_) => Ok(time_value(Time {
                    offset: 0,
                    zone: "UTC".into(),
                    ..Time::utc(-62_135_596_800_000_000_000)
                })),
            }
        });
    }
    f.pure("unixEpoch", &[Time], None, |a| {
        Ok(Value::from(as_time(&a[0]).map(|t| t.unix()).unwrap_or(0).to_string()))
    });
}

/// A subset of Go's `time.ParseInLocation`: numeric layouts (years, months, days, hours,
/// minutes, seconds, fractions, numeric zones, `Z`).
fn parse_time(layout: &str, value: &str, local: &Time) -> Result<Time, String> {
    let q = crate::fmt::quote_go;
    let mk = |rest: &str, elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            q(value),
            q(layout),
            q(rest),
            q(elem)
        )
    };
    let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut ns) = (1i64, 1u32, 1u32, 0u32, 0u32, 0u32, 0i64);
    let mut offset: Option<i32> = None;
    let mut pm: Option<bool> = None;
    let (mut l, mut v) = (layout, value);
    let num = |v: &mut &str, n: usize| -> Option<i64> {
        let digits: String = v.chars().take(n).take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            return None;
        }
        *v = &v[digits.len()..];
        digits.parse().ok()
    };
    while !l.is_empty() {
        let toks = [
            "2006", "01", "02", "15", "03", "04", "05", "Z07:00", "-07:00", "Z0700", "-0700", "PM", "Jan", "1", "2",
            "3", "4", "5", "06",
        ];
        if let Some(tok) = toks.iter().find(|t| l.starts_with(**t)) {
            l = &l[tok.len()..];
            let (vsave, tsave) = (v, *tok);
            let err = || mk(vsave, tsave);
            match *tok {
                "2006" => y = num(&mut v, 4).ok_or_else(err)?,
                "06" => y = 2000 + num(&mut v, 2).ok_or_else(err)?,
                "01" | "1" => mo = num(&mut v, 2).ok_or_else(err)? as u32,
                "02" | "2" => d = num(&mut v, 2).ok_or_else(err)? as u32,
                "15" | "03" | "3" => h = num(&mut v, 2).ok_or_else(err)? as u32,
                "04" | "4" => mi = num(&mut v, 2).ok_or_else(err)? as u32,
                "05" | "5" => {
                    s = num(&mut v, 2).ok_or_else(err)? as u32;
                    if (l.starts_with(".0") || l.starts_with(".9")) || !v.starts_with('.') {
                    } else {
                        v = &v[1..];
                        let digits: String = v.chars().take_while(|c| c.is_ascii_digit()).collect();
                        v = &v[digits.len()..];
                        let padded = format!("{digits:0<9}");
                        ns = padded[..9].parse().unwrap_or(0);
                    }
                }
                "PM" => {
                    if v.starts_with("PM") {
                        pm = Some(true);
                    } else if v.starts_with("AM") {
                        pm = Some(false);
                    } else {
                        return Err(err());
                    }
                    v = &v[2..];
                }
                "Jan" => {
                    let idx = MONTHS.iter().position(|m| v.starts_with(&m[..3])).ok_or_else(err)?;
                    mo = idx as u32 + 1;
                    v = &v[3..];
                }
                _ => {
                    if (tok.starts_with('Z')) && v.starts_with('Z') {
                        v = &v[1..];
                        offset = Some(0);
                    } else {
                        let sign = match v.as_bytes().first() {
                            Some(b'+') => 1,
                            Some(b'-') => -1,
                            _ => return Err(err()),
                        };
                        v = &v[1..];
                        let hh = num(&mut v, 2).ok_or_else(err)?;
                        if v.starts_with(':') {
                            v = &v[1..];
                        }
                        let mm = num(&mut v, 2).ok_or_else(err)?;
                        offset = Some(sign * (hh * 3600 + mm * 60) as i32);
                    }
                }
            }
            continue;
        }
        if l.starts_with(".000") || l.starts_with(".999") {
            let n = l[1..].bytes().take_while(|b| *b == b'0' || *b == b'9').count();
            l = &l[1 + n..];
            if let Some(rest) = v.strip_prefix('.') {
                let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
                v = &rest[digits.len()..];
                ns = format!("{digits:0<9}")[..9].parse().unwrap_or(0);
            }
            continue;
        }
        let c = l.chars().next().unwrap_or(' ');
        if !v.starts_with(c) {
            let lit_end = l
                .find(|ch: char| ch.is_ascii_digit() || ch == 'J' || ch == 'M' || ch == 'P' || ch == 'Z' || ch == '-')
                .filter(|&i| i > 0)
                .unwrap_or(l.len());
            return Err(mk(v, &l[..lit_end]));
        }
        l = &l[c.len_utf8()..];
        v = &v[c.len_utf8()..];
    }
    if !v.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            crate::fmt::quote_go(value),
            crate::fmt::quote_go(v)
        ));
    }
    if let Some(p) = pm {
        if p && h < 12 {
            h += 12;
        } else if !p && h == 12 {
            h = 0;
        }
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return Err(format!(
            "parsing time {}: month out of range",
            crate::fmt::quote_go(value)
        ));
    }
    let off = offset.unwrap_or(local.offset);
    let zone = if offset.is_some() && off != local.offset {
        String::new()
    } else {
        local.zone.clone()
    };
    let secs = days_from_civil(y, mo, d) * 86400 + (h * 3600 + mi * 60 + s) as i64 - off as i64;
    Ok(Time {
        unix_nanos: secs as i128 * 1_000_000_000 + ns as i128,
        offset: off,
        zone,
        monotonic: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_go_layouts() {
        let t = Time::utc(1_700_000_000_123_000_000);
        assert_eq!(t.format("2006-01-02T15:04:05.000Z07:00"), "2023-11-14T22:13:20.123Z");
        assert_eq!(t.format("Mon Jan _2 3:04PM"), "Tue Nov 14 10:13PM");
        assert_eq!(duration_string(90_000_000_000), "1m30s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
    }
}
