//! The HTTP interface of partnerdesk: the Zendesk-compatible API, health checks, and the router that ties
//! them to the store. `build_router` and `serve` are what the binary and the tests call.

pub mod api;
pub mod auth;
pub mod downloads;
pub mod error;
pub mod extract;
pub mod pages;
pub mod pagination;
pub mod session;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use state::{AppState, Settings};

use partnerdesk_app::AppError;

use crate::error::ApiError;

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.db.ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}

/// Control characters in the address are refused before any handler runs: 422 naming the parameter, as JSON on
/// the API and as a page elsewhere.
async fn refuse_control_characters(req: Request, next: Next) -> Response {
    match extract::check_url(req.uri()) {
        Ok(()) => next.run(req).await,
        // Downloads answer API callers too, and like the API answer their errors as JSON.
        Err(invalid) if req.uri().path().starts_with("/api/") || req.uri().path().starts_with("/attachments/") => {
            ApiError(AppError::Invalid(invalid)).into_response()
        }
        Err(invalid) => pages::PageError::from(AppError::Invalid(invalid)).into_response(),
    }
}

pub fn build_router(state: AppState) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request| {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        tracing::info_span!("request", method = %req.method(), route = %route)
    });
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .nest("/api/v2", api::router())
        .merge(pages::router())
        .route("/attachments/{id}/{name}", get(api::uploads::download))
        .fallback(|| async { ApiError(AppError::NotFound) })
        .layer(axum::middleware::from_fn(refuse_control_characters))
        .layer(trace)
        .layer(CatchPanicLayer::custom(|_| {
            ApiError(AppError::Internal("handler panicked".into())).into_response()
        }))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
