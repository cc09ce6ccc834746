//! `genPrivateKey "dsa"`: Go's `dsa.GenerateParameters(L1024N160)` and `dsa.GenerateKey`, written
//! as Sprig writes it — the ASN.1 sequence (version 0, P, Q, G, Y, X) in a `DSA PRIVATE KEY` block,
//! which is also OpenSSL's `DSAPrivateKey`. AWS-LC generates and encodes the key.

use std::ffi::{c_int, c_uint, c_ulong, c_void};
use std::ptr;

use aws_lc_sys as sys;

/// AWS-LC's DSA API. aws-lc-sys's portable ("universal") bindings, used by some builds, leave DSA
/// out although the library has it; the names carry aws-lc-sys's symbol prefix, so a version
/// bump that renames them fails at link time, not at run time.
mod ffi {
    use super::{c_int, c_uint, c_ulong, c_void};

    unsafe extern "C" {
        #[link_name = "aws_lc_0_47_0_DSA_new"]
        pub(super) fn DSA_new() -> *mut c_void;
        #[link_name = "aws_lc_0_47_0_DSA_free"]
        pub(super) fn DSA_free(dsa: *mut c_void);
        #[link_name = "aws_lc_0_47_0_DSA_generate_parameters_ex"]
        pub(super) fn DSA_generate_parameters_ex(
            dsa: *mut c_void,
            bits: c_uint,
            seed: *const u8,
            seed_len: usize,
            counter_ret: *mut c_int,
            h_ret: *mut c_ulong,
            cb: *mut c_void,
        ) -> c_int;
        #[link_name = "aws_lc_0_47_0_DSA_generate_key"]
        pub(super) fn DSA_generate_key(dsa: *mut c_void) -> c_int;
        #[link_name = "aws_lc_0_47_0_DSA_marshal_private_key"]
        pub(super) fn DSA_marshal_private_key(cbb: *mut aws_lc_sys::CBB, dsa: *const c_void) -> c_int;
    }
}

/// A fresh 1024-bit DSA key (160-bit Q) as DER.
pub(crate) fn generate_der() -> Result<Vec<u8>, String> {
    // SAFETY: every pointer is checked before use, and the DSA, the CBB and the buffer it hands
    // back are released on every path.
    unsafe {
        let dsa = ffi::DSA_new();
        if dsa.is_null() {
            return Err("DSA_new failed".into());
        }
        let result = (|| {
            if ffi::DSA_generate_parameters_ex(
                dsa,
                1024,
                ptr::null(),
                0,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            ) != 1
            {
                return Err("generating DSA parameters failed".to_string());
            }
            if ffi::DSA_generate_key(dsa) != 1 {
                return Err("generating the DSA key failed".to_string());
            }
            let mut cbb: sys::CBB = std::mem::zeroed();
            if sys::CBB_init(&mut cbb, 0) != 1 {
                return Err("CBB_init failed".to_string());
            }
            let mut out: *mut u8 = ptr::null_mut();
            let mut len: usize = 0;
            if ffi::DSA_marshal_private_key(&mut cbb, dsa) != 1 || sys::CBB_finish(&mut cbb, &mut out, &mut len) != 1 {
                sys::CBB_cleanup(&mut cbb);
                return Err("encoding the DSA key failed".to_string());
            }
            let der = std::slice::from_raw_parts(out, len).to_vec();
            sys::OPENSSL_free(out.cast());
            Ok(der)
        })();
        ffi::DSA_free(dsa);
        result
    }
}
