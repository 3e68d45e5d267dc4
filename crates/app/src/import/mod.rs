//! `partnerdesk admin import`: organizations and users from CSV files, as a CRM export gives them, through the same
//! `create_or_update` an API client uses (matched by `external_id`, then by name or e-mail), so every rule applies.
//!
//! Idempotent: a row that would change nothing is undone in its savepoint, so a second run of the same file writes
//! no row and no audit entry. `--dry-run` runs exactly the same code and rolls every change back, so what it prints
//! is what a real run would do. Rows are committed in chunks (`CHUNK` rows), so a large file never holds SQLite's
//! one writer for long; a row that fails is reported with its line and undone alone, and the others land. Memory
//! stays bounded whatever the file: one record at a time, each at most [`bounded::MAX_RECORD_BYTES`].

mod bounded;

use std::collections::HashMap;
use std::io::Read;

use partnerdesk_core::policy::Actor;
use partnerdesk_db::organizations::{self, Organization};
use partnerdesk_db::users::User;
use partnerdesk_db::{AuditActor, Conn, Db};

use serde_json::Value;

use crate::error::AppError;
use crate::org_changes::{self, OrgInput};
use crate::profile_fields::{self, FieldValues};
use crate::user_changes::{self, UserInput};
use partnerdesk_db::profile_fields::FieldKind;

/// Rows per transaction.
const CHUNK: usize = 500;
/// The savepoint each row runs in.
const ROW: &str = "pd_import_row";

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Records {
    Organizations,
    Users,
}

impl Records {
    /// The columns a file of these records may have.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Records::Organizations => &[
                "external_id",
                "name",
                "domain_names",
                "tags",
                "notes",
                "details",
                "alliance_partner",
            ],
            Records::Users => &[
                "external_id",
                "email",
                "name",
                "role",
                "organization",
                "organization_external_id",
                "time_zone",
                "suspended",
            ],
        }
    }

    /// The prefix of the columns that hold field values (`organization_fields.support_level`).
    pub fn fields_prefix(self) -> &'static str {
        match self {
            Records::Organizations => "organization_fields.",
            Records::Users => "user_fields.",
        }
    }

    fn kind(self) -> FieldKind {
        match self {
            Records::Organizations => FieldKind::Organization,
            Records::Users => FieldKind::User,
        }
    }

    fn singular(self) -> &'static str {
        match self {
            Records::Organizations => "organization",
            Records::Users => "user",
        }
    }
}

/// How a run went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
}

/// One row: its line in the file and its cells by column (an empty cell is not given: the record keeps its value).
struct Row {
    line: u64,
    cells: HashMap<String, String>,
}

