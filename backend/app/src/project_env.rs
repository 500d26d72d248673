//! The Project screen's Variables section over `pier env` (pier-core's `project_env`): the
//! same env files and keychain as the CLI, so a variable set in either is seen by both and by
//! every deploy, build and watch the app runs. A secret's value goes from the form to the
//! keychain and is never sent back: the window sees its name only.

use pier_core::project_env::{Listed, ProjectEnvs};
pub use pier_wire::env::{EnvSetForm, EnvVarView};

use super::events::UserError;

fn view(listed: Listed) -> EnvVarView {
    EnvVarView {
        name: listed.name,
        secret: listed.secret,
        value: listed.value,
    }
}

fn failed(error: pier_core::project_env::EnvError) -> UserError {
    UserError::new(error.to_string(), error.hint())
}

pub fn list(envs: &ProjectEnvs, project: &str) -> Result<Vec<EnvVarView>, UserError> {
    Ok(envs
        .list(project)
        .map_err(failed)?
        .into_iter()
        .map(view)
        .collect())
}

/// Sets a variable and answers with the project's variables as they are now.
pub fn set(envs: &ProjectEnvs, form: EnvSetForm) -> Result<Vec<EnvVarView>, UserError> {
    let name = form.name.trim();
    envs.set(&form.project, name, &form.value, form.secret)
        .map_err(failed)?;
    list(envs, &form.project)
}

/// Removes a variable and answers with the project's variables as they are now.
pub fn remove(envs: &ProjectEnvs, project: &str, name: &str) -> Result<Vec<EnvVarView>, UserError> {
    envs.remove(project, name).map_err(failed)?;
    list(envs, project)
}
