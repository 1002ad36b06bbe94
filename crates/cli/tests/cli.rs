//! The `throughline` command as a user runs it: real binary, real SQLite file.

use std::io::Write;
use std::process::{Command, Output, Stdio};

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

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_throughline"))
            .args(args)
            .env("THROUGHLINE_DATABASE_URL", self.db())
            .env("THROUGHLINE_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
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

fn id_of(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["items"][0]["id"].as_str().unwrap().to_string()
}

#[test]
fn users_tokens_pipelines_deals_and_the_snapshot_from_a_terminal() {
    let cli = Cli::new();
    let out = cli.run_with_stdin(
        &[
            "user",
            "add",
            "--email",
            "Ana@Example.com",
            "--name",
            "Ana",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "a long password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let short = cli.run_with_stdin(
        &[
            "user",
            "add",
            "--email",
            "bo@example.com",
            "--name",
            "Bo",
            "--role",
            "rep",
            "--password-stdin",
        ],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("password: must be at least 10 characters")
    );

    let token = cli.ok(&["token", "create", "--email", "ana@example.com"]);
    let last = token.split_whitespace().last().unwrap();
    assert!(
        last.starts_with("tl_") && last.len() > 40,
        "the token is the last word: {token}"
    );

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
    cli.ok(&[
        "pipeline",
        "add-stage",
        "Sales",
        "--name",
        "Proposal",
        "--probability",
        "50",
        "--checklist",
        "Budget confirmed",
        "--require",
        "expected_close_date",
    ]);
    let bad_stage = cli.fails(&[
        "pipeline",
        "add-stage",
        "Sales",
        "--name",
        "Won?",
        "--probability",
        "140",
    ]);
    assert!(bad_stage.contains("probability"), "{bad_stage}");

    cli.ok(&[
        "deal",
        "create",
        "--title",
        "Acme",
        "--pipeline",
        "sales",
        "--value",
        "5,000.50",
        "--owner",
        "ana@example.com",
    ]);
    let bad_value = cli.fails(&[
        "deal",
        "create",
        "--title",
        "Bad",
        "--pipeline",
        "Sales",
        "--value=-3",
        "--owner",
        "ana@example.com",
    ]);
    assert!(
        bad_value.contains("value: must not be negative"),
        "{bad_value}"
    );
    let deal = id_of(&cli.ok(&["deal", "list", "--format", "json"]));

    let unmet = cli.fails(&["deal", "move", &deal, "--stage", "Proposal"]);
    assert!(
        unmet.contains("[ ] Budget confirmed") && unmet.contains("[ ] Expected close date is set"),
        "{unmet}"
    );
    cli.ok(&["deal", "check", &deal, "--criterion", "budget confirmed"]);
    cli.ok(&["deal", "move", &deal, "--stage", "Proposal", "--override"]);

    let table = cli.ok(&["report", "snapshot", "--pipeline", "Sales"]);
    let proposal = table.lines().find(|l| l.contains("Proposal")).unwrap();
    assert!(
        proposal.contains("5,000.50") && proposal.contains("2,500.25"),
        "{table}"
    );
    let csv = cli.ok(&[
        "report",
        "snapshot",
        "--pipeline",
        "Sales",
        "--format",
        "csv",
    ]);
    assert_eq!(
        csv.lines().next(),
        Some("stage,probability,deals,value,weighted")
    );
    let json: serde_json::Value = serde_json::from_str(&cli.ok(&[
        "report",
        "snapshot",
        "--pipeline",
        "Sales",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["total"]["value"], 500_050);
    assert_eq!(json["stages"][1]["weighted_value"], 250_025);
    let past: serde_json::Value = serde_json::from_str(&cli.ok(&[
        "report",
        "snapshot",
        "--pipeline",
        "Sales",
        "--at",
        "2001-01-01",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(past["total"]["count"], 0, "nothing existed in 2001");
    let bad_at = cli.fails(&[
        "report",
        "snapshot",
        "--pipeline",
        "Sales",
        "--at",
        "yesterday-ish",
    ]);
    assert!(bad_at.contains("--at"), "{bad_at}");

    let history = cli.ok(&["deal", "history", &deal]);
    assert!(
        history.contains("deal.stage_changed") && history.contains("Lead in → Proposal"),
        "{history}"
    );
    cli.ok(&["deal", "won", &deal]);
    let again = cli.fails(&["deal", "won", &deal]);
    assert!(again.contains("already won"), "{again}");
    let unknown = cli.fails(&["report", "snapshot", "--pipeline", "Nope"]);
    assert!(unknown.contains("no pipeline"), "{unknown}");
}

#[test]
fn acting_as_a_rep_shows_only_their_deals() {
    let cli = Cli::new();
    cli.ok(&[
        "user",
        "add",
        "--email",
        "rita@example.com",
        "--name",
        "Rita",
        "--role",
        "rep",
        "--no-login",
    ]);
    cli.ok(&[
        "user",
        "add",
        "--email",
        "omar@example.com",
        "--name",
        "Omar",
        "--role",
        "rep",
        "--no-login",
    ]);
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
    cli.ok(&[
        "deal",
        "create",
        "--title",
        "Rita's",
        "--pipeline",
        "Sales",
        "--value",
        "100",
        "--owner",
        "rita@example.com",
    ]);
    cli.ok(&[
        "deal",
        "create",
        "--title",
        "Omar's",
        "--pipeline",
        "Sales",
        "--value",
        "200",
        "--owner",
        "omar@example.com",
    ]);
    let all = cli.ok(&["deal", "list"]);
    assert!(all.contains("Rita's") && all.contains("Omar's"));
    let rita = cli.ok(&["deal", "list", "--as", "rita@example.com"]);
    assert!(
        rita.contains("Rita's") && !rita.contains("Omar's"),
        "{rita}"
    );
    let snap: serde_json::Value = serde_json::from_str(&cli.ok(&[
        "report",
        "snapshot",
        "--pipeline",
        "Sales",
        "--as",
        "rita@example.com",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(snap["total"]["count"], 1);
    assert_eq!(snap["total"]["value"], 10_000);
    let stealing = cli.fails(&[
        "deal",
        "create",
        "--title",
        "x",
        "--pipeline",
        "Sales",
        "--owner",
        "omar@example.com",
        "--as",
        "rita@example.com",
    ]);
    assert!(
        stealing.contains("only assign records to themself"),
        "{stealing}"
    );
}

#[test]
fn healthcheck_fails_cleanly_when_nothing_answers() {
    let cli = Cli::new();
    let err = cli.fails(&["healthcheck", "--url", "http://127.0.0.1:9"]);
    assert!(err.contains("nothing answers"), "{err}");
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn every_report_answers_from_the_terminal_with_figures_from_the_history() {
    let cli = Cli::new();
    cli.ok(&[
        "user",
        "add",
        "--email",
        "rita@example.com",
        "--name",
        "Rita",
        "--role",
        "rep",
        "--no-login",
    ]);
    cli.ok(&["pipeline", "create", "Sales"]);
    for (name, p) in [("Lead in", "10"), ("Proposal", "50"), ("Contract", "90")] {
        cli.ok(&[
            "pipeline",
            "add-stage",
            "Sales",
            "--name",
            name,
            "--probability",
            p,
        ]);
    }
    for (title, source) in [
        ("Won one", "Web"),
        ("Lost one", "Web"),
        ("Open one", "Event"),
    ] {
        cli.ok(&[
            "deal",
            "create",
            "--title",
            title,
            "--pipeline",
            "Sales",
            "--value",
            "1000",
            "--owner",
            "rita@example.com",
            "--source",
            source,
        ]);
    }
    let deals = json(&cli.ok(&["deal", "list", "--format", "json"]));
    let id = |title: &str| {
        deals["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["title"] == title)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    cli.ok(&["deal", "move", &id("Won one"), "--stage", "Contract"]);
    cli.ok(&["deal", "won", &id("Won one")]);
    cli.ok(&["deal", "lost", &id("Lost one"), "--reason", "budget"]);

    let funnel = json(&cli.ok(&[
        "report",
        "funnel",
        "--pipeline",
        "Sales",
        "--format",
        "json",
    ]));
    let stages = funnel["total"]["stages"].as_array().unwrap();
    let figures: Vec<(i64, i64)> = stages
        .iter()
        .map(|s| {
            (
                s["entered"].as_i64().unwrap(),
                s["progressed"].as_i64().unwrap(),
            )
        })
        .collect();
    // All three entered Lead in; only the won one passed Proposal (skipped) into Contract.
    assert_eq!(figures, [(3, 1), (1, 1), (1, 1)]);
    assert_eq!(funnel["total"]["win_rate"], 0.5);
    assert_eq!(funnel["total"]["entered"], 3);
    let table = cli.ok(&[
        "report",
        "funnel",
        "--pipeline",
        "Sales",
        "--group-by",
        "source",
    ]);
    assert!(table.contains("Web") && table.contains("Event"), "{table}");

    let cycle = json(&cli.ok(&["report", "cycle", "--pipeline", "Sales", "--format", "json"]));
    assert_eq!(
        (cycle["won"]["n"].as_i64(), cycle["lost"]["n"].as_i64()),
        (Some(1), Some(1))
    );
    let velocity = json(&cli.ok(&[
        "report",
        "velocity",
        "--pipeline",
        "Sales",
        "--format",
        "json",
    ]));
    assert_eq!(velocity["total"]["open_deals"], 1);
    let flow = json(&cli.ok(&[
        "report",
        "flow",
        "--pipeline",
        "Sales",
        "--runs",
        "200",
        "--format",
        "json",
    ]));
    let inflow: f64 = flow["inflow"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .sum();
    assert_eq!(inflow, 3.0);
    assert_eq!(flow["projection"]["weeks"].as_array().unwrap().len(), 12);
    let forecast = json(&cli.ok(&[
        "report",
        "forecast",
        "--pipeline",
        "Sales",
        "--grain",
        "quarter",
        "--periods",
        "2",
        "--runs",
        "200",
        "--format",
        "json",
    ]));
    assert_eq!(forecast["forecast"]["buckets"].as_array().unwrap().len(), 2);
    assert_eq!(forecast["calibration"].as_array().unwrap().len(), 3);
    let attention = json(&cli.ok(&[
        "report",
        "attention",
        "--pipeline",
        "Sales",
        "--format",
        "json",
    ]));
    let listed = &attention["needs_effort"][0];
    assert_eq!(listed["title"], "Open one");
    assert_eq!(listed["reasons"][0]["code"], "no_next_activity");
    let sources = cli.ok(&["report", "sources", "--format", "csv"]);
    assert!(
        sources.lines().any(|l| l.starts_with("Web,,0,2,")),
        "{sources}"
    );

    let bad = cli.fails(&[
        "report",
        "funnel",
        "--pipeline",
        "Sales",
        "--last",
        "90d",
        "--quarter",
        "2026Q1",
    ]);
    assert!(bad.contains("--quarter"), "{bad}");
    let bad = cli.fails(&[
        "report",
        "flow",
        "--pipeline",
        "Sales",
        "--grain",
        "quarter",
    ]);
    assert!(bad.contains("--grain"), "{bad}");
    let bad = cli.fails(&["report", "attention"]);
    assert!(bad.contains("--pipeline is required"), "{bad}");
}

#[test]
fn an_owner_an_import_created_is_given_a_login() {
    let cli = Cli::new();
    let file = cli.dir.path().join("deals.csv");
    std::fs::write(
        &file,
        "Name,Amount,Stage,Owner,Created\nAcme,1200,Lead,Jane Roe,2024-01-02\n",
    )
    .unwrap();
    let imported = cli.ok(&[
        "import",
        "deals",
        file.to_str().unwrap(),
        "--pipeline",
        "Sales",
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
    ]);
    assert!(
        imported.contains("Jane Roe <jane.roe@imported.invalid>")
            && imported.contains("throughline user set-password"),
        "{imported}"
    );
    let login_of = |email: &str| -> Option<bool> {
        let listed: serde_json::Value =
            serde_json::from_str(&cli.ok(&["user", "list", "--format", "json"])).unwrap();
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .map(|u| u["can_login"].as_bool().unwrap())
    };
    assert_eq!(login_of("jane.roe@imported.invalid"), Some(false));

    let set = |email: &str, password: &str| {
        cli.run_with_stdin(
            &[
                "user",
                "set-password",
                "--email",
                email,
                "--new-email",
                "jane@acme.example",
                "--password-stdin",
            ],
            &format!("{password}\n"),
        )
    };
    let unknown = set("nobody@example.com", "a long enough password");
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no user has the e-mail"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let short = set("jane.roe@imported.invalid", "short");
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("password: must be at least 10"),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );
    assert_eq!(
        login_of("jane.roe@imported.invalid"),
        Some(false),
        "a refused change changes nothing, the e-mail included"
    );

    let done = set("jane.roe@imported.invalid", "a long enough password");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("Jane Roe <jane@acme.example> can log in"),
        "{}",
        String::from_utf8_lossy(&done.stdout)
    );
    assert_eq!(login_of("jane@acme.example"), Some(true));
    assert_eq!(login_of("jane.roe@imported.invalid"), None);
}
