//! Sprig's key and certificate generation: genPrivateKey, genCA(WithKey),
//! genSelfSignedCert(WithKey), genSignedCert(WithKey) and buildCustomCert, as Sprig v3.3.0 does
//! them on top of Go's crypto/x509.
//!
//! Keys are generated and signatures made by aws-lc-rs (the crate's one crypto provider). The
//! DER is written here by hand so that certificates have exactly the shape Go's
//! `x509.CreateCertificate` gives them: version 3, a random 128-bit serial, `CN=<cn>` only,
//! UTCTime validity from now to now + days, KeyUsage (critical), ExtKeyUsage serverAuth +
//! clientAuth, BasicConstraints (critical), a truncated-SHA-256 SubjectKeyId for CAs (Go 1.25),
//! an AuthorityKeyId from the issuer's SubjectKeyId, and IP/DNS SANs. Keys come out in the PEM
//! forms Sprig writes: `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC1) and `PRIVATE KEY`
//! (PKCS#8, ed25519). Serial numbers and timestamps use the render context's randomness and
//! clock; key material always comes from the operating system's generator. DSA keys, which
//! Sprig can also generate, are refused with a clear error.

use std::sync::Arc;

use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _};
use base64::Engine;

use super::{Functions, Param, State, arg_int};
use crate::error::FuncError;
use Param::*;
use helmfire_value::{Map, Object, Value};

pub fn register(f: &mut Functions) {
    f.add("genPrivateKey", &[Str], None, |_, a| {
        let typ = a[0].as_str().unwrap_or_default();
        let kind = match typ {
            "" | "rsa" => KeyKind::Rsa(4096),
            "ecdsa" => KeyKind::EcP256,
            "ed25519" => KeyKind::Ed25519,
            "dsa" => {
                return Ok(Value::from(match keygen::dsa::generate_der() {
                    Ok(der) => pem_encode("DSA PRIVATE KEY", &der),
                    Err(e) => format!("failed to generate private key: {e}"),
                }));
            }
            other => return Ok(Value::from(format!("Unknown type {other}"))),
        };
        Ok(match PrivateKey::generate(kind) {
            Ok(key) => Value::from(key.to_pem()),
            Err(e) => Value::from(format!("failed to generate private key: {e}")),
        })
    });
    f.add("genCA", &[Str, Int], None, |st, a| {
        let key = PrivateKey::generate(KeyKind::Rsa(2048))
            .map_err(|e| FuncError::msg(format!("error generating rsa key: {e}")))?;
        gen_ca(st, str_arg(&a[0]), arg_int(&a[1]), key)
    });
    f.add("genCAWithKey", &[Str, Int, Str], None, |st, a| {
        let key =
            PrivateKey::from_pem(str_arg(&a[2])).map_err(|e| FuncError::msg(format!("parsing private key: {e}")))?;
        gen_ca(st, str_arg(&a[0]), arg_int(&a[1]), key)
    });
    f.add("genSelfSignedCert", &[Str, List, List, Int], None, |st, a| {
        let key = PrivateKey::generate(KeyKind::Rsa(2048))
            .map_err(|e| FuncError::msg(format!("error generating rsa key: {e}")))?;
        gen_self_signed(st, &a, key)
    });
    f.add(
        "genSelfSignedCertWithKey",
        &[Str, List, List, Int, Str],
        None,
        |st, a| {
            let key = PrivateKey::from_pem(str_arg(&a[4]))
                .map_err(|e| FuncError::msg(format!("parsing private key: {e}")))?;
            gen_self_signed(st, &a, key)
        },
    );
    f.add("genSignedCert", &[Str, List, List, Int, Certificate], None, |st, a| {
        let key = PrivateKey::generate(KeyKind::Rsa(2048))
            .map_err(|e| FuncError::msg(format!("error generating rsa key: {e}")))?;
        gen_signed(st, &a, key)
    });
    f.add(
        "genSignedCertWithKey",
        &[Str, List, List, Int, Certificate, Str],
        None,
        |st, a| {
            let key = PrivateKey::from_pem(str_arg(&a[5]))
                .map_err(|e| FuncError::msg(format!("parsing private key: {e}")))?;
            gen_signed(st, &a, key)
        },
    );
    f.add("buildCustomCert", &[Str, Str], None, |_, a| {
        build_custom_cert(str_arg(&a[0]), str_arg(&a[1])).map_err(FuncError::msg)
    });
}

