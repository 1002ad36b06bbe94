//! Imports of sample files in each known format and of mapped files, on real SQLite files
//! and PostgreSQL databases: the records, their history, the people and owners they name,
//! what a bad row does, re-running an import.

#[path = "../../store/tests/support/mod.rs"]
mod support;

mod common;

use common::shared_data;

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::Value;
use throughline_core::deal::{Deal, DealStatus};
use throughline_core::event::EventKind;
use throughline_core::{Actor, Role};
use throughline_store::deals::{self, DealFilter};
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, Store, parties, pipelines, snapshot};
use throughline_transfer::import::{
    self, ImportError, ImportOptions, ImportReport, Kind, Mapping, Silent,
};

use support::{at, backends, sqlite};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/samples")
        .join(name)
}

fn now() -> Ctx {
    Ctx::new(Actor::SYSTEM, at("2024-11-01T12:00:00Z"))
}

async fn run(store: &Store, path: &Path, kind: Kind, mapping: Mapping) -> ImportReport {
    let options = ImportOptions {
        kind,
        mapping,
        dry_run: false,
        partial: false,
    };
    import::run(store, now(), path, &options, &Silent)
        .await
        .expect("import")
}

/// Ana Lima, a rep, as an existing user.
async fn add_ana(store: &Store) {
    let mut tx = store.write().await.unwrap();
    users::create(
        &mut tx,
        &Ctx::system_now(),
        NewUser {
            email: "ana@example.com".into(),
            name: "Ana Lima".into(),
            role: Role::Rep,
            team_id: None,
            password: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn all_deals(store: &Store) -> Vec<Deal> {
    let mut tx = store.read().await.unwrap();
    let page = deals::list(
        &mut tx,
        &now(),
        &DealFilter {
            limit: Some(500),
            ..DealFilter::default()
        },
    )
    .await
    .unwrap();
    page.items
}

fn by_title<'a>(deals: &'a [Deal], title: &str) -> &'a Deal {
    deals
        .iter()
        .find(|d| d.title == title)
        .unwrap_or_else(|| panic!("no deal `{title}`"))
}

async fn history(store: &Store, deal: &Deal) -> Vec<(EventKind, Timestamp, Value)> {
    let mut tx = store.read().await.unwrap();
    deals::history(&mut tx, &now(), deal.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.at, e.data))
        .collect()
}

/// (stage name, count, value) per stage of the pipeline at `when`.
async fn snapshot_at(store: &Store, pipeline: &str, when: &str) -> Vec<(String, i64, i64)> {
    let mut tx = store.read().await.unwrap();
    let p = pipelines::find(&mut tx, pipeline).await.unwrap().unwrap();
    let snap = snapshot::snapshot(&mut tx, &now(), p.id, at(when))
        .await
        .unwrap();
    snap.stages
        .into_iter()
        .map(|s| (s.name, s.count, s.value))
        .collect()
}

async fn stage_names(store: &Store, pipeline: &str) -> Vec<(String, i64)> {
    let mut tx = store.read().await.unwrap();
    let p = pipelines::find(&mut tx, pipeline).await.unwrap().unwrap();
    pipelines::stages(&mut tx, p.id, false)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.probability))
        .collect()
}