impl Row {
    fn get(&self, column: &str) -> Option<String> {
        self.cells
            .get(column)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A list cell: entries separated by spaces, commas or semicolons.
    fn list(&self, column: &str) -> Option<Vec<String>> {
        self.get(column).map(|v| {
            v.split([' ', ',', ';'])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }

    /// The field values of the row (`PREFIX.KEY` columns with a value), as the API takes them.
    fn field_values(&self, prefix: &str) -> Option<FieldValues> {
        let values: FieldValues = self
            .cells
            .iter()
            .filter_map(|(column, cell)| {
                let key = column.strip_prefix(prefix)?;
                let cell = cell.trim();
                (!cell.is_empty()).then(|| (key.to_owned(), Value::String(cell.to_owned())))
            })
            .collect();
        (!values.is_empty()).then_some(values)
    }

    fn flag(&self, column: &str) -> Result<Option<bool>, String> {
        match self.get(column).map(|v| v.to_ascii_lowercase()) {
            None => Ok(None),
            Some(v) if ["true", "yes", "1"].contains(&v.as_str()) => Ok(Some(true)),
            Some(v) if ["false", "no", "0"].contains(&v.as_str()) => Ok(Some(false)),
            Some(v) => Err(format!("{column}: {v:?} is not true or false")),
        }
    }
}

/// Imports the records of `input` (CSV with a header row) as the operator; `say` receives one line per change and
/// per failed row. With `dry_run` nothing is kept.
pub async fn import(
    db: &Db,
    records: Records,
    input: impl Read,
    dry_run: bool,
    mut say: impl FnMut(String),
) -> Result<Outcome, AppError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(bounded::Bounded::new(input));
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| AppError::BadRequest(format!("the header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let header_end = reader.position().byte();
    reader.get_mut().record_ended(header_end);
    let known = records.columns();
    let is_field = |h: &str| {
        h.strip_prefix(records.fields_prefix())
            .is_some_and(|key| !key.is_empty())
    };
    if let Some(unknown) = header.iter().find(|h| !known.contains(&h.as_str()) && !is_field(h)) {
        return Err(AppError::BadRequest(format!(
            "unknown column {unknown:?}; the columns of {}s are: {}, and {}KEY for each field",
            records.singular(),
            known.join(", "),
            records.fields_prefix()
        )));
    }
    let actor = Actor::operator();
    let audit = AuditActor::cli();
    let mut outcome = Outcome::default();
    let mut tx = db.begin().await?;
    let mut in_chunk = 0;
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader
            .read_record(&mut record)
            .map_err(|e| AppError::BadRequest(format!("CSV: {e}")))?;
        if !more {
            break;
        }
        let record_end = reader.position().byte();
        reader.get_mut().record_ended(record_end);
        let row = Row {
            line: record.position().map_or(0, |p| p.line()),
            cells: header.iter().cloned().zip(record.iter().map(str::to_owned)).collect(),
        };
        tx.savepoint(ROW).await?;
        let done = match records {
            Records::Organizations => organization(&mut tx, &actor, &audit, &row).await,
            Records::Users => user(&mut tx, &actor, &audit, &row).await,
        };
        match done {
            Ok(Change::Created(what)) => {
                tx.release_savepoint(ROW).await?;
                outcome.created += 1;
                say(format!("line {}: create {what}", row.line));
            }
            Ok(Change::Updated(what, diff)) => {
                tx.release_savepoint(ROW).await?;
                outcome.updated += 1;
                say(format!("line {}: update {what}: {}", row.line, diff.join("; ")));
            }
            Ok(Change::Unchanged) => {
                // The update wrote the same values (and an audit entry): undone, so a re-run writes nothing.
                tx.rollback_to_savepoint(ROW).await?;
                outcome.unchanged += 1;
            }
            Err(e) => {
                tx.rollback_to_savepoint(ROW).await?;
                outcome.failed += 1;
                say(format!("line {}: {}", row.line, message(&e)));
            }
        }
        in_chunk += 1;
        if in_chunk == CHUNK {
            end(tx, dry_run).await?;
            tx = db.begin().await?;
            in_chunk = 0;
        }
    }
    end(tx, dry_run).await?;
    Ok(outcome)
}

async fn end(tx: Conn, dry_run: bool) -> Result<(), AppError> {
    if dry_run {
        // Dropped without a commit: rolled back.
        drop(tx);
    } else {
        tx.commit().await?;
    }
    Ok(())
}

/// A refusal as one line: each invalid field with its message.
fn message(e: &AppError) -> String {
    match e {
        AppError::Invalid(invalid) => invalid
            .0
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        AppError::BadRequest(m) => m.clone(),
        e => e.to_string(),
    }
}

enum Change {
    Created(String),
    Updated(String, Vec<String>),
    Unchanged,
}

/// `field: before → after` for each field that differs.
fn differences(pairs: &[(&str, String, String)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(_, a, b)| a != b)
        .map(|(field, a, b)| format!("{field}: {a:?} → {b:?}"))
        .collect()
}

fn org_view(o: &Organization) -> Vec<(&'static str, String)> {
    vec![
        ("name", o.name.clone()),
        ("external_id", o.external_id.clone().unwrap_or_default()),
        ("domain_names", o.domain_names.join(" ")),
        ("tags", o.tags.join(" ")),
        ("notes", o.notes.clone()),
        ("details", o.details.clone()),
        ("alliance_partner", o.alliance_partner.to_string()),
    ]
}

fn user_view(u: &User) -> Vec<(&'static str, String)> {
    vec![
        ("email", u.email.clone()),
        ("name", u.name.clone()),
        ("external_id", u.external_id.clone().unwrap_or_default()),
        ("role", u.role.as_str().to_owned()),
        (
            "organization_id",
            u.organization_id.map(|o| o.0.to_string()).unwrap_or_default(),
        ),
        ("time_zone", u.time_zone.clone()),
        ("status", u.status.as_str().to_owned()),
    ]
}

fn compare(before: Vec<(&'static str, String)>, after: Vec<(&'static str, String)>) -> Vec<String> {
    let pairs: Vec<(&str, String, String)> = before
        .into_iter()
        .zip(after)
        .map(|((field, a), (_, b))| (field, a, b))
        .collect();
    differences(&pairs)
}

/// A record's field values as staff see them, one `(key, value)` per active field.
async fn fields_of(tx: &mut Conn, records: Records, id: i64) -> Result<Vec<(String, String)>, AppError> {
    let mut shown = profile_fields::shown(tx, records.kind(), &[id], true).await?;
    let mut values: Vec<(String, String)> = shown
        .remove(&id)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, if v.is_null() { String::new() } else { v.to_string() }))
        .collect();
    values.sort();
    Ok(values)
}

/// `key: before → after` for each field value that differs.
fn field_differences(records: Records, before: &[(String, String)], after: &[(String, String)]) -> Vec<String> {
    after
        .iter()
        .filter(|(key, value)| before.iter().find(|(k, _)| k == key).map(|(_, v)| v) != Some(value))
        .map(|(key, value)| {
            let old = before.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str());
            format!("{}{key}: {old} → {value}", records.fields_prefix())
        })
        .collect()
}

