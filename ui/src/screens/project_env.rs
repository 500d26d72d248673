//! The Project screen's Variables section: the project's `pier env` variables, which its
//! functions and builds get from the next deploy on. A plain value is shown; a secret is shown
//! as a mask, because its value went to the OS keychain and never comes back to the window.
//! Adding a name that exists replaces its value; removing asks nothing, as it changes no
//! deployment (the next deploy is what takes it away).

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::types::{EnvSetForm, EnvVarView};
use crate::{Ctx, bridge};

#[derive(Serialize)]
struct ProjectArgs {
    project: String,
}

#[derive(Serialize)]
struct SetArgs {
    form: EnvSetForm,
}

#[derive(Serialize)]
struct RemoveArgs {
    project: String,
    name: String,
}

#[component]
pub fn ProjectEnv(project: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let vars = RwSignal::new(Vec::<EnvVarView>::new());
    let name = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());
    let secret = RwSignal::new(false);
    let answered = move |result: Result<Vec<EnvVarView>, crate::types::UserError>| match result {
        Ok(rows) => vars.set(rows),
        Err(error) => ctx.fail(error),
    };
    {
        let project = project.clone();
        spawn_local(async move {
            answered(bridge::call("env_vars", ProjectArgs { project }).await);
        });
    }
    let add_project = project.clone();
    let add = move |_| {
        let form = EnvSetForm {
            project: add_project.clone(),
            name: name.get_untracked().trim().to_string(),
            value: value.get_untracked(),
            secret: secret.get_untracked(),
        };
        if form.name.is_empty() {
            return;
        }
        spawn_local(async move {
            let result = bridge::call("env_set", SetArgs { form }).await;
            if result.is_ok() {
                name.set(String::new());
                // The secret's value leaves the window's memory with the form.
                value.set(String::new());
                ctx.say("Saved; the project's next deploy gets it");
            }
            answered(result);
        });
    };
    let remove_project = project.clone();
    view! {
        <h2>"Variables"</h2>
        <p class="muted small">"Functions and builds get these from the next deploy on. Secret values are kept in the OS keychain and never shown again."</p>
        <table class="list" id="env-vars">
            <tbody>
                <For
                    each=move || vars.get()
                    key=|var| format!("{var:?}")
                    children=move |var| {
                        let project = remove_project.clone();
                        let var_name = var.name.clone();
                        view! {
                            <tr class="env-var" data-name=var.name.clone() data-secret=var.secret.to_string()>
                                <td><code>{var.name.clone()}</code></td>
                                <td class="env-value">{var.value.clone().unwrap_or_else(|| "•••••• (secret)".into())}</td>
                                <td class="actions">
                                    <button class="small danger env-remove" aria-label=format!("remove {}", var.name) on:click=move |_| {
                                        let args = RemoveArgs { project: project.clone(), name: var_name.clone() };
                                        spawn_local(async move { answered(bridge::call("env_remove", args).await) });
                                    }>"Remove"</button>
                                </td>
                            </tr>
                        }
                    }
                />
            </tbody>
        </table>
        <div class="row form">
            <input id="env-name" type="text" aria-label="variable name" placeholder="NAME" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            <input id="env-value" aria-label="variable value" placeholder="value" type=move || if secret.get() { "password" } else { "text" } prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
            <label class="check"><input id="env-secret" type="checkbox" prop:checked=move || secret.get() on:change=move |ev| secret.set(event_target_checked(&ev))/>" secret"</label>
            <button id="env-add" class="primary" on:click=add>"Save variable"</button>
        </div>
    }
}
