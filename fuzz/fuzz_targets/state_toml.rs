//! The state file as TOML (`helmfire.toml`). See `fuzz/targets.rs`.

#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::state_toml(data));
