//! Finding people and organizations by name, as Zendesk clients do: `/users/search?query=`,
//! `/organizations/autocomplete?name=` and `/organizations/search?name=`. Each answers within the caller's existing
//! read policy: staff find anyone; an end-user finds only themselves (as `/users/{id}` shows them only themselves)
//! and only their own organization.

use axum::Json;
use axum::extract::{RawQuery, State};
use partnerdesk_db::organizations::{self, NameMatch};
use partnerdesk_db::users::{self, UserFilter};
use serde_json::Value;
use utoipa::IntoParams;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use partnerdesk_app::input::schema::CONTROLS;

use partnerdesk_app::AppError;

use crate::api::doc::{Authenticated, OrganizationList, PageParams, Query, UserList};
use crate::api::organizations::OrganizationView;
use crate::api::users::UserView;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::pagination::ListQuery;
use crate::state::AppState;

/// The longest search text taken.
const MAX_TEXT: usize = 255;

/// The shortest autocomplete text (Zendesk's rule).
const MIN_AUTOCOMPLETE: usize = 2;

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct UserSearchParams {
    /// Text the name or e-mail address contains (case-insensitive). One of `query` and `external_id` is required.
    #[param(schema_with = search_text)]
    pub query: Option<String>,
    /// The account with this external id (exactly). End-users find only themselves.
    #[param(schema_with = external_id_text)]
    pub external_id: Option<String>,
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AutocompleteParams {
    /// The start of the name (at least 2 characters besides blanks at either end, case-insensitive). The pattern is
    /// `text_schema(2)`'s (spelled out: the derive takes a literal; a test checks they agree).
    #[param(
        min_length = 2,
        max_length = 255,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\s][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\s][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct OrgSearchParams {
    /// The whole name (case-insensitive). One of `name` and `external_id` is required.
    #[param(schema_with = search_text)]
    pub name: Option<String>,
    /// The organization with this external id (exactly). End-users find only their own.
    #[param(schema_with = external_id_text)]
    pub external_id: Option<String>,
}

/// A text parameter of at most `MAX_TEXT` characters, without control characters (the server refuses them in every
/// parameter), holding at least `visible` characters that are not blank.
fn text_schema(visible: usize, description: &str) -> Object {
    let c = CONTROLS;
    let one = format!("[^{c}\\s]");
    let rest = format!("[^{c}]*");
    // `^rest(one rest){visible}$`: `visible` characters neither blank nor control, anything else between them.
    let pattern = format!("^{rest}{}$", vec![format!("{one}{rest}"); visible].concat());
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length((visible > 0).then_some(visible))
        .max_length(Some(MAX_TEXT))
        .pattern(Some(pattern))
        .description(Some(description))
        .build()
}

fn search_text() -> Object {
    text_schema(
        1,
        "Text to find (case-insensitive; blanks at either end are ignored). One of this and `external_id` is required.",
    )
}

pub fn external_id_text() -> Object {
    text_schema(1, "An external id (exactly as set; blanks at either end are ignored).")
}

/// An external id to look for: as a search text (trimmed, not blank, at most `MAX_TEXT` characters), as external
/// ids are stored trimmed.
pub fn external_id(value: &str) -> Result<&str, ApiError> {
    text("external_id", value)
}

/// A search text: trimmed, not blank, at most `MAX_TEXT` characters. Blank is what the documented pattern's `\s`
/// (ECMAScript's) calls blank: Unicode white space and the byte-order mark.
fn text<'a>(name: &str, value: &'a str) -> Result<&'a str, ApiError> {
    let t = value.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if t.is_empty() {
        return Err(AppError::BadRequest(format!("{name} must not be blank")).into());
    }
    if t.chars().count() > MAX_TEXT {
        return Err(AppError::BadRequest(format!("{name} is too long (at most {MAX_TEXT} characters)")).into());
    }
    Ok(t)
}

#[utoipa::path(get, path = "/api/v2/users/search", tag = "users", params(UserSearchParams, PageParams),
    responses((status = 200, description = "The users found, in id order", body = UserList), Authenticated, Query))]
