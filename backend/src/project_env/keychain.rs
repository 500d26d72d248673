//! Secrets in the OS keychain, by key: `pier env`'s values ([`KeychainVault`], keys
//! `env:<project>/<NAME>`) and the desktop's Redis password. The Keychain on macOS and the
//! Credential Manager on Windows (through `keyring`'s native stores, service `dev.pier`).
//!
//! On Linux, the session's Secret Service (GNOME Keyring, KWallet: the keyring the desktop
//! unlocks at login, kept on disk, so secrets outlive a reboot), items with the attributes
//! `service=dev.pier` and `username=<key>` (what `keyring` and `secret-tool` use). Pier never
//! makes it prompt: when there is no session bus, no Secret Service on it, or its default
//! keyring is missing or locked, secrets go to the kernel's key retention service instead: one
//! `user` key per secret, `pier-<key>`, in the user's own keyring (`@u`), readable by the
//! user's processes only. That needs no D-Bus session, so it works on a headless machine and
//! in a container; the kernel keeps it in memory, so it lasts until reboot (the user keyring
//! goes when the user's last process does). A read looks in both, the Secret Service first.
//!
//! The user keyring is used directly, not through `keyring`'s keyutils store: that one keeps
//! keys in the calling process's session keyring and also links them into the persistent
//! keyring, which containers refuse (reported as "no entry" after the value was stored), and a
//! CLI started from a fresh session gets a new session keyring each time, so the next `pier`
//! never saw the value.

use super::{EnvError, SecretVault};

fn unavailable(error: impl std::fmt::Display) -> EnvError {
    EnvError::Keychain {
        detail: error.to_string(),
    }
}

#[cfg(target_os = "linux")]
mod store {
    use super::EnvError;

    pub fn get(key: &str) -> Result<Option<String>, EnvError> {
        match super::session::get(key) {
            Ok(Some(value)) => return Ok(Some(value)),
            Ok(None) => {}
            Err(why) => tracing::debug!(%why, "no Secret Service to read; the kernel keyring"),
        }
        super::kernel::get(key)
    }

    pub fn set(key: &str, value: &str) -> Result<(), EnvError> {
        match super::session::set(key, value) {
            Ok(()) => {
                // A value kept in the kernel before would shadow nothing, but it is stale.
                let _ = super::kernel::delete(key);
                Ok(())
            }
            Err(why) => {
                tracing::debug!(%why, "no Secret Service to write; the kernel keyring");
                super::kernel::set(key, value)
            }
        }
    }

    pub fn delete(key: &str) -> Result<(), EnvError> {
        if let Err(why) = super::session::delete(key) {
            tracing::debug!(%why, "no Secret Service to delete from");
        }
        super::kernel::delete(key)
    }
}

/// The session's Secret Service over D-Bus; an `Err` says why it cannot be used.
#[cfg(target_os = "linux")]
mod session {
    use std::collections::HashMap;

    use secret_service::EncryptionType;
    use secret_service::blocking::SecretService;

    const SERVICE: &str = "dev.pier";
    const SECRETS_NAME: &str = "org.freedesktop.secrets";

    fn attributes(key: &str) -> HashMap<&str, &str> {
        HashMap::from([("service", SERVICE), ("username", key)])
    }

