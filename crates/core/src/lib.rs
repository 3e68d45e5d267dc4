//! Domain types and rules of partnerdesk. Nothing in here does IO: the store (`partnerdesk-db`) and the HTTP
//! interface (`partnerdesk-web`) build on these types, so a rule lives in exactly one place.

pub mod accounts;
pub mod buckets;
pub mod credentials;
pub mod custom_fields;
pub mod escalations;
pub mod ids;
pub mod oncall;
pub mod policy;
pub mod routing;
pub mod sealing;
pub mod search;
pub mod tags;
pub mod text;
pub mod tickets;
pub mod validation;

pub use ids::{CommentId, FormId, GroupId, OrgId, TicketId, UserId};
pub use validation::{FieldError, Invalid};
