//! `throughline import`: a file into the database, with progress on a terminal and a
//! summary at the end.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use throughline_transfer::import::mapping::StageDate;
use throughline_transfer::import::{
    self, ImportOptions, ImportReport, Kind, Mapping, Progress, read,
};

use crate::cli::{ImportArgs, ImportKind};
use crate::session::Session;

struct Bar(ProgressBar);

impl Progress for Bar {
    fn total(&self, rows: u64) {
        self.0.set_length(rows);
        self.0.reset_eta();
    }
    fn advance(&self, rows: u64) {
        self.0.inc(rows);
    }
}

fn kind(k: ImportKind) -> Kind {
    match k {
        ImportKind::Deals => Kind::Deals,
        ImportKind::Leads => Kind::Leads,
        ImportKind::People => Kind::People,
        ImportKind::Organizations => Kind::Organizations,
        ImportKind::Activities => Kind::Activities,
        ImportKind::Pipelines => Kind::Pipelines,
    }
}

fn explicit_mapping(args: &ImportArgs) -> Result<Mapping> {
    let mut mapping = match &args.mapping {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the mapping file {}", path.display()))?;
            Mapping::from_toml(&text)?
        }
        None => Mapping::default(),
    };
    for flag in &args.map {
        mapping.add_field_flag(flag)?;
    }
    for flag in &args.status_map {
        mapping.add_status_flag(flag)?;
    }
    for flag in &args.stage_date {
        let Some((stage, column)) = flag.split_once('=') else {
            bail!("--stage-date `{flag}`: write STAGE=COLUMN");
        };
        mapping.stage_dates.push(StageDate {
            stage: stage.trim().to_string(),
            column: column.trim().to_string(),
            pipeline: None,
        });
    }
    if args.pipeline.is_some() {
        mapping.pipeline = args.pipeline.clone();
    }
    if !args.stages.is_empty() {
        mapping.stages = args.stages.iter().map(|s| s.trim().to_string()).collect();
    }
    if args.currency.is_some() {
        mapping.currency = args.currency.clone();
    }
    mapping.null.extend(args.null.iter().cloned());
    Ok(mapping)
}

pub async fn run(args: ImportArgs) -> Result<()> {
    let kind = kind(args.kind);
    let mapping = explicit_mapping(&args)?;
    if args.show_mapping {
        let table = read::open(&args.file)?;
        let resolved = import::resolve_mapping(kind, &table.headers, &mapping)?;
        print!("{}", resolved.to_toml());
        return Ok(());
    }
    // One connection: a first import then writes without the log.
    let session = Session::open_single(&args.db).await?;
    let bar = if std::io::stderr().is_terminal() && !args.json {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {bar:32} {pos}/{len} rows  {per_sec}  ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    } else {
        ProgressBar::hidden()
    };
    let progress = Bar(bar.clone());
    let options = ImportOptions {
        kind,
        mapping,
        dry_run: args.dry_run,
        partial: args.partial,
    };
    let started = std::time::Instant::now();
    let report = import::run(
        &session.store,
        session.ctx(),
        &args.file,
        &options,
        &progress,
    )
    .await
    .with_context(|| format!("cannot import {}", args.file.display()))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report, elapsed);
    }
    if !report.rejected.is_empty() && !args.partial {
        bail!(
            "{} row(s) rejected: nothing was imported (fix them, or use --partial to import the good rows)",
            report.rejected.len()
        );
    }
    Ok(())
}

fn print_summary(r: &ImportReport, elapsed: Duration) {
    const SHOWN: usize = 50;
    for rej in r.rejected.iter().take(SHOWN) {
        match &rej.column {
            Some(col) => eprintln!("line {}, column `{col}`: {}", rej.line, rej.reason),
            None => eprintln!("line {}: {}", rej.line, rej.reason),
        }
    }
    if r.rejected.len() > SHOWN {
        eprintln!(
            "... and {} more rejected rows (--json lists them all)",
            r.rejected.len() - SHOWN
        );
    }
    let verb = if r.dry_run {
        "Dry run, nothing written"
    } else if r.committed {
        "Imported"
    } else {
        "Not imported"
    };
    let format = r.format.as_deref().unwrap_or("mapped columns");
    let kind = r.kind.map(|k| k.as_str()).unwrap_or("rows");
    println!(
        "{verb}: {} {kind} rows ({format}) in {:.1} s",
        r.rows,
        elapsed.as_secs_f64()
    );
    println!(
        "  created {}, updated {}, skipped {}, rejected {}",
        r.created,
        r.updated,
        r.skipped,
        r.rejected.len()
    );
    if !r.pipelines_created.is_empty() {
        println!("  pipelines created: {}", r.pipelines_created.join(", "));
    }
    if !r.stages_created.is_empty() {
        println!("  stages created: {}", r.stages_created.join(", "));
    }
    if r.organizations_created + r.people_created > 0 {
        println!(
            "  organizations created: {}, people created: {}",
            r.organizations_created, r.people_created
        );
    }
    if !r.users_created.is_empty() {
        println!(
            "  users created (cannot log in until `throughline user set-password` gives them one): {}",
            r.users_created.len()
        );
        for u in &r.users_created {
            println!("    {u}");
        }
    }
}
