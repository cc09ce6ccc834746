//! TOML as Helm's `toToml`/`fromToml` see it (BurntSushi/toml). Filled in below.

use std::fmt;

use crate::value::Value;

/// A TOML failure with the Go library's message text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TomlError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl fmt::Display for TomlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TomlError {}

pub fn encode(_value: &Value) -> Result<String, TomlError> {
    Err(TomlError { message: "unimplemented".into(), line: None, column: None })
}