pub async fn search_users(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let path = "/api/v2/users/search.json";
    let q = ListQuery::parse(raw.as_deref())?;
    // Checked whenever given, also when `query` is the one searched by.
    if let Some(x) = q.get("external_id") {
        external_id(x)?;
    }
    let needle = match (q.get("query"), q.get("external_id")) {
        (Some(query), _) => text("query", query)?.to_owned(),
        (None, Some(id)) => {
            let filter = UserFilter {
                external_id: Some(external_id(id)?),
                ..UserFilter::default()
            };
            return crate::api::users::visible_users_page(&state, &caller, &q, &filter, path).await;
        }
        (None, None) => return Err(AppError::BadRequest("query or external_id is required".into()).into()),
    };
    let actor = caller.actor();
    // The users list's policy: staff see everyone, an end-user only themselves.
    let only = (!actor.is_staff()).then_some(actor.id);
    let mut conn = state.db.conn();
    let page = users::search(&mut conn, &needle, only, q.window()).await?;
    let count = if q.is_offset() {
        Some(users::count_search(&mut conn, &needle, only).await?)
    } else {
        None
    };
    let views: Vec<UserView> = crate::api::users::user_views(&state, &page.items, actor.is_staff()).await?;
    let last = page.items.last().map(|u| u.id.0);
    Ok(Json(q.envelope(
        "users",
        &views,
        last,
        page.has_more,
        count,
        &state.url(path),
    )))
}

async fn organizations_named(
    state: &AppState,
    caller: &Caller,
    q: &ListQuery,
    name: &str,
    how: NameMatch,
    path: &str,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let scope = actor.org_scope();
    let mut conn = state.db.conn();
    let page = organizations::name_search(&mut conn, name, how, scope, q.window()).await?;
    let count = if q.is_offset() {
        Some(organizations::count_name_search(&mut conn, name, how, scope).await?)
    } else {
        None
    };
    let views: Vec<OrganizationView> = crate::api::organizations::org_views(state, &page.items, &actor).await?;
    let last = page.items.last().map(|o| o.id.0);
    Ok(Json(q.envelope(
        "organizations",
        &views,
        last,
        page.has_more,
        count,
        &state.url(path),
    )))
}

/// Organizations whose name starts with `name`. Staff: all; end-users: their own, if it matches.
#[utoipa::path(get, path = "/api/v2/organizations/autocomplete", tag = "organizations", params(AutocompleteParams, PageParams),
    responses((status = 200, description = "The organizations found, in id order", body = OrganizationList), Authenticated, Query))]
pub async fn autocomplete(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = ListQuery::parse(raw.as_deref())?;
    let name = text("name", q.get("name").unwrap_or_default())?;
    if name.chars().count() < MIN_AUTOCOMPLETE {
        return Err(AppError::BadRequest(format!("name must have at least {MIN_AUTOCOMPLETE} characters")).into());
    }
    let name = name.to_owned();
    organizations_named(
        &state,
        &caller,
        &q,
        &name,
        NameMatch::Prefix,
        "/api/v2/organizations/autocomplete.json",
    )
    .await
}

/// The organization of this name (case-insensitive). Staff: any; end-users: their own, if it is the one.
#[utoipa::path(get, path = "/api/v2/organizations/search", tag = "organizations", params(OrgSearchParams, PageParams),
    responses((status = 200, description = "The organization found, if any", body = OrganizationList), Authenticated, Query))]
pub async fn search_organizations(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let path = "/api/v2/organizations/search.json";
    let q = ListQuery::parse(raw.as_deref())?;
    if let Some(x) = q.get("external_id") {
        external_id(x)?;
    }
    let name = match (q.get("name"), q.get("external_id")) {
        (Some(name), _) => text("name", name)?.to_owned(),
        (None, Some(id)) => {
            let id = external_id(id)?.to_owned();
            return crate::api::organizations::organizations_page(&state, &caller, &q, Some(&id), path).await;
        }
        (None, None) => return Err(AppError::BadRequest("name or external_id is required".into()).into()),
    };
    organizations_named(&state, &caller, &q, &name, NameMatch::Exact, path).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::IntoParams;

    #[test]
    fn autocomplete_pattern_is_the_two_character_text() {
        let params = AutocompleteParams::into_params(|| None);
        let documented = serde_json::to_value(&params[0]).unwrap_or_default();
        let built = serde_json::to_value(text_schema(MIN_AUTOCOMPLETE, "")).unwrap_or_default();
        assert_eq!(documented["schema"]["pattern"], built["pattern"]);
        assert_eq!(documented["required"], true);
    }
}
