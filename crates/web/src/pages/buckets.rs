//! The partner bucket in the agent workspace: browse it like a file manager (folders, objects, pages), download,
//! copy an object into a ticket; and the admin's connection form with "Test connection". All through
//! `bucket_access`, so the pages are authorised and audited exactly like the API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_core::{OrgId, TicketId};
use partnerdesk_db::buckets::BucketConnection;
use serde::Deserialize;

use crate::pages::form::Form;
use crate::pages::views;
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;
use partnerdesk_app::buckets::access as bucket_access;
use partnerdesk_app::buckets::client::BucketObject;
use partnerdesk_app::buckets::connection::{ConnectionInput, save, test_connection};

pub struct FolderRow {
    pub name: String,
    pub href: String,
}

pub struct ObjectRow {
    pub key: String,
    pub name: String,
    pub size: String,
    pub modified: String,
    pub download: String,
}

pub struct AccessRow {
    pub at: String,
    pub who: String,
    pub action: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "agent_bucket.html")]
struct BrowsePage {
    layout: Layout,
    org_id: i64,
    org_name: String,
    summary: String,
    prefix: String,
    parent: Option<String>,
    folders: Vec<FolderRow>,
    objects: Vec<ObjectRow>,
    next: Option<String>,
    /// (label, href) of the column headers that sort the page.
    sort_links: Vec<(String, String)>,
    ticket: Option<i64>,
    access: Vec<AccessRow>,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct BrowseQuery {
    #[serde(default)]
    prefix: String,
    /// `name`, `size` or `modified` (within the page), `-` first for descending.
    sort: Option<String>,
    after: Option<String>,
    ticket: Option<i64>,
    notice: Option<String>,
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn access_rows(state: &AppState, org: OrgId) -> Result<Vec<AccessRow>, PageError> {
    Ok(bucket_access::access_log(state, org, 30)
        .await?
        .into_iter()
        .map(|e| AccessRow {
            at: views::when(&e.created_at),
            who: e.actor_label,
            action: e.action,
            detail: e.after.map(|a| a.to_string()).unwrap_or_default(),
        })
        .collect())
}

/// Sorts one page of objects by the column the user picked (`-` first for descending; by name otherwise).
fn sort_objects(objects: &mut [BucketObject], sort: &str) {
    match sort {
        "size" => objects.sort_by_key(|o| o.size),
        "-size" => objects.sort_by_key(|o| std::cmp::Reverse(o.size)),
        "modified" => objects.sort_by(|a, b| a.last_modified.cmp(&b.last_modified)),
        "-modified" => objects.sort_by(|a, b| b.last_modified.cmp(&a.last_modified)),
        "-name" => objects.sort_by(|a, b| b.name.cmp(&a.name)),
        _ => objects.sort_by(|a, b| a.name.cmp(&b.name)),
    }
}

/// Links to places in the organization's bucket; they keep the ticket an object would be attached to.
struct BucketLinks {
    org: i64,
    ticket_q: String,
}

impl BucketLinks {
    fn new(org: i64, ticket: Option<i64>) -> BucketLinks {
        BucketLinks {
            org,
            ticket_q: ticket.map(|t| format!("&ticket={t}")).unwrap_or_default(),
        }
    }

    fn at(&self, prefix: &str) -> String {
        format!(
            "/agent/organizations/{}/bucket?prefix={}{}",
            self.org,
            enc(prefix),
            self.ticket_q
        )
    }

    /// The folder above `prefix`, if it is not the top.
    fn parent(&self, prefix: &str) -> Option<String> {
        (!prefix.is_empty()).then(|| {
            let trimmed = prefix.trim_end_matches('/');
            let up = trimmed
                .rsplit_once('/')
                .map(|(p, _)| format!("{p}/"))
                .unwrap_or_default();
            self.at(&up)
        })
    }

    /// The column headers: a second click on the sorted column reverses it; the page shown stays the same.
    fn sort_links(&self, prefix: &str, sort: &str, after: Option<&String>) -> Vec<(String, String)> {
        [("name", "Name"), ("size", "Size"), ("modified", "Last modified")]
            .iter()
            .map(|(key, label)| {
                let next = if sort == *key {
                    format!("-{key}")
                } else {
                    (*key).to_owned()
                };
                let after = after.map(|a| format!("&after={}", enc(a))).unwrap_or_default();
                ((*label).to_owned(), format!("{}&sort={next}{after}", self.at(prefix)))
            })
            .collect()
    }
}

/// Which bucket this is, for the page's heading.
fn connection_summary(c: &BucketConnection) -> String {
    format!(
        "{} at {}{}",
        c.bucket,
        c.endpoint,
        if c.prefix.is_empty() {
            String::new()
        } else {
            format!(", under {}", c.prefix)
        }
    )
}

fn folder_rows(prefixes: &[String], prefix: &str, links: &BucketLinks) -> Vec<FolderRow> {
    prefixes
        .iter()
        .map(|p| FolderRow {
            name: p.strip_prefix(prefix).unwrap_or(p).to_owned(),
            href: links.at(p),
        })
        .collect()
}

fn object_rows(objects: &[BucketObject], prefix: &str, org: i64) -> Vec<ObjectRow> {
    objects
        .iter()
        .map(|obj| ObjectRow {
            key: obj.name.clone(),
            name: obj.name.strip_prefix(prefix).unwrap_or(&obj.name).to_owned(),
            size: partnerdesk_core::text::human_size(obj.size),
            modified: obj.last_modified.clone().unwrap_or_default(),
            download: format!("/api/v2/organizations/{org}/bucket/download?key={}", enc(&obj.name)),
        })
        .collect()
}

pub async fn browse(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<BrowseQuery>,
) -> Result<Response, PageError> {
    let org = OrgId(id);
    let (o, c) = bucket_access::connection(&state, &s.user.actor(), org).await?;
    let mut listing = bucket_access::list(&state, &s.user, org, &q.prefix, Some("/"), 200, q.after.as_deref()).await?;
    let sort = q.sort.clone().unwrap_or_else(|| "name".into());
    sort_objects(&mut listing.objects, &sort);
    let links = BucketLinks::new(id, q.ticket);
    let page = BrowsePage {
        layout: Layout::new(format!("{} bucket", o.name), Some(&s)),
        org_id: id,
        org_name: o.name.clone(),
        summary: connection_summary(&c),
        prefix: q.prefix.clone(),
        parent: links.parent(&q.prefix),
        folders: folder_rows(&listing.prefixes, &q.prefix, &links),
        objects: object_rows(&listing.objects, &q.prefix, id),
        next: listing
            .next_token
            .as_ref()
            .map(|t| format!("{}&after={}&sort={}", links.at(&q.prefix), enc(t), enc(&sort))),
        sort_links: links.sort_links(&q.prefix, &sort, q.after.as_ref()),
        ticket: q.ticket,
        access: access_rows(&state, org).await?,
        notice: q.notice.clone(),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub struct CopyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
}

/// "Attach to ticket": copies the object and goes back to the ticket.
pub async fn attach(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<CopyForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    bucket_access::attach_to_ticket(&state, &s.user, TicketId(id), &f.key).await?;
    Ok(Redirect::to(&format!("/agent/tickets/{id}")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ConnectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    bucket: String,
    #[serde(default)]
    prefix: String,
    path_style: Option<String>,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    secret_access_key: String,
    #[serde(default)]
    download_mode: String,
    #[serde(default)]
    presign_ttl_secs: String,
}

/// The admin's connection form.
pub async fn connect(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<ConnectionForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let ttl = if f.presign_ttl_secs.trim().is_empty() {
        None
    } else {
        Some(f.presign_ttl_secs.trim().parse::<i64>().map_err(|_| {
            PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check your input",
                "The presigned URL lifetime must be a number of seconds.",
            )
        })?)
    };
    let input = ConnectionInput {
        endpoint: Some(f.endpoint),
        region: Some(f.region),
        bucket: Some(f.bucket),
        prefix: Some(f.prefix),
        path_style: Some(f.path_style.is_some()),
        access_key_id: Some(f.access_key_id),
        // Blank keeps the stored secret: it is never sent back to the browser to be re-entered.
        secret_access_key: Some(f.secret_access_key).filter(|s| !s.is_empty()),
        download_mode: Some(f.download_mode),
        presign_ttl_secs: ttl,
    };
    save(&state, &s.user, OrgId(id), input).await?;
    Ok(Redirect::to(&format!("/admin/organizations/{id}?bucket=saved")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// "Test connection", from the organization page.
pub async fn test(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let result = test_connection(&state, &s.user, OrgId(id)).await?;
    let outcome = if result["ok"] == true {
        "ok".to_owned()
    } else {
        format!(
            "{}: {}",
            result["problem"].as_str().unwrap_or("problem"),
            result["description"].as_str().unwrap_or("")
        )
    };
    Ok(Redirect::to(&format!("/admin/organizations/{id}?bucket_test={}", enc(&outcome))).into_response())
}
