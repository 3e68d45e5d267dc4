//! The admin page of one ticket form (`/admin/forms/{id}`): its settings and routing, the custom fields it shows in
//! their order (a box and an order number per field), its conditions for end-users and agents (parent field and
//! value → child field, required or not), its routing by a field's value, and deactivating or deleting it. Plain
//! HTML forms, no JavaScript: each save sends the whole page, with empty rows to add a condition or a route. The
//! page calls the same service as `PUT /api/v2/ticket_forms/{id}`; a refusal shows the page again as sent, with
//! the service's messages (422).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_app::AppError;
use partnerdesk_app::directory::{self, FormInput};
use partnerdesk_app::ticket_fields as fields;
use partnerdesk_core::custom_fields::{ChildField, FieldCondition, FieldRoute, FieldRouting, FieldType};
use partnerdesk_core::tickets::{Audience, Priority};
use partnerdesk_core::{FormId, Invalid};
use partnerdesk_db::forms::{self, TicketForm};
use partnerdesk_db::ticket_fields::TicketField;
use partnerdesk_db::{Window, groups};
use serde::Deserialize;
use serde_json::Value;

use crate::pages::admin::admin_only;
use crate::pages::admin_fields::{ActiveForm, DeleteForm, type_label};
use crate::pages::form::Form;
use crate::pages::views::Choice;
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;

/// Empty rows a page offers for new conditions and routes.
const BLANK_ROWS: usize = 2;

/// A ticket field as the form's page lists it: on the form or not, and its place.
pub struct PickRow {
    pub id: i64,
    pub title: String,
    pub kind: &'static str,
    pub active: bool,
    pub on: bool,
    pub order: String,
}

/// One child of a condition: `when` is `FIELD_ID:VALUE_JSON` (the parent and its value), `child` a field id.
pub struct ConditionRow {
    pub when: String,
    pub child: String,
    pub required: bool,
}

/// One route: `when` as for conditions, `group` a group id.
pub struct RouteRow {
    pub when: String,
    pub group: String,
}

/// What the form's page shows: every value as text, as stored or as the admin sent it.
pub struct FormDraft {
    pub name: String,
    pub display_name: String,
    pub audience: String,
    pub group_id: String,
    pub priority: String,
    pub tags: String,
    pub position: String,
    pub default: bool,
    pub active: bool,
    pub picks: Vec<PickRow>,
    pub end_user: Vec<ConditionRow>,
    pub agent: Vec<ConditionRow>,
    pub routes: Vec<RouteRow>,
}

fn when_of(field_id: i64, value: &Value) -> String {
    format!("{field_id}:{value}")
}

/// The parent field and its value a `when` names.
fn parse_when(when: &str) -> Option<(i64, Value)> {
    let (id, value) = when.split_once(':')?;
    Some((id.parse().ok()?, serde_json::from_str(value).ok()?))
}

/// A route's value as the routing stores it: an option's value, `true` for a ticked box.
fn route_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pick_rows(all: &[TicketField], on: impl Fn(&TicketField) -> Option<String>) -> Vec<PickRow> {
    let mut rows: Vec<(usize, PickRow)> = all
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let order = on(f);
            let row = PickRow {
                id: f.id,
                title: f.title.clone(),
                kind: type_label(f.kind),
                active: f.active,
                on: order.is_some(),
                order: order.unwrap_or_default(),
            };
            (i, row)
        })
        .collect();
    // The form's fields first, in their order; then the others as the fields list has them.
    rows.sort_by_key(|(i, r)| (!r.on, r.order.trim().parse::<i64>().unwrap_or(i64::MAX), *i));
    rows.into_iter().map(|(_, r)| r).collect()
}

fn condition_rows(conditions: &[FieldCondition]) -> Vec<ConditionRow> {
    conditions
        .iter()
        .flat_map(|c| {
            c.child_fields.iter().map(|child| ConditionRow {
                when: when_of(c.parent_field_id, &c.value),
                child: child.id.to_string(),
                required: child.is_required,
            })
        })
        .collect()
}

