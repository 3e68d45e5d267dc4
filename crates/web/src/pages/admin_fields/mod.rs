//! Admin pages for custom fields of tickets (`/admin/fields`), organizations (`/admin/organization_fields`) and users
//! (`/admin/user_fields`): the list with a form to define one, and each field's page (`.../{id}`) to edit,
//! deactivate or delete it. One set of handlers and templates for the three kinds (`Kind`, read from the path), the
//! inputs only one kind has shown on its pages alone. They call the same services as `/api/v2/ticket_fields`,
//! `/organization_fields` and `/user_fields`, so a definition is checked, audited and refused with the same messages;
//! a refused form is shown again with what the admin typed and the reasons above it (422).

mod draft;
mod kind;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_app::AppError;
use partnerdesk_core::custom_fields::FieldType;
use serde::Deserialize;

use self::draft::{FieldDraft, FieldForm};
pub use self::kind::Kind;
use self::kind::Loaded;
use crate::pages::admin::admin_only;
use crate::pages::form::Form;
use crate::pages::views::Choice;
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;

/// How the pages name a field type.
pub fn type_label(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Text => "Text",
        FieldType::Textarea => "Multi-line text",
        FieldType::Checkbox => "Checkbox",
        FieldType::Date => "Date",
        FieldType::Integer => "Number (whole)",
        FieldType::Decimal => "Number (decimal)",
        FieldType::Regexp => "Text matching a pattern",
        FieldType::Tagger => "Drop-down",
        FieldType::Multiselect => "Multi-select",
    }
}

/// A refusal the page shows above the form it re-renders (any other error is an error page).
fn refusal(e: AppError, draft: &FieldDraft) -> Result<Vec<String>, PageError> {
    match e {
        AppError::Invalid(inv) => Ok(draft.messages(&inv.0)),
        other => Err(other.into()),
    }
}

/// The links between the three kinds' lists, the current one marked.
pub struct KindLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

fn kind_links(kind: Kind) -> Vec<KindLink> {
    Kind::ALL
        .into_iter()
        .map(|k| KindLink {
            href: k.base(),
            label: k.heading(),
            current: k == kind,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin_fields.html")]
struct FieldsPage {
    layout: Layout,
    kind: Kind,
    kinds: Vec<KindLink>,
    fields: Vec<Loaded>,
    types: Vec<Choice>,
    draft: FieldDraft,
    errors: Vec<String>,
    notice: Option<String>,
    is_new: bool,
}

impl FieldsPage {
    fn type_label(&self, f: &Loaded) -> &'static str {
        type_label(f.field_type)
    }
}

/// The type choices of a new field. Organization and user fields call a drop-down `dropdown` in the API; the page
/// sends `tagger`, which their service takes as the same.
fn type_choices(current: &str) -> Vec<Choice> {
    Choice::list(
        FieldType::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), format!("{} ({})", type_label(*k), k.as_str()))),
        current,
    )
}

