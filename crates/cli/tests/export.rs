//! `throughline export` as a user runs it: the real binary on a real SQLite file.

use std::process::{Command, Output};

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Cli {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("cli.db").display())
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_throughline"))
            .args(args)
            .env("THROUGHLINE_DATABASE_URL", self.db())
            .env("THROUGHLINE_LOG", "error")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "{args:?} should fail but printed {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }
}

/// Two reps with a deal each.
fn two_deals() -> Cli {
    let cli = Cli::new();
    for (email, name) in [("rita@example.com", "Rita"), ("omar@example.com", "Omar")] {
        cli.ok(&[
            "user",
            "add",
            "--email",
            email,
            "--name",
            name,
            "--role",
            "rep",
            "--no-login",
        ]);
    }
    cli.ok(&["pipeline", "create", "Sales"]);
    cli.ok(&[
        "pipeline",
        "add-stage",
        "Sales",
        "--name",
        "Lead in",
        "--probability",
        "10",
    ]);
    for (title, value, owner) in [
        ("Rita's", "5000", "rita@example.com"),
        ("Omar's", "12,400.5", "omar@example.com"),
    ] {
        cli.ok(&[
            "deal",
            "create",
            "--title",
            title,
            "--pipeline",
            "Sales",
            "--value",
            value,
            "--owner",
            owner,
        ]);
    }
    cli
}

fn rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

#[test]
fn deals_export_to_a_file_and_to_stdout() {
    let cli = two_deals();
    let file = cli.dir.path().join("deals.csv");
    let out = cli.ok(&[
        "export",
        "deals",
        "--format",
        "csv",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(out.stdout.is_empty(), "the file holds the export");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Exported 2 deals to"), "{said}");
    let text = std::fs::read_to_string(&file).unwrap();
    let table = rows(&text);
    assert_eq!(
        table[0].join(","),
        "id,title,pipeline,stage,status,value,currency,owner_email,owner_name,organization,person,person_email,expected_close_date,source,campaign,lost_reason,created_at,cycle_started_at,closed_at,stage_history,custom"
    );
    let picked: Vec<(&str, &str, &str, &str)> = table[1..]
        .iter()
        .map(|r| (r[1].as_str(), r[5].as_str(), r[6].as_str(), r[7].as_str()))
        .collect();
    assert_eq!(
        picked,
        [
            ("Rita's", "5000.00", "EUR", "rita@example.com"),
            ("Omar's", "12400.50", "EUR", "omar@example.com"),
        ]
    );
    assert!(
        std::fs::read_dir(cli.dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".partial")),
        "no partial file is left"
    );

    // Without --output it goes to stdout; --as scopes it like the lists.
    let out = cli.ok(&["export", "deals", "--as", "rita@example.com"]);
    let table = rows(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(table.len(), 2, "the header and Rita's deal");
    assert_eq!(table[1][1], "Rita's");

    // JSON and XLSX, the latter inferred from the file name.
    let out = cli.ok(&["export", "deals", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[1]["value"], serde_json::json!(12400.5));
    let xlsx = cli.dir.path().join("deals.xlsx");
    cli.ok(&["export", "deals", "-o", xlsx.to_str().unwrap()]);
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));

    // Every kind exports.
    for kind in ["leads", "people", "organizations", "activities", "events"] {
        let out = cli.ok(&["export", kind, "--format", "csv"]);
        assert!(!out.stdout.is_empty(), "{kind}");
    }
}

#[test]
fn a_bad_format_or_kind_is_refused() {
    let cli = two_deals();
    let file = cli.dir.path().join("deals.xml");
    let err = cli.fails(&[
        "export",
        "deals",
        "--format",
        "xml",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(
        err.contains("xml") && err.contains("csv") && err.contains("xlsx"),
        "{err}"
    );
    assert!(!file.exists(), "nothing is written");
    let err = cli.fails(&["export", "invoices"]);
    assert!(err.contains("invoices") && err.contains("deals"), "{err}");
    let err = cli.fails(&["export", "deals", "--as", "nobody@example.com"]);
    assert!(err.contains("nobody@example.com"), "{err}");
}

/// A pipeline configured on the command line.
fn a_process() -> Cli {
    let cli = Cli::new();
    cli.ok(&["pipeline", "create", "Enterprise", "--currency", "USD"]);
    cli.ok(&[
        "pipeline",
        "add-stage",
        "Enterprise",
        "--name",
        "Discovery",
        "--probability",
        "15",
        "--rot-days",
        "14",
        "--description",
        "Pain, budget, timeline",
        "--checklist",
        "Budget confirmed",
        "--require",
        "expected_close_date",
    ]);
    cli.ok(&[
        "pipeline",
        "add-stage",
        "Enterprise",
        "--name",
        "Proposal",
        "--probability",
        "55",
    ]);
    cli
}

#[test]
fn pipelines_export_and_import_back_through_the_binary() {
    let source = a_process();
    let target = Cli::new();
    let csv_of = |cli: &Cli| {
        String::from_utf8(cli.ok(&["export", "pipelines", "--format", "csv"]).stdout).unwrap()
    };
    let wanted = csv_of(&source);
    let table = rows(&wanted);
    assert_eq!(
        table[0].join(","),
        "pipeline,currency,pipeline_archived,stage,position,probability,rot_days,description,criteria"
    );
    let enterprise: Vec<&Vec<String>> = table.iter().filter(|r| r[0] == "Enterprise").collect();
    assert_eq!(enterprise.len(), 2);
    assert_eq!(
        enterprise[0][1..8].join("|"),
        "USD|false|Discovery|1|15|14|Pain, budget, timeline"
    );
    assert!(enterprise[0][8].contains("Budget confirmed"));

    for format in ["json", "xlsx"] {
        let file = source.dir.path().join(format!("pipelines.{format}"));
        source.ok(&["export", "pipelines", "-o", file.to_str().unwrap()]);
        let target = Cli::new();
        let out = target.ok(&["import", "pipelines", file.to_str().unwrap(), "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["committed"], true, "{format}: {report}");
        assert_eq!(report["rejected"], serde_json::json!([]), "{format}");
        assert_eq!(csv_of(&target), wanted, "{format}");
    }

    // A refused row names its line, column and reason, and nothing is written.
    let bad = source.dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        wanted.replace(
            "Enterprise,USD,false,Proposal,2,55",
            "Enterprise,USD,false,Proposal,2,140",
        ),
    )
    .unwrap();
    let err = target.fails(&["import", "pipelines", bad.to_str().unwrap()]);
    assert!(
        err.contains("column `probability`")
            && err.contains("`140`")
            && err.contains("nothing was imported"),
        "{err}"
    );
    assert!(!csv_of(&target).contains("Enterprise"));

    // A dry run checks a good file and writes nothing.
    let good = source.dir.path().join("good.csv");
    std::fs::write(&good, &wanted).unwrap();
    let out = target.ok(&["import", "pipelines", good.to_str().unwrap(), "--dry-run"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Dry run, nothing written"),
        "{out:?}"
    );
    assert!(!csv_of(&target).contains("Enterprise"));
}