impl FormDraft {
    fn of(form: &TicketForm, all: &[TicketField]) -> FormDraft {
        let kind_of = |id: i64| all.iter().find(|f| f.id == id).map(|f| f.kind);
        FormDraft {
            name: form.name.clone(),
            display_name: if form.display_name == form.name {
                String::new()
            } else {
                form.display_name.clone()
            },
            audience: form.audience.as_str().into(),
            group_id: form.group_id.map(|g| g.to_string()).unwrap_or_default(),
            priority: form.priority.map(|p| p.as_str().to_owned()).unwrap_or_default(),
            tags: form.tags.join(" "),
            position: form.position.to_string(),
            default: form.is_default,
            active: form.active,
            picks: pick_rows(all, |f| {
                form.ticket_field_ids
                    .iter()
                    .position(|id| *id == f.id)
                    .map(|i| (i + 1).to_string())
            }),
            end_user: condition_rows(&form.end_user_conditions),
            agent: condition_rows(&form.agent_conditions),
            routes: form
                .field_routing
                .iter()
                .flat_map(|r| {
                    r.routes.iter().map(|route| {
                        let value = if kind_of(r.field_id) == Some(FieldType::Checkbox) && route.value == "true" {
                            Value::Bool(true)
                        } else {
                            Value::String(route.value.clone())
                        };
                        RouteRow {
                            when: when_of(r.field_id, &value),
                            group: route.group_id.to_string(),
                        }
                    })
                })
                .collect(),
        }
    }

    /// The page as sent: `on_ID`/`order_ID` per field, and numbered rows `eu_N_*`, `ag_N_*`, `rt_N_*` (rows left
    /// empty are dropped).
    fn sent(pairs: &[(String, String)], all: &[TicketField]) -> FormDraft {
        let map: HashMap<&str, &str> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let get = |k: &str| map.get(k).map(|v| v.to_string()).unwrap_or_default();
        let has = |k: &str| map.contains_key(k);
        let conditions = |prefix: &str| {
            (0..)
                .map_while(|n| {
                    has(&format!("{prefix}_{n}_when")).then(|| ConditionRow {
                        when: get(&format!("{prefix}_{n}_when")),
                        child: get(&format!("{prefix}_{n}_child")),
                        required: has(&format!("{prefix}_{n}_required")),
                    })
                })
                .filter(|r| !(r.when.is_empty() && r.child.is_empty()))
                .collect()
        };
        FormDraft {
            name: get("name"),
            display_name: get("display_name"),
            audience: get("audience"),
            group_id: get("group_id"),
            priority: get("priority"),
            tags: get("tags"),
            position: get("position"),
            default: has("default"),
            active: has("active"),
            picks: pick_rows(all, |f| {
                has(&format!("on_{}", f.id)).then(|| get(&format!("order_{}", f.id)))
            }),
            end_user: conditions("eu"),
            agent: conditions("ag"),
            routes: (0..)
                .map_while(|n| {
                    has(&format!("rt_{n}_when")).then(|| RouteRow {
                        when: get(&format!("rt_{n}_when")),
                        group: get(&format!("rt_{n}_group")),
                    })
                })
                .filter(|r| !(r.when.is_empty() && r.group.is_empty()))
                .collect(),
        }
    }

    /// The service's input: everything the page holds.
    fn input(&self) -> Result<FormInput, AppError> {
        let mut errors = Invalid::default();
        let number = |errors: &mut Invalid, field: &str, what: &str, v: &str| match v.trim() {
            "" => None,
            v => v.parse::<i64>().map(Some).unwrap_or_else(|_| {
                errors.push(
                    field,
                    "InvalidValue",
                    format!("{what} must be a whole number, not '{v}'"),
                );
                None
            }),
        };
        let position = number(&mut errors, "position", "The position", &self.position);
        let group_id = number(&mut errors, "group_id", "The group", &self.group_id);
        for p in self.picks.iter().filter(|p| p.on) {
            number(
                &mut errors,
                "ticket_field_ids",
                &format!("The order of '{}'", p.title),
                &p.order,
            );
        }
        let end_user_conditions = conditions(&mut errors, "End-user condition", &self.end_user);
        let agent_conditions = conditions(&mut errors, "Agent condition", &self.agent);
        let field_routing = routing(&mut errors, &self.routes);
        errors.into_result()?;
        Ok(FormInput {
            name: Some(self.name.clone()),
            display_name: Some(self.display_name.clone()).filter(|d| !d.trim().is_empty()),
            position,
            active: Some(self.active),
            default: Some(self.default),
            audience: Some(self.audience.clone()).filter(|a| !a.is_empty()),
            // The page always sends both: the empty choice clears them (`Some(None)`, as `null` in the API).
            group_id: Some(group_id),
            priority: Some(Some(self.priority.clone()).filter(|p| !p.is_empty())),
            tags: Some(self.tags.split([',', ' ']).map(str::to_owned).collect()),
            // `picks` are in the page's order: the form's fields first, by their order numbers.
            ticket_field_ids: Some(self.picks.iter().filter(|p| p.on).map(|p| p.id).collect()),
            end_user_conditions: Some(end_user_conditions),
            agent_conditions: Some(agent_conditions),
            field_routing: Some(field_routing),
            ..FormInput::default()
        })
    }

