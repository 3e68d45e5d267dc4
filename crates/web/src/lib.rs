//! The HTTP interface of partnerdesk: the Zendesk-compatible API, health checks, and the router that ties
//! them to the store. `build_router` and `serve` are what the binary and the tests call.

pub mod api;
pub mod auth;
pub mod downloads;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod pages;
pub mod pagination;
pub mod session;
pub mod state;
pub mod strict_json;

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

/// The Content-Security-Policy of every answer: only this origin's own scripts, styles, images and connections,
/// forms posting back here, and no framing (no clickjacking). The pages hold no inline script or style.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Security headers on every answer, pages and API alike (a handler that set its own keeps it).
async fn security_headers(req: Request, next: Next) -> Response {
    use axum::http::{HeaderValue, header};
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        // For browsers that predate frame-ancestors.
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    resp
}

pub fn build_router(state: AppState) -> Router {
    // Installed before the first request, so that every request from the start is counted.
    metrics::handle();
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
        .route("/metrics", get(metrics::scrape))
        .nest("/api/v2", api::router())
        .merge(pages::router())
        .route("/attachments/{id}/{name}", get(api::uploads::download))
        .fallback(|| async { ApiError(AppError::NotFound) })
        .layer(axum::middleware::from_fn(refuse_control_characters))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn(metrics::track))
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