    /// The Secret Service, if one already runs on the session bus. One that would have to be
    /// started for Pier (D-Bus activation) is not used: started outside a desktop session it
    /// has no unlocked keyring, and a call can wait out the bus's activation timeout (25 s).
    fn connect() -> Result<SecretService<'static>, String> {
        let bus = zbus::blocking::Connection::session().map_err(|e| e.to_string())?;
        let running = zbus::blocking::fdo::DBusProxy::new(&bus)
            .map_err(|e| e.to_string())?
            .name_has_owner(
                zbus::names::BusName::try_from(SECRETS_NAME).expect("a well-formed bus name"),
            )
            .map_err(|e| e.to_string())?;
        if !running {
            return Err(format!("no {SECRETS_NAME} runs on the session bus"));
        }
        SecretService::connect_with_existing(EncryptionType::Dh, bus).map_err(|e| e.to_string())
    }

    /// The value of an unlocked item (a locked one would need a prompt).
    pub fn get(key: &str) -> Result<Option<String>, String> {
        let service = connect()?;
        let found = service
            .search_items(attributes(key))
            .map_err(|e| e.to_string())?;
        let Some(item) = found.unlocked.first() else {
            return Ok(None);
        };
        let secret = item.get_secret().map_err(|e| e.to_string())?;
        String::from_utf8(secret)
            .map(Some)
            .map_err(|_| "the stored value is not UTF-8".to_string())
    }

    pub fn set(key: &str, value: &str) -> Result<(), String> {
        let service = connect()?;
        let keyring = service
            .get_default_collection()
            .map_err(|e| format!("no default keyring: {e}"))?;
        if keyring.is_locked().map_err(|e| e.to_string())? {
            return Err("the default keyring is locked".to_string());
        }
        keyring
            .create_item(
                &format!("Pier: {key}"),
                attributes(key),
                value.as_bytes(),
                true,
                "text/plain",
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }

    pub fn delete(key: &str) -> Result<(), String> {
        let service = connect()?;
        let found = service
            .search_items(attributes(key))
            .map_err(|e| e.to_string())?;
        for item in &found.unlocked {
            item.delete().map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// The kernel's user keyring.
#[cfg(target_os = "linux")]
mod kernel {
    use linux_keyutils::{KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};

    use super::{EnvError, unavailable};

    fn ring() -> Result<KeyRing, EnvError> {
        KeyRing::from_special_id(KeyRingIdentifier::User, true)
            .map_err(|e| unavailable(format!("{e:?}")))
    }

    fn description(key: &str) -> String {
        format!("pier-{key}")
    }

    fn missing(error: &KeyError) -> bool {
        matches!(
            error,
            KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked
        )
    }

    pub fn get(key: &str) -> Result<Option<String>, EnvError> {
        let found = match ring()?.search(&description(key)) {
            Ok(found) => found,
            Err(error) if missing(&error) => return Ok(None),
            Err(error) => return Err(unavailable(format!("{error:?}"))),
        };
        let bytes = found
            .read_to_vec()
            .map_err(|e| unavailable(format!("{e:?}")))?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| unavailable("the stored value is not UTF-8"))
    }

    pub fn set(key: &str, value: &str) -> Result<(), EnvError> {
        let added = ring()?
            .add_key(&description(key), value.as_bytes())
            .map_err(|e| unavailable(format!("{e:?}")))?;
        // Readable by the user's processes whichever session they run in, and no one else.
        let owner_only = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        added
            .set_perms(owner_only)
            .map_err(|e| unavailable(format!("{e:?}")))
    }

    pub fn delete(key: &str) -> Result<(), EnvError> {
        match ring()?.search(&description(key)) {
            Ok(found) => found
                .invalidate()
                .map_err(|e| unavailable(format!("{e:?}"))),
            Err(error) if missing(&error) => Ok(()),
            Err(error) => Err(unavailable(format!("{error:?}"))),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod store {
    use super::{EnvError, unavailable};

    const SERVICE: &str = "dev.pier";

    fn entry(key: &str) -> Result<keyring::Entry, EnvError> {
        keyring::Entry::new(SERVICE, key).map_err(unavailable)
    }

    pub fn get(key: &str) -> Result<Option<String>, EnvError> {
        match entry(key)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    pub fn set(key: &str, value: &str) -> Result<(), EnvError> {
        entry(key)?.set_password(value).map_err(unavailable)
    }

    pub fn delete(key: &str) -> Result<(), EnvError> {
        match entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }
}

pub use store::{delete, get, set};

/// `pier env`'s secrets in the keychain.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeychainVault;

fn env_key(project: &str, name: &str) -> String {
    format!("env:{project}/{name}")
}

impl SecretVault for KeychainVault {
    fn get(&self, project: &str, name: &str) -> Result<Option<String>, EnvError> {
        get(&env_key(project, name))
    }

    fn set(&self, project: &str, name: &str, value: &str) -> Result<(), EnvError> {
        set(&env_key(project, name), value)
    }

    fn delete(&self, project: &str, name: &str) -> Result<(), EnvError> {
        delete(&env_key(project, name))
    }

    fn place(&self) -> String {
        "this machine's OS keychain".to_string()
    }
}
