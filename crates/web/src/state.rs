//! What every handler can reach. The services' context is the handlers' state: `AppState` is `partnerdesk_app::App`
//! (store, file storage, settings, this instance's limiters and wake-ups), so a handler passes it straight on.

pub use partnerdesk_app::{App as AppState, Settings};
