//! The command line: the only module that knows clap, terminals, colours and exit codes.
//!
//! Three layers: [`args`] (what was typed) → [`settings`] (resolved) → [`commands`] (behaviour).

#![forbid(unsafe_code)]

mod args;
mod commands;
mod connect;
mod report;
mod rollback;
mod sandbox;
mod settings;
mod signals;
mod sources;
mod status;
mod template;

mod deploy;
mod drift;
mod progress;

use std::io::Write;

use clap::Parser;

pub use args::Cli;

use report::Painter;
use settings::Settings;

/// Exit codes, documented in `--help` and the README.
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const CHANGES: i32 = 2;
    pub const DRIFT: i32 = 3;
    /// SIGINT or SIGTERM: stopped cleanly (see `signals`).
    pub const INTERRUPTED: i32 = 130;
}

/// A command's failure: what to print, and the exit code.
pub type CommandResult = Result<i32, Box<dyn std::error::Error + Send + Sync + 'static>>;

fn main() {
    std::process::exit(run());
}

fn run() -> i32 {
    // `chart template` takes helm's flags (its `-f` is a values file), so it has its own parser.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("chart") && argv.get(2).map(String::as_str) == Some("template") {
        return template::chart_template_main(argv[3..].to_vec());
    }
    if argv.get(1).map(String::as_str) == Some("chart") && argv.get(2).map(String::as_str) == Some("push") {
        return sources::chart_push_main(argv[3..].to_vec());
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { exit::ERROR } else { exit::OK };
        }
    };
    let settings = match Settings::resolve(&cli.global) {
        Ok(settings) => settings,
        Err(message) => {
            let painter = Painter { color: false };
            eprintln!("{}: {message}", painter.error_label());
            return exit::ERROR;
        }
    };
    let painter = Painter { color: settings.color };
    match commands::run(cli.command, &settings, &painter) {
        Ok(code) => code,
        Err(error) => {
            if is_broken_pipe(error.as_ref()) {
                return exit::OK;
            }
            let _ = std::io::stderr().write_all(painter.error(error.as_ref()).as_bytes());
            exit::ERROR
        }
    }
}

/// `helmfire list | head` must end quietly.
fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
