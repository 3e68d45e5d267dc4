//! The request bodies whose schema is written here rather than derived: the rules a derive cannot state (the fields
//! a create requires, a ticket's first comment), each wrapped in its envelope, and the `ToSchema` of each envelope.

use utoipa::ToSchema;
use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, Object, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr};

use super::{integer, string};

/// `{"<wrapper>": <schema of input>}`, with `wrapper` required; `extra` adds rules on the wrapped object (a
/// create's required fields), which must then hold as well as the input's own schema.
pub(crate) fn envelope(wrapper: &str, input: &str, extra: Option<Schema>) -> Schema {
    let inner: RefOr<Schema> = match extra {
        None => Ref::from_schema_name(input).into(),
        Some(extra) => Schema::AllOf(
            AllOfBuilder::new()
                .item(Ref::from_schema_name(input))
                .item(extra)
                .build(),
        )
        .into(),
    };
    ObjectBuilder::new()
        .property(wrapper, inner)
        .required(wrapper)
        .build()
        .into()
}

/// An object whose `fields` are required and must not be `null` (their format is the input schema's).
fn requires(fields: &[&str]) -> Object {
    let mut o = ObjectBuilder::new().schema_type(Type::Object);
    for f in fields {
        o = o
            .property(*f, ObjectBuilder::new().schema_type(Type::String))
            .required(*f);
    }
    o.build()
}

/// A ticket's first comment: `comment.body`, else `comment.html_body`, else `description`, whichever comes first,
/// must hold some text (the first present one counts, even when blank).
fn first_comment_rule() -> Schema {
    let text = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"\S"))
            .build()
    };
    let null = || ObjectBuilder::new().schema_type(Type::Null).build();
    let body = ObjectBuilder::new()
        .property(
            "comment",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("body", text())
                .required("body"),
        )
        .required("comment")
        .build();
    let html_body = ObjectBuilder::new()
        .property(
            "comment",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("body", null())
                .property("html_body", text())
                .required("html_body"),
        )
        .required("comment")
        .build();
    let no_comment = AnyOfBuilder::new().item(null()).item(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("body", null())
            .property("html_body", null()),
    );
    let description = ObjectBuilder::new()
        .property("comment", no_comment)
        .property("description", text())
        .required("description")
        .build();
    AnyOfBuilder::new()
        .item(body)
        .item(html_body)
        .item(description)
        .description(Some(
            "The first comment is `comment.body`, else `comment.html_body`, else `description`: the first of them \
             that is present must hold some text.",
        ))
        .build()
        .into()
}

/// A create's first comment is public: `comment.public` is absent, `null` or `true`.
fn public_first_comment() -> Object {
    ObjectBuilder::new()
        .property(
            "comment",
            ObjectBuilder::new().property("public", ObjectBuilder::new().enum_values(Some([Some(true), None]))),
        )
        .build()
}

/// The rules of a create: a first comment with text, and public.
fn new_ticket_rules() -> Schema {
    Schema::AllOf(
        AllOfBuilder::new()
            .item(first_comment_rule())
            .item(public_first_comment())
            .build(),
    )
}

pub fn new_ticket() -> Schema {
    envelope("ticket", "TicketInput", Some(new_ticket_rules()))
}

pub fn ticket_update() -> Schema {
    envelope("ticket", "TicketInput", None)
}

pub fn new_request() -> Schema {
    envelope("request", "TicketInput", Some(new_ticket_rules()))
}

pub fn request_update() -> Schema {
    envelope("request", "RequestUpdateInput", None)
}

pub fn new_user() -> Schema {
    envelope("user", "UserInput", Some(requires(&["email", "name"]).into()))
}

/// Passwords are set through invitation links: an update may not send one.
pub fn user_update() -> Schema {
    let no_password = ObjectBuilder::new()
        .property("password", ObjectBuilder::new().schema_type(Type::Null))
        .build();
    envelope("user", "UserInput", Some(no_password.into()))
}

pub fn new_organization() -> Schema {
    envelope("organization", "OrgInput", Some(requires(&["name"]).into()))
}

pub fn organization_update() -> Schema {
    envelope("organization", "OrgInput", None)
}

pub fn new_organization_field() -> Schema {
    envelope(
        "organization_field",
        "ProfileFieldInput",
        Some(requires(&["key", "type", "title"]).into()),
    )
}

