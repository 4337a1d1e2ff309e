//! Key files: JSON documents holding a key pair (secret) or a public key.
//!
//! # Format
//!
//! A secret key file:
//!
//! ```json
//! {
//!   "alg": "ed25519",
//!   "public_key": "<standard base64 of the public key bytes>",
//!   "secret_seed": "<standard base64 of the 32-byte seed>",
//!   "id": "validator-0"
//! }
//! ```
//!
//! - `alg`: `"ed25519"` or `"mldsa65"`.
//! - `public_key`: the raw public key (32 or 1952 bytes), padded standard base64 (no `alg:`
//!   prefix; `alg` is its own field).
//! - `secret_seed`: the 32-byte seed the whole key pair derives from (the Ed25519 secret key, or
//!   the ML-DSA-65 FIPS 204 seed ξ). It is stored instead of the 4032-byte expanded ML-DSA key so
//!   that a file cannot hold an inconsistent secret.
//! - `id` (optional): a free-form name of the key's owner, e.g. a validator or identity id.
//!
//! No other fields are allowed. A public key file has the same shape without `secret_seed`.
//!
//! # Permissions
//!
//! [`write_key_file`] creates the file with mode `0600` from the first byte (a temporary file in
//! the same directory, then an atomic link into place), and never replaces an existing file.
//! [`load_key_file`] refuses a file whose mode grants anything to group or others (`mode & 0o077`)
//! and checks that `public_key` is the key derived from `secret_seed`.
//!
//! Unix only (the permission model is Unix's).

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize as _, Zeroizing};

use crate::sig::{Algorithm, KeyPair, PublicKey, SEED_LEN};

/// Largest key file accepted. An ML-DSA-65 key file is about 2.7 KB.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// Mode bits that must be clear on a secret key file: anything for group or others.
pub const FORBIDDEN_MODE_BITS: u32 = 0o077;

/// Errors reading or writing key files. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// An operating-system error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A secret key file is accessible to group or others.
    #[error(
        "{}: refusing to load a secret key file with mode {mode:04o}: it is accessible to group \
         or others (run `chmod 600` on it)",
        path.display()
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits (`st_mode & 0o7777`).
        mode: u32,
    },
    /// The path is not a regular file.
    #[error("{}: not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file is larger than any key file.
    #[error("{}: {size} bytes is too large for a key file", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The file is not JSON of the key file shape.
    #[error("{}: malformed key file: {message}", path.display())]
    MalformedJson {
        /// The file.
        path: PathBuf,
        /// What the JSON parser reported (never contains the secret).
        message: String,
    },
    /// A field is present but its value is unusable.
    #[error("{}: field `{field}`: {reason}", path.display())]
    InvalidField {
        /// The file.
        path: PathBuf,
        /// The JSON field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// `public_key` is not the public key derived from `secret_seed`.
    #[error("{}: public_key does not match the key derived from secret_seed", path.display())]
    KeyMismatch {
        /// The file.
        path: PathBuf,
    },
    /// [`write_key_file`] does not replace existing files.
    #[error("{}: already exists; refusing to overwrite a key file", path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// The path has no file name (e.g. `/` or `..`).
    #[error("{}: not a file path", path.display())]
    InvalidPath {
        /// The path.
        path: PathBuf,
    },
}

/// A key pair loaded from a key file.
#[derive(Debug)]
pub struct LoadedKey {
    /// The key pair.
    pub key_pair: KeyPair,
    /// The file's `id`, if any.
    pub id: Option<String>,
}

