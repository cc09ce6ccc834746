//! The sandbox's request decoding: any body, content type and verb. See `fuzz/targets.rs`.

#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::sandbox_request(data));
