//! Export a database, import the export into an empty one, export that: the records, their
//! values and their stage history come back the same. The history is the demo team's:
//! deals created, moved forward and back, won, lost and reopened over months, leads
//! qualified into deals, activities on them.

#[path = "../../store/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use throughline_core::Actor;
use throughline_demo::{DemoOptions, generate};
use throughline_store::{Ctx, Store, pipelines, snapshot};
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

#[tokio::test]
async fn an_export_imports_back_as_it_was() {
    let source = support::sqlite().await;
    let opts = DemoOptions {
        seed: 11,
        end: support::at("2025-06-30T18:00:00Z"),
        months: 5,
        scale: 0.08,
    };
    generate(&source.store, &opts, &|_, _| {}).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let order = [
        (export::Kind::Organizations, Kind::Organizations),
        (export::Kind::People, Kind::People),
        (export::Kind::Deals, Kind::Deals),
        (export::Kind::Leads, Kind::Leads),
        (export::Kind::Activities, Kind::Activities),
    ];
    let target = support::sqlite().await;
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