fn str_arg(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// Sprig's `certificate` struct: what the gen* functions return and genSignedCert takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub cert: String,
    pub key: String,
}

/// The Go type name `printf "%T"` shows and `Param::Certificate` checks.
pub const CERTIFICATE_TYPE: &str = "sprig.certificate";

impl Object for Certificate {
    fn type_name(&self) -> &str {
        CERTIFICATE_TYPE
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::from(self.cert.clone())),
            "Key" => Some(Value::from(self.key.clone())),
            _ => None,
        }
    }
    fn to_plain(&self) -> Value {
        let mut m = Map::new();
        m.insert("Cert".into(), Value::from(self.cert.clone()));
        m.insert("Key".into(), Value::from(self.key.clone()));
        Value::map(m)
    }
    /// Go prints the struct with `%v` as `{<Cert> <Key>}`.
    fn string(&self) -> Option<String> {
        Some(format!("{{{} {}}}", self.cert, self.key))
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

fn certificate_arg(v: &Value) -> Certificate {
    match v {
        Value::Object(o) => o
            .as_any()
            .and_then(|a| a.downcast_ref::<Certificate>())
            .cloned()
            .unwrap_or(Certificate {
                cert: String::new(),
                key: String::new(),
            }),
        _ => Certificate {
            cert: String::new(),
            key: String::new(),
        },
    }
}

fn cert_value(cert: String, key: String) -> Value {
    Value::Object(Arc::new(Certificate { cert, key }))
}

fn gen_ca(st: &mut State<'_, '_>, cn: &str, days: i64, key: PrivateKey) -> Result<Value, FuncError> {
    let mut template = base_template(st, cn, &[], &[], days)?;
    template.key_usage |= KU_CERT_SIGN;
    template.is_ca = true;
    let (cert, key) = cert_and_key(&template, &key, None, &key).map_err(FuncError::msg)?;
    Ok(cert_value(cert, key))
}

fn gen_self_signed(st: &mut State<'_, '_>, a: &[Value], key: PrivateKey) -> Result<Value, FuncError> {
    let template = base_template(st, str_arg(&a[0]), list(&a[1]), list(&a[2]), arg_int(&a[3]))?;
    let (cert, key) = cert_and_key(&template, &key, None, &key).map_err(FuncError::msg)?;
    Ok(cert_value(cert, key))
}

fn gen_signed(st: &mut State<'_, '_>, a: &[Value], key: PrivateKey) -> Result<Value, FuncError> {
    let ca = certificate_arg(&a[4]);
    let der = pem_decode(&ca.cert)
        .ok_or_else(|| FuncError::msg("unable to decode certificate"))?
        .1;
    let signer = ParsedCert::parse(&der)
        .map_err(|e| FuncError::msg(format!("error parsing certificate: decodedSignerCert.Bytes: {e}")))?;
    let signer_key =
        PrivateKey::from_pem(&ca.key).map_err(|e| FuncError::msg(format!("error parsing private key: {e}")))?;
    let template = base_template(st, str_arg(&a[0]), list(&a[1]), list(&a[2]), arg_int(&a[3]))?;
    let (cert, key) = cert_and_key(&template, &key, Some(&signer), &signer_key).map_err(FuncError::msg)?;
    Ok(cert_value(cert, key))
}

fn list(v: &Value) -> &[Value] {
    v.as_list().unwrap_or_default()
}

fn build_custom_cert(b64cert: &str, b64key: &str) -> Result<Value, String> {
    let cert = go_base64(b64cert).ok_or("unable to decode base64 certificate")?;
    let key = go_base64(b64key).ok_or("unable to decode base64 private key")?;
    let (_, der) = pem_decode(&String::from_utf8_lossy(&cert)).ok_or("unable to decode certificate")?;
    ParsedCert::parse(&der).map_err(|e| format!("error parsing certificate: decodedCert.Bytes: {e}"))?;
    let key_text = String::from_utf8_lossy(&key).into_owned();
    PrivateKey::from_pem(&key_text).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(cert_value(String::from_utf8_lossy(&cert).into_owned(), key_text))
}

/// Go's `base64.StdEncoding.DecodeString`: padding required, `\r` and `\n` ignored.
fn go_base64(s: &str) -> Option<Vec<u8>> {
    let clean: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

// ---- The certificate template (the fields of Go's x509.Certificate Sprig sets) ----

const KU_DIGITAL_SIGNATURE: u16 = 1 << 0;
const KU_KEY_ENCIPHERMENT: u16 = 1 << 2;
const KU_CERT_SIGN: u16 = 1 << 5;

struct Template {
    serial: Vec<u8>,
    cn: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    not_before: i64,
    not_after: i64,
    key_usage: u16,
    is_ca: bool,
}

/// Sprig's `getBaseCertTemplate`.
fn base_template(
    st: &mut State<'_, '_>,
    cn: &str,
    ips: &[Value],
    dns: &[Value],
    days: i64,
) -> Result<Template, FuncError> {
    let mut ip_bytes = Vec::with_capacity(ips.len());
    for ip in ips {
        let Value::String(s) = ip else {
            return Err(FuncError::msg(format!(
                "error parsing ip: {} is not a string",
                crate::fmt::sprint_value(ip)
            )));
        };
        // Go's net.ParseIP, then `To4()` when the address is IPv4 (also IPv4-mapped IPv6).
        let parsed: std::net::IpAddr = s
            .parse()
            .map_err(|_| FuncError::msg(format!("error parsing ip: {s}")))?;
        ip_bytes.push(match parsed {
            std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.octets().to_vec(),
                None => v6.octets().to_vec(),
            },
        });
    }
    let mut names = Vec::with_capacity(dns.len());
    for name in dns {
        let Value::String(s) = name else {
            return Err(FuncError::msg(format!(
                "error processing alternate dns name: {} is not a string",
                crate::fmt::sprint_value(name)
            )));
        };
        names.push(s.to_string());
    }
    // rand.Int(rand.Reader, 2^128)
    let mut serial = [0u8; 16];
    st.ctx.rng().fill(&mut serial);
    let now = st.ctx.clock.now().unix();
    Ok(Template {
        serial: serial.to_vec(),
        cn: cn.to_string(),
        ips: ip_bytes,
        dns: names,
        not_before: now,
        not_after: now.saturating_add(days.saturating_mul(86400)),
        key_usage: KU_KEY_ENCIPHERMENT | KU_DIGITAL_SIGNATURE,
        is_ca: false,
    })
}

/// Sprig's `getCertAndKey`: Go's `x509.CreateCertificate` plus the PEM of both.
fn cert_and_key(
    template: &Template,
    signee: &PrivateKey,
    parent: Option<&ParsedCert>,
    signer: &PrivateKey,
) -> Result<(String, String), String> {
    let der =
        create_certificate(template, signee, parent, signer).map_err(|e| format!("error creating certificate: {e}"))?;
    Ok((pem_encode("CERTIFICATE", &der), signee.to_pem()))
}

fn create_certificate(
    template: &Template,
    signee: &PrivateKey,
    parent: Option<&ParsedCert>,
    signer: &PrivateKey,
) -> Result<Vec<u8>, String> {
    let spki = signee.spki();
    if let Some(parent) = parent
        && parent.spki != signer.spki()
    {
        return Err("x509: provided PrivateKey doesn't match parent's PublicKey".into());
    }
    for name in &template.dns {
        if !name.is_ascii() {
            return Err(format!("x509: {name:?} cannot be encoded as an IA5String"));
        }
    }
    let subject = name_der(&template.cn);
    let issuer = parent.map_or_else(|| subject.clone(), |p| p.subject.clone());
    // Go 1.25: a CA without an explicit SubjectKeyId gets the first 160 bits of the SHA-256 of
    // its subjectPublicKey; the issuer's SubjectKeyId becomes the AuthorityKeyId when the issuer
    // is a different name.
    let ski = template.is_ca.then(|| {
        let bits = spki_bit_string(&spki).unwrap_or_default();
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bits).as_ref()[..20].to_vec()
    });
    let aki = parent.and_then(|p| if p.subject != subject { p.ski.clone() } else { None });

    let mut exts = Vec::new();
    exts.push(extension(OID_KEY_USAGE, true, &key_usage_der(template.key_usage)));
    exts.push(extension(
        OID_EXT_KEY_USAGE,
        false,
        &der::seq(&[der::oid(OID_SERVER_AUTH), der::oid(OID_CLIENT_AUTH)]),
    ));
    let bc = if template.is_ca {
        der::seq(&[der::tlv(0x01, &[0xff])])
    } else {
        der::seq(&[])
    };
    exts.push(extension(OID_BASIC_CONSTRAINTS, true, &bc));
    if let Some(ski) = &ski {
        exts.push(extension(OID_SUBJECT_KEY_ID, false, &der::tlv(0x04, ski)));
    }
    if let Some(aki) = &aki {
        exts.push(extension(
            OID_AUTHORITY_KEY_ID,
            false,
            &der::seq(&[der::tlv(0x80, aki)]),
        ));
    }
    if !template.dns.is_empty() || !template.ips.is_empty() {
        let mut names = Vec::new();
        for d in &template.dns {
            names.push(der::tlv(0x82, d.as_bytes()));
        }
        for ip in &template.ips {
            names.push(der::tlv(0x87, ip));
        }
        // The SAN extension is critical when the subject is empty (RFC 5280 §4.2.1.6).
        exts.push(extension(
            OID_SUBJECT_ALT_NAME,
            template.cn.is_empty(),
            &der::seq(&names),
        ));
    }

    let sig_alg = signer.signature_algorithm();
    let tbs = der::seq(&[
        der::tlv(0xa0, &der::integer(&[2])),
        der::integer(&template.serial),
        sig_alg.clone(),
        issuer,
        der::seq(&[der_time(template.not_before), der_time(template.not_after)]),
        subject,
        spki,
        der::tlv(0xa3, &der::seq(&exts)),
    ]);
    let signature = signer.sign(&tbs)?;
    Ok(der::seq(&[tbs, sig_alg, der::bit_string(&signature)]))
}

