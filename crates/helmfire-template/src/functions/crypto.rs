//! Sprig's crypto and random helpers: uuidv4, randBytes, bcrypt/htpasswd, encryptAES/decryptAES,
//! derivePassword. Key and certificate generation lives in `certs`.

use base64::Engine;

use super::{Functions, Param, arg_int};
use crate::error::FuncError;
use Param::*;
use helmfire_value::Value;

pub fn register(f: &mut Functions) {
    f.add("uuidv4", &[], None, |st, _| {
        let mut b = [0u8; 16];
        st.ctx.rng().fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        Ok(Value::from(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )))
    });
    f.add("randBytes", &[Int], None, |st, a| {
        let n = arg_int(&a[0]);
        if n < 0 {
            return Err(FuncError::msg("runtime error: makeslice: len out of range"));
        }
        let mut b = vec![0u8; (n as usize).min(64 << 20)];
        st.ctx.rng().fill(&mut b);
        Ok(Value::from(base64::engine::general_purpose::STANDARD.encode(b)))
    });
}

/// Go's `bcrypt.GenerateFromPassword(p, DefaultCost)`: `$2a$10$…` with a fresh salt.
fn bcrypt_hash(st: &mut super::State<'_, '_>, password: &str) -> String {
    if password.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes".into();
    }
    let mut salt = [0u8; 16];
    st.ctx.rng().fill(&mut salt);
    match bcrypt::hash_with_salt(password, 10, salt) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

fn aes_key(password: &str) -> aes::Aes256 {
    use aes::cipher::KeyInit;
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    aes::Aes256::new(&key.into())
}

/// Sprig's `encryptAES`: AES-256-CBC, key = password zero-padded/truncated to 32 bytes,
/// PKCS#7 padding, random IV prepended, base64.
fn encrypt_aes(st: &mut super::State<'_, '_>, password: &str, plaintext: &str) -> String {
    use aes::cipher::BlockEncrypt;
    if plaintext.is_empty() {
        return String::new();
    }
    let cipher = aes_key(password);
    let mut content = plaintext.as_bytes().to_vec();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut iv = [0u8; 16];
    st.ctx.rng().fill(&mut iv);
    let mut out = iv.to_vec();
    let mut prev = iv;
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for i in 0..16 {
            block[i] = chunk[i] ^ prev[i];
        }
        let mut b = block.into();
        cipher.encrypt_block(&mut b);
        prev.copy_from_slice(&b);
        out.extend_from_slice(&b);
    }
    base64::engine::general_purpose::STANDARD.encode(out)
}

fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, FuncError> {
    use aes::cipher::BlockDecrypt;
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let crypt = base64::engine::general_purpose::STANDARD
        .decode(crypt64)
        .map_err(|_| FuncError::msg("illegal base64 data at input byte 0"))?;
    if crypt.len() < 16 {
        return Err(FuncError::Plain(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        )));
    }
    let (iv, body) = crypt.split_at(16);
    if !body.len().is_multiple_of(16) {
        return Err(FuncError::msg("crypto/cipher: input not full blocks"));
    }
    let cipher = aes_key(password);
    let mut out = Vec::with_capacity(body.len());
    let mut prev: [u8; 16] = iv.try_into().unwrap_or([0; 16]);
    for chunk in body.chunks(16) {
        let mut b = aes::Block::clone_from_slice(chunk);
        cipher.decrypt_block(&mut b);
        for i in 0..16 {
            out.push(b[i] ^ prev[i]);
        }
        prev.copy_from_slice(chunk);
    }
    let pad = out.last().copied().unwrap_or(0) as usize;
    if pad > out.len() {
        return Err(FuncError::Plain(format!(
            "runtime error: slice bounds out of range [:{}]",
            out.len() as i64 - pad as i64
        )));
    }
    out.truncate(out.len() - pad);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

const MASTER_PASSWORD_SEED: &str = "com.lyndir.masterpassword";

fn templates_for(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static str {
    match c {
        b'V' => "AEIOU",
        b'C' => "BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => "aeiou",
        b'c' => "bcdfghjklmnpqrstvwxyz",
        b'A' => "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => "0123456789",
        b'o' => "@&%?,=[]_:-+*$#!'^~;()/.",
        _ => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// Sprig's `derivePassword` (the Master Password algorithm, scrypt N=32768 r=8 p=2).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    use hmac::Mac;
    let Some(templates) = templates_for(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let params = match scrypt::Params::new(15, 8, 2, 64) {
        Ok(p) => p,
        Err(e) => return format!("failed to derive password: {e}"),
    };
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key) {
        return format!("failed to derive password: {e}");
    }
    let mut msg = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return "failed to derive password: bad key".into();
    };
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let template = templates[seed[0] as usize % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_chars(c).as_bytes();
            chars[seed[(i + 1) % seed.len()] as usize % chars.len()] as char
        })
        .collect()
}

pub fn register_ciphers(f: &mut Functions) {
    f.add("bcrypt", &[Str], None, |st, a| {
        let pw = a[0].as_str().unwrap_or("").to_string();
        Ok(Value::from(bcrypt_hash(st, &pw)))
    });
    f.add("htpasswd", &[Str, Str], None, |st, a| {
        let user = a[0].as_str().unwrap_or("");
        if user.contains(':') {
            return Ok(Value::from(format!("invalid username: {user}")));
        }
        let user = user.to_string();
        let pw = a[1].as_str().unwrap_or("").to_string();
        Ok(Value::from(format!("{user}:{}", bcrypt_hash(st, &pw))))
    });
    f.add("encryptAES", &[Str, Str], None, |st, a| {
        let (pw, text) = (
            a[0].as_str().unwrap_or("").to_string(),
            a[1].as_str().unwrap_or("").to_string(),
        );
        Ok(Value::from(encrypt_aes(st, &pw, &text)))
    });
    f.pure("decryptAES", &[Str, Str], None, |a| {
        decrypt_aes(a[0].as_str().unwrap_or(""), a[1].as_str().unwrap_or("")).map(Value::from)
    });
    f.pure("derivePassword", &[Uint32, Str, Str, Str, Str], None, |a| {
        let counter = super::arg_int(&a[0]) as u32;
        let s = |i: usize| a[i].as_str().unwrap_or("");
        Ok(Value::from(derive_password(counter, s(1), s(2), s(3), s(4))))
    });
}
