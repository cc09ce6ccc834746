//! Sprig's `urlParse` and `urlJoin` over a port of the parts of Go's `net/url` they use.

use super::{Functions, Param, arg_str};
use crate::error::FuncError;
use Param::*;
use helmfire_value::{Map, Value};

#[derive(Default)]
struct Url {
    scheme: String,
    opaque: String,
    user: Option<String>,
    host: String,
    path: String,
    raw_query: String,
    fragment: String,
}

fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
            let Some(h) = hex else {
                let bad = s.get(i..(i + 3).min(s.len())).unwrap_or("%");
                return Err(format!("invalid URL escape {}", crate::fmt::quote_go(bad)));
            };
            out.push(u8::from_str_radix(h, 16).unwrap_or(0));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn escape(s: &str, keep: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || keep.as_bytes().contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse(raw: &str) -> Result<Url, String> {
    let mut u = Url::default();
    let mut rest = raw;
    if let Some(i) = rest.find('#') {
        u.fragment = unescape(&rest[i + 1..])?;
        rest = &rest[..i];
    }
    if let Some(i) = rest.find('?') {
        u.raw_query = rest[i + 1..].to_string();
        rest = &rest[..i];
    }
    if let Some(i) = rest.find(':') {
        let sch = &rest[..i];
        if !sch.is_empty()
            && sch.as_bytes()[0].is_ascii_alphabetic()
            && sch.bytes().all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
        {
            u.scheme = sch.to_ascii_lowercase();
            rest = &rest[i + 1..];
        } else if i == 0 {
            return Err("missing protocol scheme".into());
        }
    }
    if !u.scheme.is_empty() && !rest.starts_with('/') {
        u.opaque = rest.to_string();
        return Ok(u);
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let authority = &after[..end];
        rest = &after[end..];
        let host = match authority.rfind('@') {
            Some(i) => {
                u.user = Some(authority[..i].to_string());
                &authority[i + 1..]
            }
            None => authority,
        };
        u.host = unescape(host)?;
    }
    u.path = unescape(rest)?;
    Ok(u)
}

impl Url {
    fn hostname(&self) -> String {
        let h = &self.host;
        if let Some(stripped) = h.strip_prefix('[') {
            return stripped.split(']').next().unwrap_or("").to_string();
        }
        match h.rfind(':') {
            Some(i) if h[i + 1..].bytes().all(|b| b.is_ascii_digit()) => h[..i].to_string(),
            _ => h.clone(),
        }
    }

    fn user_string(&self) -> String {
        self.user.clone().unwrap_or_default()
    }

    fn to_string_go(&self) -> String {
        let mut out = String::new();
        if !self.scheme.is_empty() {
            out.push_str(&self.scheme);
            out.push(':');
        }
        if !self.opaque.is_empty() {
            out.push_str(&self.opaque);
        } else {
            if !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some() {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    out.push_str("//");
                }
                if let Some(u) = &self.user {
                    out.push_str(u);
                    out.push('@');
                }
                out.push_str(&escape(&self.host, ":[]!$&'()*+,;="));
            }
            let p = escape(&self.path, "/:@!$&'()*+,;=");
            if !p.is_empty() && !p.starts_with('/') && !self.host.is_empty() {
                out.push('/');
            }
            out.push_str(&p);
        }
        if !self.raw_query.is_empty() {
            out.push('?');
            out.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            out.push('#');
            out.push_str(&escape(&self.fragment, "/:@!$&'()*+,;=?"));
        }
        out
    }
}

fn dict_get(d: &Value, key: &str) -> Result<String, FuncError> {
    let Some(m) = d.as_map() else {
        return Ok(String::new());
    };
    match m.read().get(key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.to_string()),
        Some(other) => Err(FuncError::Plain(format!(
            "unable to parse {key} key, must be of type string, but {} found",
            super::lists::kind_name(other)
        ))),
    }
}

pub fn register(f: &mut Functions) {
    f.pure("urlParse", &[Str], None, |a| {
        let raw = arg_str(&a[0]);
        let u = parse(raw)
            .map_err(|e| FuncError::Plain(format!("unable to parse url: parse {}: {e}", crate::fmt::quote_go(raw))))?;
        let mut m = Map::new();
        m.insert("scheme".into(), Value::from(u.scheme.clone()));
        m.insert("host".into(), Value::from(u.host.clone()));
        m.insert("hostname".into(), Value::from(u.hostname()));
        m.insert("path".into(), Value::from(u.path.clone()));
        m.insert("query".into(), Value::from(u.raw_query.clone()));
        m.insert("opaque".into(), Value::from(u.opaque.clone()));
        m.insert("fragment".into(), Value::from(u.fragment.clone()));
        m.insert("userinfo".into(), Value::from(u.user_string()));
        Ok(Value::map(m))
    });
    f.pure("urlJoin", &[Map], None, |a| {
        let d = &a[0];
        let user = dict_get(d, "userinfo")?;
        let u = Url {
            scheme: dict_get(d, "scheme")?,
            host: dict_get(d, "host")?,
            path: dict_get(d, "path")?,
            raw_query: dict_get(d, "query")?,
            opaque: dict_get(d, "opaque")?,
            fragment: dict_get(d, "fragment")?,
            user: if user.is_empty() { None } else { Some(user) },
        };
        Ok(Value::from(u.to_string_go()))
    });
}