    fn with_blank_rows(mut self) -> FormDraft {
        for _ in 0..BLANK_ROWS {
            let blank = || ConditionRow {
                when: String::new(),
                child: String::new(),
                required: false,
            };
            self.end_user.push(blank());
            self.agent.push(blank());
            self.routes.push(RouteRow {
                when: String::new(),
                group: String::new(),
            });
        }
        self
    }
}

/// Condition rows as the service takes them: children of the same parent and value in one condition.
fn conditions(errors: &mut Invalid, what: &str, rows: &[ConditionRow]) -> Vec<FieldCondition> {
    let mut out: Vec<FieldCondition> = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let parent = parse_when(&row.when);
        let child = row.child.trim().parse::<i64>().ok();
        let (Some((parent_field_id, value)), Some(id)) = (parent, child) else {
            errors.push(
                "conditions",
                "BlankValue",
                format!(
                    "{what} {}: choose both the field and value that show it and the field it shows",
                    n + 1
                ),
            );
            continue;
        };
        let child = ChildField {
            id,
            is_required: row.required,
        };
        match out
            .iter_mut()
            .find(|c| c.parent_field_id == parent_field_id && c.value == value)
        {
            Some(c) => c.child_fields.push(child),
            None => out.push(FieldCondition {
                parent_field_id,
                value,
                child_fields: vec![child],
            }),
        }
    }
    out
}

/// Route rows as the service takes them: one field, a group per value; none removes the routing.
fn routing(errors: &mut Invalid, rows: &[RouteRow]) -> Option<FieldRouting> {
    let mut field_id = None;
    let mut routes = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let (Some((id, value)), Ok(group_id)) = (parse_when(&row.when), row.group.trim().parse::<i64>()) else {
            errors.push(
                "field_routing",
                "BlankValue",
                format!("Route {}: choose both a field value and a group", n + 1),
            );
            continue;
        };
        if *field_id.get_or_insert(id) != id {
            errors.push(
                "field_routing",
                "InvalidValue",
                format!(
                    "Route {}: a form routes by one field; every route must name the same field",
                    n + 1
                ),
            );
        }
        routes.push(FieldRoute {
            value: route_value(&value),
            group_id,
        });
    }
    field_id.map(|field_id| FieldRouting { field_id, routes })
}

/// What a page says about a refusal of the service: which part of the page each message is about.
fn messages(e: AppError) -> Result<Vec<String>, PageError> {
    let AppError::Invalid(inv) = e else {
        return Err(e.into());
    };
    Ok(inv
        .0
        .into_iter()
        .map(|e| {
            let part = match e.field.split('[').next().unwrap_or_default() {
                "end_user_conditions" => "End-user conditions: ",
                "agent_conditions" => "Agent conditions: ",
                "field_routing" if !e.message.starts_with("Route ") => "Routing: ",
                "ticket_field_ids" => "Fields: ",
                _ => "",
            };
            format!("{part}{}", e.message)
        })
        .collect())
}

/// The "field is value" choices of fields whose value can show a field (`routing`: or route a ticket), and any
/// choice `rows` already hold that is no longer among them (so that saving the page keeps it).
fn whens<'a>(all: &[TicketField], routing: bool, rows: impl Iterator<Item = &'a String>) -> Vec<Choice> {
    let mut out: Vec<(String, String)> = Vec::new();
    for f in all {
        match f.kind {
            FieldType::Checkbox => out.push((when_of(f.id, &Value::Bool(true)), format!("{} is ticked", f.title))),
            FieldType::Tagger | FieldType::Multiselect if routing || f.kind == FieldType::Tagger => {
                for o in &f.options {
                    let value = Value::String(o.value.clone());
                    out.push((when_of(f.id, &value), format!("{} is {}", f.title, o.name)));
                }
            }
            _ => {}
        }
    }
    for w in rows.filter(|w| !w.is_empty()) {
        if !out.iter().any(|(v, _)| v == w) {
            let label = match parse_when(w) {
                Some((id, value)) => format!("field {id} is {}", route_value(&value)),
                None => w.clone(),
            };
            out.push((w.clone(), label));
        }
    }
    Choice::list(out, "")
}

