//! Link the `helmfire` executable at a fixed address (`-no-pie`), as Go links helm.
//!
//! A position-independent executable is relocated by the dynamic loader at every start: it
//! writes ~180 pages of tables (vtables, string slices, function registries), each a
//! copy-on-write page fault — about 2 ms of a 20 ms chart render. A fixed-address executable
//! has those tables resolved at link time.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
