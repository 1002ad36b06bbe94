//! The import page: a CSV or XLSX file uploaded from the browser, the job followed while it
//! runs, and its report. The upload goes through the API's own reader, checks and job
//! registry (`api::imports`), so the page and `POST /api/v1/imports` import the same way and
//! list the same jobs; the page polls `GET /api/v1/imports/{id}` with its session cookie.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use throughline_core::UserId;
use throughline_core::money::format_minor;
use throughline_store::users;
use throughline_transfer::import::{ImportReport, Kind};

use super::error::PageError;
use super::format::date_time;
use super::session::PageUser;
use super::{Frame, time_zone};
use crate::AppState;
use crate::api::imports::{self as api, Form, JobStatus, JobView, Sender};
use crate::auth::Auth;
use crate::error::Problem;

/// The record kinds, as the form offers them.
const KINDS: [(&str, &str); 6] = [
    ("deals", "Deals"),
    ("leads", "Leads"),
    ("people", "People"),
    ("organizations", "Organizations"),
    ("activities", "Activities"),
    ("pipelines", "Pipelines"),
];

/// Rejected rows shown on the page; the API's report has them all.
const REJECTIONS_SHOWN: usize = 500;

/// What the user entered, to show again when the form is refused.
#[derive(Debug, Clone)]
pub struct FormValues {
    pub kind: String,
    pub pipeline: String,
    pub stages: String,
    pub currency: String,
    pub map: String,
    pub status_map: String,
    pub null: String,
    pub mapping: String,
    pub dry_run: bool,
    pub partial: bool,
    /// The file that was chosen, which a browser cannot put back into the form.
    pub file_name: String,
}

impl Default for FormValues {
    fn default() -> Self {
        FormValues {
            kind: "deals".into(),
            pipeline: String::new(),
            stages: String::new(),
            currency: String::new(),
            map: String::new(),
            status_map: String::new(),
            null: String::new(),
            mapping: String::new(),
            dry_run: false,
            partial: false,
            file_name: String::new(),
        }
    }
}

impl FormValues {
    fn from_form(form: &Form) -> Self {
        let flag = |v: &Option<String>| v.as_deref().is_some_and(|v| v.trim() == "true");
        FormValues {
            kind: form.kind.clone().unwrap_or_default(),
            pipeline: form.pipeline.clone().unwrap_or_default(),
            stages: form.stages.join(", "),
            currency: form.currency.clone().unwrap_or_default(),
            map: form.map.join("\n"),
            status_map: form.status_map.join("\n"),
            null: form.null.join(", "),
            mapping: form.mapping.clone().unwrap_or_default(),
            dry_run: flag(&form.dry_run),
            partial: flag(&form.partial),
            file_name: form.file_name.clone().unwrap_or_default(),
        }
    }
}

/// How a job ended (or that it has not yet), in the page's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Waiting,
    Running,
    Imported,
    /// Committed with `partial`: the good rows written, the rejected ones left out.
    ImportedInPart,
    DryRun,
    /// All or nothing, and a row was rejected: nothing written.
    Refused,
    Failed,
}

impl Outcome {
    fn of(job: &JobView) -> Outcome {
        match (job.status, &job.report) {
            (JobStatus::Queued, _) => Outcome::Waiting,
            (JobStatus::Running, _) => Outcome::Running,
            (JobStatus::Done, Some(r)) if r.committed && r.rejected.is_empty() => Outcome::Imported,
            (JobStatus::Done, Some(r)) if r.committed => Outcome::ImportedInPart,
            (JobStatus::Done, Some(r)) if r.dry_run => Outcome::DryRun,
            (JobStatus::Done, Some(_)) => Outcome::Refused,
            _ => Outcome::Failed,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Waiting => "Waiting",
            Outcome::Running => "Running",
            Outcome::Imported => "Imported",
            Outcome::ImportedInPart => "Imported in part",
            Outcome::DryRun => "Dry run",
            Outcome::Refused => "Refused",
            Outcome::Failed => "Failed",
        }
    }

