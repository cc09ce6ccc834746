//! Values files (YAML, JSON, TOML) and `--set` lines. See `fuzz/targets.rs`.

#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::values(data));
