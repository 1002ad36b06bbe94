//! The import page in a real headless Chromium against the real binary: a file chosen and
//! uploaded as a person would, the job followed until its report shows, and the records it
//! wrote (or, refused, did not write) checked in the database.

#[path = "browser/harness.rs"]
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::Locator;
use harness::Browser;
use throughline_core::Role;
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, Store, pipelines};

const PASSWORD: &str = "correct horse battery";

/// An admin and a rep, nothing else.
async fn prepare(db: &Path) {
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mut tx = store.write().await.unwrap();
    let sys = Ctx::system_now();
    for (email, name, role) in [
        ("admin@example.com", "Ada Admin", Role::Admin),
        ("rita@example.com", "Rita Rep", Role::Rep),
    ] {
        let new = NewUser {
            email: email.into(),
            name: name.into(),
            role,
            team_id: None,
            password: Some(PASSWORD.into()),
        };
        users::create(&mut tx, &sys, new).await.unwrap();
    }
    tx.commit().await.unwrap();
    store.close().await;
}

/// What the database holds now: deal titles with their status, pipeline names, user e-mails.
struct Held {
    deals: BTreeSet<(String, String)>,
    pipelines: BTreeSet<String>,
    users: BTreeSet<String>,
}

async fn held(db: &Path) -> Held {
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mut tx = store.read().await.unwrap();
    let filter = throughline_store::deals::DealFilter {
        limit: Some(500),
        ..Default::default()
    };
    let deals = throughline_store::deals::list(&mut tx, &Ctx::system_now(), &filter)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|d| (d.title, d.status.to_string()))
        .collect();
    let pipelines = pipelines::list(&mut tx, true)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    let users = users::list(&mut tx)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    drop(tx);
    store.close().await;
    Held {
        deals,
        pipelines,
        users,
    }
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../transfer/tests/samples")
        .join(name)
        .canonicalize()
        .unwrap()
}

