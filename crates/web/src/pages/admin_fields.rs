//! Admin pages for custom ticket fields: the list with a form to define one (`/admin/fields`), and each field's page
//! (`/admin/fields/{id}`) to edit, deactivate or delete it. They call the same service as `/api/v2/ticket_fields`,
//! so a definition is checked, audited and refused with the same messages; a refused form is shown again with what
//! the admin typed and the reasons above it (422).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_app::AppError;
use partnerdesk_app::ticket_fields::{self as fields, FieldInput, OptionInput};
use partnerdesk_core::custom_fields::FieldType;
use partnerdesk_core::validation::FieldError;
use partnerdesk_db::forms;
use partnerdesk_db::ticket_fields::TicketField;
use serde::Deserialize;

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

pub struct FieldRow {
    pub id: i64,
    pub title: String,
    pub kind: &'static str,
    pub required: bool,
    pub required_in_portal: bool,
    pub visible_in_portal: bool,
    pub editable_in_portal: bool,
    pub active: bool,
    pub position: i64,
    pub options: usize,
}

/// The field form as sent, and as shown again: every value as the admin typed it. Unticked boxes are not sent.
#[derive(Debug, Default, Deserialize)]
pub struct FieldForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    title_in_portal: String,
    #[serde(default)]
    description: String,
    required: Option<String>,
    required_in_portal: Option<String>,
    visible_in_portal: Option<String>,
    editable_in_portal: Option<String>,
    active: Option<String>,
    #[serde(default)]
    position: String,
    #[serde(default)]
    regexp_for_validation: String,
    #[serde(default)]
    tag: String,
    /// Drop-down and multi-select options, one a line: `Name=value_tag` (a line without `=` is its own tag).
    #[serde(default)]
    options: String,
}

/// What the field form shows.
pub struct FieldDraft {
    pub kind: String,
    pub title: String,
    pub title_in_portal: String,
    pub description: String,
    pub required: bool,
    pub required_in_portal: bool,
    pub visible_in_portal: bool,
    pub editable_in_portal: bool,
    pub active: bool,
    pub position: String,
    pub regexp_for_validation: String,
    pub tag: String,
    pub options: String,
}

impl FieldDraft {
    fn blank() -> FieldDraft {
        FieldDraft {
            kind: FieldType::Text.as_str().into(),
            title: String::new(),
            title_in_portal: String::new(),
            description: String::new(),
            required: false,
            required_in_portal: false,
            visible_in_portal: true,
            editable_in_portal: true,
            active: true,
            position: "0".into(),
            regexp_for_validation: String::new(),
            tag: String::new(),
            options: String::new(),
        }
    }

    fn of(f: &TicketField) -> FieldDraft {
        FieldDraft {
            kind: f.kind.as_str().into(),
            title: f.title.clone(),
            title_in_portal: f.title_in_portal.clone(),
            description: f.description.clone(),
            required: f.required,
            required_in_portal: f.required_in_portal,
            visible_in_portal: f.visible_in_portal,
            editable_in_portal: f.editable_in_portal,
            active: f.active,
            position: f.position.to_string(),
            regexp_for_validation: f.regexp_for_validation.clone().unwrap_or_default(),
            tag: f.tag.clone().unwrap_or_default(),
            options: f
                .options
                .iter()
                .map(|o| format!("{}={}", o.name, o.value))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    fn from_form(f: FieldForm) -> FieldDraft {
        FieldDraft {
            kind: f.kind,
            title: f.title,
            title_in_portal: f.title_in_portal,
            description: f.description,
            required: f.required.is_some(),
            required_in_portal: f.required_in_portal.is_some(),
            visible_in_portal: f.visible_in_portal.is_some(),
            editable_in_portal: f.editable_in_portal.is_some(),
            active: f.active.is_some(),
            position: f.position,
            regexp_for_validation: f.regexp_for_validation,
            tag: f.tag,
            options: f.options.replace("\r\n", "\n"),
        }
    }

    /// The option lines that hold something, with their line numbers (for messages).
    fn option_lines(&self) -> Vec<(usize, OptionInput)> {
        self.options
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                let (name, value) = l.rsplit_once('=').unwrap_or((l, l));
                let input = OptionInput {
                    id: None,
                    name: name.trim().to_owned(),
                    value: value.trim().to_owned(),
                };
                (n + 1, input)
            })
            .collect()
    }

