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
pub(crate) fn generate_pkcs1(bits: usize) -> Result<Vec<u8>, String> {
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

/// Odd primes below the bound divide out candidates before any exponentiation; the survivors
/// shrink with the bound's logarithm (Mertens), the residues grow with the number of primes. A
/// 2048-bit prime (4096-bit keys) costs ~55 Fermat tests of ~3.5 ms with primes below 2^21
/// instead of ~72 below 2^16, for ~5 ms of residues per window. A 1024-bit test is ~15 times
/// cheaper and its residues only half as cheap, so 2048-bit keys stop at 2^18 (~32 tests).
fn sieve_bound(prime_bits: usize) -> usize {
    if prime_bits > 1024 { 1 << 21 } else { 1 << 18 }
}

/// The sieve's divisors, odd primes below a bound, in groups whose product fits in a u64,
/// so a candidate's residues cost one long division per limb and group rather than per prime.
/// Stored compactly (~200 KB) because key-generating charts are also the ones with the most
/// templates in memory: each prime as half its distance from the previous one (every gap below
/// 2^21 is under 512), and each group as its size.
struct SmallPrimes {
    half_gaps: Vec<u8>,
    group_sizes: Vec<u8>,
}

impl SmallPrimes {
    fn build(bound: usize) -> SmallPrimes {
        // Odd-only sieve of Eratosthenes as a bit set: bit i stands for 2i + 1.
        let half = bound / 2;
        let mut composite = vec![0u64; half.div_ceil(64)];
        let (mut half_gaps, mut group_sizes) = (Vec::new(), Vec::new());
        let (mut previous, mut product, mut size) = (1usize, 1u64, 0u8);
        for i in 1..half {
            if composite[i / 64] >> (i % 64) & 1 == 1 {
                continue;
            }
            let n = 2 * i + 1;
            let mut m = n * n / 2;
            while m < half {
                composite[m / 64] |= 1 << (m % 64);
                m += n;
            }
            half_gaps.push(((n - previous) / 2) as u8);
            previous = n;
            match product.checked_mul(n as u64) {
                Some(next) => (product, size) = (next, size + 1),
                None => {
                    group_sizes.push(size);
                    (product, size) = (n as u64, 1);
                }
            }
        }
        group_sizes.push(size);
        SmallPrimes { half_gaps, group_sizes }
    }

    /// Calls `f(product, primes)` for each group in order.
    fn for_each_group(&self, mut f: impl FnMut(u64, &[u64])) {
        let mut gaps = self.half_gaps.iter();
        let mut prime = 1u64;
        let mut group = [0u64; 16];
        for &size in &self.group_sizes {
            let primes = &mut group[..usize::from(size)];
            for slot in primes.iter_mut() {
                prime += 2 * u64::from(*gaps.next().unwrap_or(&0));
                *slot = prime;
            }
            f(primes.iter().product(), primes);
        }
    }
}

/// The odd primes below `sieve_bound(prime_bits)`, built once per bound.
fn small_primes(prime_bits: usize) -> &'static SmallPrimes {
    static SMALL: OnceLock<SmallPrimes> = OnceLock::new();
    static LARGE: OnceLock<SmallPrimes> = OnceLock::new();
    let bound = sieve_bound(prime_bits);
    let table = if bound == sieve_bound(usize::MAX) {
        &LARGE
    } else {
        &SMALL
    };
    table.get_or_init(|| SmallPrimes::build(bound))
}

/// `value mod m` for little-endian 64-bit limbs.
fn residue(limbs: &[u64], m: u64) -> u64 {
    let m = u128::from(m);
    limbs
        .iter()
        .rev()
        .fold(0u128, |r, &limb| ((r << 64) | u128::from(limb)) % m) as u64
}

/// Little-endian 64-bit limbs of a big-endian byte string.
fn limbs_of(bytes: &[u8]) -> Vec<u64> {
    bytes
        .rchunks(8)
        .map(|chunk| chunk.iter().fold(0u64, |w, &b| (w << 8) | u64::from(b)))
        .collect()
}

