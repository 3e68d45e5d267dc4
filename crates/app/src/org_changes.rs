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
use crate::profile_fields::{self, FieldValues};
use partnerdesk_db::profile_fields::FieldKind;

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
    /// Your own key for the organization, unique among organizations (up to 255 characters); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = schema::external_id)]
    pub external_id: Option<Option<String>>,
    /// Values of organization fields by key (`null` clears one); keys left out stay as they are.
    #[schema(value_type = Option<Object>)]
    pub organization_fields: Option<FieldValues>,
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
    if let Some(x) = &input.external_id {
        f.external_id = crate::input::external_id(&mut errors, x.as_deref());
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
    let mut tx = db.begin().await?;
    let org = create_in(&mut tx, actor, audit, input).await?;
    tx.commit().await?;
    Ok(org)
}

/// `create` inside the caller's transaction (a bulk job records the item's result in the same one).
pub async fn create_in(
    tx: &mut Conn,
    actor: &Actor,
    audit: &AuditActor,
    mut input: OrgInput,
) -> Result<Organization, AppError> {
    actor.may_administer()?;
    let values = input.organization_fields.take();
    let mut f = OrgFields::default();
    apply(tx, &mut f, input, true).await?;
    let checked = profile_fields::check_values(tx, FieldKind::Organization, values.as_ref()).await?;
    let org = organizations::create(tx, &f, audit)
        .await
        .map_err(AppError::unique_name("organization", &f.name))?;
    profile_fields::write_values(tx, FieldKind::Organization, org.id.0, Some(org.id.0), checked, audit).await?;
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
    let after = update_in(&mut tx, actor, audit, id, input).await?;
    tx.commit().await?;
    Ok(after)
}

/// `update` inside the caller's transaction.
pub async fn update_in(
    tx: &mut Conn,
    actor: &Actor,
    audit: &AuditActor,
    id: OrgId,
    input: OrgInput,
) -> Result<Organization, AppError> {
    let before = organizations::get_for_update(tx, id, actor.org_scope()).await?;
    change(tx, actor, audit, &before, input).await
}

/// Applies `input` to `before` (read and locked by the caller), as `actor` may.
async fn change(
    tx: &mut Conn,
    actor: &Actor,
    audit: &AuditActor,
    before: &Organization,
    mut input: OrgInput,
) -> Result<Organization, AppError> {
    actor.may_edit_org(before.account_manager_id)?;
    if !actor.is_admin() && (input.account_manager_id.is_some() || input.alliance_partner.is_some()) {
        return Err(AppError::Forbidden(
            "Only admins may change an organization's account manager or partner status.".into(),
        ));
    }
    let values = input.organization_fields.take();
    let mut f = before.fields();
    apply(tx, &mut f, input, false).await?;
    let checked = profile_fields::check_values(tx, FieldKind::Organization, values.as_ref()).await?;
    let after = organizations::update(tx, before, &f, audit)
        .await
        .map_err(AppError::unique_name("organization", &f.name))?;
    profile_fields::write_values(
        tx,
        FieldKind::Organization,
        before.id.0,
        Some(before.id.0),
        checked,
        audit,
    )
    .await?;
    Ok(after)
}

/// `POST /organizations/create_or_update`: creates the organization or updates the one `input` names (see
/// `create_or_update_in`), in one transaction; true when it was created. Only admins and account managers: anyone
/// else is refused before anything is read.
pub async fn create_or_update(
    db: &Db,
    actor: &Actor,
    audit: &AuditActor,
    input: OrgInput,
) -> Result<(Organization, bool), AppError> {
    crate::jobs::Kind::of(
        crate::jobs::Resource::Organizations,
        crate::jobs::Operation::CreateOrUpdateMany,
    )
    .check_caller(actor)?;
    let mut tx = db.begin().await?;
    let done = create_or_update_in(&mut tx, actor, audit, input).await?;
    tx.commit().await?;
    Ok(done)
}

/// Creates the organization, or updates the one it names: the one with its `external_id`, else the one with its
/// name (case-insensitive), as Zendesk matches. True when it was created. The match is read and locked in the
/// caller's transaction, and every rule of a create or an update applies.
pub async fn create_or_update_in(
    tx: &mut Conn,
    actor: &Actor,
    audit: &AuditActor,
    input: OrgInput,
) -> Result<(Organization, bool), AppError> {
    let found = match existing(tx, &input).await? {
        Some(org) => org,
        None => return Ok((create_in(tx, actor, audit, input).await?, true)),
    };
    // An organization outside the caller's sight is not theirs to change: as for an update, it is not found.
    organizations::get(tx, found.id, actor.org_scope()).await?;
    Ok((change(tx, actor, audit, &found, input).await?, false))
}

/// The organization `input` names by external id, else by name, locked.
pub(crate) async fn existing(tx: &mut Conn, input: &OrgInput) -> Result<Option<Organization>, AppError> {
    let by_external = match input.external_id.as_ref().and_then(|x| x.as_deref()).map(str::trim) {
        Some(x) if !x.is_empty() => organizations::by_external_id_for_update(tx, x).await,
        _ => Err(partnerdesk_db::DbError::NotFound),
    };
    let found = match (by_external, input.name.as_deref().map(str::trim)) {
        (Ok(org), _) => Ok(org),
        (Err(partnerdesk_db::DbError::NotFound), Some(name)) if !name.is_empty() => {
            organizations::by_name_for_update(tx, name).await
        }
        (Err(e), _) => Err(e),
    };
    match found {
        Ok(org) => Ok(Some(org)),
        Err(partnerdesk_db::DbError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Deletes an organization (admins). Its people and tickets stay, without an organization.
pub async fn delete(db: &Db, actor: &Actor, audit: &AuditActor, id: OrgId) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    delete_in(&mut tx, actor, audit, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes an organization (admins), in the caller's transaction.
pub async fn delete_in(tx: &mut Conn, actor: &Actor, audit: &AuditActor, id: OrgId) -> Result<Organization, AppError> {
    actor.may_administer()?;
    let org = organizations::get_for_update(tx, id, partnerdesk_core::policy::OrgScope::All).await?;
    organizations::delete(tx, &org, audit).await?;
    Ok(org)
}

/// The organization with this external id (for deleting by external id), within `actor`'s sight.
pub async fn id_of_external(tx: &mut Conn, actor: &Actor, external_id: &str) -> Result<OrgId, AppError> {
    let org = organizations::by_external_id_for_update(tx, external_id.trim()).await?;
    organizations::get(tx, org.id, actor.org_scope()).await?;
    Ok(org.id)
}