fn extension(oid: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![der::oid(oid)];
    if critical {
        parts.push(der::tlv(0x01, &[0xff]));
    }
    parts.push(der::tlv(0x04, value));
    der::seq(&parts)
}

/// Go's `marshalKeyUsage`: bit 0 is the most significant bit of the first byte; the BIT STRING
/// ends at the last set bit.
fn key_usage_der(ku: u16) -> Vec<u8> {
    let a = [(ku as u8).reverse_bits(), ((ku >> 8) as u8).reverse_bits()];
    let bytes: &[u8] = if a[1] != 0 { &a } else { &a[..1] };
    let last = bytes[bytes.len() - 1];
    let unused = if last == 0 { 0 } else { last.trailing_zeros() as u8 };
    let mut content = vec![unused];
    content.extend_from_slice(bytes);
    der::tlv(0x03, &content)
}

/// pkix.Name{CommonName: cn} as Go marshals it: PrintableString when every byte is printable
/// (asterisk and ampersand are not), UTF8String otherwise; no attribute at all for "".
fn name_der(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return der::seq(&[]);
    }
    let printable = cn.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'\'' | b'(' | b')' | b'+' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?'
            )
    });
    let value = der::tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes());
    der::seq(&[der::tlv(0x31, &der::seq(&[der::oid(OID_COMMON_NAME), value]))])
}

/// UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280, as Go encodes validity).
fn der_time(unix: i64) -> Vec<u8> {
    let t = super::Time::utc(i128::from(unix) * 1_000_000_000);
    let year: i64 = t.format("2006").parse().unwrap_or(0);
    if (1950..2050).contains(&year) {
        der::tlv(0x17, t.format("060102150405Z").as_bytes())
    } else {
        der::tlv(0x18, t.format("20060102150405Z").as_bytes())
    }
}

fn spki_bit_string(spki: &[u8]) -> Option<&[u8]> {
    let (_, body, _) = der::read(spki)?;
    let (_, _, rest) = der::read(body)?;
    let (tag, bits, _) = der::read(rest)?;
    (tag == 0x03 && !bits.is_empty()).then(|| &bits[1..])
}

// ---- Object identifiers ----

const OID_COMMON_NAME: &[u64] = &[2, 5, 4, 3];
const OID_KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const OID_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_SUBJECT_KEY_ID: &[u64] = &[2, 5, 29, 14];
const OID_AUTHORITY_KEY_ID: &[u64] = &[2, 5, 29, 35];
const OID_SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
const OID_SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];
const OID_CLIENT_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 2];
const OID_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 1];
const OID_SHA256_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 11];
const OID_EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10045, 2, 1];
const OID_ECDSA_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
const OID_ECDSA_SHA384: &[u64] = &[1, 2, 840, 10045, 4, 3, 3];
const OID_ECDSA_SHA512: &[u64] = &[1, 2, 840, 10045, 4, 3, 4];
const OID_P256: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
const OID_P384: &[u64] = &[1, 3, 132, 0, 34];
const OID_P521: &[u64] = &[1, 3, 132, 0, 35];
const OID_ED25519: &[u64] = &[1, 3, 101, 112];

