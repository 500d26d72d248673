//! A labelled text input bound to one field of a form held in a signal: the way Settings and
//! AWS setup both edit their forms.

use leptos::prelude::*;

pub fn text_field<F: Send + Sync + 'static>(
    form: RwSignal<F>,
    id: &'static str,
    label: &'static str,
    placeholder: &'static str,
    get: fn(&F) -> String,
    set: fn(&mut F, String),
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input id=id type="text" placeholder=placeholder prop:value=move || form.with(get) on:input=move |ev| {
                let value = event_target_value(&ev);
                form.update(|f| set(f, value));
            }/>
        </label>
    }
}
