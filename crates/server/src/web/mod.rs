//! The web UI: server-rendered pages that work without scripts; `assets/app.js` adds drag
//! and drop, dialogs and shortcuts on top.

mod agenda;
mod assets;
mod board;
pub mod charts;
mod deal;
mod deals;
pub mod error;
pub mod format;
mod imports;
mod leads;
mod report_attention;
mod report_cycle;
mod report_flow;
mod report_forecast;
mod report_frame;
mod report_funnel;
mod report_sources;
mod report_velocity;
mod reports;
pub mod session;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Redirect;
use axum::routing::{get, post};
use throughline_core::PipelineId;
use throughline_core::pipeline::Pipeline;
use throughline_store::{Tx, pipelines, settings};

use crate::AppState;
use error::PageError;
use session::PageUser;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/board") }))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/setup", get(session::setup_page).post(session::setup))
        .route("/board", get(board::page))
        .route("/deals", get(deals::list))
        .route("/deals/new", get(deals::new_page).post(deals::create))
        .route("/deals/{id}", get(deal::page))
        .route("/deals/{id}/edit", post(deal::edit))
        .route("/deals/{id}/move", post(deal::move_to))
        .route("/deals/{id}/check", post(deal::check))
        .route("/deals/{id}/won", post(deal::won))
        .route("/deals/{id}/lost", post(deal::lost))
        .route("/deals/{id}/reopen", post(deal::reopen))
        .route("/deals/{id}/activities", post(deal::add_activity))
        .route("/activities/{id}/done", post(deal::activity_done))
        .route("/leads", get(leads::list).post(leads::create))
        .route("/leads/{id}/qualify", post(leads::qualify))
        .route("/leads/{id}/disqualify", post(leads::disqualify))
        .route("/reports", get(reports::index))
        .route("/reports/snapshot", get(reports::snapshot))
        .route("/reports/funnel", get(report_funnel::page))
        .route("/reports/flow", get(report_flow::page))
        .route("/reports/forecast", get(report_forecast::page))
        .route("/reports/attention", get(report_attention::page))
        .route("/reports/sources", get(report_sources::page))
        .route("/reports/cycle", get(report_cycle::page))
        .route("/reports/velocity", get(report_velocity::page))
        .route(
            "/imports",
            post(imports::create)
                .layer(DefaultBodyLimit::max(crate::api::imports::UPLOAD_LIMIT))
                .get(imports::page),
        )
        .route("/imports/{id}", get(imports::job))
        .route("/agenda", get(agenda::page))
        .route("/agenda/{id}/done", post(agenda::done))
        .route("/assets/{*path}", get(assets::serve))
}

/// A link in the side navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub icon: &'static str,
    pub current: bool,
}

/// What every page's frame shows: navigation, the pipeline switcher, the user.
pub struct Frame {
    pub title: String,
    pub user_name: String,
    pub user_role: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub pipelines: Vec<(String, String)>,
    pub pipeline_id: String,
    pub asset_version: &'static str,
}

const ICON_BOARD: &str = "M3 4h5v16H3zM10 4h5v10h-5zM17 4h4v7h-4z";
const ICON_DEALS: &str = "M4 6h16M4 12h16M4 18h10";
const ICON_LEADS: &str = "M12 3v18M3 12h18";
const ICON_AGENDA: &str = "M4 5h16v15H4zM4 10h16M9 3v4M15 3v4";
const ICON_REPORTS: &str = "M4 20V10M10 20V4M16 20v-7M22 20H2";
const ICON_IMPORT: &str = "M12 3v12M7 10l5 5 5-5M4 15v5h16v-5";

impl Frame {
    pub async fn new(
        tx: &mut Tx,
        user: &PageUser,
        title: impl Into<String>,
        section: &str,
        pipeline: Option<PipelineId>,
    ) -> Result<Frame, PageError> {
        let all = pipelines::list(tx, false).await?;
        let nav = [
            ("/board", "Board", ICON_BOARD),
            ("/deals", "Deals", ICON_DEALS),
            ("/leads", "Leads", ICON_LEADS),
            ("/agenda", "Agenda", ICON_AGENDA),
            ("/reports/snapshot", "Reports", ICON_REPORTS),
            ("/imports", "Import", ICON_IMPORT),
        ]
        .into_iter()
        .map(|(href, label, icon)| NavItem {
            href,
            label,
            icon,
            current: href == section,
        })
        .collect();
        Ok(Frame {
            title: title.into(),
            user_name: user.user.name.clone(),
            user_role: user.user.role.to_string(),
            csrf: user.csrf.clone(),
            nav,
            pipelines: all
                .iter()
                .map(|p| (p.id.to_string(), p.name.clone()))
                .collect(),
            pipeline_id: pipeline.map(|p| p.to_string()).unwrap_or_default(),
            asset_version: assets::VERSION,
        })
    }
}

/// The pipeline a page is about: the one asked for, or the first active one.
pub async fn chosen_pipeline(
    tx: &mut Tx,
    asked: Option<&str>,
) -> Result<Option<Pipeline>, PageError> {
    if let Some(key) = asked.filter(|k| !k.is_empty()) {
        return match pipelines::find(tx, key).await? {
            Some(p) => Ok(Some(p)),
            None => Err(PageError::not_found("There is no such pipeline.")),
        };
    }
    Ok(pipelines::list(tx, false).await?.into_iter().next())
}

pub async fn time_zone(tx: &mut Tx) -> Result<jiff::tz::TimeZone, PageError> {
    Ok(settings::time_zone(tx).await?)
}