// ---- Keys ----

#[derive(Clone, Copy)]
enum KeyKind {
    Rsa(u32),
    EcP256,
    Ed25519,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    fn from_oid(oid: &[u8]) -> Option<Curve> {
        [
            (OID_P256, Curve::P256),
            (OID_P384, Curve::P384),
            (OID_P521, Curve::P521),
        ]
        .into_iter()
        .find(|(o, _)| der::oid_body(o) == oid)
        .map(|(_, c)| c)
    }
    fn oid(self) -> &'static [u64] {
        match self {
            Curve::P256 => OID_P256,
            Curve::P384 => OID_P384,
            Curve::P521 => OID_P521,
        }
    }
    fn size(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
    fn signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            Curve::P521 => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
        }
    }
    fn signature_oid(self) -> &'static [u64] {
        match self {
            Curve::P256 => OID_ECDSA_SHA256,
            Curve::P384 => OID_ECDSA_SHA384,
            Curve::P521 => OID_ECDSA_SHA512,
        }
    }
}

enum PrivateKey {
    /// The key and its PKCS#1 `RSAPrivateKey` DER.
    Rsa(RsaKeyPair, Vec<u8>),
    Ec(EcdsaKeyPair, Curve),
    /// The key and its 32-byte seed.
    Ed25519(Ed25519KeyPair, Vec<u8>),
}

impl PrivateKey {
    fn generate(kind: KeyKind) -> Result<PrivateKey, String> {
        match kind {
            KeyKind::Rsa(bits) => {
                let pkcs1 = keygen::rsa::generate_pkcs1(bits as usize)?;
                let pair = RsaKeyPair::from_der(&pkcs1).map_err(|e| e.to_string())?;
                Ok(PrivateKey::Rsa(pair, pkcs1))
            }
            KeyKind::EcP256 => {
                let pair = EcdsaKeyPair::generate(Curve::P256.signing()).map_err(|e| e.to_string())?;
                Ok(PrivateKey::Ec(pair, Curve::P256))
            }
            KeyKind::Ed25519 => {
                let pair = Ed25519KeyPair::generate().map_err(|e| e.to_string())?;
                let seed = pair.seed().map_err(|e| e.to_string())?;
                let seed = seed.as_be_bytes().map_err(|e| e.to_string())?.as_ref().to_vec();
                Ok(PrivateKey::Ed25519(pair, seed))
            }
        }
    }

    /// Sprig's `parsePrivateKeyPEM`, with its error texts.
    fn from_pem(text: &str) -> Result<PrivateKey, String> {
        let (typ, der) = pem_decode(text).ok_or("no PEM data in input")?;
        if typ == "PRIVATE KEY" {
            return PrivateKey::from_pkcs8(&der).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
        }
        let Some(kind) = typ.strip_suffix(" PRIVATE KEY") else {
            return Err(format!("no private key data in PEM block of type {typ}"));
        };
        match kind {
            "RSA" => {
                let pair = RsaKeyPair::from_der(&der)
                    .map_err(|e| format!("parsing RSA private key from PEM: x509: invalid RSA private key: {e}"))?;
                Ok(PrivateKey::Rsa(pair, der))
            }
            "EC" => PrivateKey::from_sec1(&der).map_err(|e| format!("parsing EC private key from PEM: {e}")),
            "DSA" => Err("helmfire does not support DSA private keys".into()),
            _ => Err(format!("invalid private key type {typ}")),
        }
    }