async fn organization(tx: &mut Conn, actor: &Actor, audit: &AuditActor, row: &Row) -> Result<Change, AppError> {
    let input = OrgInput {
        name: row.get("name"),
        notes: row.get("notes"),
        details: row.get("details"),
        domain_names: row.list("domain_names"),
        tags: row.list("tags"),
        alliance_partner: row.flag("alliance_partner").map_err(AppError::BadRequest)?,
        external_id: row.get("external_id").map(Some),
        organization_fields: row.field_values(Records::Organizations.fields_prefix()),
        ..OrgInput::default()
    };
    let before = match org_changes::existing(tx, &input).await? {
        Some(b) => Some((org_view(&b), fields_of(tx, Records::Organizations, b.id.0).await?)),
        None => None,
    };
    let (after, _) = org_changes::create_or_update_in(tx, actor, audit, input).await?;
    let what = format!("organization {:?} (id {})", after.name, after.id.0);
    outcome(tx, Records::Organizations, what, after.id.0, before, org_view(&after)).await
}

async fn user(tx: &mut Conn, actor: &Actor, audit: &AuditActor, row: &Row) -> Result<Change, AppError> {
    let organization_id = match (row.get("organization_external_id"), row.get("organization")) {
        (Some(external), _) => match org_changes::id_of_external(tx, actor, &external).await {
            Ok(id) => Some(Some(id.0)),
            Err(AppError::NotFound) => {
                return Err(AppError::BadRequest(format!(
                    "organization_external_id: no organization has the external id {external:?}"
                )));
            }
            Err(e) => return Err(e),
        },
        (None, Some(name)) => match organizations::by_name_for_update(tx, &name).await {
            Ok(org) => Some(Some(org.id.0)),
            Err(partnerdesk_db::DbError::NotFound) => {
                return Err(AppError::BadRequest(format!(
                    "organization: no organization is named {name:?}"
                )));
            }
            Err(e) => return Err(e.into()),
        },
        (None, None) => None,
    };
    let input = UserInput {
        name: row.get("name"),
        email: row.get("email"),
        role: row.get("role"),
        organization_id,
        suspended: row.flag("suspended").map_err(AppError::BadRequest)?,
        time_zone: row.get("time_zone"),
        external_id: row.get("external_id").map(Some),
        user_fields: row.field_values(Records::Users.fields_prefix()),
        ..UserInput::default()
    };
    let before = match user_changes::existing(tx, &input).await? {
        Some(b) => Some((user_view(&b), fields_of(tx, Records::Users, b.id.0).await?)),
        None => None,
    };
    let (after, _) = user_changes::create_or_update_in(tx, actor, audit, input, None).await?;
    let what = format!("user {} (id {})", after.email, after.id.0);
    outcome(tx, Records::Users, what, after.id.0, before, user_view(&after)).await
}

/// A record's columns as a row compares them, and its field values.
type Before = (Vec<(&'static str, String)>, Vec<(String, String)>);

/// What a row did to record `id`: created it (nothing before), or the differences between what it was and is.
async fn outcome(
    tx: &mut Conn,
    records: Records,
    what: String,
    id: i64,
    before: Option<Before>,
    after: Vec<(&'static str, String)>,
) -> Result<Change, AppError> {
    let Some((view, fields)) = before else {
        return Ok(Change::Created(what));
    };
    let mut diff = compare(view, after);
    diff.extend(field_differences(records, &fields, &fields_of(tx, records, id).await?));
    Ok(if diff.is_empty() {
        Change::Unchanged
    } else {
        Change::Updated(what, diff)
    })
}
