//! The request bodies of the bulk calls, as documented: `{"users": [...]}` of 1 to 100 objects. This is what is
//! checked when the job is queued (with each item's JSON types, a 422 naming `users[3]`); each item's values (the
//! single call's schema: `UserInput`, `OrgInput`, `TicketInput`), the records it names and the caller's rights over
//! them are checked when the job applies it, as Zendesk does, and an item that fails is reported in the job's
//! results. So the items are documented as objects, described by the single call's schema, not held to it.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::api::doc::integer;

/// An item: an object with the fields of `input`'s schema, whose values are checked when the job applies it.
fn item(input: &str, extra: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Object).description(Some(format!(
        "The fields of `{input}` (see its schema){extra}; their values are checked when the job applies the \
             item, and an item that fails is reported in the job's results."
    )))
}

/// `{"<list>": [items]}` with 1 to 100 items.
fn list(key: &str, item: ObjectBuilder) -> Schema {
    let items = ArrayBuilder::new()
        .items(RefOr::T(Schema::Object(item.build())))
        .min_items(Some(1))
        .max_items(Some(partnerdesk_app::jobs::MAX_ITEMS));
    ObjectBuilder::new().property(key, items).required(key).build().into()
}

/// An update's item names its record: a positive `id`, or (users and organizations) an `external_id` that is not
/// blank.
fn named(external: bool) -> Schema {
    let id = ObjectBuilder::new()
        .property("id", integer(Some(1), false))
        .required("id")
        .build();
    if !external {
        return id.into();
    }
    let external_id = ObjectBuilder::new()
        .property(
            "external_id",
            ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"\S")),
        )
        .required("external_id")
        .build();
    let any = AnyOfBuilder::new().item(id).item(external_id);
    // Whichever names the record, an `id` that is there is a positive integer.
    Schema::AllOf(
        AllOfBuilder::new()
            .item(ObjectBuilder::new().property("id", integer(Some(1), false)))
            .item(any)
            .build(),
    )
}

/// An update's body: `{"<list>": [named items]}`, or `{"<one>": {change}}` with `ids` or `external_ids` in the query
/// (then required).
fn update(list_key: &str, one: &str, input: &str, external: bool) -> Schema {
    let naming = if external {
        ", and `id` or `external_id`"
    } else {
        ", and `id`"
    };
    let named_item: RefOr<Schema> = Schema::AllOf(
        AllOfBuilder::new()
            .item(item(input, naming))
            .item(named(external))
            .build(),
    )
    .into();
    let items = ArrayBuilder::new()
        .items(named_item)
        .min_items(Some(1))
        .max_items(Some(partnerdesk_app::jobs::MAX_ITEMS));
    ObjectBuilder::new()
        .property(list_key, items)
        .property(one, item(input, ": the change made to each record the query names"))
        .build()
        .into()
}

macro_rules! body {
    ($($(#[$m:meta])* $name:ident = $schema:expr, $input:path;)*) => {$(
        $(#[$m])*
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }
        impl ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                schemas.push((<$input as ToSchema>::name().into_owned(), <$input as PartialSchema>::schema()));
                <$input as ToSchema>::schemas(schemas);
            }
        }
    )*};
}

use crate::api::doc::envelope;
use partnerdesk_app::org_changes::OrgInput;
use partnerdesk_app::tickets::TicketInput;
use partnerdesk_app::user_changes::UserInput;

body! {
    UsersCreateMany = list("users", item("UserInput", ", with `email` and `name`")), UserInput;
    UsersUpdateMany = update("users", "user", "UserInput", true), UserInput;
    UsersUpsertMany = list("users", item("UserInput", ", matched by `external_id`, else `email`")), UserInput;
    UserUpsert = envelope("user", "UserInput", None), UserInput;
    OrgsCreateMany = list("organizations", item("OrgInput", ", with `name`")), OrgInput;
    OrgsUpdateMany = update("organizations", "organization", "OrgInput", true), OrgInput;
    OrgsUpsertMany = list("organizations", item("OrgInput", ", matched by `external_id`, else `name`")), OrgInput;
    OrgUpsert = envelope("organization", "OrgInput", None), OrgInput;
    TicketsCreateMany = list("tickets", item("TicketInput", ", with a first comment")), TicketInput;
    TicketsUpdateMany = update("tickets", "ticket", "TicketInput", false), TicketInput;
}