    fn from_sec1(der: &[u8]) -> Result<PrivateKey, String> {
        let curve = sec1_curve(der).ok_or("x509: unknown elliptic curve")?;
        let pair = EcdsaKeyPair::from_private_key_der(curve.signing(), der)
            .map_err(|e| format!("x509: failed to parse EC private key: {e}"))?;
        Ok(PrivateKey::Ec(pair, curve))
    }

    fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, String> {
        let (alg, inner) = pkcs8_inner(der).ok_or("x509: failed to parse private key")?;
        let (_, alg_body, _) = der::read(&alg).ok_or("x509: failed to parse private key")?;
        let (_, oid, params) = der::read(alg_body).ok_or("x509: failed to parse private key")?;
        if oid == der::oid_body(OID_RSA) {
            let pair = RsaKeyPair::from_der(&inner)
                .map_err(|e| format!("x509: failed to parse RSA private key embedded in PKCS#8: {e}"))?;
            Ok(PrivateKey::Rsa(pair, inner))
        } else if oid == der::oid_body(OID_EC_PUBLIC_KEY) {
            let curve = der::read(params)
                .filter(|(tag, _, _)| *tag == 0x06)
                .and_then(|(_, o, _)| Curve::from_oid(o))
                .ok_or("x509: unknown elliptic curve")?;
            let pair = EcdsaKeyPair::from_private_key_der(curve.signing(), der)
                .map_err(|e| format!("x509: failed to parse EC private key embedded in PKCS#8: {e}"))?;
            Ok(PrivateKey::Ec(pair, curve))
        } else if oid == der::oid_body(OID_ED25519) {
            let seed = der::read(&inner)
                .filter(|(tag, body, _)| *tag == 0x04 && body.len() == 32)
                .map(|(_, body, _)| body.to_vec())
                .ok_or("x509: invalid Ed25519 private key")?;
            let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
                .map_err(|e| format!("x509: invalid Ed25519 private key: {e}"))?;
            Ok(PrivateKey::Ed25519(pair, seed))
        } else {
            Err("x509: PKCS#8 wrapping contained private key with unknown algorithm".into())
        }
    }

    /// Sprig's `pemBlockForKey`.
    fn to_pem(&self) -> String {
        match self {
            PrivateKey::Rsa(_, pkcs1) => pem_encode("RSA PRIVATE KEY", pkcs1),
            PrivateKey::Ec(pair, curve) => {
                // x509.MarshalECPrivateKey: version 1, the scalar padded to the curve size,
                // the named curve and the public point.
                let scalar = pair
                    .private_key()
                    .as_be_bytes()
                    .map(|b| b.as_ref().to_vec())
                    .unwrap_or_default();
                let mut d = vec![0u8; curve.size().saturating_sub(scalar.len())];
                d.extend_from_slice(&scalar);
                let sec1 = der::seq(&[
                    der::integer(&[1]),
                    der::tlv(0x04, &d),
                    der::tlv(0xa0, &der::oid(curve.oid())),
                    der::tlv(0xa1, &der::bit_string(pair.public_key().as_ref())),
                ]);
                pem_encode("EC PRIVATE KEY", &sec1)
            }
            PrivateKey::Ed25519(_, seed) => {
                let pkcs8 = der::seq(&[
                    der::integer(&[0]),
                    der::seq(&[der::oid(OID_ED25519)]),
                    der::tlv(0x04, &der::tlv(0x04, seed)),
                ]);
                pem_encode("PRIVATE KEY", &pkcs8)
            }
        }
    }

