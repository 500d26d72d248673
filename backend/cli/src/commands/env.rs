//! `pier env ls|set|rm`: a project's environment variables (pier-core's `project_env`), which
//! its functions and builds get from the next deploy on. Plain values are kept in the config
//! folder; a secret's value goes to the OS keychain and is never printed: `ls` masks it, and
//! `set` without a value reads it from standard input (without echo on a terminal), so it
//! stays out of the shell's history.

use std::io::{IsTerminal, Read};

use pier_core::project_env::{Change, ProjectEnvs};
use serde_json::json;

#[derive(clap::Subcommand)]
pub enum EnvCommand {
    /// List the project's variables; secrets are shown masked.
    Ls {
        /// Defaults to the current folder's project.
        #[arg(long)]
        project: Option<String>,
    },
    /// Set a variable for the project's next deploys. Without VALUE, it is read from standard
    /// input (asked for without echo on a terminal).
    Set {
        name: String,
        value: Option<String>,
        /// Keep the value in the OS keychain, and mask it in every log.
        #[arg(long)]
        secret: bool,
        /// Defaults to the current folder's project.
        #[arg(long)]
        project: Option<String>,
    },
    /// Remove a variable from the project's next deploys.
    Rm {
        name: String,
        /// Defaults to the current folder's project.
        #[arg(long)]
        project: Option<String>,
    },
}

fn project_or_folder(project: Option<String>) -> anyhow::Result<String> {
    match project {
        Some(project) => {
            pier_core::project_name::validate(&project)?;
            Ok(project)
        }
        None => Ok(pier_core::deploy::default_project(std::path::Path::new(
            ".",
        ))?),
    }
}

pub fn run(command: EnvCommand, json: bool) -> anyhow::Result<()> {
    let envs = ProjectEnvs::for_this_machine();
    match command {
        EnvCommand::Ls { project } => {
            let project = project_or_folder(project)?;
            let listed = envs.list(&project)?;
            if json {
                println!("{}", json!({ "project": project, "variables": listed }));
            } else if listed.is_empty() {
                println!("{project} has no variables; add one with `pier env set NAME VALUE`");
            } else {
                let width = listed.iter().map(|var| var.name.len()).max().unwrap_or(0);
                for var in listed {
                    let value = var
                        .value
                        .unwrap_or_else(|| format!("{} (secret)", pier_core::logs::MASK));
                    println!("{:width$}  {value}", var.name);
                }
            }
        }
        EnvCommand::Set {
            name,
            value,
            secret,
            project,
        } => {
            let project = project_or_folder(project)?;
            pier_core::project_env::validate_name(&name)?;
            let value = match value {
                Some(value) => value,
                None => read_value(&name, secret)?,
            };
            let change = envs.set(&project, &name, &value, secret)?;
            let said = match change {
                Change::Added => "added",
                Change::Updated => "updated",
                Change::Unchanged => "unchanged",
            };
            if json {
                println!(
                    "{}",
                    json!({ "project": project, "name": name, "secret": secret, "change": said })
                );
            } else {
                let kind = if secret { " (secret)" } else { "" };
                println!("{name}{kind} {said} for {project}; deploy again to give it to the site");
            }
        }
        EnvCommand::Rm { name, project } => {
            let project = project_or_folder(project)?;
            envs.remove(&project, &name)?;
            if json {
                println!("{}", json!({ "project": project, "removed": name }));
            } else {
                println!("{name} removed from {project}; deploy again to take it from the site");
            }
        }
    }
    Ok(())
}

/// A value from standard input: asked for on a terminal (without echo for a secret), else all
/// of it, less one trailing newline.
fn read_value(name: &str, secret: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let prompt = format!("Value of {name}: ");
        if secret {
            return Ok(rpassword::prompt_password(prompt)?);
        }
        eprint!("{prompt}");
        let mut line = String::new();
        stdin.read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let mut value = String::new();
    stdin.lock().read_to_string(&mut value)?;
    let trimmed = value
        .strip_suffix("\r\n")
        .or_else(|| value.strip_suffix('\n'))
        .unwrap_or(&value);
    Ok(trimmed.to_string())
}
