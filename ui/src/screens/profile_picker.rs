//! The AWS profile picker Settings and AWS setup share: the profiles named in
//! `~/.aws/config` and `~/.aws/credentials` (read by the engine), plus "the default chain".
//! Only names cross to the window, never a credential.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::bridge;

#[component]
pub fn ProfilePicker(
    id: &'static str,
    /// The profile chosen now; empty is the default chain.
    #[prop(into)]
    selected: Signal<String>,
    on_pick: Callback<String>,
) -> impl IntoView {
    let profiles = RwSignal::new(Vec::<String>::new());
    spawn_local(async move {
        if let Ok(names) = bridge::call::<Vec<String>>("aws_profiles", bridge::NoArgs {}).await {
            profiles.set(names);
        }
    });
    view! {
        <label class="field">
            <span>"AWS profile"</span>
            <select id=id on:change=move |ev| on_pick.run(event_target_value(&ev))>
                <option value="" selected=move || selected.with(String::is_empty)>"(the default chain)"</option>
                <For each=move || profiles.get() key=|p| p.clone() children=move |p| {
                    let value = p.clone();
                    let label = p.clone();
                    view! { <option value=p selected=move || selected.with(|s| *s == value)>{label}</option> }
                }/>
            </select>
        </label>
    }
}