/// The sample's rows, each as its column → cell map (the BOM of the header dropped).
fn rows_of(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// The distinct non-empty cells of `column`.
fn distinct(rows: &[BTreeMap<String, String>], column: &str) -> BTreeSet<String> {
    rows.iter()
        .filter_map(|r| r.get(column))
        .filter(|v| !v.is_empty())
        .cloned()
        .collect()
}

/// Choose `file` in the form (as a person picking it in the file dialog would).
async fn choose_file(browser: &Browser, file: &Path) {
    browser
        .client
        .find(Locator::Css("#i-file"))
        .await
        .unwrap()
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
}

/// The whole page saved under target/screenshots, not only the window.
async fn snap(browser: &Browser, name: &str) {
    let height = browser
        .client
        .execute(
            "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap_or(900.0)
        .clamp(900.0, 4000.0) as u32;
    browser.client.set_window_size(1440, height).await.unwrap();
    browser.screenshot(name).await;
    browser.client.set_window_size(1440, 900).await.unwrap();
}

/// Submit the form and wait for the page that answers (a refused form comes back as a new
/// page with the same elements, so the old page is marked to tell them apart).
async fn start_import(browser: &Browser) {
    browser
        .client
        .execute("document.body.dataset.submitted = 'yes'", vec![])
        .await
        .unwrap();
    browser.click("#start-import").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answered = browser
            .client
            .execute(
                "return document.readyState === 'complete' && !document.body.dataset.submitted",
                vec![],
            )
            .await
            .map(|v| v.as_bool() == Some(true))
            .unwrap_or(false);
        if answered {
            return;
        }
        assert!(Instant::now() < deadline, "the form was not answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until the job's page shows its report (the page follows the job and reloads).
async fn wait_for_report(browser: &Browser) {
    browser.wait_for("#import-verdict").await;
}

/// The figure tiles of the report: label → value.
async fn figures(browser: &Browser) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for tile in browser
        .client
        .find_all(Locator::Css(".import-figures .stat"))
        .await
        .unwrap()
    {
        let label = tile.attr("data-figure").await.unwrap().unwrap_or_default();
        let value = tile
            .find(Locator::Css(".stat-value"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        out.insert(label, value);
    }
    out
}

/// A detail of the report: `format`, `mode`, or a count of what it created besides its
/// records (`organizations`, `people`).
async fn fact(browser: &Browser, key: &str) -> String {
    browser.text(&format!("dd[data-fact={key}]")).await
}

/// The items of a detail that lists what the import created: `users`, `pipelines`, `stages`.
async fn fact_items(browser: &Browser, key: &str) -> BTreeSet<String> {
    browser
        .texts(&format!("dd[data-fact={key}] li"))
        .await
        .into_iter()
        .collect()
}

/// The rejected rows as shown: (line, column, reason).
async fn rejections(browser: &Browser) -> Vec<(String, String, String)> {
    let cells = browser.texts("#rejections tbody td").await;
    cells
        .chunks(3)
        .map(|c| (c[0].clone(), c[1].clone(), c[2].clone()))
        .collect()
}

#[tokio::test]
async fn an_admin_imports_a_pipedrive_export_and_reads_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("import.db");
    prepare(&db).await;
    let file = sample("pipedrive-deals.csv");
    let rows = rows_of(&file);
    let before = held(&db).await;

    let browser = Browser::start(&db).await;
    browser.sign_in("admin@example.com", PASSWORD).await;
    browser.click(".nav a[href='/imports']").await;
    browser.wait_for("#import-form").await;
    assert_eq!(
        browser.text(".nav a[aria-current=page]").await,
        "Import",
        "the navigation leads to the page and marks it"
    );
    assert!(
        browser
            .text(".recent-imports")
            .await
            .contains("No imports yet"),
        "a fresh server has none to list"
    );
    snap(&browser, "import-form").await;

    // Deals is the kind chosen unless another is; all or nothing unless asked otherwise.
    let checked = browser
        .client
        .find(Locator::Css("input[name=kind]:checked"))
        .await
        .unwrap();
    assert_eq!(
        checked.attr("value").await.unwrap().as_deref(),
        Some("deals")
    );
    choose_file(&browser, &file).await;
    start_import(&browser).await;
    wait_for_report(&browser).await;
    assert!(browser.path().await.starts_with("/imports/"));
    snap(&browser, "import-done").await;

    assert_eq!(browser.text("#import-outcome").await, "Imported");
    let verdict = browser.text("#import-verdict").await;
    assert!(
        verdict.contains(&format!("Imported {} rows", rows.len())),
        "{verdict}"
    );
    let shown = figures(&browser).await;
    let n = rows.len().to_string();
    assert_eq!(shown["rows"], n, "{shown:?}");
    assert_eq!(shown["created"], n, "every row is a new deal: {shown:?}");
    assert_eq!(shown["updated"], "0");
    assert_eq!(shown["skipped"], "0");
    assert_eq!(shown["rejected"], "0");
    assert!(
        browser
            .client
            .find_all(Locator::Css("#rejections"))
            .await
            .unwrap()
            .is_empty(),
        "no rejected rows to list"
    );

    assert_eq!(fact(&browser, "format").await, "Pipedrive export");
    assert_eq!(fact(&browser, "mode").await, "Import");
    assert_eq!(
        fact_items(&browser, "pipelines").await,
        distinct(&rows, "Deal - Pipeline")
    );
    let stages: BTreeSet<String> = rows
        .iter()
        .map(|r| format!("{} in {}", r["Deal - Stage"], r["Deal - Pipeline"]))
        .collect();
    assert_eq!(fact_items(&browser, "stages").await, stages);
    assert_eq!(
        fact(&browser, "organizations").await,
        distinct(&rows, "Deal - Organization").len().to_string()
    );
    assert_eq!(
        fact(&browser, "people").await,
        distinct(&rows, "Person - Name").len().to_string()
    );
    // Every owner the file names is new to this server, so each became a user.
    let owners = distinct(&rows, "Deal - Owner");
    let users_created = fact_items(&browser, "users").await;
    assert_eq!(users_created.len(), owners.len(), "{users_created:?}");
    for owner in &owners {
        assert!(
            users_created.iter().any(|u| u.contains(owner.as_str())),
            "{owner} is among the users created: {users_created:?}"
        );
    }

    // The deals are there, each with the status the file gives.
    let expected: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r["Deal - Title"].clone(), r["Deal - Status"].clone()))
        .collect();
    let after = held(&db).await;
    assert_eq!(after.deals, expected);
    assert_eq!(after.users.len(), before.users.len() + owners.len());
    browser.click("#import-verdict a.btn").await;
    browser.wait_for("table.data").await;
    assert!(browser.path().await.starts_with("/deals"));
    let titles: BTreeSet<String> = browser
        .texts("table.data tbody td:first-child")
        .await
        .into_iter()
        .collect();
    let file_titles: BTreeSet<String> = expected.iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(
        titles, file_titles,
        "the deals list shows the imported deals"
    );

    // Listed among the recent imports with its outcome, newest first; a second import of the
    // same file, as a dry run, skips every row and writes nothing.
    browser.goto("/imports").await;
    browser.click("#i-dry-run").await;
    choose_file(&browser, &file).await;
    start_import(&browser).await;
    wait_for_report(&browser).await;
    assert_eq!(browser.text("#import-outcome").await, "Dry run");
    let again = figures(&browser).await;
    assert_eq!(
        (again["created"].as_str(), again["skipped"].as_str()),
        ("0", n.as_str()),
        "{again:?}"
    );
    assert_eq!(fact(&browser, "mode").await, "Dry run");
    browser.goto("/imports").await;
    let listed_rows = browser.texts("#recent-imports tbody tr").await;
    assert_eq!(listed_rows.len(), 2, "{listed_rows:?}");
    assert!(
        listed_rows[0].contains("pipedrive-deals.csv") && listed_rows[0].contains("Dry run"),
        "{listed_rows:?}"
    );
    assert!(
        listed_rows[1].contains("Imported") && listed_rows[1].contains("Ada Admin"),
        "{listed_rows:?}"
    );
    snap(&browser, "import-recent").await;
    browser.close().await;
}

/// A Pipedrive file whose second data row (line 3) has no number for its value.
const BAD_ROW: &str = "Deal - ID,Deal - Title,Deal - Value,Deal - Currency of value,Deal - Pipeline,Deal - Stage,Deal - Status,Deal - Owner,Deal - Deal created
201,Good one,1000,EUR,Renewals,Qualified,open,admin@example.com,2024-03-01 10:00
202,Bad value,twelve hundred,EUR,Renewals,Qualified,open,admin@example.com,2024-03-02 10:00
203,Good two,2000,EUR,Renewals,Proposal,open,admin@example.com,2024-03-03 10:00
";

#[tokio::test]
async fn a_bad_row_refuses_the_whole_file_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("refused.db");
    prepare(&db).await;
    let file = dir.path().join("renewals.csv");
    std::fs::write(&file, BAD_ROW).unwrap();
    let before = held(&db).await;

    let browser = Browser::start(&db).await;
    browser.sign_in("admin@example.com", PASSWORD).await;
    browser.goto("/imports").await;
    choose_file(&browser, &file).await;
    start_import(&browser).await;
    wait_for_report(&browser).await;
    snap(&browser, "import-refused").await;

    assert_eq!(browser.text("#import-outcome").await, "Refused");
    let verdict = browser.text("#import-verdict").await;
    assert!(
        verdict.contains("Refused: nothing was changed"),
        "{verdict}"
    );
    assert!(
        verdict.contains("1 of 3 rows was rejected") && verdict.contains("all or nothing"),
        "the page says why: {verdict}"
    );
    let rejected = rejections(&browser).await;
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let (line, column, reason) = &rejected[0];
    assert_eq!(line, "3", "the header is line 1: {rejected:?}");
    assert_eq!(column, "Deal - Value");
    assert!(reason.contains("twelve hundred"), "{reason}");
    let shown = figures(&browser).await;
    assert_eq!(shown["rejected"], "1");
    assert_eq!(shown["rows"], "3");

    // Nothing was written: no deal, no pipeline, no user.
    let after = held(&db).await;
    assert!(after.deals.is_empty(), "{:?}", after.deals);
    assert!(after.pipelines.is_empty(), "{:?}", after.pipelines);
    assert_eq!(after.users, before.users);

    // Asked to write the other rows, the same file imports the two good ones.
    browser.goto("/imports").await;
    browser.click("input[name=partial][value=true]").await;
    choose_file(&browser, &file).await;
    start_import(&browser).await;
    wait_for_report(&browser).await;
    assert_eq!(browser.text("#import-outcome").await, "Imported in part");
    assert_eq!(rejections(&browser).await.len(), 1);
    let verdict = browser.text("#import-verdict").await;
    assert!(verdict.contains("Imported 2 of 3 rows"), "{verdict}");
    let after = held(&db).await;
    let titles: Vec<&str> = after.deals.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles, ["Good one", "Good two"]);
    snap(&browser, "import-partial").await;
    browser.close().await;
}

