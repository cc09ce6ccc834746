//! Property tests: every key and certificate is checked by the openssl CLI (an independent
//! X.509 implementation) — PEM type, parse, key/certificate match, chain verification, CN, SANs,
//! key usages and validity — and by our own DER reader.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::*;
use crate::functions::{FixedClock, Time};
use crate::{Context, TemplateSet};

fn render_with(src: &str, ctx: &mut Context) -> Result<String, String> {
    let mut set = TemplateSet::default();
    set.parse("t", src).map_err(|e| e.to_string())?;
    set.execute("t", &Value::Nil, ctx).map_err(|e| e.to_string())
}

fn render(src: &str) -> Result<String, String> {
    render_with(src, &mut Context::default())
}

/// Runs `openssl args…` with `stdin`; the test fails loudly when openssl is missing.
fn openssl(args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the openssl CLI is needed by the certificate tests (apt-get install openssl)");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn cert_text(pem: &str) -> String {
    let (ok, text) = openssl(&["x509", "-noout", "-text"], pem);
    assert!(ok, "openssl cannot parse the certificate: {text}\n{pem}");
    text
}

/// The public key of a private key and of a certificate, as openssl prints them.
fn assert_key_matches(cert: &str, key: &str) {
    let (ok, from_key) = openssl(&["pkey", "-pubout"], key);
    assert!(ok, "openssl cannot parse the key: {from_key}");
    let (ok, from_cert) = openssl(&["x509", "-noout", "-pubkey"], cert);
    assert!(ok, "{from_cert}");
    assert_eq!(from_key, from_cert, "the certificate is not for this key");
}

fn verify(ca: &str, cert: &str) -> (bool, String) {
    verify_with(ca, cert, &[])
}

fn verify_with(ca: &str, cert: &str, extra: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca).unwrap();
    let mut args = vec!["verify", "-CAfile", ca_path.to_str().unwrap()];
    args.extend_from_slice(extra);
    openssl(&args, cert)
}

fn split(out: &str) -> (String, String) {
    let (cert, key) = out.split_once("\n@@\n").unwrap();
    (cert.to_string(), key.to_string())
}

#[test]
fn private_keys_have_sprigs_pem_types_and_parse() {
    for (typ, header, algo) in [
        ("rsa", "-----BEGIN RSA PRIVATE KEY-----\n", "RSA"),
        ("", "-----BEGIN RSA PRIVATE KEY-----\n", "RSA"),
        ("ecdsa", "-----BEGIN EC PRIVATE KEY-----\n", "EC"),
        ("ed25519", "-----BEGIN PRIVATE KEY-----\n", "ED25519"),
        ("dsa", "-----BEGIN DSA PRIVATE KEY-----\n", "DSA"),
    ] {
        let pem = render(&format!("{{{{ genPrivateKey {typ:?} }}}}")).unwrap();
        assert!(pem.starts_with(header), "{typ}: {pem}");
        assert!(pem.lines().all(|l| l.len() <= 64), "Go wraps PEM at 64 columns");
        let (ok, text) = openssl(&["pkey", "-noout", "-text"], &pem);
        assert!(ok, "{typ}: {text}");
        match algo {
            "RSA" => {
                assert!(text.contains("4096 bit"), "{text}");
                let (ok, check) = openssl(&["rsa", "-check", "-noout"], &pem);
                assert!(ok && check.contains("RSA key ok"), "{check}");
            }
            "EC" => {
                assert!(text.contains("prime256v1") || text.contains("P-256"), "{text}");
                // SEC1 as Go writes it: with the named curve and the public point.
                let der = pem_decode(&pem).unwrap().1;
                assert_eq!(sec1_curve(&der), Some(Curve::P256));
                let (ok, params) = openssl(&["ec", "-noout", "-text"], &pem);
                assert!(ok && params.contains("pub:"), "{params}");
            }
            "DSA" => {
                // Go's L1024N160 parameters; helmfire cannot sign with DSA, so no round trip.
                assert!(text.contains("(1024 bit)"), "{text}");
                let (ok, params) = openssl(&["dsa", "-noout", "-text"], &pem);
                assert!(ok && params.contains("priv:") && params.contains("Q:"), "{params}");
                continue;
            }
            _ => assert!(text.contains("ED25519"), "{text}"),
        }
        // Round trip through our own parser, and it comes back in the same form.
        assert_eq!(PrivateKey::from_pem(&pem).unwrap().to_pem(), pem);
    }
}