#[derive(Template)]
#[template(path = "admin_form.html")]
struct FormPage {
    layout: Layout,
    id: i64,
    title: String,
    stored_active: bool,
    draft: FormDraft,
    audiences: Vec<Choice>,
    groups: Vec<Choice>,
    priorities: Vec<Choice>,
    condition_whens: Vec<Choice>,
    route_whens: Vec<Choice>,
    children: Vec<Choice>,
    route_groups: Vec<Choice>,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn form_page(
    state: &AppState,
    s: &SignedIn,
    form: &TicketForm,
    all: &[TicketField],
    draft: FormDraft,
    errors: Vec<String>,
    notice: Option<String>,
) -> Result<FormPage, PageError> {
    let gs = groups::list(&mut state.db.conn(), Window::first(500)).await?.items;
    let draft = draft.with_blank_rows();
    let group_items: Vec<(String, String)> = gs.iter().map(|g| (g.id.to_string(), g.name.clone())).collect();
    // "—" (the empty choice) is always offered: chosen, it clears the form's group or priority.
    let none = || std::iter::once((String::new(), "—".to_owned()));
    let condition_rows = draft.end_user.iter().chain(&draft.agent).map(|r| &r.when);
    Ok(FormPage {
        layout: Layout::new(format!("Form: {}", form.name), Some(s)),
        id: form.id.0,
        title: form.name.clone(),
        stored_active: form.active,
        audiences: Choice::list(
            Audience::ALL
                .iter()
                .map(|a| (a.as_str().to_owned(), a.as_str().to_owned())),
            &draft.audience,
        ),
        groups: Choice::list(none().chain(group_items.iter().cloned()), &draft.group_id),
        priorities: Choice::list(
            none().chain(
                Priority::ALL
                    .iter()
                    .map(|p| (p.as_str().to_owned(), p.as_str().to_owned())),
            ),
            &draft.priority,
        ),
        condition_whens: whens(all, false, condition_rows),
        route_whens: whens(all, true, draft.routes.iter().map(|r| &r.when)),
        children: Choice::list(
            std::iter::once((String::new(), "—".to_owned())).chain(
                all.iter()
                    .map(|f| (f.id.to_string(), format!("{} (#{})", f.title, f.id))),
            ),
            "",
        ),
        route_groups: Choice::list(std::iter::once((String::new(), "—".to_owned())).chain(group_items), ""),
        draft,
        errors,
        notice,
    })
}

/// The form and every ticket field, for an admin.
async fn load(state: &AppState, s: &SignedIn, id: i64) -> Result<(TicketForm, Vec<TicketField>), PageError> {
    let form = forms::get(&mut state.db.conn(), FormId(id)).await?;
    let all = fields::list(&state.db, &s.user.actor()).await?;
    Ok((form, all))
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    saved: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<Notice>,
) -> Result<Response, PageError> {
    admin_only(&s)?;
    let (form, all) = load(&state, &s, id).await?;
    let notice = match q.saved.as_deref() {
        Some("deactivated") => Some("Form deactivated: nobody can file through it now.".to_owned()),
        Some("activated") => Some("Form active again.".to_owned()),
        Some(_) => Some("Saved.".to_owned()),
        None => None,
    };
    let draft = FormDraft::of(&form, &all);
    let page = form_page(&state, &s, &form, &all, draft, Vec::new(), notice).await?;
    Ok(render(&page)?.into_response())
}

pub async fn save(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let csrf = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    s.check_csrf(csrf.unwrap_or_default())?;
    admin_only(&s)?;
    let (form, all) = load(&state, &s, id).await?;
    let draft = FormDraft::sent(&pairs, &all);
    let saved = match draft.input() {
        Ok(input) => directory::update_form(&state.db, &s.user.actor(), &s.user.audit_actor(), form.id, input).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to(&format!("/admin/forms/{id}?saved=1")).into_response()),
        Err(e) => {
            let errors = messages(e)?;
            let page = form_page(&state, &s, &form, &all, draft, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

/// Deactivates a form (nobody files through it; its tickets keep it) or makes it active again.
pub async fn set_active(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<ActiveForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    admin_only(&s)?;
    let active = f.active == "true";
    let input = FormInput {
        active: Some(active),
        ..FormInput::default()
    };
    directory::update_form(&state.db, &s.user.actor(), &s.user.audit_actor(), FormId(id), input).await?;
    let what = if active { "activated" } else { "deactivated" };
    Ok(Redirect::to(&format!("/admin/forms/{id}?saved={what}")).into_response())
}

/// Deletes a form no ticket was filed through; the service's refusal for one in use is shown on its page.
pub async fn delete(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<DeleteForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    admin_only(&s)?;
    let deleted = match f.confirm {
        Some(_) => directory::delete_form(&state.db, &s.user.actor(), &s.user.audit_actor(), FormId(id)).await,
        None => Err(AppError::invalid(
            "confirm",
            "BlankValue",
            "Tick the box to confirm the deletion.",
        )),
    };
    match deleted {
        Ok(()) => Ok(Redirect::to("/admin/forms").into_response()),
        Err(e) => {
            let errors = messages(e)?;
            let (form, all) = load(&state, &s, id).await?;
            let draft = FormDraft::of(&form, &all);
            let page = form_page(&state, &s, &form, &all, draft, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}
