//! Signing in with an e-mail address and a password, for the sign-in page and the API's Basic scheme alike.
//! The attempt is counted against the account and the address before the password is checked, and the check
//! waits for a hashing slot, so that neither a burst of guesses nor a burst of requests gets around the limits.

use partnerdesk_core::accounts::UserStatus;
use partnerdesk_core::credentials;
use partnerdesk_db::DbError;
use partnerdesk_db::users::{self, User};

use crate::{App, AppError};

/// What a password sign-in came to, when it was allowed to be tried.
#[derive(Debug)]
pub enum SignIn {
    Active(User),
    /// The password is right but the account is suspended.
    Suspended,
    /// No such account, no password set yet, or a wrong password: the caller is not told which.
    Mismatch,
}

/// An argon2id hash (same parameters as real ones) verified against when the account does not exist, so that
/// timing does not tell which addresses exist.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| credentials::hash_password("no such account").unwrap_or_default());

/// Checks `email` and `password` from `address` (the client's IP). `TooManyRequests` when the account or the
/// address has used up its attempts, `Overloaded` when too many checks are running already.
pub async fn with_password(app: &App, email: &str, password: &str, address: &str) -> Result<SignIn, AppError> {
    let account_key = format!("email:{}", email.trim().to_lowercase());
    let address_key = format!("ip:{address}");
    app.login_limiter
        .reserve(&[&account_key, &address_key])
        .map_err(|secs| AppError::TooManyRequests { retry_after_secs: secs })?;
    let refund = || {
        app.login_limiter.refund(&account_key);
        app.login_limiter.refund(&address_key);
    };
    let found = match lookup(app, email).await {
        Ok(found) => found,
        Err(e) => {
            refund();
            return Err(e);
        }
    };
    let hash = found
        .as_ref()
        .and_then(|(h, _)| h.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let matches = match app.hashing.verify(password.to_owned(), hash).await {
        Ok(m) => m,
        Err(e) => {
            // Not checked, so not counted: the client is told to retry.
            refund();
            return Err(e);
        }
    };
    Ok(match found {
        Some((Some(_), user)) if matches && user.status != UserStatus::Suspended => {
            app.login_limiter.succeed(&account_key);
            app.login_limiter.refund(&address_key);
            SignIn::Active(user)
        }
        Some((Some(_), _)) if matches => SignIn::Suspended,
        _ => SignIn::Mismatch,
    })
}

async fn lookup(app: &App, email: &str) -> Result<Option<(Option<String>, User)>, AppError> {
    let mut conn = app.db.conn();
    match users::by_email(&mut conn, email).await {
        Ok(u) => Ok(Some((users::password_hash(&mut conn, u.id).await?, u))),
        Err(DbError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