    /// The SubjectPublicKeyInfo DER, as Go's `MarshalPKIXPublicKey` writes it.
    fn spki(&self) -> Vec<u8> {
        match self {
            PrivateKey::Rsa(pair, _) => der::seq(&[
                der::seq(&[der::oid(OID_RSA), der::tlv(0x05, &[])]),
                der::bit_string(pair.public_key().as_ref()),
            ]),
            PrivateKey::Ec(pair, curve) => der::seq(&[
                der::seq(&[der::oid(OID_EC_PUBLIC_KEY), der::oid(curve.oid())]),
                der::bit_string(pair.public_key().as_ref()),
            ]),
            PrivateKey::Ed25519(pair, _) => der::seq(&[
                der::seq(&[der::oid(OID_ED25519)]),
                der::bit_string(pair.public_key().as_ref()),
            ]),
        }
    }

    /// The AlgorithmIdentifier Go picks for a signing key (SHA-256 for RSA, the curve's hash
    /// for ECDSA, pure Ed25519).
    fn signature_algorithm(&self) -> Vec<u8> {
        match self {
            PrivateKey::Rsa(..) => der::seq(&[der::oid(OID_SHA256_WITH_RSA), der::tlv(0x05, &[])]),
            PrivateKey::Ec(_, curve) => der::seq(&[der::oid(curve.signature_oid())]),
            PrivateKey::Ed25519(..) => der::seq(&[der::oid(OID_ED25519)]),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let rng = SystemRandom::new();
        match self {
            PrivateKey::Rsa(pair, _) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|e| format!("x509: signing failed: {e}"))?;
                Ok(sig)
            }
            PrivateKey::Ec(pair, _) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| format!("x509: signing failed: {e}")),
            PrivateKey::Ed25519(pair, _) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// The algorithm identifier and the contents of the privateKey OCTET STRING of a PKCS#8
/// `PrivateKeyInfo`.
fn pkcs8_inner(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (tag, body, _) = der::read(der)?;
    if tag != 0x30 {
        return None;
    }
    let (vtag, _, rest) = der::read(body)?;
    if vtag != 0x02 {
        return None;
    }
    let (atag, _, after_alg) = der::read(rest)?;
    if atag != 0x30 {
        return None;
    }
    let alg = rest[..rest.len() - after_alg.len()].to_vec();
    let (ktag, key, _) = der::read(after_alg)?;
    (ktag == 0x04).then(|| (alg, key.to_vec()))
}

/// The named curve of a SEC1 `ECPrivateKey` (its `[0]` parameters).
fn sec1_curve(der: &[u8]) -> Option<Curve> {
    let (_, mut body, _) = der::read(der)?;
    while !body.is_empty() {
        let (tag, content, rest) = der::read(body)?;
        if tag == 0xa0 {
            let (_, oid, _) = der::read(content)?;
            return Curve::from_oid(oid);
        }
        body = rest;
    }
    // Without parameters Go cannot tell the curve either.
    None
}

/// What genSignedCert needs from the CA certificate.
struct ParsedCert {
    subject: Vec<u8>,
    spki: Vec<u8>,
    ski: Option<Vec<u8>>,
}

impl ParsedCert {
    fn parse(der: &[u8]) -> Result<ParsedCert, &'static str> {
        const MALFORMED: &str = "x509: malformed certificate";
        let (tag, body, rest) = der::read(der).ok_or(MALFORMED)?;
        if tag != 0x30 || !rest.is_empty() {
            return Err(MALFORMED);
        }
        let (tag, tbs, after) = der::read(body).ok_or(MALFORMED)?;
        if tag != 0x30 {
            return Err("x509: malformed tbs certificate");
        }
        let (tag, _, after) = der::read(after).ok_or(MALFORMED)?;
        if tag != 0x30 {
            return Err("x509: malformed algorithm identifier");
        }
        let (tag, _, _) = der::read(after).ok_or(MALFORMED)?;
        if tag != 0x03 {
            return Err("x509: malformed signature");
        }
        let mut fields = Vec::new();
        let mut cursor = tbs;
        while !cursor.is_empty() {
            let (tag, content, rest) = der::read(cursor).ok_or("x509: malformed tbs certificate")?;
            fields.push((tag, content, &cursor[..cursor.len() - rest.len()]));
            cursor = rest;
        }
        let skip = usize::from(fields.first().is_some_and(|f| f.0 == 0xa0));
        // serial, signature, issuer, validity, subject, spki
        if fields.len() < skip + 6 {
            return Err("x509: malformed tbs certificate");
        }
        let subject = fields[skip + 4].2.to_vec();
        let spki = fields[skip + 5].2.to_vec();
        let mut ski = None;
        if let Some((_, exts, _)) = fields[skip + 6..].iter().find(|f| f.0 == 0xa3) {
            let (_, mut list, _) = der::read(exts).ok_or("x509: malformed extensions")?;
            while !list.is_empty() {
                let (_, ext, rest) = der::read(list).ok_or("x509: malformed extension")?;
                let (_, oid, mut ext_rest) = der::read(ext).ok_or("x509: malformed extension OID field")?;
                if oid == der::oid_body(OID_SUBJECT_KEY_ID) {
                    let (tag, _, r) = der::read(ext_rest).ok_or("x509: malformed extension")?;
                    if tag == 0x01 {
                        ext_rest = r;
                    }
                    let (_, value, _) = der::read(ext_rest).ok_or("x509: malformed extension value field")?;
                    let (_, id, _) = der::read(value).ok_or("x509: invalid subject key identifier")?;
                    ski = Some(id.to_vec());
                }
                list = rest;
            }
        }
        Ok(ParsedCert { subject, spki, ski })
    }
}

