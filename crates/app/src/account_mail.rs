//! The e-mails that open an account: the invitation to a provisioned account and the password reset. Their links
//! are credentials, so their text is sealed with the secret key before it is queued in the outbox, and opened only
//! by the worker at the moment it sends them: the database (and the outbox list admins see) never holds a usable
//! link. Anyone may ask for a reset; only provisioned, active accounts get one, and the answer is the same either
//! way.

use chrono::{DateTime, Duration, Utc};
use partnerdesk_core::accounts::{NO_ACCOUNT_HELP, UserStatus};
use partnerdesk_core::credentials;
use partnerdesk_core::sealing::Sealer;
use partnerdesk_core::text::escape_html;
use partnerdesk_db::outbox::{self, DeliveryKind};
use partnerdesk_db::users::{self, User};
use partnerdesk_db::{Conn, DbError};
use serde_json::json;

use crate::App;
use crate::error::AppError;

/// How long a password-reset link works.
pub const RESET_TTL_MINUTES: i64 = 60;

/// What an account e-mail is made with: where links point, the sender (for message ids), the key that seals it.
pub struct AccountMail<'a> {
    pub public_url: &'a str,
    pub mail_from: &'a str,
    pub sealer: &'a Sealer,
    /// The delivery worker of this process, woken once the mail is committed (none at the command line: the
    /// server's worker finds it on its next round).
    pub wake: Option<&'a tokio::sync::Notify>,
}

impl<'a> AccountMail<'a> {
    pub fn of(app: &'a App) -> AccountMail<'a> {
        AccountMail {
            public_url: &app.settings.public_url,
            mail_from: &app.settings.mail_from,
            sealer: &app.sealer,
            wake: Some(&app.outbox_wakeup),
        }
    }

    /// Queues the invitation to `user` (in `org_name`, if any) with its link, in the caller's transaction.
    pub async fn invitation(
        &self,
        tx: &mut Conn,
        user: &User,
        org_name: Option<&str>,
        url: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let site = self.public_url;
        let whom = org_name.map(|o| format!(" for {o}")).unwrap_or_default();
        let expires = expires_at.format("%Y-%m-%d %H:%M UTC");
        let text = format!(
            "Hello {name},\n\nA partner support account{whom} was created for you at {site}.\n\n\
             Set your password to start (the link works once, until {expires}):\n{url}\n\n\
             If you did not expect this, you can ignore this message.\n",
            name = user.name,
        );
        let html = format!(
            "<p>Hello {name},</p><p>A partner support account{whom} was created for you at {site}.</p>\
             <p><a href=\"{url}\">Set your password</a> to start (the link works once, until {expires}).</p>\
             <p style=\"color:#666\">If you did not expect this, you can ignore this message.</p>",
            name = escape_html(&user.name),
            whom = escape_html(&whom),
            site = escape_html(site),
            url = escape_html(url),
        );
        let subject = "Your partner support account";
        self.enqueue(
            tx,
            &format!("invitation-{}", key_of(url)),
            &user.email,
            subject,
            &text,
            &html,
        )
        .await
    }

    async fn reset(&self, tx: &mut Conn, user: &User, url: &str) -> Result<(), AppError> {
        let site = self.public_url;
        let text = format!(
            "Hello {name},\n\nSomeone (we hope you) asked to reset the password of your account at {site}.\n\n\
             Choose a new password here (the link works once, for {RESET_TTL_MINUTES} minutes):\n{url}\n\n\
             If it was not you, ignore this message: your password stays as it is.\n",
            name = user.name,
        );
        let html = format!(
            "<p>Hello {name},</p><p>Someone (we hope you) asked to reset the password of your account at {site}.</p>\
             <p><a href=\"{url}\">Choose a new password</a> (the link works once, for {RESET_TTL_MINUTES} minutes).</p>\
             <p style=\"color:#666\">If it was not you, ignore this message: your password stays as it is.</p>",
            name = escape_html(&user.name),
            site = escape_html(site),
            url = escape_html(url),
        );
        let subject = "Reset your partner support password";
        self.enqueue(
            tx,
            &format!("reset-{}", key_of(url)),
            &user.email,
            subject,
            &text,
            &html,
        )
        .await
    }

    async fn enqueue(
        &self,
        tx: &mut Conn,
        key: &str,
        to: &str,
        subject: &str,
        text: &str,
        html: &str,
    ) -> Result<(), AppError> {
        let domain = crate::notifications::domain_of(self.mail_from);
        let seal = |s: &str| self.sealer.seal(s).map_err(AppError::internal);
        let payload = json!({
            "to": to,
            "subject": subject,
            "sealed_text": seal(text)?,
            "sealed_html": seal(html)?,
            "message_id": format!("<{key}@{domain}>"),
            "auto_submitted": true,
        });
        outbox::enqueue(tx, DeliveryKind::Email, key, &payload).await?;
        Ok(())
    }
}

/// A key for the message that names its link without revealing it.
fn key_of(url: &str) -> String {
    crate::notifications::digest(url)
}

/// A request for a reset link for `email`, made from `address`. It is counted against both (at most 5 an hour for
/// one e-mail address, 30 from one client address), then answered at once; the work runs after the answer, so that neither the answer nor its timing tells
/// whether an account exists. `Err(seconds)` when a limit is used up.
pub fn request_reset(app: &App, email: &str, address: &str) -> Result<(), u64> {
    let email = email.trim().to_lowercase();
    // An IPv6 client holds a whole /64: counted as one, or each request could come from a fresh address.
    let client = match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => address.to_owned(),
    };
    app.reset_client_limiter.reserve(&[&client])?;
    app.reset_limiter.reserve(&[&email])?;
    let app2 = app.clone();
    app.tasks.spawn(async move {
        if let Err(e) = send_reset(&app2, &email).await {
            tracing::warn!(error = %e, "a password reset could not be queued");
        }
    });
    Ok(())
}

async fn send_reset(app: &App, email: &str) -> Result<(), AppError> {
    let user = match users::by_email(&mut app.db.conn(), email).await {
        Ok(u) => u,
        Err(DbError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    // Only provisioned accounts in use: an invited person uses their invitation, a suspended one asks staff.
    if user.status != UserStatus::Active {
        return Ok(());
    }
    let token = credentials::new_token()?;
    let expires_at = partnerdesk_db::now() + Duration::minutes(RESET_TTL_MINUTES);
    let url = app.url(&format!("/account/set-password?token={token}"));
    let mut tx = app.db.begin().await?;
    // Locked, so that two requests at the same moment leave one live link, not two.
    users::get_for_update(&mut tx, user.id).await?;
    users::add_invitation(
        &mut tx,
        &user,
        &credentials::token_digest(&token),
        expires_at,
        &user.audit_actor(),
    )
    .await?;
    AccountMail::of(app).reset(&mut tx, &user, &url).await?;
    tx.commit().await?;
    app.outbox_wakeup.notify_one();
    Ok(())
}

/// What the forgot-password page says after any request, whether or not the address has an account.
pub fn reset_answer() -> String {
    format!(
        "If that address belongs to an active partner support account, a link to choose a new password is on its \
         way; it works for {RESET_TTL_MINUTES} minutes. {NO_ACCOUNT_HELP}"
    )
}
