//! The `flotilla` binary: parses flags, dispatches to a command, and decides the exit code.
//!
//! Everything that does work lives in the library crates; commands here only translate
//! flags into library options and library results into output.

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Dev(dev) => match dev.command {
            cli::DevCommand::Cluster(args) => cmd::dev_cluster::run(args),
        },
        cli::Command::Kustomize(args) => cmd::kustomize::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // One line, the whole cause chain: "what failed: why".
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