#[tokio::test]
async fn a_pipedrive_export_with_bom_and_crlf() {
    for db in backends().await {
        let store = &db.store;
        // An existing user, named by e-mail on one row and by name on another.
        add_ana(store).await;

        let mapping = Mapping {
            stages: vec!["Qualified".into(), "Proposal".into()],
            ..Mapping::default()
        };
        let path = sample("pipedrive-deals.csv");
        let report = run(store, &path, Kind::Deals, mapping.clone()).await;
        assert_eq!(report.format.as_deref(), Some("pipedrive"));
        assert_eq!(
            (report.rows, report.created, report.rejected.len()),
            (3, 3, 0)
        );
        assert!(report.committed);
        assert_eq!(report.users_created, ["Ben Ode <ben.ode@imported.invalid>"]);
        assert_eq!(report.pipelines_created, ["Sales"]);
        assert_eq!(
            stage_names(store, "Sales").await,
            [("Qualified".to_string(), 33), ("Proposal".to_string(), 66)]
        );
        // Two rows name Acme GmbH and Jo Acme: each exists once.
        assert_eq!(
            (report.organizations_created, report.people_created),
            (2, 1)
        );

        let deals = all_deals(store).await;
        let acme = by_title(&deals, "Acme rollout");
        assert_eq!(acme.value, 1_250_000);
        assert_eq!(acme.status, DealStatus::Won);
        assert_eq!(acme.created_at, at("2024-01-10T09:30:00Z"));
        assert_eq!(acme.closed_at, Some(at("2024-03-15T16:00:00Z")));
        assert_eq!(
            acme.expected_close_date.map(|d| d.to_string()).as_deref(),
            Some("2024-03-31")
        );
        let gamma = by_title(&deals, "Gamma, the big one");
        assert_eq!(gamma.status, DealStatus::Lost);
        assert_eq!(gamma.lost_reason.as_deref(), Some("Price too high"));
        assert_eq!(gamma.organization_id, acme.organization_id);
        assert_eq!(gamma.person_id, acme.person_id);
        let beta = by_title(&deals, "Beta pilot");
        assert_eq!(
            beta.owner_id, acme.owner_id,
            "matched by e-mail and by name"
        );
        assert_ne!(gamma.owner_id, acme.owner_id);
        let mut tx = store.read().await.unwrap();
        let ben = users::get(&mut tx, gamma.owner_id).await.unwrap().unwrap();
        assert!(!ben.can_login, "owners created by an import cannot log in");
        let org = parties::get_organization(&mut tx, acme.organization_id.unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(org.name, "Acme GmbH");
        drop(tx);

        // The file's dates are the history's.
        let h = history(store, acme).await;
        assert_eq!(
            h.iter().map(|e| (e.0, e.1)).collect::<Vec<_>>(),
            [
                (EventKind::DealCreated, at("2024-01-10T09:30:00Z")),
                (EventKind::DealWon, at("2024-03-15T16:00:00Z")),
            ]
        );
        assert_eq!(
            snapshot_at(store, "Sales", "2024-03-01T00:00:00Z").await,
            [
                ("Qualified".to_string(), 1, 80_000),
                ("Proposal".to_string(), 2, 5_250_000)
            ]
        );
        assert_eq!(
            snapshot_at(store, "Sales", "2024-03-20T00:00:00Z").await,
            [
                ("Qualified".to_string(), 1, 80_000),
                ("Proposal".to_string(), 1, 4_000_000)
            ]
        );

        // Running it again changes nothing.
        let again = run(store, &path, Kind::Deals, mapping).await;
        assert_eq!((again.created, again.skipped, again.updated), (0, 3, 0));
        assert_eq!(all_deals(store).await.len(), 3);
        assert!(again.users_created.is_empty());
    }
}

#[tokio::test]
async fn a_hubspot_export_carries_the_stage_history() {
    for db in backends().await {
        let store = &db.store;
        let report = run(
            store,
            &sample("hubspot-deals.csv"),
            Kind::Deals,
            Mapping::default(),
        )
        .await;
        assert_eq!(report.format.as_deref(), Some("hubspot"));
        assert_eq!(
            (report.created, report.rejected.len()),
            (3, 0),
            "{:?}",
            report.rejected
        );
        // The stages in the order of the `Date entered` columns; Closed Won is an outcome.
        assert_eq!(
            stage_names(store, "Sales Pipeline")
                .await
                .into_iter()
                .map(|s| s.0)
                .collect::<Vec<_>>(),
            ["Appointment Scheduled", "Qualified To Buy", "Contract Sent"]
        );
        let deals = all_deals(store).await;
        let northwind = by_title(&deals, "Northwind renewal");
        let h = history(store, northwind).await;
        let stages: Vec<(EventKind, Timestamp, Option<String>)> = h
            .iter()
            .map(|(k, t, d)| (*k, *t, d["to"]["stage"].as_str().map(str::to_string)))
            .collect();
        assert_eq!(
            stages,
            [
                (EventKind::DealCreated, at("2024-04-01T09:00:00Z"), None),
                (
                    EventKind::DealStageChanged,
                    at("2024-04-10T10:00:00Z"),
                    Some("Qualified To Buy".into())
                ),
                (
                    EventKind::DealStageChanged,
                    at("2024-05-02T11:00:00Z"),
                    Some("Contract Sent".into())
                ),
                (EventKind::DealWon, at("2024-05-20T15:00:00Z"), None),
            ]
        );
        assert_eq!(northwind.value, 500_000);
        assert_eq!(northwind.version, 4);
        let contoso = by_title(&deals, "Contoso expansion");
        assert_eq!(contoso.status, DealStatus::Open);
        assert_eq!(contoso.stage_entered_at, at("2024-05-10T14:00:00Z"));
        assert_eq!(
            contoso
                .expected_close_date
                .map(|d| d.to_string())
                .as_deref(),
            Some("2024-07-31")
        );
        let fabrikam = by_title(&deals, "Fabrikam trial");
        assert_eq!((fabrikam.value, fabrikam.organization_id), (0, None));
        // Before Contoso reached Contract Sent, and after.
        assert_eq!(
            snapshot_at(store, "Sales Pipeline", "2024-04-20T00:00:00Z").await,
            [
                ("Appointment Scheduled".to_string(), 1, 1_200_000),
                ("Qualified To Buy".to_string(), 1, 500_000),
                ("Contract Sent".to_string(), 0, 0)
            ]
        );
        assert_eq!(
            snapshot_at(store, "Sales Pipeline", "2024-05-15T00:00:00Z").await,
            [
                ("Appointment Scheduled".to_string(), 1, 0),
                ("Qualified To Buy".to_string(), 0, 0),
                ("Contract Sent".to_string(), 2, 1_700_000)
            ]
        );
        assert_eq!(report.users_created.len(), 2);
    }
}

#[tokio::test]
async fn a_salesforce_report_orders_stages_by_probability() {
    let db = sqlite().await;
    let store = &db.store;
    let report = run(
        store,
        &sample("salesforce-opportunities.csv"),
        Kind::Deals,
        Mapping {
            currency: Some("USD".into()),
            ..Mapping::default()
        },
    )
    .await;
    assert_eq!(report.format.as_deref(), Some("salesforce"));
    assert_eq!(
        (report.created, report.rejected.len()),
        (5, 0),
        "{:?}",
        report.rejected
    );
    assert_eq!(
        stage_names(store, "Salesforce").await,
        [
            ("Prospecting".to_string(), 10),
            ("Qualification".to_string(), 10),
            ("Negotiation/Review".to_string(), 90)
        ]
    );
    let deals = all_deals(store).await;
    let edge = by_title(&deals, "Edge install");
    assert_eq!(edge.value, 7_500_000);
    assert_eq!(edge.status, DealStatus::Won);
    assert_eq!(edge.created_at, at("2024-01-05T00:00:00Z"));
    assert_eq!(edge.closed_at, Some(at("2024-03-20T00:00:00Z")));
    assert_eq!(edge.source.as_deref(), Some("Web"));
    assert_eq!(edge.custom["type"], "New Customer");
    let burlington = by_title(&deals, "Burlington upgrade");
    assert_eq!(
        burlington
            .expected_close_date
            .map(|d| d.to_string())
            .as_deref(),
        Some("2024-06-30")
    );
    // Report exports have no id: re-running recognises the rows all the same.
    let again = run(
        store,
        &sample("salesforce-opportunities.csv"),
        Kind::Deals,
        Mapping {
            currency: Some("USD".into()),
            ..Mapping::default()
        },
    )
    .await;
    assert_eq!((again.created, again.skipped), (0, 5));
}

#[tokio::test]
async fn a_european_spreadsheet_mapped_by_hand() {
    let db = sqlite().await;
    let store = &db.store;
    let mut mapping = Mapping {
        pipeline: Some("Vertrieb".into()),
        stages: vec!["Erstkontakt".into(), "Angebot".into()],
        currency: Some("EUR".into()),
        ..Mapping::default()
    };
    for flag in [
        "title=Titel",
        "value=Wert",
        "stage=Phase",
        "owner=Verantwortlich",
        "organization=Firma",
        "created_at=Erstellt",
    ] {
        mapping.add_field_flag(flag).unwrap();
    }
    let report = run(store, &sample("european.csv"), Kind::Deals, mapping).await;
    assert_eq!(
        (report.created, report.rejected.len()),
        (2, 0),
        "{:?}",
        report.rejected
    );
    let deals = all_deals(store).await;
    let nord = by_title(&deals, "Auftrag Nord");
    assert_eq!(nord.value, 123_450);
    assert_eq!(nord.created_at, at("2024-03-01T00:00:00Z"));
    let sued = by_title(&deals, "Auftrag Süd");
    assert_eq!(sued.value, 9_990);
    let mut tx = store.read().await.unwrap();
    let org = parties::get_organization(&mut tx, sued.organization_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.name, "Süd GmbH");
}

#[tokio::test]
async fn an_xlsx_file_with_real_dates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deals.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Title", "Value", "Stage", "Status", "Owner", "Deal created"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let created = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 2, 29).unwrap();
    sheet.write_string(1, 0, "Spreadsheet deal").unwrap();
    sheet.write_number(1, 1, 1999.5).unwrap();
    sheet.write_string(1, 2, "Demo").unwrap();
    sheet.write_string(1, 3, "open").unwrap();
    sheet.write_string(1, 4, "Xavier Lo").unwrap();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    sheet
        .write_datetime_with_format(1, 5, &created, &date_format)
        .unwrap();
    book.save(&path).unwrap();

    let db = sqlite().await;
    let report = run(
        &db.store,
        &path,
        Kind::Deals,
        Mapping {
            currency: Some("EUR".into()),
            ..Mapping::default()
        },
    )
    .await;
    assert_eq!(report.format.as_deref(), Some("pipedrive"));
    assert_eq!(
        (report.created, report.rejected.len()),
        (1, 0),
        "{:?}",
        report.rejected
    );
    let deals = all_deals(&db.store).await;
    assert_eq!(deals[0].value, 199_950);
    assert_eq!(deals[0].created_at, at("2024-02-29T00:00:00Z"));
}