    /// The pill's colour: `ok`, `warn`, `bad` or `info`.
    pub fn tone(self) -> &'static str {
        match self {
            Outcome::Imported => "ok",
            Outcome::ImportedInPart => "warn",
            Outcome::Refused | Outcome::Failed => "bad",
            Outcome::Waiting | Outcome::Running | Outcome::DryRun => "info",
        }
    }

    pub fn finished(self) -> bool {
        !matches!(self, Outcome::Waiting | Outcome::Running)
    }
}

/// A part of a message: plain text, or a name or value the message quotes in backticks,
/// shown as code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub code: bool,
    pub text: String,
}

fn pieces(text: &str) -> Vec<Piece> {
    // Unbalanced quotes are shown as written.
    if text.matches('`').count() % 2 == 1 {
        return vec![Piece {
            code: false,
            text: text.to_string(),
        }];
    }
    text.split('`')
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
        .map(|(i, t)| Piece {
            code: i % 2 == 1,
            text: t.to_string(),
        })
        .collect()
}

/// A refused field: named as the form labels it, linked to its input.
pub struct FieldError {
    pub field: String,
    pub label: String,
    pub target: &'static str,
    pub message: Vec<Piece>,
}

fn field_error(field: &str, message: &str) -> FieldError {
    let (label, target) = match field {
        "kind" => ("What the file holds", "i-kind-deals"),
        "file" => ("File", "i-file"),
        "partial" => ("If a row is rejected", "i-partial-false"),
        "dry_run" => ("Dry run", "i-dry-run"),
        "pipeline" => ("Pipeline", "i-pipeline"),
        "currency" => ("Currency", "i-currency"),
        "map" => ("Fields", "i-map"),
        "status_map" => ("Outcome values", "i-status-map"),
        "stages" => ("Stage order", "i-stages"),
        "null" => ("Texts meaning empty", "i-null"),
        "mapping" => ("Mapping file", "i-mapping"),
        _ => ("", "import-form"),
    };
    FieldError {
        field: field.to_string(),
        label: if label.is_empty() {
            field.to_string()
        } else {
            label.to_string()
        },
        target,
        message: pieces(&sentence(message)),
    }
}

/// `1,234`.
fn count(n: u64) -> String {
    format_minor(i64::try_from(n).unwrap_or(i64::MAX), 0)
}

/// "3 deals", "1 person".
fn records(n: u64, kind: Kind) -> String {
    let (one, many) = match kind {
        Kind::Deals => ("deal", "deals"),
        Kind::Leads => ("lead", "leads"),
        Kind::People => ("person", "people"),
        Kind::Organizations => ("organization", "organizations"),
        Kind::Activities => ("activity", "activities"),
        Kind::Pipelines => ("stage", "stages"),
    };
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

fn rows(n: u64) -> String {
    format!("{} {}", count(n), if n == 1 { "row" } else { "rows" })
}

fn kind_label(kind: Kind) -> &'static str {
    KINDS
        .iter()
        .find(|(value, _)| *value == kind.as_str())
        .map(|(_, label)| *label)
        .unwrap_or("Records")
}

fn format_label(format: Option<&str>) -> String {
    match format {
        Some("pipedrive") => "Pipedrive export".into(),
        Some("hubspot") => "HubSpot export".into(),
        Some("salesforce") => "Salesforce export".into(),
        Some("throughline") => "Throughline export".into(),
        Some(other) => format!("{other} export"),
        None => "Not recognised: columns mapped by hand".into(),
    }
}

/// "0.4 s", "12 s", "3 min 5 s".
fn duration(from: Timestamp, to: Timestamp) -> String {
    let ms = to
        .as_millisecond()
        .saturating_sub(from.as_millisecond())
        .max(0);
    if ms < 100 {
        "under 0.1 s".into()
    } else if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 60_000 {
        format!("{} s", ms / 1000)
    } else {
        format!("{} min {} s", ms / 60_000, (ms / 1000) % 60)
    }
}

fn auth(user: &PageUser) -> Auth {
    Auth {
        user: user.user.clone(),
    }
}

