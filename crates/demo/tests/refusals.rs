//! The demo fills only an empty database, refuses bad options, and writes nothing when it
//! refuses.

mod support;

use support::*;
use throughline_core::Role;
use throughline_core::pipeline::NewPipeline;
use throughline_demo::{DemoError, DemoOptions, generate};
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, pipelines};

async fn user_count(db: &TestDb) -> usize {
    let mut tx = db.store.read().await.unwrap();
    users::list(&mut tx).await.unwrap().len()
}

#[tokio::test]
async fn a_database_with_a_pipeline_is_refused_untouched() {
    let db = sqlite().await;
    let mut tx = db.store.write().await.unwrap();
    pipelines::create(
        &mut tx,
        &system(),
        NewPipeline {
            name: "Ours".into(),
            currency: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let err = generate(&db.store, &options(1, 0.05), &|_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, DemoError::NotEmpty { .. }), "{err}");
    assert_eq!(user_count(&db).await, 0, "no demo user was created");
    assert!(all_deals(&db.store).await.is_empty());
}

#[tokio::test]
async fn a_database_where_a_demo_login_exists_is_refused() {
    let db = sqlite().await;
    let mut tx = db.store.write().await.unwrap();
    users::create(
        &mut tx,
        &system(),
        NewUser {
            email: "manager@demo.example".into(),
            name: "Someone".into(),
            role: Role::Manager,
            team_id: None,
            password: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let err = generate(&db.store, &options(1, 0.05), &|_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DemoError::NotEmpty { what } if what.contains("manager@demo.example")),
        "{err}"
    );
    assert_eq!(user_count(&db).await, 1);
}

#[tokio::test]
async fn an_installation_with_only_its_own_admin_gets_the_demo() {
    let db = sqlite().await;
    let mut tx = db.store.write().await.unwrap();
    users::create(
        &mut tx,
        &Ctx::system_now(),
        NewUser {
            email: "owner@example.com".into(),
            name: "Owner".into(),
            role: Role::Admin,
            team_id: None,
            password: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let summary = generate(&db.store, &options(3, 0.02), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(user_count(&db).await, 7);
    assert_eq!(all_deals(&db.store).await.len() as u64, summary.deals);
    assert!(summary.deals > 20, "{summary:?}");
}

#[tokio::test]
async fn bad_options_are_refused_before_anything_is_written() {
    let db = sqlite().await;
    let bad = [
        DemoOptions {
            scale: 0.0,
            ..options(1, 1.0)
        },
        DemoOptions {
            scale: f64::NAN,
            ..options(1, 1.0)
        },
        DemoOptions {
            months: 0,
            ..options(1, 1.0)
        },
        DemoOptions {
            end: "1960-01-01T00:00:00Z".parse().unwrap(),
            ..options(1, 1.0)
        },
    ];
    let fields: Vec<&str> = refused_fields(&db, &bad).await;
    assert_eq!(fields, ["scale", "scale", "months", "end"]);
    assert_eq!(user_count(&db).await, 0);
}

async fn refused_fields(db: &TestDb, bad: &[DemoOptions]) -> Vec<&'static str> {
    let mut fields = Vec::new();
    for opts in bad {
        match generate(&db.store, opts, &|_, _| {}).await {
            Err(DemoError::Invalid { field, .. }) => fields.push(field),
            other => panic!("{opts:?} gave {other:?}"),
        }
    }
    fields
}
