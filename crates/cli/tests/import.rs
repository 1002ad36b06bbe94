//! `throughline import` as a user runs it: the real binary on a real SQLite file.

use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(args)
        .env(
            "THROUGHLINE_DATABASE_URL",
            format!("sqlite://{}", dir.join("cli.db").display()),
        )
        .env("THROUGHLINE_LOG", "error")
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOOD: &str = "Name,Amount,Stage,Owner,Created\n\
                    Acme,1200.50,Lead,Ana Lima,2024-01-02\n\
                    Beta,300,Offer,Ana Lima,2024-01-05\n";

const MAP: [&str; 12] = [
    "--map",
    "title=Name",
    "--map",
    "value=Amount",
    "--map",
    "stage=Stage",
    "--map",
    "owner=Owner",
    "--map",
    "created_at=Created",
    "--currency",
    "EUR",
];

#[test]
fn a_mapped_file_imports_once_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deals.csv");
    std::fs::write(&file, GOOD).unwrap();
    let f = file.to_str().unwrap();
    let mut args = vec![
        "import",
        "deals",
        f,
        "--pipeline",
        "Sales",
        "--stages",
        "Lead,Offer",
    ];
    args.extend(MAP);

    let mut dry = args.clone();
    dry.push("--dry-run");
    let out = run(dir.path(), &dry);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("Dry run, nothing written: 2 deals rows"),
        "{stdout}"
    );
    let listed = run(dir.path(), &["deal", "list", "--format", "csv"]);
    assert_eq!(
        text(&listed).0.lines().count(),
        1,
        "a dry run writes nothing"
    );

    let out = run(dir.path(), &args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("created 2, updated 0, skipped 0, rejected 0"),
        "{stdout}"
    );
    assert!(stdout.contains("pipelines created: Sales"), "{stdout}");
    // The first import into the empty file wrote without the log, and put it back: bytes 18
    // and 19 of a SQLite file are 2 in write-ahead-log mode, 1 with a rollback journal.
    let header = std::fs::read(dir.path().join("cli.db")).unwrap();
    assert_eq!(&header[18..20], &[2, 2], "the database is back in WAL mode");
    // Bytes 16 and 17 hold the page size, big-endian: 16 KiB for a new database.
    assert_eq!(&header[16..18], &[0x40, 0x00], "16 KiB pages");
    assert!(!dir.path().join("cli.db-journal").exists());
    assert!(
        stdout.contains("Ana Lima <ana.lima@imported.invalid>"),
        "{stdout}"
    );

    let listed = text(&run(dir.path(), &["deal", "list", "--format", "csv"])).0;
    assert!(
        listed.contains("Acme") && listed.contains("1200.50"),
        "{listed}"
    );

    let again = text(&run(dir.path(), &args)).0;
    assert!(again.contains("created 0, updated 0, skipped 2"), "{again}");

    let json = run(
        dir.path(),
        &[
            "import",
            "deals",
            f,
            "--show-mapping",
            "--map",
            "title=Name",
        ],
    );
    assert!(
        text(&json).0.contains("title = \"Name\""),
        "{}",
        text(&json).0
    );
}

#[test]
fn bad_rows_fail_the_command_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deals.csv");
    std::fs::write(
        &file,
        format!("{GOOD}Gamma,lots,Lead,Ana Lima,2024-01-09\n"),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let mut args = vec!["import", "deals", f, "--pipeline", "Sales"];
    args.extend(MAP);
    let out = run(dir.path(), &args);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("line 4, column `Amount`: `lots` is not an amount"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 row(s) rejected: nothing was imported"),
        "{stderr}"
    );
    assert!(stdout.contains("Not imported"), "{stdout}");
    let listed = text(&run(dir.path(), &["deal", "list", "--format", "csv"])).0;
    assert_eq!(listed.lines().count(), 1, "{listed}");

    args.push("--partial");
    let out = run(dir.path(), &args);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).0.contains("created 2"), "{}", text(&out).0);

    let unmapped = run(dir.path(), &["import", "deals", f]);
    assert!(!unmapped.status.success());
    assert!(
        text(&unmapped).1.contains("--map title="),
        "{}",
        text(&unmapped).1
    );
    let missing = run(
        dir.path(),
        &["import", "deals", "/no/such/file.csv", "--map", "title=x"],
    );
    assert!(!missing.status.success());
    assert!(
        text(&missing).1.contains("/no/such/file.csv"),
        "{}",
        text(&missing).1
    );
}
