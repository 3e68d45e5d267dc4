//! `/agent/notifications`: a member of staff chooses what they are e-mailed about and which groups they follow.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_app::notice_choices::{self, ChoicesInput};
use partnerdesk_db::{Window, groups};
use serde::Deserialize;

use crate::pages::form::Form;
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;

struct GroupChoice {
    id: i64,
    name: String,
    followed: bool,
}

#[derive(Template)]
#[template(path = "agent_notifications.html")]
struct NotificationsPage {
    layout: Layout,
    ticket_assigned: bool,
    requester_replied: bool,
    new_in_followed_group: bool,
    groups: Vec<GroupChoice>,
    saved: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: String,
}

pub async fn show(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    let actor = s.user.actor();
    let choices = notice_choices::show(&state, &actor, actor.id.0).await?;
    let groups = groups::list(&mut state.db.conn(), Window::first(500))
        .await?
        .items
        .into_iter()
        .map(|g| GroupChoice {
            followed: choices.followed_group_ids.contains(&g.id.0),
            id: g.id.0,
            name: g.name,
        })
        .collect();
    Ok(render(&NotificationsPage {
        layout: Layout::new("Notifications", Some(&s)),
        ticket_assigned: choices.ticket_assigned,
        requester_replied: choices.requester_replied,
        new_in_followed_group: choices.new_in_followed_group,
        groups,
        saved: q.saved == "1",
    })?
    .into_response())
}

/// The form as name-value pairs: the groups followed come as one `follow` field each. An unticked box sends
/// nothing, so every choice is on exactly when its field is present.
pub async fn update(
    State(state): State<AppState>,
    s: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    s.check_csrf(field("csrf").unwrap_or_default())?;
    let mut followed = Vec::new();
    for (k, v) in &pairs {
        if k == "follow" {
            let id = v.parse::<i64>().map_err(|_| {
                PageError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "Please check your input",
                    format!("'{v}' is not a group."),
                )
            })?;
            followed.push(id);
        }
    }
    let input = ChoicesInput {
        ticket_assigned: Some(field("ticket_assigned").is_some()),
        requester_replied: Some(field("requester_replied").is_some()),
        new_in_followed_group: Some(field("new_in_followed_group").is_some()),
        followed_group_ids: Some(followed),
    };
    let actor = s.user.actor();
    notice_choices::update(&state, &actor, &s.user.audit_actor(), actor.id.0, input).await?;
    Ok(Redirect::to("/agent/notifications?saved=1").into_response())
}