fn bad_file(dir: &Path) -> PathBuf {
    let path = dir.join("bad.csv");
    std::fs::write(
        &path,
        "Name,Amount,Stage,Created,Closed,Outcome\n\
         Good one,100,Lead,2024-01-01,,\n\
         Bad value,abc,Lead,2024-01-02,,\n\
         ,50,Lead,2024-01-03,,\n\
         Won without a date,70,Lead,2024-01-04,,Won\n\
         Good two,200,Lead,2024-01-05,,\n",
    )
    .unwrap();
    path
}

fn bad_mapping() -> Mapping {
    let mut m = Mapping {
        pipeline: Some("Checked".into()),
        currency: Some("EUR".into()),
        ..Mapping::default()
    };
    for f in [
        "title=Name",
        "value=Amount",
        "stage=Stage",
        "created_at=Created",
        "closed_at=Closed",
        "status=Outcome",
    ] {
        m.add_field_flag(f).unwrap();
    }
    m
}

#[tokio::test]
async fn bad_rows_are_reported_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = bad_file(dir.path());
    for db in backends().await {
        let store = &db.store;
        let report = run(store, &path, Kind::Deals, bad_mapping()).await;
        let rejected: Vec<(u64, Option<&str>, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.column.as_deref(), r.reason.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [
                (3, Some("Amount"), "`abc` is not an amount"),
                (4, Some("Name"), "the title is empty"),
                (5, Some("Closed"), "the deal is won but has no close date"),
            ]
        );
        assert!(!report.committed);
        assert!(all_deals(store).await.is_empty());
        let mut tx = store.read().await.unwrap();
        assert!(
            pipelines::find(&mut tx, "Checked").await.unwrap().is_none(),
            "the pipeline the import would have created was rolled back too"
        );
        drop(tx);

        // A dry run of the good rows writes nothing either.
        let dry = import::run(
            store,
            now(),
            &path,
            &ImportOptions {
                kind: Kind::Deals,
                mapping: bad_mapping(),
                dry_run: true,
                partial: true,
            },
            &Silent,
        )
        .await
        .unwrap();
        assert_eq!((dry.created, dry.committed), (2, false));
        assert!(all_deals(store).await.is_empty());

        // --partial commits the good rows.
        let partial = import::run(
            store,
            now(),
            &path,
            &ImportOptions {
                kind: Kind::Deals,
                mapping: bad_mapping(),
                dry_run: false,
                partial: true,
            },
            &Silent,
        )
        .await
        .unwrap();
        assert_eq!(
            (partial.created, partial.rejected.len(), partial.committed),
            (2, 3, true)
        );
        let mut titles: Vec<String> = all_deals(store)
            .await
            .into_iter()
            .map(|d| d.title)
            .collect();
        titles.sort();
        assert_eq!(titles, ["Good one", "Good two"]);
    }
}