/// A line of the recent imports.
pub struct JobRow {
    pub id: String,
    pub file: String,
    pub kind: &'static str,
    pub by: String,
    pub when: String,
    pub outcome: Outcome,
    pub rows: String,
    pub created: String,
    pub updated: String,
    pub skipped: String,
    pub rejected: String,
}

fn job_row(job: &JobView, names: &HashMap<UserId, String>, tz: &TimeZone) -> JobRow {
    let report = job.report.as_ref();
    let figure = |f: fn(&ImportReport) -> u64| report.map(|r| count(f(r))).unwrap_or_default();
    JobRow {
        id: job.id.clone(),
        file: job
            .file_name
            .clone()
            .unwrap_or_else(|| "(unnamed file)".into()),
        kind: kind_label(job.kind),
        by: names.get(&job.started_by).cloned().unwrap_or_default(),
        when: date_time(job.created_at, tz),
        outcome: Outcome::of(job),
        rows: report
            .map(|r| count(r.rows))
            .or_else(|| job.rows_total.map(count))
            .unwrap_or_default(),
        created: figure(|r| r.created),
        updated: figure(|r| r.updated),
        skipped: figure(|r| r.skipped),
        rejected: figure(|r| r.rejected.len() as u64),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "imports.html")]
pub struct ImportsPage {
    pub frame: Frame,
    pub kinds: [(&'static str, &'static str); 6],
    pub form: FormValues,
    /// A refusal that is not about one field.
    pub error: Option<String>,
    pub field_errors: Vec<FieldError>,
    /// The columns of a file whose mapping was refused, to map them from.
    pub columns: Vec<String>,
    pub jobs: Vec<JobRow>,
    pub is_admin: bool,
}

impl ImportsPage {
    pub fn error_for(&self, field: &str) -> Option<&[Piece]> {
        self.field_errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_slice())
    }

    /// The settings are folded away unless they hold something to see.
    pub fn settings_open(&self) -> bool {
        let f = &self.form;
        let fields = ["map", "status_map", "mapping", "null", "stages"];
        fields
            .iter()
            .chain(&["pipeline", "currency"])
            .any(|field| self.error_for(field).is_some())
            || !self.columns.is_empty()
            || [
                &f.map,
                &f.status_map,
                &f.mapping,
                &f.null,
                &f.stages,
                &f.pipeline,
                &f.currency,
            ]
            .iter()
            .any(|v| !v.trim().is_empty())
    }
}

