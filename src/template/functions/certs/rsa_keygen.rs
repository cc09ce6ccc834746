//! RSA key generation for `genPrivateKey "rsa"` (4096 bits) and the 2048-bit keys of `genCA`,
//! `genSelfSignedCert` and `genSignedCert`.
//!
//! The arithmetic and the primality decision are AWS-LC's (the same library aws-lc-rs wraps); what
//! this module adds is speed, because charts that generate keys spend nearly all their render time
//! here. `RsaKeyPair::generate` tests random candidates one by one, trial-dividing each by ~1,000
//! small primes and running a blinded Miller-Rabin on every survivor. Here instead:
//!
//! - candidates are `start + 2k` for one random `start`, sieved at once against every prime below
//!   2^16 (and against `p ≡ 1 (mod 65537)`, which would make `e` non-invertible), so far fewer
//!   candidates reach a modular exponentiation;
//! - a survivor must pass a base-2 Fermat test (one variable-time exponentiation) before AWS-LC's
//!   `BN_primality_test` with `BN_prime_checks_for_generation` decides, so only primes pay for the
//!   full blinded test;
//! - all cores search at once and the first two primes found become `p` and `q`.
//!
//! The key is assembled and validated by `RSA_new_private_key` and serialised by AWS-LC as PKCS#1.

use std::ffi::c_int;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use aws_lc_sys as sys;

/// The public exponent Go (and every other RSA implementation of note) uses.
const E: u64 = 65537;

/// A generated key as PKCS#1 `RSAPrivateKey` DER.
pub(super) fn generate_pkcs1(bits: usize) -> Result<Vec<u8>, String> {
    if bits < 512 || !bits.is_multiple_of(16) {
        return Err(format!("crypto/rsa: unsupported key size {bits}"));
    }
    loop {
        let (p, q) = two_primes(bits / 2)?;
        if let Some(der) = assemble(&p, &q, bits)? {
            return Ok(der);
        }
    }
}

