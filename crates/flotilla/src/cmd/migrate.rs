//! `flotilla migrate -f PATH`: rewrite manifests from removed Flux API versions in place.

use std::process::ExitCode;

use flotilla_ops::migrate::{migrate_path, MigrateOptions};

use crate::cli::{GlobalArgs, MigrateArgs};
use crate::ui::{fail, Ui, EXIT_FAILURE};

pub fn run(global: GlobalArgs, args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let ui = Ui::new(global.no_color);
    let opts = MigrateOptions {
        dry_run: args.dry_run,
    };
    let reports = migrate_path(&args.path, &opts).map_err(|e| fail(EXIT_FAILURE, e.to_string()))?;
    let mut files = 0;
    let mut skipped = 0;
    for r in &reports {
        if !r.migrated.changes.is_empty() {
            files += 1;
            // Changes go to stdout: they are the command's result (with --dry-run, the plan).
            println!("{}", r.path.display());
            for c in &r.migrated.changes {
                println!("  {c}");
            }
        }
        for w in &r.migrated.warnings {
            if w.starts_with("skipped: ") {
                skipped += 1;
                continue;
            }
            ui.warning(&format!("{}: {w}", r.path.display()));
        }
    }
    if skipped > 0 {
        ui.warning(&format!(
            "{skipped} file(s) skipped: not YAML (templates?) and no Flux API versions in them"
        ));
    }
    match (files, args.dry_run) {
        (0, _) => ui.success(&format!(
            "nothing to migrate under {}: no manifests use removed Flux API versions",
            args.path.display()
        )),
        (n, true) => ui.success(&format!(
            "{n} file(s) would change (dry run: nothing written)"
        )),
        (n, false) => ui.success(&format!("{n} file(s) migrated")),
    }
    Ok(ExitCode::SUCCESS)
}