#[tokio::test]
async fn bad_input_comes_back_on_the_form_with_what_was_entered() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("input.db");
    prepare(&db).await;
    let browser = Browser::start(&db).await;
    browser.sign_in("admin@example.com", PASSWORD).await;
    browser.goto("/imports").await;

    // No file.
    browser.click("details.settings summary").await;
    browser.fill("#i-pipeline", "Europa").await;
    browser.fill("#i-currency", "EUR").await;
    browser.click("#i-dry-run").await;
    start_import(&browser).await;
    browser.wait_for("#file-error").await;
    assert_eq!(
        browser.text("#file-error").await,
        "Choose the CSV or XLSX file to import."
    );
    assert!(
        browser
            .text("#import-error")
            .await
            .contains("Nothing was changed")
    );
    let kept = |css: &'static str| {
        let client = browser.client.clone();
        async move {
            client
                .find(Locator::Css(css))
                .await
                .unwrap()
                .prop("value")
                .await
                .unwrap()
                .unwrap_or_default()
        }
    };
    assert_eq!(kept("#i-pipeline").await, "Europa");
    assert_eq!(kept("#i-currency").await, "EUR");
    let dry_run = browser
        .client
        .find(Locator::Css("#i-dry-run"))
        .await
        .unwrap();
    assert!(
        dry_run.is_selected().await.unwrap(),
        "the dry run stays ticked"
    );

    // An empty file.
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    choose_file(&browser, &empty).await;
    start_import(&browser).await;
    browser.wait_for("#file-error").await;
    assert_eq!(
        browser.text("#file-error").await,
        "The chosen file is empty."
    );

    // A kind the page does not offer (sent by hand).
    let european = sample("european.csv");
    browser
        .client
        .execute(
            "const k = document.querySelector('input[name=kind]:checked'); k.value = 'spreadsheets';",
            vec![],
        )
        .await
        .unwrap();
    choose_file(&browser, &european).await;
    start_import(&browser).await;
    browser.wait_for("#kind-error").await;
    let kind_error = browser.text("#kind-error").await;
    assert!(
        kind_error.contains("spreadsheets is not deals, leads"),
        "{kind_error}"
    );

    // A file no format recognises, without a mapping: its columns are shown to map.
    assert!(
        browser
            .client
            .find_all(Locator::Css("input[name=kind]:checked"))
            .await
            .unwrap()
            .is_empty(),
        "no kind the page offers was chosen, so none is"
    );
    browser.click("input[name=kind][value=deals]").await;
    untick_dry_run(&browser).await;
    choose_file(&browser, &european).await;
    start_import(&browser).await;
    browser.wait_for("#map-error").await;
    let map_error = browser.text("#map-error").await;
    assert!(
        map_error.contains("not a recognised export")
            && map_error.contains("no column is mapped to title"),
        "{map_error}"
    );
    let columns = browser.texts("#file-columns li").await;
    assert_eq!(
        columns,
        [
            "Titel",
            "Wert",
            "Phase",
            "Verantwortlich",
            "Firma",
            "Erstellt"
        ]
    );
    assert!(
        browser.text(".hint.kept").await.contains("european.csv"),
        "the page names the file to choose again"
    );
    assert_eq!(kept("#i-pipeline").await, "Europa");
    snap(&browser, "import-unrecognised").await;
    assert!(held(&db).await.deals.is_empty(), "nothing was imported");

    // Mapped, the same file imports.
    browser
        .fill(
            "#i-map",
            "title=Titel\nvalue=Wert\nstage=Phase\nowner=Verantwortlich\norganization=Firma\ncreated_at=Erstellt",
        )
        .await;
    choose_file(&browser, &european).await;
    start_import(&browser).await;
    wait_for_report(&browser).await;
    assert_eq!(browser.text("#import-outcome").await, "Imported");
    assert_eq!(
        fact(&browser, "format").await,
        "Not recognised: columns mapped by hand"
    );
    assert_eq!(
        fact_items(&browser, "pipelines").await,
        BTreeSet::from(["Europa".to_string()])
    );
    let after = held(&db).await;
    let titles: Vec<&str> = after.deals.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles, ["Auftrag Nord", "Auftrag Süd"]);
    browser.close().await;
}

