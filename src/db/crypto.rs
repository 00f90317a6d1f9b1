//! Purpose: secrets at rest — AES-256-GCM with a key id (for rotation) and the owning row's id as
//! associated data, so a ciphertext copied onto another row does not decrypt.
//!
//! `UMBRA_SECRET_KEY` holds one or more keys, comma-separated, the first used for new
//! ciphertexts and all of them for reading: `BASE64` or `id:BASE64` (32 bytes each, e.g.
//! `openssl rand -base64 32`). A key without an id gets one derived from the key (8 hex digits
//! of its SHA-256), so the same key always has the same id.
//!
//! Stored form: `nonce (12 bytes) || ciphertext+tag`, plus the key id in its own column.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Secret;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error(
        "{feature} needs UMBRA_SECRET_KEY (32 random bytes, base64: `openssl rand -base64 32`) to \
         encrypt what it stores; set it and restart"
    )]
    MissingKey { feature: String },
    #[error(
        "UMBRA_SECRET_KEY is malformed: {0}. Expected `BASE64` or `id:BASE64` of 32 bytes, several \
         separated by commas (the first encrypts)"
    )]
    Malformed(String),
    #[error("no key with id `{0}` in UMBRA_SECRET_KEY: add the old key after the current one")]
    UnknownKeyId(String),
    #[error("ciphertext is corrupt or belongs to another row")]
    Decrypt,
}

/// An encrypted value and the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

/// The configured keys.
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// Parses `UMBRA_SECRET_KEY`'s value.
    pub fn parse(value: &Secret<String>) -> Result<Self, CryptoError> {
        let mut keys = Vec::new();
        for (index, part) in value.expose().split(',').map(str::trim).enumerate() {
            if part.is_empty() {
                continue;
            }
            let (id, b64) = match part.split_once(':') {
                Some((id, b64)) => (Some(id.trim().to_owned()), b64.trim()),
                None => (None, part),
            };
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| CryptoError::Malformed(format!("key #{} is not base64", index + 1)))?;
            if raw.len() != 32 {
                return Err(CryptoError::Malformed(format!(
                    "key #{} is {} bytes, not 32",
                    index + 1,
                    raw.len()
                )));
            }
            let id = match id {
                Some(id) if !id.is_empty() => id,
                Some(_) => {
                    return Err(CryptoError::Malformed(format!(
                        "key #{} has an empty id",
                        index + 1
                    )));
                }
                None => hex::encode(&Sha256::digest(&raw)[..4]),
            };
            if keys.iter().any(|(existing, _)| *existing == id) {
                return Err(CryptoError::Malformed(format!(
                    "key id `{id}` appears twice"
                )));
            }
            let cipher = Aes256Gcm::new_from_slice(&raw)
                .map_err(|_| CryptoError::Malformed(format!("key #{} is unusable", index + 1)))?;
            keys.push((id, cipher));
        }
        if keys.is_empty() {
            return Err(CryptoError::Malformed("no key given".into()));
        }
        Ok(Self { keys })
    }

    /// The keyring, or the error a feature reports when it cannot start without one.
    pub fn require<'a>(
        keyring: Option<&'a Keyring>,
        feature: &str,
    ) -> Result<&'a Keyring, CryptoError> {
        keyring.ok_or_else(|| CryptoError::MissingKey {
            feature: feature.to_owned(),
        })
    }

    /// The id of the key new ciphertexts use.
    pub fn current_key_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Encrypts `plaintext` for column `column` of the row `row_id` (both are the associated
    /// data: the ciphertext opens neither in another row nor in another column).
    pub fn seal_column(&self, row_id: Uuid, column: &str, plaintext: &[u8]) -> Sealed {
        self.seal_with(&column_aad(row_id, column), plaintext)
    }

    /// Decrypts a value sealed with [`Keyring::seal_column`] for the same row and column.
    pub fn open_column(
        &self,
        row_id: Uuid,
        column: &str,
        sealed: &Sealed,
    ) -> Result<Vec<u8>, CryptoError> {
        self.open_with(&column_aad(row_id, column), sealed)
    }

    /// Encrypts `plaintext` for the row `row_id` with the current key.
    pub fn seal(&self, row_id: Uuid, plaintext: &[u8]) -> Sealed {
        self.seal_with(row_id.as_bytes(), plaintext)
    }

    fn seal_with(&self, aad: &[u8], plaintext: &[u8]) -> Sealed {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encrypts any input shorter than 64 GiB");
        let mut bytes = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&ciphertext);
        Sealed {
            key_id: id.clone(),
            bytes,
        }
    }

    /// `value` as JSON sealed for `purpose` (the associated data: a text of one purpose never
    /// opens as another), written as URL-safe text (`key id.ciphertext`, both base64url): for
    /// cookies and links. `None` if the value does not serialize.
    pub fn seal_text<T: serde::Serialize>(&self, purpose: Uuid, value: &T) -> Option<String> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let json = serde_json::to_vec(value).ok()?;
        let sealed = self.seal(purpose, &json);
        Some(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(sealed.key_id.as_bytes()),
            URL_SAFE_NO_PAD.encode(&sealed.bytes)
        ))
    }

    /// Opens a text sealed by [`Keyring::seal_text`] for `purpose` (`None`: forged, foreign,
    /// unreadable or not a `T`).
    pub fn open_text<T: serde::de::DeserializeOwned>(
        &self,
        purpose: Uuid,
        text: &str,
    ) -> Option<T> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (key, bytes) = text.split_once('.')?;
        let sealed = Sealed {
            key_id: String::from_utf8(URL_SAFE_NO_PAD.decode(key).ok()?).ok()?,
            bytes: URL_SAFE_NO_PAD.decode(bytes).ok()?,
        };
        let json = self.open(purpose, &sealed).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// Decrypts a value sealed for `row_id`.
    pub fn open(&self, row_id: Uuid, sealed: &Sealed) -> Result<Vec<u8>, CryptoError> {
        self.open_with(row_id.as_bytes(), sealed)
    }

    fn open_with(&self, aad: &[u8], sealed: &Sealed) -> Result<Vec<u8>, CryptoError> {
        let cipher = self
            .keys
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .map(|(_, c)| c)
            .ok_or_else(|| CryptoError::UnknownKeyId(sealed.key_id.clone()))?;
        if sealed.bytes.len() < NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_LEN);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// The associated data of a column-bound value: the row id, then the column's name.