    /// The service's input: everything the page holds (a new field also names its type).
    fn input(&self, new: bool) -> Result<FieldInput, AppError> {
        let position = match self.position.trim() {
            "" => None,
            p => Some(p.parse::<i64>().map_err(|_| {
                AppError::invalid(
                    "position",
                    "InvalidValue",
                    format!("position must be a whole number, not '{p}'"),
                )
            })?),
        };
        Ok(FieldInput {
            kind: new.then(|| self.kind.clone()),
            title: Some(self.title.clone()),
            title_in_portal: Some(self.title_in_portal.clone()),
            description: Some(self.description.replace("\r\n", "\n")),
            required: Some(self.required),
            required_in_portal: Some(self.required_in_portal),
            visible_in_portal: Some(self.visible_in_portal),
            editable_in_portal: Some(self.editable_in_portal),
            active: Some(self.active),
            position,
            regexp_for_validation: Some(self.regexp_for_validation.clone()),
            tag: Some(self.tag.clone()),
            custom_field_options: Some(self.option_lines().into_iter().map(|(_, o)| o).collect()),
        })
    }

    /// The service's messages, an option's naming the line of the options box it came from.
    fn messages(&self, errors: &[FieldError]) -> Vec<String> {
        let lines = self.option_lines();
        errors
            .iter()
            .map(|e| {
                let index = e
                    .field
                    .strip_prefix("custom_field_options[")
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|i| i.parse::<usize>().ok());
                match index.and_then(|i| lines.get(i)) {
                    Some((line, _)) => format!("Options, line {line}: {}", e.message),
                    None => e.message.clone(),
                }
            })
            .collect()
    }
}

/// A refusal the page shows above the form it re-renders (any other error is an error page).
fn refusal(e: AppError, draft: &FieldDraft) -> Result<Vec<String>, PageError> {
    match e {
        AppError::Invalid(inv) => Ok(draft.messages(&inv.0)),
        other => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "admin_fields.html")]
