//! The zip a Lambda version is made from: the bundle's files at the root, where the handler
//! path expects them, and Pier's entry in `___pier/` (`lambda.mjs`, `launcher.mjs` and a
//! `config.json` naming the bundle's handler). The zip is deterministic (sorted entries, fixed
//! times and modes), so one bundle always packs to the same bytes and the same `CodeSha256`.

use std::io::{Cursor, Write};

use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::LambdaError;
use crate::functions::runtime;
use crate::manifest::{FileEntry, FunctionBundle};

/// The folder of Pier's own files in every zip; a bundle may not have files there.
pub const ENTRY_FOLDER: &str = "___pier/";

/// A packed bundle.
pub struct Packed {
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256 of the zip, for its store key.
    pub sha256_hex: String,
    /// Base64 SHA-256 of the zip, as Lambda reports a version's `CodeSha256`.
    pub sha256_base64: String,
}

/// Packs `bundle`, reading each file's bytes with `read`.
pub fn pack(
    function: &str,
    bundle: &FunctionBundle,
    mut read: impl FnMut(&FileEntry) -> std::io::Result<Vec<u8>>,
) -> Result<Packed, LambdaError> {
    let failed = |detail: String| LambdaError::Package {
        function: function.to_string(),
        detail,
    };
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for file in &bundle.files {
        if file.path.starts_with(ENTRY_FOLDER) {
            return Err(failed(format!(
                "`{}` is in `{ENTRY_FOLDER}`, which Pier keeps for its own entry",
                file.path
            )));
        }
        let bytes = read(file).map_err(|e| failed(format!("`{}`: {e}", file.path)))?;
        zip.start_file(file.path.as_str(), options)
            .and_then(|()| zip.write_all(&bytes).map_err(Into::into))
            .map_err(|e| failed(e.to_string()))?;
    }
    let config = serde_json::json!({
        "handler": bundle.settings.handler,
        "helpers": bundle.settings.helpers,
    });
    let entries = [
        ("lambda.mjs", runtime::LAMBDA_ENTRY.as_bytes().to_vec()),
        ("launcher.mjs", runtime::LAUNCHER.as_bytes().to_vec()),
        ("config.json", config.to_string().into_bytes()),
    ];
    for (name, bytes) in entries {
        zip.start_file(format!("{ENTRY_FOLDER}{name}"), options)
            .and_then(|()| zip.write_all(&bytes).map_err(Into::into))
            .map_err(|e| failed(e.to_string()))?;
    }
    let bytes = zip
        .finish()
        .map_err(|e| failed(e.to_string()))?
        .into_inner();
    let digest = Sha256::digest(&bytes);
    Ok(Packed {
        sha256_hex: hex::encode(digest),
        sha256_base64: base64::engine::general_purpose::STANDARD.encode(digest),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Read;

    use super::*;
    use crate::manifest::FunctionSettings;

    fn bundle() -> FunctionBundle {
        FunctionBundle {
            settings: FunctionSettings {
                runtime: "nodejs20.x".into(),
                handler: "api/hello.js".into(),
                memory_mb: 1024,
                max_duration_secs: 10,
                environment: BTreeMap::new(),
                secrets: Vec::new(),
                env_revision: None,
                streaming: false,
                helpers: true,
            },
            files: vec![FileEntry {
                path: "api/hello.js".into(),
                size: 5,
                sha256: "00".into(),
                content_type: "text/javascript".into(),
            }],
        }
    }

    #[test]
    fn a_bundle_packs_to_the_same_bytes_every_time_with_the_entry_beside_it() {
        let read = |_: &FileEntry| Ok(b"hello".to_vec());
        let first = pack("api/hello", &bundle(), read).unwrap();
        let second = pack("api/hello", &bundle(), read).unwrap();
        assert_eq!(first.sha256_hex, second.sha256_hex);
        assert_eq!(first.bytes, second.bytes);

        let mut zip = zip::ZipArchive::new(Cursor::new(first.bytes)).unwrap();
        let mut names: Vec<String> = zip
            .file_names()
            .map(|name| name.unwrap().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "___pier/config.json",
                "___pier/lambda.mjs",
                "___pier/launcher.mjs",
                "api/hello.js"
            ]
        );
        let mut config = String::new();
        zip.by_name("___pier/config.json")
            .unwrap()
            .read_to_string(&mut config)
            .unwrap();
        assert_eq!(config, r#"{"handler":"api/hello.js","helpers":true}"#);
    }

    #[test]
    fn a_file_in_piers_own_folder_is_refused_by_name() {
        let mut bundle = bundle();
        bundle.files[0].path = "___pier/lambda.mjs".into();
        let error = pack("api/x", &bundle, |_| Ok(Vec::new()))
            .err()
            .expect("refused");
        assert!(
            error.to_string().contains("`___pier/lambda.mjs`"),
            "{error}"
        );
    }
}
