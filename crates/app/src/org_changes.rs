//! Creating and changing organizations, the same for the API, the admin pages and the CLI: one validation, and
//! the record read and locked inside the transaction that writes it.

use partnerdesk_core::policy::Actor;
use partnerdesk_core::validation::required_text;
use partnerdesk_core::{Invalid, OrgId, UserId, tags};
use partnerdesk_db::organizations::{self, OrgFields, Organization};
use partnerdesk_db::{AuditActor, Conn, Db, users};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::input::{nullable, schema};

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct OrgInput {
    #[schema(schema_with = schema::name)]
    pub name: Option<String>,
    /// Staff-only notes (up to 64 KiB).
    #[schema(max_length = 65536)]
    pub notes: Option<String>,
    #[schema(max_length = 65536)]
    pub details: Option<String>,
    /// Domain names (blank entries are dropped).
    #[schema(schema_with = domain_names)]
    pub domain_names: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    /// Admins only.
    pub alliance_partner: Option<bool>,
    /// Admins only: an agent or admin flagged as account manager.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub account_manager_id: Option<Option<i64>>,
}

/// Each a domain (a dot, no `@` or `/`, no control character) or blank.
fn domain_names() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(ObjectBuilder::new().schema_type(Type::String).pattern(Some(format!(
            r"^([^\S{c}]*|[^@/{c}]*\.[^@/{c}]*)$",
            c = schema::CONTROLS
        ))))
        .build()
}

const MAX_NOTES: usize = 64 * 1024;

/// Applies `input` onto `f`, collecting every invalid field.
async fn apply(conn: &mut Conn, f: &mut OrgFields, input: OrgInput, creating: bool) -> Result<(), AppError> {
    let mut errors = Invalid::default();
    match (&input.name, creating) {
        (Some(n), _) => f.name = required_text(&mut errors, "name", n, 255),
        (None, true) => errors.push("name", "BlankValue", "name cannot be blank"),
        (None, false) => {}
    }
    for (field, value, target) in [
        ("notes", input.notes, &mut f.notes),
        ("details", input.details, &mut f.details),
    ] {
        if let Some(v) = value {
            if v.len() > MAX_NOTES {
                errors.push(
                    field,
                    "TooLong",
                    format!("{field} is too long (maximum is {MAX_NOTES} bytes)"),
                );
            }
            *target = v;
        }
    }
    if let Some(d) = input.domain_names {
        let d = tags::normalize(d);
        if let Some(bad) = d
            .iter()
            .find(|x| !x.contains('.') || x.contains('@') || x.contains('/'))
        {
            errors.push("domain_names", "InvalidValue", format!("'{bad}' is not a domain name"));
        }
        f.domain_names = d;
    }
    if let Some(t) = input.tags {
        f.tags = tags::normalize(t);
    }
    if let Some(p) = input.alliance_partner {
        f.alliance_partner = p;
    }
    if let Some(am) = input.account_manager_id {
        f.account_manager_id = am.map(UserId);
    }
    errors.into_result()?;
    if let (Some(Some(id)), Some(am)) = (input.account_manager_id, f.account_manager_id) {
        let ok = match users::get(conn, am).await {
            Ok(u) => u.is_account_manager && u.role.is_staff(),
            Err(partnerdesk_db::DbError::NotFound) => false,
            Err(e) => return Err(e.into()),
        };
        if !ok {
            return Err(AppError::invalid(
                "account_manager_id",
                "InvalidValue",
                format!("user {id} is not an account manager"),
            ));
        }
    }
    Ok(())
}

/// Creates an organization (admins).
pub async fn create(db: &Db, actor: &Actor, audit: &AuditActor, input: OrgInput) -> Result<Organization, AppError> {
    actor.may_administer()?;
    let mut f = OrgFields::default();
    let mut tx = db.begin().await?;
    apply(&mut tx, &mut f, input, true).await?;
    let org = organizations::create(&mut tx, &f, audit)
        .await
        .map_err(AppError::unique_name("organization", &f.name))?;
    tx.commit().await?;
    Ok(org)
}

/// Changes an organization: admins, or its account manager (who may not change who that is, nor partner status).
/// Read and locked inside the transaction that writes it: concurrent changes are applied one after the other.
pub async fn update(
    db: &Db,
    actor: &Actor,
    audit: &AuditActor,
    id: OrgId,
    input: OrgInput,
) -> Result<Organization, AppError> {
    let mut tx = db.begin().await?;
    let before = organizations::get_for_update(&mut tx, id, actor.org_scope()).await?;
    actor.may_edit_org(before.account_manager_id)?;
    if !actor.is_admin() && (input.account_manager_id.is_some() || input.alliance_partner.is_some()) {
        return Err(AppError::Forbidden(
            "Only admins may change an organization's account manager or partner status.".into(),
        ));
    }
    let mut f = before.fields();
    apply(&mut tx, &mut f, input, false).await?;
    let after = organizations::update(&mut tx, &before, &f, audit)
        .await
        .map_err(AppError::unique_name("organization", &f.name))?;
    tx.commit().await?;
    Ok(after)
}
