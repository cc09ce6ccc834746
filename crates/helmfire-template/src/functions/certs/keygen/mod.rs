//! Key generation through AWS-LC's C API: the only unsafe code in helmfire. RSA keys are
//! searched with AWS-LC's BIGNUM primitives (a sieve and Fermat tests spread over every core,
//! then the library's own primality proof), and DSA keys come from its DSA API, which
//! aws-lc-rs does not expose. Every `unsafe` block states why it is sound in a `SAFETY:` comment;
//! pointers are owned by RAII guards and freed on every path.

pub(super) mod dsa;
pub(super) mod rsa;
