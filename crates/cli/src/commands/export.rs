//! `throughline export`: every record of a kind the acting user may see, as CSV, JSON or
//! XLSX, to a file or stdout, a page at a time, with progress on a terminal.

use std::fs::File;
use std::io::{ErrorKind, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use throughline_transfer::export::{ExportStream, Format, Kind};

use crate::cli::{ExportArgs, ExportFormat, ExportKind};
use crate::session::Session;

fn kind(k: ExportKind) -> Kind {
    match k {
        ExportKind::Deals => Kind::Deals,
        ExportKind::Leads => Kind::Leads,
        ExportKind::People => Kind::People,
        ExportKind::Organizations => Kind::Organizations,
        ExportKind::Activities => Kind::Activities,
        ExportKind::Events => Kind::Events,
        ExportKind::Pipelines => Kind::Pipelines,
    }
}

/// The format asked for, else the one the output file's extension names, else CSV.
fn format(asked: Option<ExportFormat>, output: Option<&Path>) -> Format {
    match asked {
        Some(ExportFormat::Csv) => Format::Csv,
        Some(ExportFormat::Json) => Format::Json,
        Some(ExportFormat::Xlsx) => Format::Xlsx,
        None => output
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str())
            .and_then(|e| e.parse().ok())
            .unwrap_or(Format::Csv),
    }
}

fn progress_bar(kind: Kind, total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} · {per_sec} · ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("Exporting {kind}"));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A file written under a temporary name next to its destination and renamed into place
/// once complete, so that a failed export never leaves a truncated file behind.
struct PartialFile {
    file: Option<File>,
    partial: PathBuf,
    path: PathBuf,
}

impl PartialFile {
    fn create(path: &Path) -> Result<PartialFile> {
        let name = path
            .file_name()
            .with_context(|| format!("--output {}: name a file", path.display()))?;
        let partial = path.with_file_name(format!(".{}.partial", name.to_string_lossy()));
        let file = File::create(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        Ok(PartialFile {
            file: Some(file),
            partial,
            path: path.to_path_buf(),
        })
    }

    fn commit(mut self) -> Result<()> {
        if let Some(file) = self.file.take() {
            file.sync_all()
                .with_context(|| format!("cannot write {}", self.partial.display()))?;
        }
        std::fs::rename(&self.partial, &self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

impl Write for PartialFile {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(data),
            None => Err(std::io::Error::other("the file is closed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// Where the export goes.
enum Out {
    File(PartialFile),
    Stdout(std::io::StdoutLock<'static>),
}

impl Write for Out {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::File(f) => f.write(data),
            Out::Stdout(s) => s.write(data),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::File(f) => f.flush(),
            Out::Stdout(s) => s.flush(),
        }
    }
}

fn noun(kind: Kind, n: u64) -> &'static str {
    let (one, many) = match kind {
        Kind::Deals => ("deal", "deals"),
        Kind::Leads => ("lead", "leads"),
        Kind::People => ("person", "people"),
        Kind::Organizations => ("organization", "organizations"),
        Kind::Activities => ("activity", "activities"),
        Kind::Events => ("event", "events"),
        Kind::Pipelines => ("stage", "stages"),
    };
    if n == 1 { one } else { many }
}

pub async fn run(args: ExportArgs) -> Result<()> {
    let kind = kind(args.kind);
    let format = format(args.format, args.output.as_deref());
    if args.output.is_none() && format == Format::Xlsx && std::io::stdout().is_terminal() {
        bail!("an XLSX file is not for a terminal: name a file with --output, or redirect stdout");
    }
    let s = Session::open(&args.db).await?;
    let mut stream = ExportStream::open(&s.store, s.ctx(), kind, format).await?;
    let total = stream.count().await?;

    let mut out = match &args.output {
        Some(path) => Out::File(PartialFile::create(path)?),
        None => Out::Stdout(std::io::stdout().lock()),
    };
    let bar = progress_bar(kind, total);
    let written = async {
        while let Some(chunk) = stream.next_chunk().await? {
            out.write_all(&chunk)?;
            bar.set_position(stream.rows());
        }
        out.flush()?;
        anyhow::Ok(())
    }
    .await;
    bar.finish_and_clear();
    if let Err(err) = written {
        // A reader that stops early (`| head`) is not a failure of the export.
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
        {
            return Ok(());
        }
        return Err(err.context(format!("the {kind} export failed")));
    }
    let rows = stream.rows();
    match (out, &args.output) {
        (Out::File(file), Some(path)) => {
            file.commit()?;
            eprintln!(
                "Exported {rows} {} to {} ({format})",
                noun(kind, rows),
                path.display()
            );
        }
        _ => eprintln!("Exported {rows} {} ({format})", noun(kind, rows)),
    }
    s.store.close().await;
    Ok(())
}
