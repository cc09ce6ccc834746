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

/// Go's `base64.StdEncoding.DecodeString` error position for invalid input.
fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let stripped: String = s.chars().filter(|&c| c != '\r' && c != '\n').collect();
    match base64::engine::general_purpose::STANDARD.decode(stripped.as_bytes()) {
        Ok(v) => Ok(v),
        Err(e) => {
            let pos = match e {
                base64::DecodeError::InvalidByte(i, _) => i,
                base64::DecodeError::InvalidLength(l) => l - l % 4,
                base64::DecodeError::InvalidLastSymbol(i, _) => i,
                base64::DecodeError::InvalidPadding => stripped.find('=').unwrap_or(stripped.len()),
            };
            Err(format!("illegal base64 data at input byte {pos}"))
        }
    }
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
