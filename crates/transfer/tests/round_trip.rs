//! Export a database, import the export into an empty one, export that: the records, their
//! values and their stage history come back the same. The history is the demo team's:
//! deals created, moved forward and back, won, lost and reopened over months, leads
//! qualified into deals, activities on them.

#[path = "../../store/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use throughline_core::Actor;
use throughline_core::criteria::{CriterionInput, DealField};
use throughline_core::deal::NewDeal;
use throughline_core::pipeline::{NewPipeline, NewStage};
use throughline_demo::{DemoOptions, generate};
use throughline_store::deals::{self, CloseDeal};
use throughline_store::{Ctx, Store, pipelines, snapshot, users};
use throughline_transfer::export::{self, Format};
use throughline_transfer::import::{self, ImportOptions, Kind, Mapping, Silent};

fn ctx() -> Ctx {
    Ctx::system_now()
}

async fn export_csv(store: &Store, kind: export::Kind, dir: &Path) -> std::path::PathBuf {
    let path = dir.join(format!("{kind}.csv"));
    let mut out = std::fs::File::create(&path).unwrap();
    export::export(store, &ctx(), kind, Format::Csv, &mut out, &mut |_| {})
        .await
        .unwrap();
    path
}

/// The rows of a CSV export keyed by `key` columns, without the columns that name
/// this database's ids or this installation's users.
fn rows(path: &Path, key: &[&str], drop: &[&str]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let row: BTreeMap<String, String> = headers
            .iter()
            .zip(rec.iter())
            .filter(|(h, _)| !drop.contains(&h.as_str()))
            .map(|(h, v)| (h.clone(), v.to_string()))
            .collect();
        let k = key
            .iter()
            .map(|c| row[*c].clone())
            .collect::<Vec<_>>()
            .join("|");
        assert!(out.insert(k.clone(), row).is_none(), "key {k} repeats");
    }
    out
}

type Table = BTreeMap<String, BTreeMap<String, String>>;

