//! Encodings and hashes: base64/base32 (Go's error texts), sha1/sha256/sha512/adler32 sums.
//! The YAML/JSON/TOML functions live in `helm.rs` on top of `helmfire_value::{yaml,json,toml}`.

use base64::Engine;
use sha1::Digest;

use super::{Functions, Param, arg_str};
use Param::*;
use helmfire_value::Value;

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Go's `adler32.Checksum`.
pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// Go's `base64.StdEncoding.DecodeString`, error positions included: a port of
/// `encoding/base64`'s `decodeQuantum` loop (padding required, `\r`/`\n` skipped but counted).
fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let src = s.as_bytes();
    let corrupt = |at: usize| format!("illegal base64 data at input byte {at}");
    let decode = |c: u8| -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        let mut quantum = [0u8; 4];
        let mut len = 4;
        let mut trailing = None;
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(corrupt(si - j));
            }
            let c = src[si];
            si += 1;
            if let Some(v) = decode(c) {
                quantum[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(corrupt(si - 1));
            }
            if j == 2 {
                // "==" is expected; the first `=` is consumed.
                while si < src.len() && matches!(src[si], b'\n' | b'\r') {
                    si += 1;
                }
                if si == src.len() {
                    return Err(corrupt(src.len()));
                }
                if src[si] != b'=' {
                    return Err(corrupt(si - 1));
                }
                si += 1;
            }
            while si < src.len() && matches!(src[si], b'\n' | b'\r') {
                si += 1;
            }
            if si < src.len() {
                trailing = Some(corrupt(si));
            }
            len = j;
            break;
        }
        let value = (u32::from(quantum[0]) << 18)
            | (u32::from(quantum[1]) << 12)
            | (u32::from(quantum[2]) << 6)
            | u32::from(quantum[3]);
        let bytes = [(value >> 16) as u8, (value >> 8) as u8, value as u8];
        out.extend_from_slice(&bytes[..len - 1]);
        if let Some(error) = trailing {
            return Err(error);
        }
    }
    Ok(out)
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let n = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < n {
                out.push(B32[((bits >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32_decode(s: &str) -> Result<Vec<u8>, String> {
    let s: Vec<u8> = s.bytes().filter(|&c| c != b'\r' && c != b'\n').collect();
    if !s.len().is_multiple_of(8) {
        return Err(format!("illegal base32 data at input byte {}", s.len() - s.len() % 8));
    }
    let mut out = Vec::new();
    for (ci, chunk) in s.chunks(8).enumerate() {
        let mut bits: u64 = 0;
        let mut n = 0;
        for (i, &c) in chunk.iter().enumerate() {
            if c == b'=' {
                if chunk[i..].iter().any(|&x| x != b'=') || !matches!(i, 2 | 4 | 5 | 7) || ci != s.len() / 8 - 1 {
                    return Err(format!("illegal base32 data at input byte {}", ci * 8 + i));
                }
                break;
            }
            let Some(v) = B32.iter().position(|&x| x == c) else {
                return Err(format!("illegal base32 data at input byte {}", ci * 8 + i));
            };
            bits |= (v as u64) << (35 - i * 5);
            n += 1;
        }
        let bytes = bits.to_be_bytes();
        let take = match n {
            2 => 1,
            4 => 2,
            5 => 3,
            7 => 4,
            8 => 5,
            _ => 0,
        };
        out.extend_from_slice(&bytes[3..3 + take]);
    }
    Ok(out)
}

pub fn register(f: &mut Functions) {
    f.pure("b64enc", &[Str], None, |a| {
        Ok(Value::from(
            base64::engine::general_purpose::STANDARD.encode(arg_str(&a[0])),
        ))
    });
    f.pure("b64dec", &[Str], None, |a| {
        Ok(Value::from(match b64_decode(arg_str(&a[0])) {
            Ok(v) => String::from_utf8_lossy(&v).into_owned(),
            Err(e) => e,
        }))
    });
    f.pure("b32enc", &[Str], None, |a| {
        Ok(Value::from(b32_encode(arg_str(&a[0]).as_bytes())))
    });
    f.pure("b32dec", &[Str], None, |a| {
        Ok(Value::from(match b32_decode(arg_str(&a[0])) {
            Ok(v) => String::from_utf8_lossy(&v).into_owned(),
            Err(e) => e,
        }))
    });
    f.pure("sha1sum", &[Str], None, |a| {
        Ok(Value::from(hex(&sha1::Sha1::digest(arg_str(&a[0]).as_bytes()))))
    });
    f.pure("sha256sum", &[Str], None, |a| {
        Ok(Value::from(hex(&sha2::Sha256::digest(arg_str(&a[0]).as_bytes()))))
    });
    f.pure("sha512sum", &[Str], None, |a| {
        Ok(Value::from(hex(&sha2::Sha512::digest(arg_str(&a[0]).as_bytes()))))
    });
    f.pure("adler32sum", &[Str], None, |a| {
        Ok(Value::from(adler32(arg_str(&a[0]).as_bytes()).to_string()))
    });
}

#[cfg(test)]
mod tests {
    use super::b64_decode;

    #[test]
    fn base64_decoding_reports_gos_error_positions() {
        assert_eq!(b64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(b64_decode("aGVs\nbG8=\n").unwrap(), b"hello");
        assert_eq!(b64_decode("aG==").unwrap(), b"h");
        assert_eq!(b64_decode("").unwrap(), b"");
        let at = |s: &str| b64_decode(s).unwrap_err();
        // Each checked against helm (Go's encoding/base64 through Sprig's b64dec).
        assert_eq!(at("placeholder"), "illegal base64 data at input byte 8");
        assert_eq!(at("abc"), "illegal base64 data at input byte 0");
        assert_eq!(at("abcde"), "illegal base64 data at input byte 4");
        assert_eq!(at("ab!d"), "illegal base64 data at input byte 2");
        assert_eq!(at("aGVsbG8"), "illegal base64 data at input byte 4");
        assert_eq!(at("aGVsbG8=x"), "illegal base64 data at input byte 8");
        assert_eq!(at("a==="), "illegal base64 data at input byte 1");
        assert_eq!(at("aG=x"), "illegal base64 data at input byte 2");
        assert_eq!(at("aG="), "illegal base64 data at input byte 3");
    }
}