/// A file that names the same record twice: with an id column, the second row is refused
/// with the line of the first; without one (ids made up from the values), both are deals,
/// and importing the file again adds neither.
#[tokio::test]
async fn repeated_rows_of_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let with_ids = dir.path().join("with-ids.csv");
    std::fs::write(
        &with_ids,
        "Deal - ID,Deal - Title,Deal - Value,Deal - Currency of value,Deal - Stage,Deal - Status,Deal - Owner,Deal - Deal created\n\
         7,Acme,100,EUR,Lead,open,Ana Lima,2024-01-02\n\
         8,Beta,200,EUR,Lead,open,Ana Lima,2024-01-03\n\
         7,Acme again,300,EUR,Lead,open,Ana Lima,2024-01-04\n",
    )
    .unwrap();
    let without_ids = dir.path().join("without-ids.csv");
    std::fs::write(
        &without_ids,
        "Name,Amount,Stage,Owner,Created\n\
         Twin,100,Lead,Ana Lima,2024-01-02\n\
         Twin,100,Lead,Ana Lima,2024-01-02\n",
    )
    .unwrap();
    let mapped = Mapping {
        fields: [
            ("title", "Name"),
            ("value", "Amount"),
            ("stage", "Stage"),
            ("owner", "Owner"),
            ("created_at", "Created"),
        ]
        .into_iter()
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect(),
        pipeline: Some("Mapped".into()),
        currency: Some("EUR".into()),
        ..Mapping::default()
    };
    for db in backends().await {
        let store = &db.store;
        let report = run(store, &with_ids, Kind::Deals, Mapping::default()).await;
        let rejected: Vec<(u64, Option<&str>, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.column.as_deref(), r.reason.as_str()))
            .collect();
        assert_eq!(rejected, [(4, Some("Deal - ID"), "the same id as line 2")]);
        assert!(!report.committed);
        assert!(all_deals(store).await.is_empty());

        let first = run(store, &without_ids, Kind::Deals, mapped.clone()).await;
        assert_eq!((first.created, first.rejected.len()), (2, 0));
        let again = run(store, &without_ids, Kind::Deals, mapped.clone()).await;
        assert_eq!((again.created, again.skipped), (0, 2));
        let titles: Vec<String> = all_deals(store)
            .await
            .into_iter()
            .map(|d| d.title)
            .collect();
        assert_eq!(titles, ["Twin", "Twin"]);
    }
}

