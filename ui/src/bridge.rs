//! The window's only way to the engine: Tauri's `invoke` for commands and `listen` for the
//! engine's events (`window.__TAURI__`, enabled by `withGlobalTauri`). Everything crosses as
//! JSON; no credential ever comes this way (the engine sends none).

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

use crate::types::UserError;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(command: &str, args: JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "event"], js_name = listen, catch)]
    async fn tauri_listen(
        event: &str,
        handler: &Closure<dyn FnMut(JsValue)>,
    ) -> Result<JsValue, JsValue>;
}

/// Calls a command; its error arrives as the engine's [`UserError`].
pub async fn call<T: DeserializeOwned>(
    command: &str,
    args: impl Serialize,
) -> Result<T, UserError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let args = args
        .serialize(&serializer)
        .map_err(|e| UserError::internal(&e.to_string()))?;
    match tauri_invoke(command, args).await {
        Ok(value) => {
            serde_wasm_bindgen::from_value(value).map_err(|e| UserError::internal(&e.to_string()))
        }
        Err(error) => Err(serde_wasm_bindgen::from_value::<UserError>(error.clone())
            .unwrap_or_else(|_| {
                UserError::internal(&error.as_string().unwrap_or_else(|| format!("{error:?}")))
            })),
    }
}

/// Calls a command whose result does not matter beyond success.
pub async fn run(command: &str, args: impl Serialize) -> Result<(), UserError> {
    call::<serde_json::Value>(command, args).await.map(drop)
}

/// Subscribes for the window's lifetime; the payload arrives as JSON.
pub fn listen<T: DeserializeOwned + 'static>(
    event: &'static str,
    mut handler: impl FnMut(T) + 'static,
) {
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |message: JsValue| {
        let started = busy_since();
        let payload =
            js_sys::Reflect::get(&message, &JsValue::from_str("payload")).unwrap_or(JsValue::NULL);
        match serde_wasm_bindgen::from_value::<T>(payload) {
            Ok(value) => handler(value),
            Err(error) => {
                web_sys::console::warn_1(&format!("unreadable {event} event: {error}").into())
            }
        }
        note_busy(event, started);
    });
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(error) = tauri_listen(event, &closure).await {
            web_sys::console::error_1(&error);
        }
        // The subscription lives as long as the window does.
        closure.forget();
    });
}

#[derive(Serialize)]
pub struct NoArgs {}

/// Now, by the page's monotonic clock (the one `requestAnimationFrame` stamps frames with).
pub fn busy_since() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or(0.0, |performance| performance.now())
}

/// Notes that `what` kept the UI thread busy from `started` until now, in
/// `window.__pierWork`, while the desktop benchmark records (boot.js makes the array when it
/// starts, beside the frame times): the benchmark reads both to say what a slow frame was
/// doing. Otherwise there is no array and nothing is kept.
pub fn note_busy(what: &str, started: f64) {
    let took = busy_since() - started;
    let Ok(work) = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("__pierWork")) else {
        return;
    };
    if let Some(work) = work.dyn_ref::<js_sys::Array>()
        && work.length() < 100_000
    {
        work.push(&js_sys::Array::of3(
            &started.into(),
            &JsValue::from_str(what),
            &took.into(),
        ));
    }
}