pub fn organization_field_update() -> Schema {
    envelope("organization_field", "ProfileFieldInput", None)
}

pub fn new_user_field() -> Schema {
    envelope(
        "user_field",
        "ProfileFieldInput",
        Some(requires(&["key", "type", "title"]).into()),
    )
}

pub fn user_field_update() -> Schema {
    envelope("user_field", "ProfileFieldInput", None)
}

pub fn new_group() -> Schema {
    envelope("group", "GroupInput", Some(requires(&["name"]).into()))
}

pub fn new_ticket_form() -> Schema {
    envelope("ticket_form", "FormInput", Some(requires(&["name"]).into()))
}

pub fn new_escalation() -> Schema {
    let extra = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("ticket_id", integer(None, false))
        .required("ticket_id")
        .property("impact", string())
        .required("impact")
        .property("needed", string())
        .required("needed")
        .build();
    envelope("escalation", "EscalationInput", Some(extra.into()))
}

pub fn bucket_connection() -> Schema {
    envelope("bucket_connection", "ConnectionInput", None)
}

pub fn schedule() -> Schema {
    envelope("schedule", "ScheduleInput", None)
}

pub fn override_input() -> Schema {
    envelope("override", "OverrideInput", None)
}

pub fn api_token() -> Schema {
    ObjectBuilder::new()
        .property(
            "api_token",
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
                .property(
                    "description",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                        .max_length(Some(partnerdesk_app::accounts::MAX_TOKEN_DESCRIPTION)),
                ),
        )
        .build()
        .into()
}

/// The request bodies whose schema is built here: each is `$schema`, and brings `$input`'s schema along.
macro_rules! request_schema {
    ($($ty:path = $schema:path, $input:path;)*) => {$(
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $schema().into()
            }
        }
        impl ToSchema for $ty {
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                schemas.push((<$input as ToSchema>::name().into_owned(), <$input as utoipa::PartialSchema>::schema()));
                <$input as ToSchema>::schemas(schemas);
            }
        }
    )*};
}

request_schema! {
    crate::api::users::NewUserEnvelope = new_user, partnerdesk_app::user_changes::UserInput;
    crate::api::users::UserEnvelope = user_update, partnerdesk_app::user_changes::UserInput;
    crate::api::organizations::NewOrgEnvelope = new_organization, partnerdesk_app::org_changes::OrgInput;
    crate::api::organizations::OrgEnvelope = organization_update, partnerdesk_app::org_changes::OrgInput;
    crate::api::profile_fields::NewOrgFieldEnvelope = new_organization_field, partnerdesk_app::profile_fields::ProfileFieldInput;
    crate::api::profile_fields::OrgFieldEnvelope = organization_field_update, partnerdesk_app::profile_fields::ProfileFieldInput;
    crate::api::profile_fields::NewUserFieldEnvelope = new_user_field, partnerdesk_app::profile_fields::ProfileFieldInput;
    crate::api::profile_fields::UserFieldEnvelope = user_field_update, partnerdesk_app::profile_fields::ProfileFieldInput;
    crate::api::groups::GroupEnvelope = new_group, partnerdesk_app::directory::GroupInput;
    crate::api::ticket_forms::FormEnvelope = new_ticket_form, partnerdesk_app::directory::FormInput;
    crate::api::tickets::NewTicketEnvelope = new_ticket, partnerdesk_app::tickets::TicketInput;
    crate::api::tickets::TicketEnvelope = ticket_update, partnerdesk_app::tickets::TicketInput;
    crate::api::requests::NewRequestEnvelope = new_request, partnerdesk_app::tickets::TicketInput;
    crate::api::requests::RequestEnvelope = request_update, crate::api::requests::RequestUpdateInput;
    crate::api::escalations::EscalationEnvelope = new_escalation, partnerdesk_app::escalations::EscalationInput;
    crate::api::escalations::ScheduleEnvelope = schedule, partnerdesk_app::oncall::ScheduleInput;
    crate::api::escalations::OverrideEnvelope = override_input, partnerdesk_app::oncall::OverrideInput;
    crate::api::buckets::ConnectionEnvelope = bucket_connection, crate::api::bucket_docs::ConnectionInputRules;
}

impl utoipa::PartialSchema for crate::api::users::TokenEnvelope {
    fn schema() -> RefOr<Schema> {
        api_token().into()
    }
}

impl ToSchema for crate::api::users::TokenEnvelope {}