/// Untick "Dry run" when the form came back with it ticked.
async fn untick_dry_run(browser: &Browser) {
    let tick = browser
        .client
        .find(Locator::Css("#i-dry-run"))
        .await
        .unwrap();
    if tick.is_selected().await.unwrap() {
        tick.click().await.unwrap();
    }
}

#[tokio::test]
async fn a_rep_sees_their_own_imports_and_an_admin_sees_everyones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("roles.db");
    prepare(&db).await;
    let browser = Browser::start(&db).await;

    // The admin imports first.
    browser.sign_in("admin@example.com", PASSWORD).await;
    browser.goto("/imports").await;
    choose_file(&browser, &sample("hubspot-deals.csv")).await;
    start_import(&browser).await;
    wait_for_report(&browser).await;
    assert_eq!(fact(&browser, "format").await, "HubSpot export");
    let admin_job = browser.path().await;
    browser.click(".me button[type=submit]").await;
    browser.wait_for("#email").await;

    // A rep may import, as themself: a file naming a pipeline that does not exist needs an
    // admin, so the job fails and says so; nothing is written.
    browser.sign_in("rita@example.com", PASSWORD).await;
    browser.goto("/imports").await;
    assert!(
        browser
            .text(".recent-imports")
            .await
            .contains("No imports yet"),
        "a rep does not see the admin's import"
    );
    let file = dir.path().join("new-pipeline.csv");
    std::fs::write(
        &file,
        BAD_ROW
            .replace("twelve hundred", "1200")
            .replace("admin@", "rita@"),
    )
    .unwrap();
    choose_file(&browser, &file).await;
    start_import(&browser).await;
    wait_for_report(&browser).await;
    snap(&browser, "import-failed").await;
    assert_eq!(browser.text("#import-outcome").await, "Failed");
    let verdict = browser.text("#import-verdict").await;
    assert!(verdict.contains("nothing was changed"), "{verdict}");
    assert!(
        !browser.text("#import-failure").await.is_empty(),
        "the reason is given"
    );
    assert!(!held(&db).await.pipelines.contains("Renewals"));
    let rep_job = browser.path().await;
    browser.goto(&admin_job).await;
    browser.wait_for(".auth h1").await;
    assert_eq!(browser.text(".auth h1").await, "Not found");
    browser.goto("/imports").await;
    let rows = browser.texts("#recent-imports tbody tr").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("new-pipeline.csv") && rows[0].contains("Failed"));
    browser.click(".me button[type=submit]").await;
    browser.wait_for("#email").await;

    // The admin sees both, with who started each.
    browser.sign_in("admin@example.com", PASSWORD).await;
    browser.goto("/imports").await;
    let rows = browser.texts("#recent-imports tbody tr").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].contains("Rita Rep") && rows[0].contains("Failed"),
        "{rows:?}"
    );
    assert!(
        rows[1].contains("Ada Admin") && rows[1].contains("Imported"),
        "{rows:?}"
    );
    browser.goto(&rep_job).await;
    wait_for_report(&browser).await;
    browser.close().await;
}