#[test]
fn gen_private_key_answers_like_sprig_for_other_types() {
    assert_eq!(render("{{ genPrivateKey \"foo\" }}").unwrap(), "Unknown type foo");
    assert_eq!(render("{{ genPrivateKey \"RSA\" }}").unwrap(), "Unknown type RSA");
}

#[test]
fn ca_is_self_signed_ca_with_requested_cn_and_validity() {
    let clock = FixedClock(Time::utc(1_700_000_000 * 1_000_000_000));
    let mut ctx = Context {
        clock: Arc::new(clock),
        ..Context::default()
    };
    let out = render_with(
        "{{ $ca := genCA \"my-ca\" 365 }}{{ $ca.Cert }}\n@@\n{{ $ca.Key }}",
        &mut ctx,
    )
    .unwrap();
    let (cert, key) = split(&out);
    assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let text = cert_text(&cert);
    assert!(
        text.contains("Subject: CN=my-ca") || text.contains("Subject: CN = my-ca"),
        "{text}"
    );
    assert!(
        text.contains("Issuer: CN=my-ca") || text.contains("Issuer: CN = my-ca"),
        "{text}"
    );
    assert!(text.contains("Not Before: Nov 14 22:13:20 2023 GMT"), "{text}");
    assert!(text.contains("Not After : Nov 13 22:13:20 2024 GMT"), "{text}");
    assert!(text.contains("CA:TRUE"), "{text}");
    assert!(
        text.contains("Digital Signature, Key Encipherment, Certificate Sign"),
        "{text}"
    );
    assert!(
        text.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{text}"
    );
    assert!(text.contains("Subject Key Identifier"), "{text}");
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    assert!(text.contains("sha256WithRSAEncryption"), "{text}");
    assert_key_matches(&cert, &key);
    // Go 1.25's SubjectKeyId: the first 160 bits of SHA-256 over the subjectPublicKey bits.
    let parsed = ParsedCert::parse(&pem_decode(&cert).unwrap().1).unwrap();
    let bits = spki_bit_string(&parsed.spki).unwrap();
    let want = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bits).as_ref()[..20].to_vec();
    assert_eq!(parsed.ski, Some(want));
    // The fixed clock lies in the past: the signature is what is checked here.
    let (ok, msg) = verify_with(&cert, &cert, &["-no_check_time"]);
    assert!(ok, "{msg}");
}

#[test]
fn signed_cert_verifies_against_its_ca_with_sans() {
    let out = render(
        "{{ $ca := genCA \"root\" 10 }}{{ $c := genSignedCert \"svc.ns\" (list \"10.0.0.1\" \"::1\") (list \"svc\" \"svc.ns.svc\") 5 $ca }}{{ $ca.Cert }}\n@@\n{{ $c.Cert }}\n@@\n{{ $c.Key }}",
    )
    .unwrap();
    let mut parts = out.split("\n@@\n");
    let (ca, cert, key) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let text = cert_text(cert);
    assert!(text.contains("CN=svc.ns") || text.contains("CN = svc.ns"), "{text}");
    assert!(
        text.contains("DNS:svc, DNS:svc.ns.svc, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1"),
        "{text}"
    );
    assert!(text.contains("CA:FALSE") || !text.contains("CA:TRUE"), "{text}");
    assert!(text.contains("Authority Key Identifier"), "{text}");
    assert!(
        !text.contains("Subject Key Identifier"),
        "Go adds an SKI to CAs only: {text}"
    );
    assert_key_matches(cert, key);
    let (ok, msg) = verify(ca, cert);
    assert!(ok, "{msg}");
    // Another CA does not verify it.
    let other = render("{{ (genCA \"root\" 10).Cert }}").unwrap();
    let (ok, _) = verify(&other, cert);
    assert!(!ok, "a certificate must not verify against an unrelated CA");
}

