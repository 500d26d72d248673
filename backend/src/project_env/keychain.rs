//! Secret values in the OS keychain: the Keychain on macOS and the Credential Manager on
//! Windows (through `keyring`'s native stores), and on Linux the kernel's key retention
//! service: one `user` key per variable, `pier-env:<project>/<NAME>`, in the user's own keyring
//! (`@u`), readable by the user's processes only. It needs no D-Bus session, so it works on a
//! headless machine and in a container; the kernel keeps it in memory, so it lasts until
//! reboot (the user keyring goes when the user's last process does).
//!
//! The user keyring is used directly, not through `keyring`'s keyutils store: that one keeps
//! keys in the calling process's session keyring, which a container or a CLI started from a
//! fresh session makes anew for each process, so the next `pier` never saw the value.

use super::{EnvError, SecretVault};

#[derive(Debug, Clone, Copy, Default)]
pub struct KeychainVault;

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

    fn description(project: &str, name: &str) -> String {
        format!("pier-env:{project}/{name}")
    }

    fn missing(error: &KeyError) -> bool {
        matches!(
            error,
            KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked
        )
    }

    pub fn get(project: &str, name: &str) -> Result<Option<String>, EnvError> {
        let key = match ring()?.search(&description(project, name)) {
            Ok(key) => key,
            Err(error) if missing(&error) => return Ok(None),
            Err(error) => return Err(unavailable(format!("{error:?}"))),
        };
        let bytes = key
            .read_to_vec()
            .map_err(|e| unavailable(format!("{e:?}")))?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| unavailable("the stored value is not UTF-8"))
    }

    pub fn set(project: &str, name: &str, value: &str) -> Result<(), EnvError> {
        let key = ring()?
            .add_key(&description(project, name), value.as_bytes())
            .map_err(|e| unavailable(format!("{e:?}")))?;
        // Readable by the user's processes whichever session they run in, and no one else.
        let owner_only = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        key.set_perms(owner_only)
            .map_err(|e| unavailable(format!("{e:?}")))
    }

    pub fn delete(project: &str, name: &str) -> Result<(), EnvError> {
        match ring()?.search(&description(project, name)) {
            Ok(key) => key.invalidate().map_err(|e| unavailable(format!("{e:?}"))),
            Err(error) if missing(&error) => Ok(()),
            Err(error) => Err(unavailable(format!("{error:?}"))),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod store {
    use super::{EnvError, unavailable};

    const SERVICE: &str = "dev.pier.env";

    fn entry(project: &str, name: &str) -> Result<keyring::Entry, EnvError> {
        keyring::Entry::new(SERVICE, &format!("{project}/{name}")).map_err(unavailable)
    }

    pub fn get(project: &str, name: &str) -> Result<Option<String>, EnvError> {
        match entry(project, name)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    pub fn set(project: &str, name: &str, value: &str) -> Result<(), EnvError> {
        entry(project, name)?
            .set_password(value)
            .map_err(unavailable)
    }

    pub fn delete(project: &str, name: &str) -> Result<(), EnvError> {
        match entry(project, name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }
}

impl SecretVault for KeychainVault {
    fn get(&self, project: &str, name: &str) -> Result<Option<String>, EnvError> {
        store::get(project, name)
    }

    fn set(&self, project: &str, name: &str, value: &str) -> Result<(), EnvError> {
        store::set(project, name, value)
    }

    fn delete(&self, project: &str, name: &str) -> Result<(), EnvError> {
        store::delete(project, name)
    }

    fn place(&self) -> String {
        "this machine's OS keychain".to_string()
    }
}