struct FieldsPage {
    layout: Layout,
    fields: Vec<FieldRow>,
    types: Vec<Choice>,
    draft: FieldDraft,
    errors: Vec<String>,
    notice: Option<String>,
    is_new: bool,
}

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
    draft: FieldDraft,
    errors: Vec<String>,
    notice: Option<String>,
) -> Result<FieldsPage, PageError> {
    let all = fields::list(&state.db, &s.user.actor()).await?;
    let rows = all
        .iter()
        .map(|f| FieldRow {
            id: f.id,
            title: f.title.clone(),
            kind: type_label(f.kind),
            required: f.required,
            required_in_portal: f.required_in_portal,
            visible_in_portal: f.visible_in_portal,
            editable_in_portal: f.editable_in_portal,
            active: f.active,
            position: f.position,
            options: f.options.len(),
        })
        .collect();
    Ok(FieldsPage {
        layout: Layout::new("Ticket fields", Some(s)),
        fields: rows,
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

pub async fn list(State(state): State<AppState>, s: SignedIn, Query(q): Query<Notice>) -> Result<Response, PageError> {
    admin_only(&s)?;
    let notice = q.deleted.map(|id| format!("Field {id} deleted."));
    let page = fields_page(&state, &s, FieldDraft::blank(), Vec::new(), notice).await?;
    Ok(render(&page)?.into_response())
}

pub async fn create(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<FieldForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    admin_only(&s)?;
    let draft = FieldDraft::from_form(f);
    let created = match draft.input(true) {
        Ok(input) => fields::create(&state.db, &s.user, &input).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(field) => Ok(Redirect::to(&format!("/admin/fields/{}?saved=created", field.id)).into_response()),
        Err(e) => {
            let errors = refusal(e, &draft)?;
            let page = fields_page(&state, &s, draft, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "admin_field.html")]
struct FieldPage {
    layout: Layout,
    id: i64,
    kind_label: &'static str,
    types: Vec<Choice>,
    draft: FieldDraft,
    active: bool,
    /// The forms that show the field, by name.
    on_forms: Vec<String>,
    errors: Vec<String>,
    notice: Option<String>,
    is_new: bool,
}

async fn field_page(
    state: &AppState,
    s: &SignedIn,
    field: &TicketField,
    draft: Option<FieldDraft>,
    errors: Vec<String>,
    notice: Option<String>,
) -> Result<FieldPage, PageError> {
    let on_forms = forms::list(&mut state.db.conn())
        .await?
        .into_iter()
        .filter(|f| f.ticket_field_ids.contains(&field.id))
        .map(|f| f.name)
        .collect();
    let mut draft = draft.unwrap_or_else(|| FieldDraft::of(field));
    // The type cannot change: the page shows the stored one whatever was sent.
    draft.kind = field.kind.as_str().into();
    Ok(FieldPage {
        layout: Layout::new(format!("Field: {}", field.title), Some(s)),
        id: field.id,
        kind_label: type_label(field.kind),
        types: type_choices(&draft.kind),
        draft,
        active: field.active,
        on_forms,
        errors,
        notice,
        is_new: false,
    })
}

pub async fn show(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<Notice>,
) -> Result<Response, PageError> {
    admin_only(&s)?;
    let field = fields::show(&state.db, &s.user.actor(), id).await?;
    let notice = match q.saved.as_deref() {
        Some("created") => Some("Field created. Attach it to a form on the form's page.".to_owned()),
        Some("deactivated") => Some("Field deactivated: forms no longer show it.".to_owned()),
        Some("activated") => Some("Field active again.".to_owned()),
        Some(_) => Some("Saved.".to_owned()),
        None => None,
    };
    let page = field_page(&state, &s, &field, None, Vec::new(), notice).await?;
    Ok(render(&page)?.into_response())
}

pub async fn update(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<FieldForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    admin_only(&s)?;
    let draft = FieldDraft::from_form(f);
    let updated = match draft.input(false) {
        Ok(input) => fields::update(&state.db, &s.user, id, &input).await,
        Err(e) => Err(e),
    };
    match updated {
        Ok(_) => Ok(Redirect::to(&format!("/admin/fields/{id}?saved=1")).into_response()),
        Err(e) => {
            let errors = refusal(e, &draft)?;
            let field = fields::show(&state.db, &s.user.actor(), id).await?;
            let page = field_page(&state, &s, &field, Some(draft), errors, None).await?;
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

/// Deactivates a field (forms stop showing it; tickets keep their values) or makes it active again.
pub async fn set_active(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<ActiveForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    admin_only(&s)?;
    let active = f.active == "true";
    let input = FieldInput {
        active: Some(active),
        ..FieldInput::default()
    };
    fields::update(&state.db, &s.user, id, &input).await?;
    let what = if active { "activated" } else { "deactivated" };
    Ok(Redirect::to(&format!("/admin/fields/{id}?saved={what}")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub(super) csrf: String,
    pub(super) confirm: Option<String>,
}

/// Deletes a field with its values on every ticket, once the admin has ticked that they mean it.
pub async fn delete(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<DeleteForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    admin_only(&s)?;
    if f.confirm.is_none() {
        let field = fields::show(&state.db, &s.user.actor(), id).await?;
        let errors = vec![
            "Tick the box to confirm the deletion: a deleted field's values are removed from every ticket (deactivate it to keep them).".to_owned(),
        ];
        let page = field_page(&state, &s, &field, None, errors, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    fields::delete(&state.db, &s.user, id).await?;
    Ok(Redirect::to(&format!("/admin/fields?deleted={id}")).into_response())
}