/// Two distinct primes of exactly `bits` bits (top two bits set, so `p·q` has `2·bits` bits),
/// found by racing one searcher per core.
fn two_primes(bits: usize) -> Result<(Vec<u8>, Vec<u8>), String> {
    let found: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    let done = AtomicBool::new(false);
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let search = || {
        while !done.load(Ordering::Relaxed) {
            match find_prime(bits, &done) {
                Ok(Some(prime)) => {
                    let mut primes = found.lock().unwrap_or_else(|e| e.into_inner());
                    if primes.len() < 2 && !primes.contains(&prime) {
                        primes.push(prime);
                    }
                    if primes.len() == 2 {
                        done.store(true, Ordering::Relaxed);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                    done.store(true, Ordering::Relaxed);
                }
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..workers {
            scope.spawn(search);
        }
        search();
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let mut primes = found.into_inner().unwrap_or_else(|e| e.into_inner());
    match (primes.pop(), primes.pop()) {
        (Some(p), Some(q)) => Ok((p, q)),
        _ => Err("crypto/rsa: prime search ended without two primes".into()),
    }
}

/// Primes below 2^16 except 2: the sieve's divisors.
fn small_primes() -> &'static [u32] {
    static PRIMES: OnceLock<Vec<u32>> = OnceLock::new();
    PRIMES.get_or_init(|| {
        const LIMIT: usize = 1 << 16;
        let mut composite = vec![false; LIMIT];
        let mut primes = Vec::new();
        for n in 2..LIMIT {
            if !composite[n] {
                if n > 2 {
                    primes.push(n as u32);
                }
                let mut m = n * n;
                while m < LIMIT {
                    composite[m] = true;
                    m += n;
                }
            }
        }
        primes
    })
}

/// `value mod m` for a big-endian byte string.
fn residue(bytes: &[u8], m: u64) -> u64 {
    let mut r: u64 = 0;
    for chunk in bytes.chunks(4) {
        let mut word: u64 = 0;
        for &b in chunk {
            word = (word << 8) | u64::from(b);
        }
        r = ((r << (8 * chunk.len())) | word) % m;
    }
    r
}

/// One sieve window from a fresh random start: the first probable prime in it, or `None` when the
/// window holds none (or the search was called off).
fn find_prime(bits: usize, done: &AtomicBool) -> Result<Option<Vec<u8>>, String> {
    let ctx = Ctx::new()?;
    let start = Bn::new()?;
    // SAFETY: `start` is a valid BIGNUM; the constants are AWS-LC's.
    check(
        unsafe { sys::BN_rand(start.0, bits as c_int, sys::BN_RAND_TOP_TWO, sys::BN_RAND_BOTTOM_ODD) },
        "BN_rand",
    )?;
    let len = bits.div_ceil(8);
    let bytes = start.to_bytes(len)?;

    // Candidates are start + 2k for k in 0..window; `sieve[k]` marks the ones with a small factor.
    let window = bits * 2;
    let mut sieve = vec![false; window];
    for &p in small_primes() {
        let p = u64::from(p);
        let r = residue(&bytes, p);
        // First k with r + 2k ≡ 0 (mod p): k ≡ -r · 2⁻¹, and 2⁻¹ = (p + 1) / 2 for odd p.
        let mut k = ((p - r) % p * p.div_ceil(2) % p) as usize;
        while k < window {
            sieve[k] = true;
            k += p as usize;
        }
    }
    // Exclude p ≡ 1 (mod e): gcd(e, p - 1) must be 1 for d to exist.
    let re = residue(&bytes, E);
    let mut k = ((E + 1 - re) % E * E.div_ceil(2) % E) as usize;
    while k < window {
        sieve[k] = true;
        k += E as usize;
    }

    let candidate = Bn::new()?;
    let exponent = Bn::new()?;
    let two = Bn::from_word(2)?;
    let result = Bn::new()?;
    for (k, _) in sieve.iter().enumerate().filter(|(_, composite)| !**composite) {
        if done.load(Ordering::Relaxed) {
            return Ok(None);
        }
        // SAFETY: all pointers are valid BIGNUMs / BN_CTX owned by this frame.
        unsafe {
            check_ptr(sys::BN_copy(candidate.0, start.0), "BN_copy")?;
            check(sys::BN_add_word(candidate.0, 2 * k as sys::BN_ULONG), "BN_add_word")?;
            if sys::BN_num_bits(candidate.0) as usize != bits {
                return Ok(None);
            }
            // Fermat base 2: 2^(n-1) ≡ 1 (mod n) for every prime n; most composites fail here.
            check_ptr(sys::BN_copy(exponent.0, candidate.0), "BN_copy")?;
            check(sys::BN_sub_word(exponent.0, 1), "BN_sub_word")?;
            check(
                sys::BN_mod_exp_mont(result.0, two.0, exponent.0, candidate.0, ctx.0, ptr::null()),
                "BN_mod_exp_mont",
            )?;
            if sys::BN_is_one(result.0) != 1 {
                continue;
            }
            let mut prime: c_int = 0;
            check(
                sys::BN_primality_test(
                    &mut prime,
                    candidate.0,
                    sys::BN_prime_checks_for_generation,
                    ctx.0,
                    0,
                    ptr::null_mut(),
                ),
                "BN_primality_test",
            )?;
            if prime == 1 {
                return candidate.to_bytes(len).map(Some);
            }
        }
    }
    Ok(None)
}

/// n = p·q, d = e⁻¹ mod (p-1)(q-1) and the CRT values; AWS-LC checks the key and writes PKCS#1.
/// `None` when p and q are too close (FIPS 186-4 B.3.3 5.4: |p - q| > 2^(bits/2 - 100)), which
/// calls for new primes.
fn assemble(p: &[u8], q: &[u8], bits: usize) -> Result<Option<Vec<u8>>, String> {
    let ctx = Ctx::new()?;
    let (p, q) = (Bn::from_bytes(p)?, Bn::from_bytes(q)?);
    let e = Bn::from_word(E)?;
    let (n, p1, q1, phi, d, dmp1, dmq1) = (
        Bn::new()?,
        Bn::new()?,
        Bn::new()?,
        Bn::new()?,
        Bn::new()?,
        Bn::new()?,
        Bn::new()?,
    );
    let (iqmp, diff) = (Bn::new()?, Bn::new()?);
    // SAFETY: every pointer is a valid BIGNUM / BN_CTX owned by this frame; RSA_new_private_key
    // copies its arguments and the returned RSA and DER buffer are freed below.
    unsafe {
        check(sys::BN_sub(diff.0, p.0, q.0), "BN_sub")?;
        if (sys::BN_num_bits(diff.0) as usize) <= bits / 2 - 100 {
            return Ok(None);
        }
        check(sys::BN_mul(n.0, p.0, q.0, ctx.0), "BN_mul")?;
        if sys::BN_num_bits(n.0) as usize != bits {
            return Err(format!(
                "crypto/rsa: generated modulus has {} bits, not {bits}",
                sys::BN_num_bits(n.0)
            ));
        }
        check_ptr(sys::BN_copy(p1.0, p.0), "BN_copy")?;
        check(sys::BN_sub_word(p1.0, 1), "BN_sub_word")?;
        check_ptr(sys::BN_copy(q1.0, q.0), "BN_copy")?;
        check(sys::BN_sub_word(q1.0, 1), "BN_sub_word")?;
        check(sys::BN_mul(phi.0, p1.0, q1.0, ctx.0), "BN_mul")?;
        check_ptr(sys::BN_mod_inverse(d.0, e.0, phi.0, ctx.0), "BN_mod_inverse")?;
        check(sys::BN_div(ptr::null_mut(), dmp1.0, d.0, p1.0, ctx.0), "BN_div")?;
        check(sys::BN_div(ptr::null_mut(), dmq1.0, d.0, q1.0, ctx.0), "BN_div")?;
        check_ptr(sys::BN_mod_inverse(iqmp.0, q.0, p.0, ctx.0), "BN_mod_inverse")?;
        let rsa = sys::RSA_new_private_key(n.0, e.0, d.0, p.0, q.0, dmp1.0, dmq1.0, iqmp.0);
        if rsa.is_null() {
            return Err("crypto/rsa: AWS-LC rejected the generated key".into());
        }
        let mut out: *mut u8 = ptr::null_mut();
        let mut out_len: usize = 0;
        let ok = sys::RSA_private_key_to_bytes(&mut out, &mut out_len, rsa);
        sys::RSA_free(rsa);
        if ok != 1 || out.is_null() {
            return Err("crypto/rsa: AWS-LC could not encode the generated key".into());
        }
        let der = std::slice::from_raw_parts(out, out_len).to_vec();
        sys::OPENSSL_free(out.cast());
        Ok(Some(der))
    }
}

fn check(ret: c_int, what: &str) -> Result<(), String> {
    if ret == 1 {
        Ok(())
    } else {
        Err(format!("crypto/rsa: {what} failed"))
    }
}

fn check_ptr<T>(ret: *mut T, what: &str) -> Result<(), String> {
    if ret.is_null() {
        Err(format!("crypto/rsa: {what} failed"))
    } else {
        Ok(())
    }
}

/// An owned AWS-LC BIGNUM.
struct Bn(*mut sys::BIGNUM);

impl Bn {
    fn new() -> Result<Bn, String> {
        // SAFETY: BN_new has no preconditions; null is checked.
        let bn = unsafe { sys::BN_new() };
        check_ptr(bn, "BN_new")?;
        Ok(Bn(bn))
    }

    fn from_word(w: u64) -> Result<Bn, String> {
        let bn = Bn::new()?;
        // SAFETY: `bn` is a valid BIGNUM.
        check(unsafe { sys::BN_set_word(bn.0, w as sys::BN_ULONG) }, "BN_set_word")?;
        Ok(bn)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Bn, String> {
        let bn = Bn::new()?;
        // SAFETY: `bytes` is a live slice and `bn` a valid BIGNUM that BN_bin2bn fills.
        check_ptr(
            unsafe { sys::BN_bin2bn(bytes.as_ptr(), bytes.len(), bn.0) },
            "BN_bin2bn",
        )?;
        Ok(bn)
    }

    fn to_bytes(&self, len: usize) -> Result<Vec<u8>, String> {
        let mut out = vec![0u8; len];
        // SAFETY: `out` has room for `len` bytes; `self.0` is a valid BIGNUM.
        check(
            unsafe { sys::BN_bn2bin_padded(out.as_mut_ptr(), len, self.0) },
            "BN_bn2bin_padded",
        )?;
        Ok(out)
    }
}

impl Drop for Bn {
    fn drop(&mut self) {
        // SAFETY: the pointer came from BN_new and is freed once.
        unsafe { sys::BN_free(self.0) }
    }
}

/// An owned AWS-LC BN_CTX.
struct Ctx(*mut sys::BN_CTX);

impl Ctx {
    fn new() -> Result<Ctx, String> {
        // SAFETY: BN_CTX_new has no preconditions; null is checked.
        let ctx = unsafe { sys::BN_CTX_new() };
        check_ptr(ctx, "BN_CTX_new")?;
        Ok(Ctx(ctx))
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: the pointer came from BN_CTX_new and is freed once.
        unsafe { sys::BN_CTX_free(self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residues_match_u128_arithmetic() {
        let value: u128 = 0x1234_5678_9abc_def0_1122_3344_5566_7789;
        let bytes = value.to_be_bytes();
        for m in [3u64, 7, 65521, 65537] {
            assert_eq!(residue(&bytes, m), (value % u128::from(m)) as u64);
        }
    }

    #[test]
    fn small_primes_are_the_odd_primes_below_65536() {
        let primes = small_primes();
        assert_eq!(primes.first(), Some(&3));
        assert_eq!(primes.last(), Some(&65521));
        assert_eq!(primes.len(), 6541);
    }

    #[test]
    fn keys_have_the_requested_size_and_load_in_aws_lc_rs() {
        for bits in [2048, 3072] {
            let der = generate_pkcs1(bits).unwrap();
            let pair = aws_lc_rs::rsa::KeyPair::from_der(&der).unwrap();
            assert_eq!(pair.public_modulus_len() * 8, bits);
        }
    }

    #[test]
    fn two_keys_are_different() {
        let a = generate_pkcs1(1024).unwrap();
        let b = generate_pkcs1(1024).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn odd_sizes_are_refused() {
        assert!(generate_pkcs1(1000).unwrap_err().contains("unsupported key size 1000"));
    }
}
