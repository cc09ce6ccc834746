//! helmfire: deploy whole Kubernetes platforms from one desired-state file.

pub mod value;

pub mod sandbox;

pub mod cli {
    //! Placeholder replaced by the foundation work.
    pub fn main() -> i32 {
        0
    }
}
