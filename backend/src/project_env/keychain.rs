//! Secrets in the OS keychain, by key: `pier env`'s values ([`KeychainVault`], keys
//! `env:<project>/<NAME>`) and the desktop's Redis password. The Keychain on macOS and the
//! Credential Manager on Windows (through `keyring`'s native stores, service `dev.pier`), and on
//! Linux the kernel's key retention service: one `user` key per secret, `pier-<key>`, in the
//! user's own keyring (`@u`), readable by the user's processes only. It needs no D-Bus session,
//! so it works on a headless machine and in a container; the kernel keeps it in memory, so it
//! lasts until reboot (the user keyring goes when the user's last process does).
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
