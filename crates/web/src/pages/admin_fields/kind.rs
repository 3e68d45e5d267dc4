//! Which fields a page is about (ticket, organization or user fields), read from its path, and the one place the
//! pages call the service of that kind: the handlers are the same for the three kinds.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use partnerdesk_app::{AppError, profile_fields, ticket_fields};
use partnerdesk_core::custom_fields::FieldType;
use partnerdesk_db::forms;
use partnerdesk_db::profile_fields::FieldKind;

use super::draft::FieldDraft;
use crate::pages::PageError;
use crate::session::SignedIn;
use crate::state::AppState;

/// The fields an admin page defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ticket,
    Profile(FieldKind),
}

impl Kind {
    /// The kinds, in the order the pages link them.
    pub const ALL: [Kind; 3] = [
        Kind::Ticket,
        Kind::Profile(FieldKind::Organization),
        Kind::Profile(FieldKind::User),
    ];

    /// Where the kind's pages are.
    pub fn base(self) -> &'static str {
        match self {
            Kind::Ticket => "/admin/fields",
            Kind::Profile(FieldKind::Organization) => "/admin/organization_fields",
            Kind::Profile(FieldKind::User) => "/admin/user_fields",
        }
    }

    pub fn heading(self) -> &'static str {
        match self {
            Kind::Ticket => "Ticket fields",
            Kind::Profile(FieldKind::Organization) => "Organization fields",
            Kind::Profile(FieldKind::User) => "User fields",
        }
    }

    /// What carries the fields' values.
    pub fn record(self) -> &'static str {
        match self {
            Kind::Ticket => "ticket",
            Kind::Profile(FieldKind::Organization) => "organization",
            Kind::Profile(FieldKind::User) => "user",
        }
    }

    pub fn is_ticket(self) -> bool {
        self == Kind::Ticket
    }
}

/// The kind of the page asked for, by the first part of its path after `/admin/`.
impl FromRequestParts<AppState> for Kind {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Kind, PageError> {
        let path = parts.uri.path();
        Kind::ALL
            .into_iter()
            .find(|k| path == k.base() || path.starts_with(&format!("{}/", k.base())))
            .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "Not found", "There is no such page."))
    }
}

/// A field of any kind as the pages list and show it.
pub struct Loaded {
    pub id: i64,
    pub title: String,
    pub field_type: FieldType,
    pub active: bool,
    /// Organization and user fields: their key; ticket fields: the names of the forms that show it.
    pub key: String,
    pub on_forms: Vec<String>,
    pub required: bool,
    pub required_in_portal: bool,
    pub visible_in_portal: bool,
    pub editable_in_portal: bool,
    pub visible_to_end_users: bool,
    pub position: i64,
    pub options: usize,
    pub draft: FieldDraft,
}

impl Loaded {
    fn ticket(f: &partnerdesk_db::ticket_fields::TicketField) -> Loaded {
        Loaded {
            id: f.id,
            title: f.title.clone(),
            field_type: f.kind,
            active: f.active,
            key: String::new(),
            on_forms: Vec::new(),
            required: f.required,
            required_in_portal: f.required_in_portal,
            visible_in_portal: f.visible_in_portal,
            editable_in_portal: f.editable_in_portal,
            visible_to_end_users: false,
            position: f.position,
            options: f.options.len(),
            draft: FieldDraft::of(f),
        }
    }

    fn profile(f: &partnerdesk_db::profile_fields::ProfileField) -> Loaded {
        Loaded {
            id: f.id,
            title: f.title.clone(),
            field_type: f.field_type,
            active: f.active,
            key: f.key.clone(),
            on_forms: Vec::new(),
            required: false,
            required_in_portal: false,
            visible_in_portal: false,
            editable_in_portal: false,
            visible_to_end_users: f.visible_to_end_users,
            position: f.position,
            options: f.options.len(),
            draft: FieldDraft::of_profile(f),
        }
    }
}

/// Every field of the kind.
pub async fn list(state: &AppState, s: &SignedIn, kind: Kind) -> Result<Vec<Loaded>, PageError> {
    let actor = s.user.actor();
    Ok(match kind {
        Kind::Ticket => ticket_fields::list(&state.db, &actor)
            .await?
            .iter()
            .map(Loaded::ticket)
            .collect(),
        Kind::Profile(k) => profile_fields::list(&state.db, &actor, k)
            .await?
            .iter()
            .map(Loaded::profile)
            .collect(),
    })
}

/// One field of the kind (a field of another kind is not found), with the forms that show a ticket field.
pub async fn load(state: &AppState, s: &SignedIn, kind: Kind, id: i64) -> Result<Loaded, PageError> {
    let actor = s.user.actor();
    Ok(match kind {
        Kind::Ticket => {
            let mut loaded = Loaded::ticket(&ticket_fields::show(&state.db, &actor, id).await?);
            loaded.on_forms = forms::list(&mut state.db.conn())
                .await?
                .into_iter()
                .filter(|f| f.ticket_field_ids.contains(&id))
                .map(|f| f.name)
                .collect();
            loaded
        }
        Kind::Profile(k) => Loaded::profile(&profile_fields::show(&state.db, &actor, k, id).await?),
    })
}

/// Creates a field from the page's draft; answers its id. Refusals are the service's (`AppError::Invalid`).
pub async fn create(state: &AppState, s: &SignedIn, kind: Kind, draft: &FieldDraft) -> Result<i64, AppError> {
    Ok(match kind {
        Kind::Ticket => ticket_fields::create(&state.db, &s.user, &draft.input(true)?).await?.id,
        Kind::Profile(k) => {
            profile_fields::create(&state.db, &s.user, k, &draft.profile_input(true)?)
                .await?
                .id
        }
    })
}

/// Changes a field to what the page's draft holds. Refusals as for `create`.
pub async fn update(state: &AppState, s: &SignedIn, kind: Kind, id: i64, draft: &FieldDraft) -> Result<(), AppError> {
    match kind {
        Kind::Ticket => {
            ticket_fields::update(&state.db, &s.user, id, &draft.input(false)?).await?;
        }
        Kind::Profile(k) => {
            profile_fields::update(&state.db, &s.user, k, id, &draft.profile_input(false)?).await?;
        }
    }
    Ok(())
}

/// Deactivates a field or makes it active again, changing nothing else.
pub async fn set_active(state: &AppState, s: &SignedIn, kind: Kind, id: i64, active: bool) -> Result<(), PageError> {
    match kind {
        Kind::Ticket => {
            let input = ticket_fields::FieldInput {
                active: Some(active),
                ..Default::default()
            };
            ticket_fields::update(&state.db, &s.user, id, &input).await?;
        }
        Kind::Profile(k) => {
            let input = profile_fields::ProfileFieldInput {
                active: Some(active),
                ..Default::default()
            };
            profile_fields::update(&state.db, &s.user, k, id, &input).await?;
        }
    }
    Ok(())
}

/// Deletes a field with its values.
pub async fn delete(state: &AppState, s: &SignedIn, kind: Kind, id: i64) -> Result<(), PageError> {
    match kind {
        Kind::Ticket => ticket_fields::delete(&state.db, &s.user, id).await?,
        Kind::Profile(k) => profile_fields::delete(&state.db, &s.user, k, id).await?,
    }
    Ok(())
}
