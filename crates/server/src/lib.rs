//! The HTTP side of Throughline: the JSON API under `/api/v1` and the web pages.
//!
//! [`router`] builds the whole application from an [`AppState`]; [`serve`] runs it on a
//! listener until a shutdown future resolves. `throughline serve`, the tests and the
//! benchmarks all start the same application this way.

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod report_params;
pub mod web;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use throughline_store::Store;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// Settings of a running server.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// Mark session cookies `Secure` (set when served behind HTTPS).
    pub secure_cookies: bool,
    /// A line shown under the sign-in form (the demo's logins).
    pub login_hint: Option<String>,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// Import jobs started through the API, in memory (see [`api::ImportJobs`]).
    pub imports: api::ImportJobs,
}

impl AppState {
    pub fn new(store: Store, config: ServerConfig) -> Self {
        Self {
            store,
            config: Arc::new(config),
            imports: api::ImportJobs::default(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api/v1", api::routes())
        .merge(api::health_routes())
        .merge(web::routes())
        .fallback(api::not_found)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serve until `shutdown` resolves; in-flight requests are allowed to finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