#[tokio::test]
async fn files_nothing_maps_are_refused_with_the_way_out() {
    let db = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let path = bad_file(dir.path());
    let options = ImportOptions {
        kind: Kind::Deals,
        mapping: Mapping::default(),
        dry_run: false,
        partial: false,
    };
    let err = import::run(&db.store, now(), &path, &options, &Silent)
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::Mapping(_)));
    let message = err.to_string();
    assert!(message.contains("--map title="), "{message}");
    assert!(message.contains("Name, Amount, Stage"), "{message}");

    let mut mapping = Mapping::default();
    mapping.add_field_flag("title=Titel").unwrap();
    let err = import::run(
        &db.store,
        now(),
        &path,
        &ImportOptions {
            mapping,
            ..options.clone()
        },
        &Silent,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("column `Titel`, which the file does not have"),
        "{err}"
    );

    let missing = import::run(
        &db.store,
        now(),
        Path::new("/nonexistent/file.csv"),
        &options,
        &Silent,
    )
    .await
    .unwrap_err();
    assert!(
        missing.to_string().contains("/nonexistent/file.csv"),
        "{missing}"
    );
}

// ---- the real data sets in ../shared/data ----

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

#[tokio::test]
async fn the_maven_sales_pipeline_as_it_is() {
    let path = shared_data("maven-crm-sales-opportunities/sales_pipeline.csv");
    let (headers, rows) = read_csv(&path);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (stage, value, agent, account) = (
        col("deal_stage"),
        col("close_value"),
        col("sales_agent"),
        col("account"),
    );
    let won: Vec<&Vec<String>> = rows.iter().filter(|r| r[stage] == "Won").collect();
    let won_value: i64 = won
        .iter()
        .map(|r| r[value].parse::<i64>().unwrap() * 100)
        .sum();
    let lost = rows.iter().filter(|r| r[stage] == "Lost").count() as i64;
    let agents: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[agent].as_str()).collect();
    let accounts: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r[account].as_str())
        .filter(|a| !a.is_empty())
        .collect();

    let db = sqlite().await;
    let mapping_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings/maven-sales-pipeline.toml"),
    )
    .unwrap();
    let mapping = Mapping::from_toml(&mapping_text).unwrap();
    let report = run(&db.store, &path, Kind::Deals, mapping.clone()).await;
    assert_eq!(
        (report.rows, report.created, report.rejected.len()),
        (rows.len() as u64, 8_800, 0)
    );
    assert_eq!(report.users_created.len(), agents.len());
    assert_eq!(report.organizations_created, accounts.len() as u64);

    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let (n_won, sum_won): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), SUM(value) FROM deals WHERE status = 'won'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((n_won, sum_won), (won.len() as i64, won_value));
    let (n_lost,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deals WHERE status = 'lost'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n_lost, lost);
    let (products,): (i64,) =
        sqlx::query_as("SELECT COUNT(DISTINCT json_extract(custom, '$.product')) FROM deals")
            .fetch_one(&pool)
            .await
            .unwrap();
    let distinct_products: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r[col("product")].as_str()).collect();
    assert_eq!(
        products,
        distinct_products.len() as i64,
        "product kept as a custom field, spelled as in the file"
    );
    pool.close().await;

    let again = run(&db.store, &path, Kind::Deals, mapping).await;
    assert_eq!((again.created, again.skipped), (0, 8_800));
}

