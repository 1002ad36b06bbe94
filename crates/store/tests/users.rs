//! Users who could not log in given a login, on SQLite and PostgreSQL.

mod support;

use support::*;
use throughline_core::Role;
use throughline_store::StoreError;
use throughline_store::users::{self, NewUser};

async fn owner_gets_a_login(db: TestDb) {
    let store = &db.store;
    add_user(store, "taken@example.com", Role::Rep).await;
    let sys = system("2026-03-02T09:00:00Z");
    let mut tx = store.write().await.unwrap();
    // As an import creates an owner it knows only by name.
    let owner = users::create(
        &mut tx,
        &sys,
        NewUser {
            email: "jane.roe@imported.invalid".into(),
            name: "Jane Roe".into(),
            role: Role::Rep,
            team_id: None,
            password: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(!owner.can_login);

    let mut tx = store.write().await.unwrap();
    for (bad, field) in [("not an address", "email"), ("taken@example.com", "email")] {
        let refused = users::set_email(&mut tx, &sys, owner.id, bad).await;
        assert!(
            matches!(&refused, Err(StoreError::Invalid(i)) if i.errors.iter().any(|e| e.field == field)),
            "{bad}: {refused:?}"
        );
    }
    let short = users::set_password(&mut tx, &sys, owner.id, "short").await;
    assert!(
        matches!(&short, Err(StoreError::Invalid(i)) if i.errors[0].field == "password"),
        "{short:?}"
    );
    let moved = users::set_email(&mut tx, &sys, owner.id, " Jane@Acme.example ")
        .await
        .unwrap();
    assert_eq!(moved.email, "jane@acme.example");
    users::set_password(&mut tx, &sys, owner.id, "a long enough password")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let found = users::verify_password(&mut tx, "jane@acme.example", "a long enough password")
        .await
        .unwrap()
        .expect("the new e-mail and password log in");
    assert_eq!(found.id, owner.id);
    assert!(found.can_login);
    assert!(
        users::verify_password(
            &mut tx,
            "jane.roe@imported.invalid",
            "a long enough password"
        )
        .await
        .unwrap()
        .is_none(),
        "the placeholder no longer logs in"
    );
    assert!(
        users::verify_password(&mut tx, "jane@acme.example", "another password")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(users::count_with_login(&mut tx).await.unwrap(), 1);
}

#[tokio::test]
async fn an_owner_created_without_a_login_can_be_given_one_on_every_backend() {
    for db in backends().await {
        owner_gets_a_login(db).await;
    }
}
