//! Secrets at rest (partner bucket credentials): sealed with AES-256-GCM under a key derived from
//! `PARTNERDESK_SECRET_KEY` with HKDF-SHA256. Each sealed value names its key by id, so that the secret key can
//! be rotated: previous keys still open old values until they are sealed again under the current one.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the sealed value was made with key {0}, which is not configured")]
    UnknownKey(String),
    #[error("the sealed value does not open with its key (tampered, or a different secret with the same id)")]
    Corrupt,
    #[error("randomness is unavailable")]
    Random,
}

struct SealKey {
    id: String,
    cipher: Aes256Gcm,
}

impl SealKey {
    fn derive(secret: &str) -> SealKey {
        let hk = Hkdf::<Sha256>::new(Some(b"partnerdesk"), secret.as_bytes());
        let mut key = [0u8; 32];
        // 32 bytes is always a valid HKDF-SHA256 output length.
        let _ = hk.expand(b"partnerdesk secrets at rest v1", &mut key);
        let id = hex::encode(&Sha256::digest([b"partnerdesk key id:".as_slice(), &key].concat())[..4]);
        SealKey {
            id,
            cipher: Aes256Gcm::new(&key.into()),
        }
    }
}

/// Seals with the current key; opens with the current or a previous one.
pub struct Sealer {
    current: SealKey,
    previous: Vec<SealKey>,
    /// sha256 of the current secret, to derive keys for other purposes.
    secret_hash: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer(key {})", self.current.id)
    }
}

impl Sealer {
    pub fn new(secret: &str, previous: &[String]) -> Sealer {
        Sealer {
            current: SealKey::derive(secret),
            previous: previous.iter().map(|p| SealKey::derive(p)).collect(),
            secret_hash: Sha256::digest(secret.as_bytes()).into(),
        }
    }

    /// A 32-byte key for another purpose (`label`), derived from the same secret.
    pub fn derive_key(&self, label: &[u8]) -> [u8; 32] {
        let hk = Hkdf::<Sha256>::new(Some(b"partnerdesk derived"), &self.secret_hash);
        let mut key = [0u8; 32];
        let _ = hk.expand(label, &mut key);
        key
    }

    /// The id of the key new values are sealed with.
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// `v1:KEYID:NONCE:CIPHERTEXT` (base64 parts).
    pub fn seal(&self, plaintext: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Random)?;
        let ct = self
            .current
            .cipher
            .encrypt(&Nonce::from(nonce), plaintext.as_bytes())
            .map_err(|_| SealError::Random)?;
        Ok(format!(
            "v1:{}:{}:{}",
            self.current.id,
            B64.encode(nonce),
            B64.encode(ct)
        ))
    }

    /// The key id a sealed value names.
    pub fn key_of(sealed: &str) -> Option<&str> {
        sealed.split(':').nth(1)
    }

    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let parts: Vec<&str> = sealed.split(':').collect();
        let [version, id, nonce, ct] = parts.as_slice() else {
            return Err(SealError::Malformed);
        };
        if *version != "v1" {
            return Err(SealError::Malformed);
        }
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == *id)
            .ok_or_else(|| SealError::UnknownKey((*id).to_owned()))?;
        let nonce = B64.decode(nonce).map_err(|_| SealError::Malformed)?;
        let ct = B64.decode(ct).map_err(|_| SealError::Malformed)?;
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SealError::Malformed)?;
        let pt = key
            .cipher
            .decrypt(&Nonce::from(nonce), ct.as_slice())
            .map_err(|_| SealError::Corrupt)?;
        String::from_utf8(pt).map_err(|_| SealError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens() -> Result<(), SealError> {
        let s = Sealer::new("a secret key of sufficient length......", &[]);
        let sealed = s.seal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")?;
        assert!(!sealed.contains("wJalr"));
        assert_ne!(
            sealed,
            s.seal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")?,
            "fresh nonce each time"
        );
        assert_eq!(s.open(&sealed)?, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert_eq!(Sealer::key_of(&sealed), Some(s.key_id()));
        Ok(())
    }

    #[test]
    fn rotation_and_tampering() -> Result<(), SealError> {
        let old = Sealer::new("the old secret key .....................", &[]);
        let sealed = old.seal("s3cret")?;
        let new = Sealer::new(
            "the new secret key .....................",
            &["the old secret key .....................".into()],
        );
        assert_ne!(new.key_id(), old.key_id());
        assert_eq!(new.open(&sealed)?, "s3cret");
        let without = Sealer::new("the new secret key .....................", &[]);
        assert!(matches!(without.open(&sealed), Err(SealError::UnknownKey(_))));
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            old.open(&String::from_utf8(bytes).unwrap_or_default()),
            Err(SealError::Corrupt)
        );
        assert_eq!(old.open("garbage"), Err(SealError::Malformed));
        Ok(())
    }
}
