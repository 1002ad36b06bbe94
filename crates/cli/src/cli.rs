//! The command line: every operation of the product without a browser.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const DEFAULT_DATABASE: &str = "sqlite://throughline.db";
pub const DEMO_DATABASE: &str = "sqlite://throughline-demo.db";

#[derive(Debug, Parser)]
#[command(
    name = "throughline",
    version,
    about = "Throughline: see every stage of your sales process, keep leads flowing, follow up on every deal."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives, and who acts.
#[derive(Debug, Clone, Args)]
pub struct Db {
    /// Database URL: sqlite://PATH (the default, one file) or postgres://USER@HOST/DB.
    #[arg(long, env = "THROUGHLINE_DATABASE_URL", default_value = DEFAULT_DATABASE, global = true)]
    pub database: String,
    /// Act as this user (e-mail): lists and reports then show what they may see, and changes
    /// are recorded as theirs. Without it the CLI acts as the system, with an admin's view.
    #[arg(long = "as", value_name = "EMAIL", global = true)]
    pub as_user: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    /// Aligned columns for reading.
    #[default]
    Table,
    /// The API's JSON.
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web UI and JSON API.
    Serve(ServeArgs),
    /// Check that a running server answers (exit 0 when healthy).
    Healthcheck {
        /// The server's base URL.
        #[arg(long, env = "THROUGHLINE_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Bring the database schema up to date (serve does this at start too).
    Migrate(#[command(flatten)] Db),
    /// Fill an empty database with a realistic demo team and 18 months of history.
    Demo(DemoArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Pipelines and their stages.
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// Deals.
    #[command(subcommand)]
    Deal(DealCommand),
    /// Leads.
    #[command(subcommand)]
    Lead(LeadCommand),
    /// Reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Import deals, leads, people, organizations, activities or pipelines from a CSV or XLSX
    /// file (pipelines also from JSON).
    Import(ImportArgs),
    /// Export deals, leads, people, organizations, activities, pipelines or the event history
    /// as CSV, JSON or XLSX.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: Db,
    /// Address to listen on.
    #[arg(long, env = "THROUGHLINE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Start on a fresh demo database (throughline-demo.db unless --database is given).
    #[arg(long)]
    pub demo: bool,
    /// Seed of the demo data.
    #[arg(long, default_value_t = 7, requires = "demo")]
    pub seed: u64,
    /// Mark session cookies Secure (when served behind HTTPS).
    #[arg(long, env = "THROUGHLINE_SECURE_COOKIES")]
    pub secure_cookies: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub db: Db,
    /// Same seed, same data.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is asked for, or read from stdin with --password-stdin.
    Add {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "manager", "rep"])]
        role: String,
        /// Team name.
        #[arg(long)]
        team: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        /// Create a user who cannot log in (owner of imported records).
        #[arg(long, conflicts_with = "password_stdin")]
        no_login: bool,
    },
    /// List users.
    List {
        #[command(flatten)]
        db: Db,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Set a user's password, which also lets a user log in who could not (an owner an import
    /// created). The password is asked for, or read from stdin with --password-stdin.
    SetPassword {
        #[command(flatten)]
        db: Db,
        /// The user's current e-mail (`throughline user list` shows them).
        #[arg(long)]
        email: String,
        /// Give the user this e-mail too, e.g. in place of the `@imported.invalid` placeholder
        /// of an owner an import knew only by name.
        #[arg(long)]
        new_email: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Add a team.
    Add {
        #[command(flatten)]
        db: Db,
        name: String,
        /// E-mail of the manager who sees the team's deals.
        #[arg(long)]
        manager: Option<String>,
    },
    /// Put a user in a team.
    Join {
        #[command(flatten)]
        db: Db,
        /// Team name.
        team: String,
        /// User e-mail.
        email: String,
    },
    /// List teams.
    List {
        #[command(flatten)]
        db: Db,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; it is printed once, as the last word of the output.
    Create {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        email: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// List pipelines with their stages.
    List {
        #[command(flatten)]
        db: Db,
        /// Include archived pipelines.
        #[arg(long)]
        archived: bool,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show one pipeline's stages and their criteria.
    Show {
        #[command(flatten)]
        db: Db,
        /// Name or id.
        pipeline: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Create a pipeline.
    Create {
        #[command(flatten)]
        db: Db,
        name: String,
        /// ISO 4217 currency of its figures (default: the installation's).
        #[arg(long)]
        currency: Option<String>,
    },
    /// Rename a pipeline.
    Rename {
        #[command(flatten)]
        db: Db,
        pipeline: String,
        new_name: String,
    },
    /// Archive a pipeline (it must have no open deals).
    Archive {
        #[command(flatten)]
        db: Db,
        pipeline: String,
    },
    /// Add a stage to a pipeline.
    AddStage(AddStageArgs),
    /// Archive a stage (it must have no open deals).
    ArchiveStage {
        #[command(flatten)]
        db: Db,
        pipeline: String,
        /// Stage name or id.
        stage: String,
    },
}

#[derive(Debug, Args)]
pub struct AddStageArgs {
    #[command(flatten)]
    pub db: Db,
    /// Pipeline name or id.
    pub pipeline: String,
    #[arg(long)]
    pub name: String,
    /// Win probability in percent.
    #[arg(long)]
    pub probability: i64,
    /// Days in the stage after which a deal is rotting.
    #[arg(long)]
    pub rot_days: Option<i64>,
    /// The written entry criterion.
    #[arg(long)]
    pub description: Option<String>,
    /// A checklist item that must be ticked to enter (repeatable).
    #[arg(long = "checklist", value_name = "LABEL")]
    pub checklist: Vec<String>,
    /// A deal field that must be filled to enter (repeatable): value, expected_close_date,
    /// person_id, organization_id, source, campaign.
    #[arg(long = "require", value_name = "FIELD")]
    pub require: Vec<String>,
    /// 1-based place (default: last).
    #[arg(long)]
    pub position: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum DealCommand {
    /// List deals.
    List {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        pipeline: Option<String>,
        /// Stage name or id (with --pipeline for names).
        #[arg(long)]
        stage: Option<String>,
        /// Owner e-mail.
        #[arg(long)]
        owner: Option<String>,
        #[arg(long, value_parser = ["open", "won", "lost"])]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show a deal with its checklist.
    Show {
        #[command(flatten)]
        db: Db,
        id: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Create a deal.
    Create {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        title: String,
        /// Pipeline name or id.
        #[arg(long)]
        pipeline: String,
        /// Stage name or id (default: the first stage).
        #[arg(long)]
        stage: Option<String>,
        /// Value in major units (e.g. 12400.50).
        #[arg(long, default_value = "0")]
        value: String,
        #[arg(long)]
        currency: Option<String>,
        /// Owner e-mail (default: the acting user).
        #[arg(long)]
        owner: Option<String>,
        /// Expected close date (YYYY-MM-DD).
        #[arg(long)]
        expected_close: Option<String>,
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        campaign: Option<String>,
    },
    /// Move a deal to another stage (entry criteria must be met).
    Move {
        #[command(flatten)]
        db: Db,
        id: String,
        /// Stage name (in the deal's pipeline) or id.
        #[arg(long)]
        stage: String,
        /// Move past unmet criteria (admins; recorded).
        #[arg(long = "override")]
        force: bool,
    },
    /// Tick (or untick) a checklist criterion.
    Check {
        #[command(flatten)]
        db: Db,
        id: String,
        /// Criterion label or id.
        #[arg(long)]
        criterion: String,
        #[arg(long)]
        uncheck: bool,
    },
    /// Mark a deal won.
    Won {
        #[command(flatten)]
        db: Db,
        id: String,
    },
    /// Mark a deal lost.
    Lost {
        #[command(flatten)]
        db: Db,
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Reopen a won or lost deal.
    Reopen {
        #[command(flatten)]
        db: Db,
        id: String,
    },
    /// A deal's history, oldest first.
    History {
        #[command(flatten)]
        db: Db,
        id: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum LeadCommand {
    /// List leads.
    List {
        #[command(flatten)]
        db: Db,
        #[arg(long, value_parser = ["open", "qualified", "disqualified"])]
        status: Option<String>,
        #[arg(long)]
        source: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Create a lead.
    Create {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        title: String,
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        campaign: Option<String>,
        /// Owner e-mail (default: unassigned, or the acting rep).
        #[arg(long)]
        owner: Option<String>,
    },
    /// Qualify a lead into a deal.
    Qualify {
        #[command(flatten)]
        db: Db,
        id: String,
        #[arg(long)]
        pipeline: String,
        #[arg(long)]
        stage: Option<String>,
        /// Value in major units.
        #[arg(long)]
        value: Option<String>,
    },
    /// Disqualify a lead.
    Disqualify {
        #[command(flatten)]
        db: Db,
        id: String,
        #[arg(long)]
        reason: String,
    },
}

/// What every report takes: a pipeline, a period, filters.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub db: Db,
    /// Pipeline name or id.
    #[arg(long)]
    pub pipeline: Option<String>,
    /// First day of the period (YYYY-MM-DD).
    #[arg(long, help_heading = "Period (one way)")]
    pub from: Option<String>,
    /// Last day of the period (default today with --from).
    #[arg(long, help_heading = "Period (one way)")]
    pub to: Option<String>,
    /// The period ending today: 90d, 12w, 6m, 1y.
    #[arg(long, help_heading = "Period (one way)")]
    pub last: Option<String>,
    /// A calendar quarter: 2025Q3.
    #[arg(long, help_heading = "Period (one way)")]
    pub quarter: Option<String>,
    /// A calendar month: 2025-07.
    #[arg(long, help_heading = "Period (one way)")]
    pub month: Option<String>,
    /// A calendar year: 2025.
    #[arg(long, help_heading = "Period (one way)")]
    pub year: Option<String>,
    /// Only deals of this owner (e-mail).
    #[arg(long, help_heading = "Filters")]
    pub owner: Option<String>,
    /// Only deals of this team (name).
    #[arg(long, help_heading = "Filters")]
    pub team: Option<String>,
    #[arg(long, help_heading = "Filters")]
    pub source: Option<String>,
    #[arg(long, help_heading = "Filters")]
    pub campaign: Option<String>,
    /// Cut by owner, team, source, campaign or month (funnel).
    #[arg(long)]
    pub group_by: Option<String>,
    /// week or month (flow); month or quarter (forecast).
    #[arg(long)]
    pub grain: Option<String>,
    /// Weeks to project ahead (flow).
    #[arg(long, default_value_t = 12)]
    pub weeks: u32,
    /// Months or quarters to forecast (forecast).
    #[arg(long)]
    pub periods: Option<usize>,
    /// Seed of the simulation: same seed, same numbers.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated futures.
    #[arg(long)]
    pub runs: Option<u32>,
    /// Rows to show in lists (attention).
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Stage entries and conversion, win rate and closing rate over a period.
    Funnel(ReportArgs),
    /// Cycle time of won and lost deals, and time in each stage.
    Cycle(ReportArgs),
    /// Pipeline velocity and its four factors, by owner and month.
    Velocity(ReportArgs),
    /// Inflow and closes per week or month with peaks and valleys, and the projection of the
    /// coming weeks' won closes.
    Flow(ReportArgs),
    /// Won so far, weighted pipeline and the probabilistic forecast per month or quarter.
    Forecast(ReportArgs),
    /// Open deals that need effort now, and those taking effort out of proportion.
    Attention(ReportArgs),
    /// What each lead source and campaign brings.
    Sources(ReportArgs),
    /// The pipeline as it stood at an instant: per stage count, value, weighted value.
    Snapshot {
        #[command(flatten)]
        db: Db,
        /// Pipeline name or id.
        #[arg(long)]
        pipeline: String,
        /// A date (end of that day) or an RFC 3339 instant; default now.
        #[arg(long)]
        at: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportKind {
    Deals,
    Leads,
    People,
    Organizations,
    Activities,
    /// Pipelines and their stages from `throughline export pipelines` (JSON, CSV or XLSX).
    Pipelines,
}

/// Pipedrive, HubSpot and Salesforce exports and Throughline's own are recognised from their
/// headers; any other file is mapped with --map (or --mapping FILE).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  throughline import deals pipedrive-deals.csv
  throughline import deals sales_pipeline.csv --mapping mappings/maven-sales-pipeline.toml
  throughline import deals opportunities.csv --map title=Name --map value=Amount \\
      --map stage=Stage --status-map Won=won --status-map Lost=lost --pipeline Sales --currency EUR")]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: Db,
    /// What each row is.
    #[arg(value_enum)]
    pub kind: ImportKind,
    /// A CSV (comma, semicolon or tab separated; UTF-8) or XLSX file.
    pub file: std::path::PathBuf,
    /// Map a field to a column: FIELD=COLUMN (repeatable). Fields: title, value, currency,
    /// pipeline, stage, status, owner, organization, person, person_email, source, campaign,
    /// created_at, closed_at, won_at, lost_at, expected_close_date, lost_reason, external_id,
    /// or custom.NAME.
    #[arg(long = "map", value_name = "FIELD=COLUMN")]
    pub map: Vec<String>,
    /// A column value that is an outcome, not a stage: VALUE=open|won|lost (repeatable).
    #[arg(long = "status-map", value_name = "VALUE=OUTCOME")]
    pub status_map: Vec<String>,
    /// The pipeline of every row (created if missing).
    #[arg(long)]
    pub pipeline: Option<String>,
    /// The order of the stages of a pipeline the import creates: A,B,C.
    #[arg(long, value_delimiter = ',')]
    pub stages: Vec<String>,
    /// The currency of values that do not name one (ISO 4217).
    #[arg(long)]
    pub currency: Option<String>,
    /// A cell text that means "no value", besides an empty cell (repeatable).
    #[arg(long = "null", value_name = "TEXT")]
    pub null: Vec<String>,
    /// The date a stage was entered: STAGE=COLUMN (repeatable).
    #[arg(long = "stage-date", value_name = "STAGE=COLUMN")]
    pub stage_date: Vec<String>,
    /// Read the mapping from a TOML file (flags given too are laid over it).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<std::path::PathBuf>,
    /// Print the mapping that would be used, as TOML, and stop.
    #[arg(long)]
    pub show_mapping: bool,
    /// Check every row, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Commit the good rows even when some are rejected (by default nothing is written then).
    #[arg(long)]
    pub partial: bool,
    /// The summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportKind {
    Deals,
    Leads,
    People,
    Organizations,
    Activities,
    /// The history of changes.
    Events,
    /// The pipelines with their stages, probabilities, rot days and criteria.
    Pipelines,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
    Xlsx,
}

/// Everything of a kind that the acting user may see (all of it without --as), in the
/// columns `throughline import` reads back.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  throughline export deals --format xlsx --output deals.xlsx
  throughline export events --format json --as rita@example.com > history.json")]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: Db,
    /// What to export.
    #[arg(value_enum)]
    pub kind: ExportKind,
    /// File format (default: from the --output extension, else csv).
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}