/// Both tables hold the same rows; the first differences are named.
fn same(a: &Table, b: &Table, what: &str) {
    let mut diffs = vec![];
    for (k, row) in a {
        match b.get(k) {
            None => diffs.push(format!("{what} {k}: missing after the round trip")),
            Some(other) => {
                for (col, v) in row {
                    if other.get(col) != Some(v) {
                        diffs.push(format!(
                            "{what} {k}: {col} was `{v}`, is `{}`",
                            other.get(col).map(String::as_str).unwrap_or("-")
                        ));
                    }
                }
            }
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        diffs.push(format!("{what} {k}: new after the round trip"));
    }
    assert!(
        diffs.is_empty(),
        "{} differences, first: {:#?}",
        diffs.len(),
        &diffs[..diffs.len().min(8)]
    );
}

async fn counts(store: &Store, at: &str) -> BTreeMap<(String, String), i64> {
    let mut tx = store.read().await.unwrap();
    let mut out = BTreeMap::new();
    for p in pipelines::list(&mut tx, false).await.unwrap() {
        let snap = snapshot::snapshot(&mut tx, &ctx(), p.id, support::at(at))
            .await
            .unwrap();
        for s in snap.stages {
            out.insert((p.name.clone(), s.name), s.count);
        }
    }
    out
}

/// Pipelines the demo does not make: one no deal uses, in another currency, with a stage
/// that never rots and has no criteria; and an archived one.
async fn more_pipelines(store: &Store) {
    let mut tx = store.write().await.unwrap();
    let ctx = Ctx::new(Actor::SYSTEM, support::at("2025-06-30T18:30:00Z"));
    let partners = pipelines::create(
        &mut tx,
        &ctx,
        NewPipeline {
            name: "Partnerships".into(),
            currency: Some("JPY".parse().unwrap()),
        },
    )
    .await
    .unwrap();
    for (name, probability, rot_days, criteria) in [
        ("Introduced", 5, None, vec![]),
        (
            "Agreement drafted",
            60,
            Some(21),
            vec![
                CriterionInput::checklist("Legal has reviewed, the terms \"as agreed\""),
                CriterionInput::field(DealField::OrganizationId),
            ],
        ),
    ] {
        pipelines::create_stage(
            &mut tx,
            &ctx,
            partners.id,
            NewStage {
                name: name.into(),
                probability,
                rot_days,
                description: (probability > 10).then(|| "Both sides, in writing; a comma".into()),
                criteria,
                ..NewStage::default()
            },
        )
        .await
        .unwrap();
    }
    let old = pipelines::create(
        &mut tx,
        &ctx,
        NewPipeline {
            name: "Old process".into(),
            currency: None,
        },
    )
    .await
    .unwrap();
    pipelines::create_stage(
        &mut tx,
        &ctx,
        old.id,
        NewStage {
            name: "Contacted".into(),
            probability: 30,
            ..NewStage::default()
        },
    )
    .await
    .unwrap();
    // A deal won in the old process stays in it when it is archived, and must come back
    // there (where there is a team to own it).
    if let Some(owner) = users::list(&mut tx).await.unwrap().first() {
        let deal = deals::create(
            &mut tx,
            &ctx,
            NewDeal {
                title: "From the old process".into(),
                pipeline_id: Some(old.id),
                value: 12_300,
                owner_id: Some(owner.id),
                ..NewDeal::default()
            },
        )
        .await
        .unwrap();
        deals::win(&mut tx, &ctx, deal.id, CloseDeal::default())
            .await
            .unwrap();
    }
    pipelines::archive(&mut tx, &ctx, old.id).await.unwrap();
    tx.commit().await.unwrap();
}

/// Every pipeline with every stage setting, in order, as plain values.
async fn process(store: &Store) -> Vec<String> {
    let mut tx = store.read().await.unwrap();
    let mut out = vec![];
    // By name: pipelines an import creates in one instant have no creation order.
    let mut all = pipelines::list(&mut tx, true).await.unwrap();
    all.sort_by(|a, b| (a.archived, &a.name).cmp(&(b.archived, &b.name)));
    for p in all {
        out.push(format!("{} {} archived={}", p.name, p.currency, p.archived));
        for s in pipelines::stages(&mut tx, p.id, false).await.unwrap() {
            let criteria: Vec<String> = s
                .criteria
                .iter()
                .map(|c| format!("{}:{:?}:{}", c.kind.as_str(), c.field, c.label))
                .collect();
            out.push(format!(
                "  {}. {} {}% rot={:?} {:?} {criteria:?}",
                s.position, s.name, s.probability, s.rot_days, s.description
            ));
        }
    }
    out
}

async fn import_file(store: &Store, kind: Kind, file: &Path) -> import::ImportReport {
    import::run(
        store,
        Ctx::new(Actor::SYSTEM, support::at("2025-07-01T00:00:00Z")),
        file,
        &ImportOptions {
            kind,
            mapping: Mapping::default(),
            dry_run: false,
            partial: false,
        },
        &Silent,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_export_imports_back_as_it_was_on_sqlite() {
    round_trip(support::sqlite().await, support::sqlite().await).await;
}

#[tokio::test]
async fn an_export_imports_back_as_it_was_on_postgres() {
    let (Some(source), Some(target)) = (support::postgres().await, support::postgres().await)
    else {
        return;
    };
    round_trip(source, target).await;
}

async fn round_trip(source: support::TestDb, target: support::TestDb) {
    let opts = DemoOptions {
        seed: 11,
        end: support::at("2025-06-30T18:00:00Z"),
        months: 5,
        scale: 0.08,
    };
    generate(&source.store, &opts, &|_, _| {}).await.unwrap();
    more_pipelines(&source.store).await;

    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    // The process first, so that deals land in stages that carry its settings.
    let order = [
        (export::Kind::Pipelines, Kind::Pipelines),
        (export::Kind::Organizations, Kind::Organizations),
        (export::Kind::People, Kind::People),
        (export::Kind::Deals, Kind::Deals),
        (export::Kind::Leads, Kind::Leads),
        (export::Kind::Activities, Kind::Activities),
    ];
    for (ek, ik) in order {
        let file = export_csv(&source.store, ek, &first).await;
        let report = import::run(
            &target.store,
            Ctx::new(Actor::SYSTEM, support::at("2025-07-01T00:00:00Z")),
            &file,
            &ImportOptions {
                kind: ik,
                mapping: Mapping::default(),
                dry_run: false,
                partial: false,
            },
            &Silent,
        )
        .await
        .unwrap();
        assert!(
            report.rejected.is_empty(),
            "{ik}: {:?}",
            &report.rejected[..report.rejected.len().min(3)]
        );
        assert_eq!(report.format.as_deref(), Some("throughline"), "{ik}");
        assert!(report.created > 0, "{ik}: nothing imported");
    }

    // The pipelines, stages, probabilities, rot days, criteria and currencies, in order; the
    // deals' import made none of its own.
    let wanted = process(&source.store).await;
    assert!(wanted.len() > 10, "{wanted:#?}");
    assert_eq!(wanted, process(&target.store).await);
    let pa = export_csv(&source.store, export::Kind::Pipelines, &first).await;
    let pb = export_csv(&target.store, export::Kind::Pipelines, &second).await;
    assert_eq!(
        std::fs::read_to_string(&pa).unwrap(),
        std::fs::read_to_string(&pb).unwrap()
    );
    // Importing the same file again changes nothing.
    let again = import_file(&target.store, Kind::Pipelines, &pa).await;
    assert_eq!((again.created, again.updated), (0, 0), "{again:?}");
    assert!(again.rejected.is_empty(), "{:?}", again.rejected);
    assert_eq!(wanted, process(&target.store).await);

    // Deals: every column but ids and owner names (owners are recreated from their e-mail).
    let deal_key = ["title", "created_at"];
    let deal_drop = ["id", "owner_name"];
    let a = rows(
        &export_csv(&source.store, export::Kind::Deals, &first).await,
        &deal_key,
        &deal_drop,
    );
    let b = rows(
        &export_csv(&target.store, export::Kind::Deals, &second).await,
        &deal_key,
        &deal_drop,
    );
    assert!(a.len() > 100, "the demo made {} deals", a.len());
    same(&a, &b, "deal");

    // Leads, with the deal each was qualified into.
    let lead_key = ["title", "created_at"];
    let lead_drop = ["id", "owner_name", "deal_id", "person", "person_email"];
    let la = rows(
        &export_csv(&source.store, export::Kind::Leads, &first).await,
        &lead_key,
        &lead_drop,
    );
    let lb = rows(
        &export_csv(&target.store, export::Kind::Leads, &second).await,
        &lead_key,
        &lead_drop,
    );
    same(&la, &lb, "lead");
    let qualified = la.values().filter(|r| r["status"] == "qualified").count();
    assert!(qualified > 0, "the demo qualifies leads");

    for (kind, key) in [
        (export::Kind::Organizations, vec!["name"]),
        (export::Kind::People, vec!["name", "email"]),
    ] {
        let x = rows(
            &export_csv(&source.store, kind, &first).await,
            &key,
            &["id", "owner_email"],
        );
        let y = rows(
            &export_csv(&target.store, kind, &second).await,
            &key,
            &["id", "owner_email"],
        );
        same(&x, &y, kind.as_str());
    }
    let act_key = ["subject", "created_at", "due_at"];
    let act_drop = ["id", "deal_id", "lead_id"];
    let xa = rows(
        &export_csv(&source.store, export::Kind::Activities, &first).await,
        &act_key,
        &act_drop,
    );
    let ya = rows(
        &export_csv(&target.store, export::Kind::Activities, &second).await,
        &act_key,
        &act_drop,
    );
    same(&xa, &ya, "activity");

    // The pipeline at past instants: the same deals in the same stages.
    for at in [
        "2025-02-15T12:00:00Z",
        "2025-04-01T00:00:00Z",
        "2025-06-30T17:00:00Z",
    ] {
        assert_eq!(
            counts(&source.store, at).await,
            counts(&target.store, at).await,
            "at {at}"
        );
    }
}

#[tokio::test]
async fn pipelines_export_as_nested_json_and_import_back() {
    let source = support::sqlite().await;
    more_pipelines(&source.store).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipelines.json");
    let mut out = std::fs::File::create(&path).unwrap();
    export::export(
        &source.store,
        &ctx(),
        export::Kind::Pipelines,
        Format::Json,
        &mut out,
        &mut |_| {},
    )
    .await
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let partners = json
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Partnerships")
        .unwrap();
    assert_eq!(partners["currency"], "JPY");
    assert_eq!(partners["archived"], false);
    let stage = &partners["stages"][1];
    assert_eq!(stage["name"], "Agreement drafted");
    assert_eq!(stage["position"], 2);
    assert_eq!(stage["probability"], 60);
    assert_eq!(stage["rot_days"], 21);
    assert_eq!(stage["criteria"][1]["field"], "organization_id");
    assert_eq!(partners["stages"][0]["rot_days"], serde_json::Value::Null);

    for db in support::backends().await {
        let report = import_file(&db.store, Kind::Pipelines, &path).await;
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert!(report.committed);
        assert_eq!(report.created, 3, "{report:?}");
        assert_eq!(process(&source.store).await, process(&db.store).await);
        // A changed probability in the file updates the stage, recorded as an event.
        let changed = dir.path().join("changed.json");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(r#""probability":60"#, r#""probability":65"#);
        std::fs::write(&changed, text).unwrap();
        let report = import_file(&db.store, Kind::Pipelines, &changed).await;
        assert_eq!((report.created, report.updated), (0, 1), "{report:?}");
        let mut tx = db.store.read().await.unwrap();
        let p = pipelines::find(&mut tx, "Partnerships")
            .await
            .unwrap()
            .unwrap();
        let stage = pipelines::find_stage(&mut tx, p.id, "Agreement drafted")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stage.probability, 65);
        assert_eq!(stage.criteria.len(), 2);
    }
}

#[tokio::test]
async fn a_bad_pipelines_row_is_refused_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipelines.csv");
    std::fs::write(
        &path,
        "pipeline,currency,pipeline_archived,stage,position,probability,rot_days,description,criteria\n\
         Sales,EUR,false,Qualified,1,20,14,,\"[{\"\"kind\"\":\"\"checklist\"\",\"\"label\"\":\"\"Budget\"\"}]\"\n\
         Sales,EUR,false,Proposal,2,140,,,\n\
         Sales,EUR,false,qualified,3,50,,,\n\
         Renewals,XYZ,false,Open,1,10,,,\n\
         ,EUR,false,Open,1,10,,,\n",
    )
    .unwrap();
    for db in support::backends().await {
        let report = import_file(&db.store, Kind::Pipelines, &path).await;
        let got: Vec<(u64, Option<&str>)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.column.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (3, Some("probability")),
                (4, Some("stage")),
                (5, Some("currency")),
                (6, Some("pipeline")),
            ],
            "{:?}",
            report.rejected
        );
        assert!(
            report.rejected[0].reason.contains("`140`"),
            "{:?}",
            report.rejected
        );
        assert!(report.rejected[1].reason.contains("already a stage"));
        assert!(report.rejected[2].reason.contains("XYZ"));
        assert!(!report.committed);
        let mut tx = db.store.read().await.unwrap();
        assert!(pipelines::list(&mut tx, true).await.unwrap().is_empty());
        drop(tx);

        // --partial keeps the good rows.
        let partial = import::run(
            &db.store,
            ctx(),
            &path,
            &ImportOptions {
                kind: Kind::Pipelines,
                mapping: Mapping::default(),
                dry_run: false,
                partial: true,
            },
            &Silent,
        )
        .await
        .unwrap();
        assert!(partial.committed);
        assert_eq!(partial.created, 1);
        let mut tx = db.store.read().await.unwrap();
        let all = pipelines::list(&mut tx, true).await.unwrap();
        assert_eq!(all.len(), 1);
        let stages = pipelines::stages(&mut tx, all[0].id, false).await.unwrap();
        assert_eq!(stages.len(), 1);
        assert_eq!((stages[0].probability, stages[0].rot_days), (20, Some(14)));
        assert_eq!(stages[0].criteria[0].label, "Budget");
    }
}