// ---- PEM (Go's encoding/pem) ----

fn pem_encode(typ: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.push_str("-----BEGIN ");
    out.push_str(typ);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(typ);
    out.push_str("-----\n");
    out
}

/// The first PEM block in `text` (type, bytes), skipping anything before it, like `pem.Decode`.
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let mut rest = text;
    loop {
        let start = rest.find("-----BEGIN ")?;
        let after = &rest[start + 11..];
        let type_end = after.find("-----")?;
        let typ = &after[..type_end];
        let body_start = &after[type_end + 5..];
        let end_marker = format!("-----END {typ}-----");
        if !typ.contains('\n')
            && let Some(end) = body_start.find(&end_marker)
        {
            let body: String = body_start[..end]
                .lines()
                .filter(|l| !l.contains(':'))
                .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
                .collect();
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(body) {
                return Some((typ.to_string(), bytes));
            }
        }
        rest = after;
    }
}

/// A minimal DER writer and reader (definite lengths, single-byte tags).
mod der {
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(content.len() + 6);
        out.push(tag);
        let n = content.len();
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let bytes = (n as u64).to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (8 - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    /// A non-negative INTEGER from big-endian magnitude bytes.
    pub fn integer(magnitude: &[u8]) -> Vec<u8> {
        let skip = magnitude.iter().take_while(|b| **b == 0).count();
        let m = &magnitude[skip..];
        let mut content = Vec::with_capacity(m.len() + 1);
        if m.is_empty() || m[0] & 0x80 != 0 {
            content.push(0);
        }
        content.extend_from_slice(m);
        tlv(0x02, &content)
    }

    pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
        let mut content = Vec::with_capacity(bytes.len() + 1);
        content.push(0);
        content.extend_from_slice(bytes);
        tlv(0x03, &content)
    }

    pub fn oid_body(arcs: &[u64]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut push = |mut v: u64| {
            let mut tmp = vec![(v & 0x7f) as u8];
            v >>= 7;
            while v > 0 {
                tmp.push(0x80 | (v & 0x7f) as u8);
                v >>= 7;
            }
            tmp.reverse();
            out.extend(tmp);
        };
        push(arcs[0] * 40 + arcs[1]);
        for a in &arcs[2..] {
            push(*a);
        }
        out
    }

    pub fn oid(arcs: &[u64]) -> Vec<u8> {
        tlv(0x06, &oid_body(arcs))
    }

    /// (tag, content, rest) of the first element.
    pub fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let mut len = 0usize;
            for b in &rest[..n] {
                len = (len << 8) | *b as usize;
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }
}

#[expect(unsafe_code, reason = "AWS-LC's BIGNUM and DSA APIs are only reachable through FFI")]
mod keygen;
#[cfg(test)]
mod tests;