/// A Pipedrive export of `n` open deals in one pipeline, for a job that runs long enough to
/// be watched.
fn large_file(n: usize) -> String {
    let mut out = String::from(
        "Deal - ID,Deal - Title,Deal - Value,Deal - Currency of value,Deal - Pipeline,Deal - Stage,Deal - Status,Deal - Owner,Deal - Organization,Deal - Deal created\n",
    );
    let stages = ["Lead in", "Qualified", "Proposal", "Negotiation"];
    for i in 0..n {
        out.push_str(&format!(
            "{},Deal {i},{},EUR,Volume,{},open,admin@example.com,Org {},2024-{:02}-{:02} 10:00\n",
            10_000 + i,
            1000 + (i * 37) % 9000,
            stages[i % stages.len()],
            i % 400,
            1 + i % 12,
            1 + i % 28,
        ));
    }
    out
}

/// The import pages saved under target/screenshots while a large file runs and once it is
/// done, then in the dark theme; the progress shown must count the file's rows. It imports tens of
/// thousands of rows, so it runs on request:
/// `cargo test -p throughline-cli --test browser_imports -- --ignored`.
#[tokio::test]
#[ignore]
async fn screenshots_of_a_running_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("large.db");
    prepare(&db).await;
    let n = 60_000;
    let file = dir.path().join("volume-deals.csv");
    std::fs::write(&file, large_file(n)).unwrap();
    let browser = Browser::start(&db).await;
    browser.sign_in("admin@example.com", PASSWORD).await;
    browser.goto("/imports").await;
    choose_file(&browser, &file).await;
    start_import(&browser).await;
    browser.wait_for("#import-job").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut seen_running, mut shot) = (false, false);
    while Instant::now() < deadline {
        let ended = !browser
            .client
            .find_all(Locator::Css("#import-verdict"))
            .await
            .unwrap()
            .is_empty();
        if ended {
            break;
        }
        let total = browser.text("#rows-total").await;
        let done = browser.text("#rows-done").await;
        if total == "60,000" && done != "0" {
            seen_running = true;
            // Once the pace is known, the page says it and the time left.
            if !shot && browser.text("#rows-eta").await.contains("rows/s") {
                shot = true;
                snap(&browser, "import-running").await;
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(seen_running, "the page showed the rows done of 60,000");
    wait_for_report(&browser).await;
    assert_eq!(figures(&browser).await["created"], "60,000");
    snap(&browser, "import-large-done").await;
    dark(&browser).await;
    snap(&browser, "import-large-done-dark").await;
    browser.goto("/imports").await;
    snap(&browser, "import-form-dark").await;
    browser.close().await;
}

/// A WebDriver command for Chromium's DevTools: here, to show pages as a browser set to the
/// dark theme does.
#[derive(Debug)]
struct Cdp(&'static str, serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.0, "params": self.1 });
        (http::Method::POST, Some(body.to_string()))
    }
}

async fn dark(browser: &Browser) {
    let features =
        serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] });
    browser
        .client
        .issue_cmd(Cdp("Emulation.setEmulatedMedia", features))
        .await
        .expect("emulate the dark theme");
}