/// Marks `start + 2k` (k < sieve.len()) divisible by `p`, given `r = start mod p` (p odd).
fn strike(sieve: &mut [bool], r: u64, p: u64) {
    // First k with r + 2k ≡ 0 (mod p): k ≡ -r · 2⁻¹, and 2⁻¹ = (p + 1) / 2 for odd p.
    let mut k = ((p - r) % p * p.div_ceil(2) % p) as usize;
    while k < sieve.len() {
        sieve[k] = true;
        k += p as usize;
    }
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
    let start_limbs = limbs_of(&start.to_bytes(len)?);

    // Candidates are start + 2k for k in 0..window; `sieve[k]` marks the ones with a small factor.
    // Twice the expected gap between survivors that are prime, so few windows come up empty.
    let window = bits * 2;
    let mut sieve = vec![false; window];
    small_primes(bits).for_each_group(|product, primes| {
        let r = residue(&start_limbs, product);
        for &p in primes {
            strike(&mut sieve, r % p, p);
        }
    });
    // Exclude p ≡ 1 (mod e): gcd(e, p - 1) must be 1 for d to exist. (Multiples of e, itself a
    // prime below both bounds, are already struck.)
    let re = residue(&start_limbs, E);
    strike(&mut sieve, (re + E - 1) % E, E);

    let mut candidate = start_limbs.clone();
    for (k, _) in sieve.iter().enumerate().filter(|(_, composite)| !**composite) {
        if done.load(Ordering::Relaxed) {
            return Ok(None);
        }
        candidate.copy_from_slice(&start_limbs);
        if add_small(&mut candidate, 2 * k as u64) || bit_len(&candidate) != bits {
            // Carried past the requested size.
            return Ok(None);
        }
        // Fermat base 2: 2^(n-1) ≡ 1 (mod n) for every prime n; most composites fail here.
        if !fermat_base2(&candidate)? {
            continue;
        }
        let bytes = bytes_of(&candidate, len);
        let n = Bn::from_bytes(&bytes)?;
        let mut prime: c_int = 0;
        // SAFETY: all pointers are valid BIGNUMs / BN_CTX owned by this frame.
        check(
            unsafe {
                sys::BN_primality_test(
                    &mut prime,
                    n.0,
                    sys::BN_prime_checks_for_generation,
                    ctx.0,
                    0,
                    ptr::null_mut(),
                )
            },
            "BN_primality_test",
        )?;
        if prime == 1 {
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

/// Adds `w` to little-endian limbs; true when it carries out of the top limb.
fn add_small(limbs: &mut [u64], w: u64) -> bool {
    let mut carry = w;
    for limb in limbs.iter_mut() {
        if carry == 0 {
            break;
        }
        let (sum, overflow) = limb.overflowing_add(carry);
        *limb = sum;
        carry = u64::from(overflow);
    }
    carry != 0
}

/// The number of significant bits of little-endian limbs.
fn bit_len(limbs: &[u64]) -> usize {
    limbs
        .iter()
        .rposition(|&limb| limb != 0)
        .map_or(0, |i| 64 * i + 64 - limbs[i].leading_zeros() as usize)
}

/// Big-endian bytes (exactly `len` of them) of little-endian limbs.
fn bytes_of(limbs: &[u64], len: usize) -> Vec<u8> {
    let all: Vec<u8> = limbs.iter().rev().flat_map(|limb| limb.to_be_bytes()).collect();
    all[all.len() - len..].to_vec()
}

/// Whether 2^(n-1) ≡ 1 (mod n), for odd `n` (little-endian limbs, top limb non-zero).
///
/// Left-to-right square-and-double in Montgomery form: doubling a residue is a shift and at most
/// one subtraction, so a generic windowed exponentiation's multiplications (~15% of its time)
/// disappear. The squarings are AWS-LC's `bn_mul_mont`, the routine `BN_mod_exp_mont` runs.
fn fermat_base2(n: &[u64]) -> Result<bool, String> {
    let num = n.len();
    if num < 8 || !mont::AVAILABLE {
        return fermat_base2_bn(n);
    }
    let n0 = mont::n0(n[0]);
    // R mod n and 2R mod n, where R = 2^(64·num): the Montgomery forms of 1 and 2.
    let mut one = vec![0u64; num];
    one[0] = 1;
    for _ in 0..64 * num {
        double_mod(&mut one, n);
    }
    let mut r = one.clone();
    double_mod(&mut r, n);
    // n - 1 has n's top bit and bits, except bit 0, which is clear.
    for i in (0..bit_len(n) - 1).rev() {
        mont::square(&mut r, n, n0)?;
        if i > 0 && (n[i / 64] >> (i % 64)) & 1 == 1 {
            double_mod(&mut r, n);
        }
    }
    Ok(r == one)
}

/// `r = 2r mod n` for `r < n`.
fn double_mod(r: &mut [u64], n: &[u64]) {
    let mut carry = 0;
    for limb in r.iter_mut() {
        let v = *limb;
        *limb = (v << 1) | carry;
        carry = v >> 63;
    }
    // With a carry the true value is 2^(64·len) + r, and r - n (mod 2^(64·len)) is that minus n.
    if carry == 1 || !less_than(r, n) {
        let mut borrow = false;
        for (x, &y) in r.iter_mut().zip(n) {
            let (d1, b1) = x.overflowing_sub(y);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *x = d2;
            borrow = b1 || b2;
        }
    }
}

fn less_than(a: &[u64], b: &[u64]) -> bool {
    a.iter().rev().cmp(b.iter().rev()).is_lt()
}

/// The same test with AWS-LC's generic exponentiation, for sizes `bn_mul_mont` does not take.
fn fermat_base2_bn(n: &[u64]) -> Result<bool, String> {
    let ctx = Ctx::new()?;
    let modulus = Bn::from_bytes(&bytes_of(n, n.len() * 8))?;
    let (exponent, two, result) = (Bn::new()?, Bn::from_word(2)?, Bn::new()?);
    // SAFETY: all pointers are valid BIGNUMs / BN_CTX owned by this frame.
    unsafe {
        check_ptr(sys::BN_copy(exponent.0, modulus.0), "BN_copy")?;
        check(sys::BN_sub_word(exponent.0, 1), "BN_sub_word")?;
        check(
            sys::BN_mod_exp_mont(result.0, two.0, exponent.0, modulus.0, ctx.0, ptr::null()),
            "BN_mod_exp_mont",
        )?;
        Ok(sys::BN_is_one(result.0) == 1)
    }
}

/// AWS-LC's Montgomery multiplication on raw limbs. It is not in AWS-LC's public headers, which is
/// why the symbol is named with aws-lc-sys's version prefix (as `dsa.rs` does): a version bump
/// fails to link instead of calling something else.
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
mod mont {
    use std::ffi::c_int;

    pub(super) const AVAILABLE: bool = true;

    unsafe extern "C" {
        /// `rp = ap · bp · R⁻¹ mod np`, all `num` limbs, inputs below `np`; aliasing allowed.
        /// Returns 0 when it does not handle `num`.
        #[link_name = "aws_lc_0_47_0_bn_mul_mont"]
        fn bn_mul_mont(
            rp: *mut u64,
            ap: *const u64,
            bp: *const u64,
            np: *const u64,
            n0: *const u64,
            num: usize,
        ) -> c_int;
    }

    /// -n⁻¹ mod 2^64 for odd `n`, by Newton's iteration (each step doubles the correct bits).
    pub(super) fn n0(n: u64) -> u64 {
        let mut x = n; // correct to 3 bits: n·n ≡ 1 (mod 8)
        for _ in 0..5 {
            x = x.wrapping_mul(2u64.wrapping_sub(n.wrapping_mul(x)));
        }
        x.wrapping_neg()
    }

    /// `r = r² · R⁻¹ mod n`.
    pub(super) fn square(r: &mut [u64], n: &[u64], n0: u64) -> Result<(), String> {
        debug_assert_eq!(r.len(), n.len());
        let p = r.as_mut_ptr();
        // SAFETY: `r` and `n` hold `n.len()` limbs each, `r < n`, and bn_mul_mont allows `rp`,
        // `ap` and `bp` to be the same buffer.
        let ok = unsafe { bn_mul_mont(p, p, p, n.as_ptr(), &n0, n.len()) };
        if ok == 1 {
            Ok(())
        } else {
            Err("crypto/rsa: bn_mul_mont failed".into())
        }
    }
}

#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
mod mont {
    pub(super) const AVAILABLE: bool = false;

    pub(super) fn n0(_: u64) -> u64 {
        unreachable!("no bn_mul_mont on this target")
    }

    pub(super) fn square(_: &mut [u64], _: &[u64], _: u64) -> Result<(), String> {
        unreachable!("no bn_mul_mont on this target")
    }
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
        let limbs = limbs_of(&value.to_be_bytes()[3..]);
        let value = value & (u128::MAX >> 24);
        for m in [3u64, 7, 65521, 65537, u64::MAX - 58] {
            assert_eq!(residue(&limbs, m), (value % u128::from(m)) as u64);
        }
        assert_eq!(bytes_of(&limbs, 13), value.to_be_bytes()[3..].to_vec());
    }

    #[test]
    fn small_primes_are_the_odd_primes_below_the_bound_in_u64_groups() {
        let mut small = Vec::new();
        small_primes(1024).for_each_group(|_, group| small.extend_from_slice(group));
        assert_eq!(small.last(), Some(&262_139));
        assert_eq!(small.len(), 23_000 - 1); // pi(2^18) - 1
        let mut primes = Vec::new();
        small_primes(2048).for_each_group(|product, group| {
            assert_eq!(
                u128::from(product),
                group.iter().map(|&p| u128::from(p)).product::<u128>()
            );
            assert!(group.len() < 16);
            primes.extend_from_slice(group);
        });
        assert_eq!(primes[..8], [3, 5, 7, 11, 13, 17, 19, 23]);
        assert_eq!(primes.last(), Some(&2_097_143));
        assert_eq!(primes.len(), 155_610); // pi(2^21) - 1
        assert!(
            primes
                .iter()
                .all(|&p| (3..).step_by(2).take_while(|d| d * d <= p).all(|d| p % d != 0))
        );
    }

    #[test]
    fn base2_fermat_test_agrees_with_aws_lc_exponentiation() {
        for (bits, rounds) in [(512, 200), (1024, 100), (2048, 20), (2056, 10)] {
            for round in 0..rounds {
                let bn = Bn::new().unwrap();
                // SAFETY: valid BIGNUM; odd with the top bit set.
                unsafe { sys::BN_rand(bn.0, bits, sys::BN_RAND_TOP_ONE, sys::BN_RAND_BOTTOM_ODD) };
                let mut limbs = limbs_of(&bn.to_bytes(bits as usize / 8).unwrap());
                if round % 2 == 1 {
                    // Half the cases are primes, where the answer must be yes.
                    // SAFETY: valid BIGNUM and BN_CTX.
                    unsafe { sys::BN_generate_prime_ex(bn.0, bits, 0, ptr::null(), ptr::null(), ptr::null_mut()) };
                    limbs = limbs_of(&bn.to_bytes(bits as usize / 8).unwrap());
                }
                let fast = fermat_base2(&limbs).unwrap();
                assert_eq!(fast, fermat_base2_bn(&limbs).unwrap(), "{bits} bits, round {round}");
                assert!(fast || round % 2 == 0, "{bits} bits, round {round}: a prime failed");
            }
        }
        // 341 = 11 · 31 is the smallest base-2 pseudoprime: the test says yes, as Fermat's must.
        assert!(fermat_base2(&[341]).unwrap());
        assert!(!fermat_base2(&[339]).unwrap());
    }

    #[test]
    fn montgomery_inverse_is_minus_n_inverse() {
        if !mont::AVAILABLE {
            return;
        }
        for n in [1u64, 3, 0xffff_ffff_ffff_ffff, 0x9e37_79b9_7f4a_7c15] {
            assert_eq!(n.wrapping_mul(mont::n0(n)), u64::MAX, "{n:#x}");
        }
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