#[tokio::test]
async fn the_x_education_leads_as_they_are() {
    let path = shared_data("x-education-lead-scoring/Leads.csv");
    let (headers, rows) = read_csv(&path);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut per_source: std::collections::BTreeMap<String, i64> = Default::default();
    for r in &rows {
        let s = &r[col("Lead Source")];
        if !s.is_empty() {
            *per_source.entry(s.clone()).or_default() += 1;
        }
    }
    let selects = rows
        .iter()
        .filter(|r| r[col("Specialization")] == "Select")
        .count();
    assert!(
        selects > 0,
        "the file's `Select` placeholders are part of the test"
    );

    let db = sqlite().await;
    let mapping_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings/x-education-leads.toml"),
    )
    .unwrap();
    let report = run(
        &db.store,
        &path,
        Kind::Leads,
        Mapping::from_toml(&mapping_text).unwrap(),
    )
    .await;
    assert_eq!(
        (report.created, report.rejected.len()),
        (rows.len() as u64, 0),
        "{:?}",
        report.rejected.first()
    );

    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let stored: Vec<(String, i64)> = sqlx::query_as(
        "SELECT source, COUNT(*) FROM leads WHERE source IS NOT NULL GROUP BY source ORDER BY source",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(stored, per_source.into_iter().collect::<Vec<_>>());
    let (select_kept,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM leads WHERE json_extract(custom, '$.specialization') = 'Select'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(select_kept, 0, "`Select` means no answer");
    let (converted,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM leads WHERE json_extract(custom, '$.converted') = '1'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        converted as usize,
        rows.iter().filter(|r| r[col("Converted")] == "1").count()
    );
    pool.close().await;
}

/// The page size of a SQLite file and its journal mode, read on a connection of its own.
async fn page_size_and_journal(path: &Path) -> (i64, String) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let (size,): (i64,) = sqlx::query_as("PRAGMA page_size")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    (size, mode)
}

#[tokio::test]
async fn a_first_import_into_a_database_with_small_pages_moves_it_to_large_ones() {
    use sqlx::Connection;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small-pages.db");
    // A file as an earlier version created it: 4 KiB pages, in write-ahead-log mode.
    let mut conn = sqlx::SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .page_size(4096)
            .journal_mode(SqliteJournalMode::Wal),
    )
    .await
    .unwrap();
    sqlx::query("CREATE TABLE first_page (x INTEGER); DROP TABLE first_page")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let url = format!("sqlite://{}", path.display());
    let store = Store::open_single(&url).await.unwrap();
    add_ana(&store).await;
    store.close().await;
    assert_eq!(page_size_and_journal(&path).await, (4096, "wal".into()));

    let store = Store::open_single(&url).await.unwrap();
    let mapping = Mapping {
        stages: vec!["Qualified".into(), "Proposal".into()],
        ..Mapping::default()
    };
    let report = run(&store, &sample("pipedrive-deals.csv"), Kind::Deals, mapping).await;
    assert!(report.committed, "{:?}", report.rejected);
    let deals = all_deals(&store).await;
    assert_eq!(deals.len() as u64, report.created);
    assert!(report.created > 0);
    let mut tx = store.read().await.unwrap();
    let ana = users::find_by_email(&mut tx, "ana@example.com")
        .await
        .unwrap();
    drop(tx);
    assert!(ana.is_some(), "what the file held before is kept");
    store.close().await;
    assert_eq!(
        page_size_and_journal(&path).await,
        (16_384, "wal".into()),
        "rewritten to the larger pages, and back in write-ahead-log mode"
    );
}