#[test]
fn certificates_with_given_keys_of_every_type() {
    for typ in ["rsa", "ecdsa", "ed25519"] {
        let out = render(&format!(
            "{{{{ $k := genPrivateKey {typ:?} }}}}{{{{ $ca := genCAWithKey \"ca\" 3 $k }}}}{{{{ $ck := genPrivateKey {typ:?} }}}}\
             {{{{ $c := genSignedCertWithKey \"leaf\" nil (list \"a.example\") 3 $ca $ck }}}}\
             {{{{ $s := genSelfSignedCertWithKey \"self\" (list \"127.0.0.1\") nil 3 $ck }}}}\
             {{{{ $k }}}}\n@@\n{{{{ $ca.Cert }}}}\n@@\n{{{{ $ca.Key }}}}\n@@\n{{{{ $ck }}}}\n@@\n{{{{ $c.Cert }}}}\n@@\n{{{{ $c.Key }}}}\n@@\n{{{{ $s.Cert }}}}"
        ))
        .unwrap();
        let p: Vec<&str> = out.split("\n@@\n").collect();
        assert_eq!(p[0], p[2], "{typ}: genCAWithKey returns the given key");
        assert_eq!(p[3], p[5], "{typ}: genSignedCertWithKey returns the given key");
        assert_key_matches(p[1], p[0]);
        assert_key_matches(p[4], p[3]);
        assert_key_matches(p[6], p[3]);
        let (ok, msg) = verify(p[1], p[4]);
        assert!(ok, "{typ}: {msg}");
        let (ok, msg) = verify(p[6], p[6]);
        assert!(ok, "{typ}: {msg}");
        assert!(cert_text(p[6]).contains("IP Address:127.0.0.1"));
    }
}

#[test]
fn pkcs8_rsa_and_ec_keys_come_back_in_sprigs_forms() {
    for (algo, header) in [
        ("RSA", "-----BEGIN RSA PRIVATE KEY-----"),
        ("EC", "-----BEGIN EC PRIVATE KEY-----"),
    ] {
        let args: &[&str] = if algo == "RSA" {
            &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        } else {
            &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]
        };
        let (ok, pkcs8) = openssl(args, "");
        assert!(ok && pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"), "{pkcs8}");
        let src = format!("{{{{ (genSelfSignedCertWithKey \"x\" nil nil 1 {pkcs8:?}).Key }}}}");
        let key = render(&src).unwrap();
        assert!(key.starts_with(header), "{key}");
        let (ok, a) = openssl(&["pkey", "-pubout"], &pkcs8);
        assert!(ok);
        let (ok, b) = openssl(&["pkey", "-pubout"], &key);
        assert!(ok);
        assert_eq!(a, b);
    }
}