/// A public key loaded from a key file.
#[derive(Debug, Clone)]
pub struct LoadedPublicKey {
    /// The public key.
    pub public_key: PublicKey,
    /// The file's `id`, if any.
    pub id: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileJson {
    alg: String,
    public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_seed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
}

impl Drop for KeyFileJson {
    fn drop(&mut self) {
        if let Some(s) = self.secret_seed.as_mut() {
            s.zeroize();
        }
    }
}

/// Writes `key_pair` (secret) to a new file at `path` with mode `0600`.
///
/// The bytes go to a temporary `0600` file in the same directory, are synced, and the file is
/// then hard-linked to `path`, which fails if `path` exists; so the key file appears complete
/// or not at all, and is never readable by others at any point.
///
/// # Errors
/// [`KeyFileError::AlreadyExists`] if `path` exists, [`KeyFileError::InvalidPath`], or
/// [`KeyFileError::Io`].
pub fn write_key_file(
    path: impl AsRef<Path>,
    key_pair: &KeyPair,
    id: Option<&str>,
) -> Result<(), KeyFileError> {
    let path = path.as_ref();
    let public = key_pair.public();
    let doc = KeyFileJson {
        alg: key_pair.algorithm().as_str().to_string(),
        public_key: B64.encode(public.as_bytes()),
        secret_seed: Some(B64.encode(key_pair.seed())),
        id: id.map(str::to_string),
    };
    let bytes = Zeroizing::new(to_json(&doc, path)?);
    write_new_file(path, &bytes, 0o600, false)
}

/// Writes a public key file at `path` (mode `0644` less the umask), replacing any existing file
/// atomically.
///
/// # Errors
/// [`KeyFileError::InvalidPath`] or [`KeyFileError::Io`].
pub fn write_public_key_file(
    path: impl AsRef<Path>,
    public_key: &PublicKey,
    id: Option<&str>,
) -> Result<(), KeyFileError> {
    let path = path.as_ref();
    let doc = KeyFileJson {
        alg: public_key.algorithm().as_str().to_string(),
        public_key: B64.encode(public_key.as_bytes()),
        secret_seed: None,
        id: id.map(str::to_string),
    };
    let bytes = to_json(&doc, path)?;
    write_new_file(path, &bytes, 0o644, true)
}

/// Loads a secret key file, refusing files accessible to group or others.
///
/// # Errors
/// [`KeyFileError::InsecurePermissions`], [`KeyFileError::MalformedJson`] (including a missing
/// `secret_seed`), [`KeyFileError::InvalidField`], [`KeyFileError::KeyMismatch`],
/// [`KeyFileError::NotAFile`], [`KeyFileError::TooLarge`] or [`KeyFileError::Io`].
pub fn load_key_file(path: impl AsRef<Path>) -> Result<LoadedKey, KeyFileError> {
    let path = path.as_ref();
    // The mode is checked on the opened file, so it is the same file that is then read.
    let buf = read_limited(path, true)?;
    let doc = parse_json(&buf, path)?;
    let alg = parse_alg(&doc, path)?;
    let Some(seed_b64) = doc.secret_seed.as_deref() else {
        return Err(KeyFileError::MalformedJson {
            path: path.to_path_buf(),
            message: "missing field `secret_seed` (is this a public key file?)".to_string(),
        });
    };
    let seed_bytes = Zeroizing::new(
        B64.decode(seed_b64)
            .map_err(|_| invalid(path, "secret_seed", "not standard padded base64"))?,
    );
    let seed: Zeroizing<[u8; SEED_LEN]> = Zeroizing::new(
        seed_bytes
            .as_slice()
            .try_into()
            .map_err(|_| invalid(path, "secret_seed", format!("must be {SEED_LEN} bytes")))?,
    );
    let claimed = parse_public(&doc, alg, path)?;
    let key_pair = KeyPair::from_seed(alg, &seed);
    if key_pair.public() != claimed {
        return Err(KeyFileError::KeyMismatch {
            path: path.to_path_buf(),
        });
    }
    Ok(LoadedKey {
        key_pair,
        id: doc.id.clone(),
    })
}

/// Loads the public key of a public key file, or of a secret key file (whose `secret_seed` is
/// then ignored, not checked, and wiped from memory). No permission requirement.
///
/// # Errors
/// [`KeyFileError::MalformedJson`], [`KeyFileError::InvalidField`], [`KeyFileError::NotAFile`],
/// [`KeyFileError::TooLarge`] or [`KeyFileError::Io`].
pub fn load_public_key(path: impl AsRef<Path>) -> Result<LoadedPublicKey, KeyFileError> {
    let path = path.as_ref();
    let buf = read_limited(path, false)?;
    let doc = parse_json(&buf, path)?;
    let alg = parse_alg(&doc, path)?;
    let public_key = parse_public(&doc, alg, path)?;
    Ok(LoadedPublicKey {
        public_key,
        id: doc.id.clone(),
    })
}

fn invalid(path: &Path, field: &'static str, reason: impl Into<String>) -> KeyFileError {
    KeyFileError::InvalidField {
        path: path.to_path_buf(),
        field,
        reason: reason.into(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn to_json(doc: &KeyFileJson, path: &Path) -> Result<Vec<u8>, KeyFileError> {
    // Pre-sized so serialisation never reallocates and leaves copies of the seed behind.
    let mut out = Vec::with_capacity(8192);
    serde_json::to_writer_pretty(&mut out, doc).map_err(|e| KeyFileError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    out.push(b'\n');
    Ok(out)
}

fn parse_json(buf: &[u8], path: &Path) -> Result<KeyFileJson, KeyFileError> {
    serde_json::from_slice(buf).map_err(|e| KeyFileError::MalformedJson {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn parse_alg(doc: &KeyFileJson, path: &Path) -> Result<Algorithm, KeyFileError> {
    doc.alg
        .parse()
        .map_err(|e: crate::SigError| invalid(path, "alg", e.to_string()))
}

fn parse_public(doc: &KeyFileJson, alg: Algorithm, path: &Path) -> Result<PublicKey, KeyFileError> {
    let bytes = B64
        .decode(&doc.public_key)
        .map_err(|_| invalid(path, "public_key", "not standard padded base64"))?;
    PublicKey::from_bytes(alg, &bytes).map_err(|e| invalid(path, "public_key", e.to_string()))
}

/// Reads a whole (small) file into a buffer that is wiped on drop.
fn read_limited(path: &Path, secret: bool) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let meta = file.metadata().map_err(io_err(path))?;
    if !meta.is_file() {
        return Err(KeyFileError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if secret && mode & FORBIDDEN_MODE_BITS != 0 {
        return Err(KeyFileError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyFileError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    // Sized up front so the buffer never reallocates and leaves secret copies behind; `take`
    // bounds the read if the file grows meanwhile.
    let cap = usize::try_from(MAX_KEY_FILE_BYTES).unwrap_or(usize::MAX);
    let mut buf = Zeroizing::new(Vec::with_capacity(cap + 1));
    (&mut file)
        .take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(io_err(path))?;
    if buf.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(KeyFileError::TooLarge {
            path: path.to_path_buf(),
            size: buf.len() as u64,
        });
    }
    Ok(buf)
}

/// Writes `bytes` to `path` via a temporary file created with `mode` in the same directory.
/// With `replace`, the temporary file is renamed over `path`; without, it is hard-linked to
/// `path`, which fails if `path` exists.
fn write_new_file(path: &Path, bytes: &[u8], mode: u32, replace: bool) -> Result<(), KeyFileError> {
    let Some(name) = path.file_name() else {
        return Err(KeyFileError::InvalidPath {
            path: path.to_path_buf(),
        });
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".tmp.{}.{:016x}",
        std::process::id(),
        rand::rngs::OsRng.next_u64()
    ));
    let tmp = dir.join(tmp_name);

    let result = (|| {
        // `create_new` + `mode`: the file is born with these permissions (the umask can only
        // remove bits), so there is no moment when it is more open than `mode`.
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        if replace {
            fs::rename(&tmp, path).map_err(io_err(path))?;
        } else {
            fs::hard_link(&tmp, path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    KeyFileError::AlreadyExists {
                        path: path.to_path_buf(),
                    }
                } else {
                    io_err(path)(e)
                }
            })?;
            fs::remove_file(&tmp).map_err(io_err(&tmp))?;
        }
        // Make the new directory entry durable; some filesystems refuse to sync a directory,
        // which does not make the write itself fail.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        // Best effort: do not leave the temporary file (possibly holding a secret) behind.
        let _ = fs::remove_file(&tmp);
    }
    result
}