fn column_aad(row_id: Uuid, column: &str) -> Vec<u8> {
    let mut aad = row_id.as_bytes().to_vec();
    aad.push(b':');
    aad.extend_from_slice(column.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_bound_value_opens_only_in_its_row_and_column() {
        let ring = ring(&key(4));
        let row = Uuid::now_v7();
        let sealed = ring.seal_column(row, "billing_key_enc", b"bk_123");
        assert_eq!(
            ring.open_column(row, "billing_key_enc", &sealed),
            Ok(b"bk_123".to_vec())
        );
        assert_eq!(
            ring.open_column(row, "other_column", &sealed),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(
            ring.open_column(Uuid::now_v7(), "billing_key_enc", &sealed),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(ring.open(row, &sealed), Err(CryptoError::Decrypt));
    }

    fn key(byte: u8) -> String {
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    }

    fn ring(value: &str) -> Keyring {
        Keyring::parse(&Secret::new(value.to_owned())).expect("valid test key")
    }

    #[test]
    fn a_sealed_value_opens_for_the_same_row() {
        let ring = ring(&key(1));
        let row = Uuid::now_v7();
        let sealed = ring.seal(row, b"billing-key-123");
        assert_ne!(sealed.bytes, b"billing-key-123");
        assert_eq!(ring.open(row, &sealed), Ok(b"billing-key-123".to_vec()));
    }

    #[test]
    fn a_sealed_value_does_not_open_for_another_row() {
        let ring = ring(&key(1));
        let sealed = ring.seal(Uuid::now_v7(), b"secret");
        assert_eq!(
            ring.open(Uuid::now_v7(), &sealed),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn a_rotated_keyring_still_opens_old_values_and_seals_with_the_new_key() {
        let old = ring(&format!("old:{}", key(1)));
        let row = Uuid::now_v7();
        let sealed = old.seal(row, b"token");
        let rotated = ring(&format!("new:{},old:{}", key(2), key(1)));
        assert_eq!(rotated.open(row, &sealed), Ok(b"token".to_vec()));
        assert_eq!(rotated.seal(row, b"x").key_id, "new");
    }

    #[test]
    fn a_key_of_the_wrong_length_is_refused_with_the_reason() {
        let err = Keyring::parse(&Secret::new("c2hvcnQ=".into())).err();
        assert!(matches!(err, Some(CryptoError::Malformed(m)) if m.contains("not 32")));
    }

    #[test]
    fn a_feature_without_a_key_says_how_to_make_one() {
        let err = Keyring::require(None, "billing")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|m| m.contains("billing") && m.contains("openssl rand")));
    }

    #[test]
    fn a_tampered_ciphertext_does_not_open() {
        let ring = ring(&key(3));
        let row = Uuid::now_v7();
        let mut sealed = ring.seal(row, b"value");
        let last = sealed.bytes.len() - 1;
        sealed.bytes[last] ^= 1;
        assert_eq!(ring.open(row, &sealed), Err(CryptoError::Decrypt));
    }
}