#[test]
fn serials_and_times_follow_the_context() {
    let src = "{{ (genSelfSignedCertWithKey \"x\" nil nil 1 (genPrivateKey \"ed25519\")).Cert }}";
    let serial = |seed| {
        let mut ctx = Context::with_seed(seed);
        ctx.clock = Arc::new(FixedClock(Time::utc(2_600_000_000 * 1_000_000_000)));
        let text = cert_text(&render_with(src, &mut ctx).unwrap());
        assert!(
            text.contains("Not Before: May 22 14:13:20 2052 GMT"),
            "GeneralizedTime after 2049: {text}"
        );
        text.lines()
            .skip_while(|l| !l.contains("Serial Number"))
            .nth(1)
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(serial(7), serial(7));
    assert_ne!(serial(7), serial(8));
}

#[test]
fn empty_common_name_makes_the_san_critical() {
    let cert = render("{{ (genSelfSignedCert \"\" nil (list \"x.example\") 1).Cert }}").unwrap();
    let text = cert_text(&cert);
    assert!(text.contains("X509v3 Subject Alternative Name: critical"), "{text}");
    assert!(
        text.contains("Subject: \n") || text.contains("Subject:\n") || text.contains("Subject: \r"),
        "{text}"
    );
}

#[test]
fn build_custom_cert_round_trips_and_checks_its_input() {
    let out = render(
        "{{ $c := genSelfSignedCert \"x\" nil nil 1 }}{{ $b := buildCustomCert ($c.Cert | b64enc) ($c.Key | b64enc) }}{{ eq $b.Cert $c.Cert }} {{ eq $b.Key $c.Key }} {{ printf \"%T\" $b }}",
    )
    .unwrap();
    assert_eq!(out, "true true sprig.certificate");
    for (src, want) in [
        (
            "{{ buildCustomCert \"!\" \"\" }}",
            "unable to decode base64 certificate",
        ),
        (
            "{{ buildCustomCert \"\" \"!\" }}",
            "unable to decode base64 private key",
        ),
        (
            "{{ buildCustomCert (\"nope\" | b64enc) \"\" }}",
            "unable to decode certificate",
        ),
        (
            "{{ buildCustomCert (\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\" | b64enc) \"\" }}",
            "error parsing certificate: decodedCert.Bytes: x509: malformed certificate",
        ),
        (
            "{{ $c := genSelfSignedCert \"x\" nil nil 1 }}{{ buildCustomCert ($c.Cert | b64enc) (\"x\" | b64enc) }}",
            "error calling buildCustomCert: error parsing private key: no PEM data in input",
        ),
    ] {
        let err = render(src).unwrap_err();
        assert!(err.contains(want), "{src}: {err}");
    }
}

#[test]
fn bad_arguments_fail_with_sprigs_messages() {
    for (src, want) in [
        (
            "{{ genSelfSignedCert \"x\" (list 1) nil 1 }}",
            "error parsing ip: 1 is not a string",
        ),
        (
            "{{ genSelfSignedCert \"x\" (list \"1.2.3\") nil 1 }}",
            "error parsing ip: 1.2.3",
        ),
        (
            "{{ genSelfSignedCert \"x\" nil (list true) 1 }}",
            "error processing alternate dns name: true is not a string",
        ),
        (
            "{{ genSelfSignedCert \"x\" nil (list \"é.example\") 1 }}",
            "cannot be encoded as an IA5String",
        ),
        (
            "{{ genCAWithKey \"x\" 1 \"junk\" }}",
            "parsing private key: no PEM data in input",
        ),
        (
            "{{ genCAWithKey \"x\" 1 \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\" }}",
            "no private key data in PEM block of type CERTIFICATE",
        ),
        (
            "{{ genCAWithKey \"x\" 1 \"-----BEGIN FOO PRIVATE KEY-----\\nAAAA\\n-----END FOO PRIVATE KEY-----\" }}",
            "invalid private key type FOO PRIVATE KEY",
        ),
        (
            "{{ genCAWithKey \"x\" 1 \"-----BEGIN RSA PRIVATE KEY-----\\nAAAA\\n-----END RSA PRIVATE KEY-----\" }}",
            "parsing RSA private key from PEM",
        ),
        (
            "{{ genSignedCert \"x\" nil nil 1 (dict \"Cert\" \"a\") }}",
            "expected sprig.certificate; got map[string]interface {}",
        ),
        (
            "{{ $a := genCA \"a\" 1 }}{{ $b := genCA \"b\" 1 }}{{ genSignedCert \"x\" nil nil 1 (buildCustomCert ($a.Cert | b64enc) ($b.Key | b64enc)) }}",
            "error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey",
        ),
    ] {
        let err = render(src).unwrap_err();
        assert!(err.contains(want), "{src}: {err}");
    }
}

#[test]
fn certificate_objects_print_and_encode_like_go_structs() {
    let out = render("{{ $c := genSelfSignedCert \"x\" nil nil 1 }}{{ $j := $c | toJson | fromJson }}{{ eq $j.Cert $c.Cert }} {{ kindOf $c }} {{ hasPrefix \"{-----BEGIN CERTIFICATE-----\" (printf \"%v\" $c) }}").unwrap();
    assert_eq!(out, "true struct true");
}

#[test]
fn der_helpers_encode_like_go() {
    assert_eq!(
        key_usage_der(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT),
        vec![0x03, 0x02, 0x05, 0xa0]
    );
    assert_eq!(
        key_usage_der(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT | KU_CERT_SIGN),
        vec![0x03, 0x02, 0x02, 0xa4]
    );
    assert_eq!(der::integer(&[0, 0, 0x80]), vec![0x02, 0x02, 0x00, 0x80]);
    assert_eq!(der::integer(&[0, 0]), vec![0x02, 0x01, 0x00]);
    assert_eq!(der::oid(OID_COMMON_NAME), vec![0x06, 0x03, 0x55, 0x04, 0x03]);
    assert_eq!(name_der("*.x")[11], 0x0c, "an asterisk makes Go choose UTF8String");
    assert_eq!(name_der("a.x")[11], 0x13);
    let long = der::tlv(0x04, &[0u8; 300]);
    assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
    assert_eq!(der::read(&long).unwrap().1.len(), 300);
    assert!(der::read(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
    assert!(der::read(&[0x30, 0x05, 1]).is_none());
}
