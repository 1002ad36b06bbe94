use anyhow::{Context, Result};
use throughline_server::{AppState, ServerConfig};
use throughline_store::Store;
use tokio::net::TcpListener;

use crate::cli::{DEFAULT_DATABASE, DEMO_DATABASE, ServeArgs};

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

pub async fn run(args: ServeArgs) -> Result<()> {
    let database = if args.demo && args.db.database == DEFAULT_DATABASE {
        DEMO_DATABASE.to_string()
    } else {
        args.db.database.clone()
    };
    let (store, login_hint) = if args.demo {
        let (store, hint) =
            super::demo::fresh(&database, args.seed, database == DEMO_DATABASE).await?;
        (store, Some(hint))
    } else {
        let store = Store::open(&database)
            .await
            .with_context(|| format!("cannot open the database {database}"))?;
        (store, None)
    };
    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    tracing::info!(database = %database, "Throughline is listening on http://{addr}");
    eprintln!("Throughline is running at http://{addr}  (database: {database}; stop with Ctrl-C)");
    let state = AppState::new(
        store.clone(),
        ServerConfig {
            secure_cookies: args.secure_cookies,
            login_hint,
        },
    );
    throughline_server::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    Ok(())
}