async fn fields_page(
    state: &AppState,
    s: &SignedIn,
    kind: Kind,
    draft: FieldDraft,
    errors: Vec<String>,
    notice: Option<String>,
) -> Result<FieldsPage, PageError> {
    Ok(FieldsPage {
        layout: Layout::new(kind.heading(), Some(s)),
        kind,
        kinds: kind_links(kind),
        fields: kind::list(state, s, kind).await?,
        types: type_choices(&draft.kind),
        draft,
        errors,
        notice,
        is_new: true,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    saved: Option<String>,
    deleted: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    s: SignedIn,
    kind: Kind,
    Query(q): Query<Notice>,
) -> Result<Response, PageError> {
    admin_only(&s)?;
    let notice = q.deleted.map(|id| format!("Field {id} deleted."));
    let page = fields_page(&state, &s, kind, FieldDraft::blank(), Vec::new(), notice).await?;
    Ok(render(&page)?.into_response())
}

pub async fn create(
    State(state): State<AppState>,
    s: SignedIn,
    kind: Kind,
    Form(f): Form<FieldForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    admin_only(&s)?;
    let draft = FieldDraft::from_form(f);
    match kind::create(&state, &s, kind, &draft).await {
        Ok(id) => Ok(Redirect::to(&format!("{}/{id}?saved=created", kind.base())).into_response()),
        Err(e) => {
            let errors = refusal(e, &draft)?;
            let page = fields_page(&state, &s, kind, draft, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "admin_field.html")]
struct FieldPage {
    layout: Layout,
    kind: Kind,
    id: i64,
    kind_label: &'static str,
    types: Vec<Choice>,
    draft: FieldDraft,
    active: bool,
    /// Organization and user fields: the key (fixed once the field exists).
    key: String,
    /// Ticket fields: the forms that show the field, by name.
    on_forms: Vec<String>,
    errors: Vec<String>,
    notice: Option<String>,
    is_new: bool,
}

fn field_page(
    s: &SignedIn,
    kind: Kind,
    field: Loaded,
    draft: Option<FieldDraft>,
    errors: Vec<String>,
    notice: Option<String>,
) -> FieldPage {
    let mut draft = draft.unwrap_or(field.draft);
    // The type cannot change: the page shows the stored one whatever was sent.
    draft.kind = field.field_type.as_str().into();
    FieldPage {
        layout: Layout::new(format!("Field: {}", field.title), Some(s)),
        kind,
        id: field.id,
        kind_label: type_label(field.field_type),
        types: type_choices(&draft.kind),
        draft,
        active: field.active,
        key: field.key,
        on_forms: field.on_forms,
        errors,
        notice,
        is_new: false,
    }
}

pub async fn show(
    State(state): State<AppState>,
    s: SignedIn,
    kind: Kind,
    Path(id): Path<i64>,
    Query(q): Query<Notice>,
) -> Result<Response, PageError> {
    admin_only(&s)?;
    let field = kind::load(&state, &s, kind, id).await?;
    let notice = match (q.saved.as_deref(), kind) {
        (Some("created"), Kind::Ticket) => Some("Field created. Attach it to a form on the form's page.".to_owned()),
        (Some("created"), Kind::Profile(_)) => Some(format!(
            "Field created. Staff set its value on each {}'s page.",
            kind.record()
        )),
        (Some("deactivated"), Kind::Ticket) => Some("Field deactivated: forms no longer show it.".to_owned()),
        (Some("deactivated"), Kind::Profile(_)) => Some(format!(
            "Field deactivated: it is neither shown nor set, and the {}s keep their values.",
            kind.record()
        )),
        (Some("activated"), _) => Some("Field active again.".to_owned()),
        (Some(_), _) => Some("Saved.".to_owned()),
        (None, _) => None,
    };
    let page = field_page(&s, kind, field, None, Vec::new(), notice);
    Ok(render(&page)?.into_response())
}

pub async fn update(
    State(state): State<AppState>,
    s: SignedIn,
    kind: Kind,
    Path(id): Path<i64>,
    Form(f): Form<FieldForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    admin_only(&s)?;
    let draft = FieldDraft::from_form(f);
    match kind::update(&state, &s, kind, id, &draft).await {
        Ok(()) => Ok(Redirect::to(&format!("{}/{id}?saved=1", kind.base())).into_response()),
        Err(e) => {
            let errors = refusal(e, &draft)?;
            let field = kind::load(&state, &s, kind, id).await?;
            let page = field_page(&s, kind, field, Some(draft), errors, None);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    pub(super) csrf: String,
    /// `true` or `false`.
    #[serde(default)]
    pub(super) active: String,
}

/// Deactivates a field (forms stop showing it, records keep their values) or makes it active again.
pub async fn set_active(
    State(state): State<AppState>,
    s: SignedIn,
    kind: Kind,
    Path(id): Path<i64>,
    Form(f): Form<ActiveForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    admin_only(&s)?;
    let active = f.active == "true";
    kind::set_active(&state, &s, kind, id, active).await?;
    let what = if active { "activated" } else { "deactivated" };
    Ok(Redirect::to(&format!("{}/{id}?saved={what}", kind.base())).into_response())
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub(super) csrf: String,
    pub(super) confirm: Option<String>,
}

/// Deletes a field with its values on every record, once the admin has ticked that they mean it.
pub async fn delete(
    State(state): State<AppState>,
    s: SignedIn,
    kind: Kind,
    Path(id): Path<i64>,
    Form(f): Form<DeleteForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    admin_only(&s)?;
    if f.confirm.is_none() {
        let field = kind::load(&state, &s, kind, id).await?;
        let errors = vec![format!(
            "Tick the box to confirm the deletion: a deleted field's values are removed from every {} (deactivate it to keep them).",
            kind.record()
        )];
        let page = field_page(&s, kind, field, None, errors, None);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    kind::delete(&state, &s, kind, id).await?;
    Ok(Redirect::to(&format!("{}?deleted={id}", kind.base())).into_response())
}
