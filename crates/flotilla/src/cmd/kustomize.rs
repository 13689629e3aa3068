//! `flotilla kustomize`: build a kustomization directory like `kubectl kustomize`.

use std::process::ExitCode;

use anyhow::Context;
use flotilla_kustomize::{BuildOptions, LoadRestrictor};

use crate::cli::KustomizeArgs;

pub fn run(args: KustomizeArgs) -> anyhow::Result<ExitCode> {
    let load_restrictor = LoadRestrictor::parse(&args.load_restrictor).with_context(|| {
        format!(
            "invalid --load-restrictor {:?}: use LoadRestrictionsRootOnly or LoadRestrictionsNone",
            args.load_restrictor
        )
    })?;
    let opts = BuildOptions {
        load_restrictor,
        enable_remote: args.enable_remote,
        ..BuildOptions::default()
    };
    let out = flotilla_kustomize::build(&args.dir, &opts)?;
    // Warnings come after the output, as kubectl prints them (stderr, unbuffered).
    let text = flotilla_yaml::to_string_multi(&out.objects);
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
    }
    for w in &out.warnings {
        eprintln!("{w}");
    }
    Ok(ExitCode::SUCCESS)
}
