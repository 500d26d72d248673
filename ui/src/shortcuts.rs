//! Keyboard shortcuts, as desktop apps have them: Ctrl+1…7 (Cmd on macOS) open the sidebar's
//! screens in their order, and Ctrl+O picks a folder to deploy, as the Deploy screen's
//! "Choose a folder…" does. Each nav button names its shortcut (`aria-keyshortcuts`, and
//! its tooltip), so screen readers and mouse users can learn them.
//!
//! Keys are read from `KeyboardEvent.key`, so they follow the keyboard's layout; a press
//! with Alt or Shift held is left to the page (text fields keep their own shortcuts).

use leptos::prelude::*;

use crate::{Ctx, Screen};

/// The sidebar's screens in order, with their button ids and labels; Ctrl+N opens the Nth.
pub fn sidebar() -> [(Screen, &'static str, &'static str); 7] {
    [
        (Screen::Projects, "nav-projects", "Projects"),
        (Screen::Deploy, "nav-deploy", "Deploy"),
        (Screen::Watch, "nav-watch", "Watch"),
        (Screen::Logs, "nav-logs", "Logs"),
        (Screen::Domains, "nav-domains", "Domains"),
        (Screen::Setup, "nav-setup", "AWS setup"),
        (Screen::Settings, "nav-settings", "Settings"),
    ]
}

/// What a shortcut does, from the key and whether the platform's command modifier is held.
#[derive(Debug, Clone, PartialEq)]
pub enum Shortcut {
    Open(Screen),
    PickFolder,
}

pub fn shortcut(key: &str, command: bool, alt_or_shift: bool) -> Option<Shortcut> {
    if !command || alt_or_shift {
        return None;
    }
    if key.eq_ignore_ascii_case("o") {
        return Some(Shortcut::PickFolder);
    }
    let index: usize = key.parse().ok()?;
    let screens = sidebar();
    let (screen, _, _) = screens.get(index.checked_sub(1)?)?;
    Some(Shortcut::Open(screen.clone()))
}

/// The modifier's name on this platform, for tooltips.
pub fn modifier() -> &'static str {
    let mac = web_sys::window()
        .and_then(|w| w.navigator().platform().ok())
        .is_some_and(|platform| platform.starts_with("Mac"));
    if mac { "Meta" } else { "Control" }
}

/// Listens for the shortcuts for as long as the window lives.
pub fn install(ctx: Ctx) {
    // Never removed: the listener lives exactly as long as the page.
    let _listener = window_event_listener(leptos::ev::keydown, move |event| {
        let command = event.ctrl_key() || event.meta_key();
        let Some(action) = shortcut(&event.key(), command, event.alt_key() || event.shift_key())
        else {
            return;
        };
        event.prevent_default();
        ctx.notice.set(None);
        match action {
            Shortcut::Open(screen) => ctx.screen.set(screen),
            Shortcut::PickFolder => {
                ctx.screen.set(Screen::Deploy);
                crate::screens::deploy::pick_and_deploy(ctx, String::new(), None);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_open_the_sidebar_screens_in_order_and_o_picks_a_folder() {
        assert_eq!(
            shortcut("1", true, false),
            Some(Shortcut::Open(Screen::Projects))
        );
        assert_eq!(
            shortcut("4", true, false),
            Some(Shortcut::Open(Screen::Logs))
        );
        assert_eq!(
            shortcut("7", true, false),
            Some(Shortcut::Open(Screen::Settings))
        );
        assert_eq!(shortcut("O", true, false), Some(Shortcut::PickFolder));
        assert_eq!(shortcut("8", true, false), None);
        assert_eq!(shortcut("0", true, false), None);
        assert_eq!(
            shortcut("1", false, false),
            None,
            "typing a digit is typing"
        );
        assert_eq!(
            shortcut("1", true, true),
            None,
            "Ctrl+Shift+1 is left alone"
        );
    }
}
