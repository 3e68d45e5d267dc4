//! Secrets that prove who someone is: argon2id password hashes and random bearer tokens (stored as sha256).
//! API tokens and invitation tokens carry 256 bits of randomness, so a fast hash is enough for them; only
//! human-chosen passwords need a slow one.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

use crate::validation::Invalid;

pub const MIN_PASSWORD_LEN: usize = 10;

#[derive(Debug, thiserror::Error)]
#[error("credential operation failed: {0}")]
pub struct CredentialError(String);

/// Checks a new password against the policy (length only: length is what makes a password strong).
pub fn check_new_password(password: &str) -> Result<(), Invalid> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Invalid::field(
            "password",
            "TooShort",
            format!("password is too short (minimum is {MIN_PASSWORD_LEN} characters)"),
        ));
    }
    if password.len() > 1024 {
        return Err(Invalid::field(
            "password",
            "TooLong",
            "password is too long (maximum is 1024 bytes)",
        ));
    }
    Ok(())
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes) into a PHC string.
pub fn hash_password(password: &str) -> Result<String, CredentialError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| CredentialError(e.to_string()))
}

/// True when `password` matches the stored PHC hash. A malformed stored hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Working memory for argon2id checks (19 MiB at the default cost), kept by a thread that checks passwords one
/// after another. Allocated afresh for every check, it is what the allocator kept: the server's resident memory
/// grew by about 19 MiB per sign-in attempt, up to 200 MiB, even with one check at a time.
#[derive(Default)]
pub struct Scratch(Vec<argon2::Block>);

/// `verify_password`, computing in `scratch` instead of allocating. A malformed stored hash never matches.
pub fn verify_password_in(scratch: &mut Scratch, password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        argon2::Algorithm::try_from(parsed.algorithm.as_str()),
        argon2::Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    if scratch.0.len() < blocks {
        scratch.0.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let hasher = Argon2::new(algorithm, version, params);
    if hasher
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut scratch.0[..blocks])
        .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    argon2::password_hash::phc::Output::new(&out).is_ok_and(|computed| &computed == expected)
}

/// A new random token: 32 bytes, hex-encoded (64 characters, URL- and header-safe).
pub fn new_token() -> Result<String, CredentialError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| CredentialError(e.to_string()))?;
    Ok(hex::encode(buf))
}

/// What is stored for a token: its sha256, hex-encoded.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() -> Result<(), CredentialError> {
        let h = hash_password("correct horse battery")?;
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("x", "not a hash"));
        let mut scratch = Scratch::default();
        assert!(verify_password_in(&mut scratch, "correct horse battery", &h));
        assert!(!verify_password_in(&mut scratch, "wrong horse battery", &h));
        assert!(
            verify_password_in(&mut scratch, "correct horse battery", &h),
            "the scratch is reused"
        );
        assert!(!verify_password_in(&mut scratch, "x", "not a hash"));
        Ok(())
    }

    #[test]
    fn tokens_are_random_and_digested() -> Result<(), CredentialError> {
        let (a, b) = (new_token()?, new_token()?);
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_digest(&a).len(), 64);
        assert_ne!(token_digest(&a), a);
        Ok(())
    }
}
