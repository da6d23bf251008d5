//! `[component.<id>.build]`: runs each component's build command, as `spin build` does, in its
//! `workdir` (relative to the manifest folder), one progress line per component.

use crate::manifest::Manifest;
use anyhow::{Context, Result, bail};
use std::process::Command;

pub fn build_all(manifest: &Manifest) -> Result<()> {
    for (id, component) in &manifest.components {
        let Some(build) = &component.build else {
            continue;
        };
        let workdir = match &build.workdir {
            Some(w) => manifest.dir.join(w),
            None => manifest.dir.clone(),
        };
        for command in build.command.commands() {
            eprintln!("Building component {id} with `{command}`");
            let status = shell(command)
                .current_dir(&workdir)
                .envs(&build.environment)
                .status()
                .with_context(|| {
                    format!(
                        "{}: [component.{id}.build]: cannot run `{command}` in {}",
                        manifest.path.display(),
                        workdir.display()
                    )
                })?;
            if !status.success() {
                bail!(
                    "{}: [component.{id}.build]: `{command}` failed ({status})",
                    manifest.path.display()
                );
            }
        }
    }
    eprintln!("Finished building all Spin components");
    Ok(())
}

#[cfg(unix)]
fn shell(command: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(command);
    c
}

#[cfg(not(unix))]
fn shell(command: &str) -> Command {
    let mut c = Command::new("cmd");
    c.arg("/C").arg(command);
    c
}
