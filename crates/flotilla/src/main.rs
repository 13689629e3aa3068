//! The `flotilla` binary: parses flags, dispatches to a command, and decides the exit code.
//!
//! Everything that does work lives in the library crates; commands here only translate
//! flags into library options and library results into output.

mod cli;
mod cmd;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let global = cli.global;
    let result = match cli.command {
        cli::Command::Dev(dev) => match dev.command {
            Some(cli::DevCommand::Cluster(args)) => cmd::dev_cluster::run(args),
            None => cmd::dev::run(dev.run),
        },
        cli::Command::Kustomize(args) => cmd::kustomize::run(args),
        cli::Command::Get(args) => cmd::get::run(global, args),
        cli::Command::Reconcile(args) => cmd::reconcile::reconcile(global, args.target),
        cli::Command::Suspend(args) => cmd::reconcile::suspend(global, args.target),
        cli::Command::Resume(args) => cmd::reconcile::resume(global, args.target, args.no_wait),
        cli::Command::Create(args) => cmd::create::run(global, *args),
        cli::Command::Export(args) => cmd::export::run(global, args),
        cli::Command::Build(args) => cmd::build::run(global, args),
        cli::Command::Diff(args) => cmd::diff::run(global, args),
        cli::Command::Bootstrap(args) => cmd::bootstrap::run(global, args),
        cli::Command::Tree(args) => cmd::tree::run(global, args),
        cli::Command::Events(args) => cmd::events::run(global, args),
        cli::Command::Version(args) => cmd::version::version(global, args),
        cli::Command::Completion(args) => cmd::version::completion(args),
        cli::Command::Install(args) => cmd::install::install(global, args),
        cli::Command::Check(args) => cmd::install::check(global, args),
        cli::Command::Uninstall(args) => cmd::install::uninstall(global, args),
        cli::Command::Migrate(args) => cmd::migrate::run(global, args),
        cli::Command::Controller(args) => cmd::controller::run(global, args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            match err.downcast_ref::<ui::Failure>() {
                Some(f) => ExitCode::from(f.code),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// One line, the whole cause chain: "what failed: why". Many library errors already
/// include their cause in their own message; a cause already said is not said twice.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let io = std::io::Error::other("Address already in use");
        let err = anyhow::Error::new(io).context("cannot listen: Address already in use");
        assert_eq!(one_line(&err), "cannot listen: Address already in use");
        let err = anyhow::anyhow!("no such file").context("reading kustomization.yaml");
        assert_eq!(one_line(&err), "reading kustomization.yaml: no such file");
    }
}