async fn names(state: &AppState) -> Result<HashMap<UserId, String>, PageError> {
    let mut tx = state.store.read().await?;
    Ok(users::list(&mut tx)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

async fn render_form(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    form: FormValues,
    refusal: Option<Problem>,
) -> Result<Response, PageError> {
    let mut tx = state.store.read().await?;
    let tz = time_zone(&mut tx).await?;
    let frame = Frame::new(&mut tx, user, "Import", "/imports", None).await?;
    drop(tx);
    let names = names(state).await?;
    let jobs = state
        .imports
        .list(&state.store, &auth(user))
        .await?
        .iter()
        .map(|job| job_row(job, &names, &tz))
        .collect();
    let (mut error, mut field_errors, mut columns) = (None, vec![], vec![]);
    if let Some(problem) = refusal {
        if let Some(found) = problem.extra.get("columns").and_then(|c| c.as_array()) {
            columns = found
                .iter()
                .filter_map(|c| c.as_str().map(String::from))
                .collect::<Vec<_>>();
        }
        field_errors = problem
            .errors
            .iter()
            .map(|e| {
                // The page shows the columns apart, as chips to map from.
                let message = match e.message.split_once("; its columns are:") {
                    Some((before, _)) if !columns.is_empty() => before,
                    _ => e.message.as_str(),
                };
                field_error(&e.field, message)
            })
            .collect();
        if field_errors.is_empty() {
            error = Some(sentence(&problem.detail));
        }
    }
    let page = ImportsPage {
        frame,
        kinds: KINDS,
        form,
        error,
        field_errors,
        columns,
        jobs,
        is_admin: user.user.role == throughline_core::Role::Admin,
    };
    Ok((status, page).into_response())
}

/// An API message ("is empty", "`x` is not ...") as a sentence on the page.
fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.is_empty() && !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// `GET /imports`: the form and the recent imports.
pub async fn page(State(state): State<AppState>, user: PageUser) -> Result<Response, PageError> {
    render_form(&state, &user, StatusCode::OK, FormValues::default(), None).await
}

/// `POST /imports`: start the job and show it, or show the form again with what is wrong.
pub async fn create(
    State(state): State<AppState>,
    user: PageUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let Ok(multipart) = multipart else {
        return Err(PageError::bad_request(
            "The form could not be read: send it from the import page.",
        ));
    };
    let sender = Sender::Page { csrf: &user.csrf };
    let (mut form, errors) = match api::read_form(multipart, sender).await {
        Ok(read) => read,
        Err(problem) if problem.status == StatusCode::FORBIDDEN.as_u16() => {
            return Err(PageError::forbidden(
                "This form has expired. Reload the page and try again.",
            ));
        }
        Err(problem) if problem.status >= 500 => return Err(internal()),
        Err(problem) => {
            let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
            let form = FormValues::default();
            return render_form(&state, &user, status, form, Some(problem)).await;
        }
    };
    let values = FormValues::from_form(&form);
    match api::prepare(&mut form, errors, sender).await {
        Ok(upload) => {
            let job = api::start(&state, &auth(&user), upload);
            Ok(Redirect::to(&format!("/imports/{}", job.id)).into_response())
        }
        Err(problem) if problem.status >= 500 => Err(internal()),
        Err(problem) => {
            let status =
                StatusCode::from_u16(problem.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            render_form(&state, &user, status, values, Some(problem)).await
        }
    }
}

fn internal() -> PageError {
    PageError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side while receiving the file. It has been logged; nothing was imported.",
    )
}

/// A figure of the report, as a tile.
pub struct Figure {
    pub label: &'static str,
    pub value: String,
    pub caption: String,
    pub tone: &'static str,
}

pub struct RejectedRow {
    pub line: String,
    pub column: String,
    pub reason: Vec<Piece>,
}

/// What an import created besides its records (or would have): users, pipelines, stages
/// as lists, organizations and people as counts.
pub struct Effect {
    /// The key tests and scripts find it by.
    pub key: &'static str,
    pub label: &'static str,
    /// A count, or "None".
    pub summary: String,
    /// Each item's name and a quieter detail (an e-mail, the pipeline of a stage).
    pub items: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "imports_job.html")]
pub struct JobPage {
    pub frame: Frame,
    pub id: String,
    pub file: String,
    pub kind: &'static str,
    pub outcome: Outcome,
    pub by: String,
    pub started: String,
    pub took: String,
    /// Progress while running: rows done, rows counted (once known), percent done.
    pub done: u64,
    pub total: Option<u64>,
    pub done_text: String,
    pub total_text: String,
    pub percent: u64,
    /// The verdict: a headline and what it means.
    pub headline: String,
    pub explanation: String,
    pub error: Vec<Piece>,
    pub format: String,
    pub dry_run: bool,
    pub committed: bool,
    pub users_created: bool,
    pub figures: Vec<Figure>,
    /// Side effects: users, pipelines, stages, organizations and people created.
    pub effects: Vec<Effect>,
    pub rejected: Vec<RejectedRow>,
    pub rejected_total: String,
    pub rejected_hidden: String,
    /// Where to see what was imported.
    pub records_link: Option<(&'static str, String)>,
}

/// `GET /imports/{id}`: a job the user started (an admin: anyone's).
pub async fn job(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let Some(job) = state.imports.get(&state.store, &auth(&user), &id).await? else {
        return Err(PageError::not_found(
            "There is no such import, or it was started by someone else.",
        ));
    };
    let mut tx = state.store.read().await?;
    let tz = time_zone(&mut tx).await?;
    let file = job
        .file_name
        .clone()
        .unwrap_or_else(|| "(unnamed file)".into());
    let frame = Frame::new(
        &mut tx,
        &user,
        format!("Import of {file}"),
        "/imports",
        None,
    )
    .await?;
    drop(tx);
    let names = names(&state).await?;
    let outcome = Outcome::of(&job);
    let total = job.rows_total;
    let percent = match total {
        Some(0) => 100,
        Some(t) => (job.rows_done.min(t) * 100) / t,
        None => 0,
    };
    let mut page = JobPage {
        frame,
        id: job.id.clone(),
        file,
        kind: kind_label(job.kind),
        outcome,
        by: names.get(&job.started_by).cloned().unwrap_or_default(),
        started: date_time(job.created_at, &tz),
        took: job
            .finished_at
            .map(|end| duration(job.created_at, end))
            .unwrap_or_default(),
        done: job.rows_done,
        total,
        done_text: count(job.rows_done),
        total_text: total.map(count).unwrap_or_default(),
        percent,
        headline: String::new(),
        explanation: String::new(),
        error: vec![],
        format: String::new(),
        dry_run: false,
        committed: false,
        users_created: false,
        figures: vec![],
        effects: vec![],
        rejected: vec![],
        rejected_total: String::new(),
        rejected_hidden: String::new(),
        records_link: None,
    };
    if let Some(report) = &job.report {
        describe(&mut page, report, job.kind, outcome);
    }
    if let Some(error) = &job.error {
        page.headline = "The import failed: nothing was changed".into();
        page.error = pieces(&sentence(error));
        page.explanation =
            "The import is one transaction, and it did not commit: no record, user, pipeline or stage was written. Correct the file or the settings and import it again.".into();
    }
    Ok(page.into_response())
}

/// The report's verdict, figures, side effects and rejected rows.
fn describe(page: &mut JobPage, report: &ImportReport, kind: Kind, outcome: Outcome) {
    let rejected = report.rejected.len() as u64;
    let accepted = report.rows.saturating_sub(rejected);
    let (headline, explanation) = match outcome {
        Outcome::Imported => (
            format!("Imported {}", rows(report.rows)),
            format!(
                "Every row was accepted and written: {} created, {} updated, {} already there unchanged.",
                records(report.created, kind),
                count(report.updated),
                count(report.skipped)
            ),
        ),
        Outcome::ImportedInPart => (
            format!(
                "Imported {} of {}; {} left out",
                count(accepted),
                rows(report.rows),
                count(rejected)
            ),
            "You chose to write the good rows: they were committed, and the rejected rows below were left out. Correct them in the file and import it again; rows already imported are recognised and skipped.".into(),
        ),
        Outcome::DryRun if rejected == 0 => (
            "Dry run: every row would be accepted".into(),
            format!(
                "This was a dry run, so nothing was written. Importing the file for real would create {}. Import it again without “Dry run” to write it.",
                records(report.created, kind)
            ),
        ),
        Outcome::DryRun => (
            format!(
                "Dry run: {} of {} would be rejected",
                count(rejected),
                rows(report.rows)
            ),
            "This was a dry run, so nothing was written. Correct the rows below, or import with “Write the other rows” to leave them out.".into(),
        ),
        _ => (
            "Refused: nothing was changed".into(),
            format!(
                "{} of {} {} rejected, and this import was all or nothing, so no row was written: no record, user, pipeline or stage was created. Correct the rows below and import the file again, or choose “Write the other rows” to import the {} good ones without them.",
                count(rejected),
                rows(report.rows),
                if rejected == 1 { "was" } else { "were" },
                count(accepted)
            ),
        ),
    };
    page.headline = headline;
    page.explanation = explanation;
    page.format = format_label(report.format.as_deref());
    page.dry_run = report.dry_run;
    let written = report.committed;
    let would = |done: &str, not: &str| if written { done } else { not }.to_string();
    page.figures = vec![
        Figure {
            label: "Rows",
            value: count(report.rows),
            caption: "data rows in the file".into(),
            tone: "",
        },
        Figure {
            label: "Created",
            value: count(report.created),
            caption: would("new records", "would be new; not written"),
            tone: "",
        },
        Figure {
            label: "Updated",
            value: count(report.updated),
            caption: would("changed since last import", "would change; not written"),
            tone: "",
        },
        Figure {
            label: "Skipped",
            value: count(report.skipped),
            caption: "already there, unchanged".into(),
            tone: "",
        },
        Figure {
            label: "Rejected",
            value: count(rejected),
            caption: if rejected == 0 {
                "no row refused".into()
            } else {
                "rows refused, listed below".into()
            },
            tone: if rejected == 0 { "good" } else { "bad" },
        },
    ];
    let list = |key, label, items: Vec<(String, String)>| Effect {
        key,
        label,
        summary: if items.is_empty() {
            "None".into()
        } else {
            count(items.len() as u64)
        },
        items,
    };
    let tally = |key, label, n: u64| Effect {
        key,
        label,
        summary: if n == 0 { "None".into() } else { count(n) },
        items: vec![],
    };
    let mut effects = vec![];
    if matches!(kind, Kind::Deals | Kind::Leads) || !report.users_created.is_empty() {
        // Written `Name <e-mail>` by the import.
        let users = report
            .users_created
            .iter()
            .map(|u| match u.rsplit_once(" <") {
                Some((name, email)) => (name.to_string(), email.trim_end_matches('>').into()),
                None => (u.clone(), String::new()),
            })
            .collect();
        effects.push(list("users", "Users", users));
    }
    if kind == Kind::Deals || !report.pipelines_created.is_empty() {
        let pipelines = report
            .pipelines_created
            .iter()
            .map(|p| (p.clone(), String::new()))
            .collect();
        effects.push(list("pipelines", "Pipelines", pipelines));
        // Written `Pipeline / Stage` by the import.
        let stages = report
            .stages_created
            .iter()
            .map(|s| match s.split_once(" / ") {
                Some((pipeline, stage)) => (stage.to_string(), format!("in {pipeline}")),
                None => (s.clone(), String::new()),
            })
            .collect();
        effects.push(list("stages", "Stages", stages));
    }
    effects.push(tally(
        "organizations",
        "Organizations",
        report.organizations_created,
    ));
    effects.push(tally("people", "People", report.people_created));
    page.effects = effects;
    page.committed = written;
    page.users_created = !report.users_created.is_empty();
    page.rejected = report
        .rejected
        .iter()
        .take(REJECTIONS_SHOWN)
        .map(|r| RejectedRow {
            line: count(r.line),
            column: r.column.clone().unwrap_or_default(),
            reason: pieces(&sentence(&r.reason)),
        })
        .collect();
    page.rejected_total = count(rejected);
    if report.rejected.len() > REJECTIONS_SHOWN {
        page.rejected_hidden = count((report.rejected.len() - REJECTIONS_SHOWN) as u64);
    }
    if written {
        page.records_link = match kind {
            Kind::Deals => Some(("Open the deals", "/deals".into())),
            Kind::Leads => Some(("Open the leads", "/leads?status=all".into())),
            Kind::Activities => Some(("Open the agenda", "/agenda".into())),
            Kind::Pipelines => Some(("Open the board", "/board".into())),
            Kind::People | Kind::Organizations => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_messages_read_as_sentences() {
        assert_eq!(sentence("is empty"), "Is empty.");
        assert_eq!(
            sentence("choose the CSV or XLSX file to import"),
            "Choose the CSV or XLSX file to import."
        );
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn quoted_names_are_set_apart() {
        let piece = |code, text: &str| Piece {
            code,
            text: text.into(),
        };
        assert_eq!(
            pieces("`twelve` is not an amount."),
            [piece(true, "twelve"), piece(false, " is not an amount.")]
        );
        assert_eq!(pieces("one ` quote"), [piece(false, "one ` quote")]);
        assert_eq!(pieces(""), []);
    }

    #[test]
    fn durations_read_naturally() {
        let at = |ms: i64| Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(duration(at(0), at(42)), "under 0.1 s");
        assert_eq!(duration(at(0), at(420)), "0.4 s");
        assert_eq!(duration(at(0), at(12_300)), "12 s");
        assert_eq!(duration(at(0), at(185_000)), "3 min 5 s");
    }

    #[test]
    fn counts_are_grouped_and_named() {
        assert_eq!(records(1, Kind::People), "1 person");
        assert_eq!(records(12_500, Kind::Deals), "12,500 deals");
        assert_eq!(rows(1), "1 row");
    }
}
