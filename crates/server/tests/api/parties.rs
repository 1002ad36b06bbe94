//! Organizations and people: create, show, change, list and search.

use serde_json::{Value, json};
use throughline_core::Role;

use crate::support::*;

on_both_backends!(organizations_and_people);

/// The names on a page, sorted.
fn names(page: &Value) -> Vec<String> {
    let mut names: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| s(&p["name"]))
        .collect();
    names.sort();
    names
}

async fn organizations_and_people(app: &App) {
    let rep = app.user("Rita", Role::Rep, None).await;
    let other = app.user("Omar", Role::Rep, None).await;

    // Organizations.
    let res = app
        .post(
            &rep,
            "/organizations",
            json!({ "name": " Acme GmbH ", "domain": " ACME.example " }),
        )
        .await;
    let acme = res.ok(201).clone();
    let acme_id = s(&acme["id"]);
    assert_eq!(acme["name"], "Acme GmbH");
    assert_eq!(acme["domain"], "acme.example");
    assert_eq!(acme["owner_id"], Value::Null);
    assert_eq!(acme["version"], 1);
    let mut made = vec![acme_id.clone()];
    for name in ["Beta 100% Ltd", "Gamma_Co", "acme labs"] {
        made.push(s(&app
            .post(
                &rep,
                "/organizations",
                json!({ "name": name, "owner_id": rep.id }),
            )
            .await
            .ok(201)["id"]));
    }
    // Lists come in id order: creation order, except within one millisecond.
    made.sort();
    let before = app.get(&rep, "/organizations").await.ok(200).clone();
    assert_eq!(ids(&before), made);
    let unknown = uuid::Uuid::now_v7().to_string();
    app.post(&rep, "/organizations", json!({ "name": "  " }))
        .await
        .invalid("name", "must not be empty");
    app.post(
        &rep,
        "/organizations",
        json!({ "name": "X", "domain": "d".repeat(254) }),
    )
    .await
    .invalid("domain", "at most 253");
    app.post(
        &rep,
        "/organizations",
        json!({ "name": "X", "owner_id": unknown }),
    )
    .await
    .invalid("owner_id", "no such user");
    app.post(
        &rep,
        "/organizations",
        json!({ "name": "X", "owner_id": other.id }),
    )
    .await
    .problem_field(403, "/problems/forbidden", "owner_id");
    app.post(
        &rep,
        "/organizations",
        json!({ "name": "X", "website": "x" }),
    )
    .await
    .invalid("website", "unknown field");
    assert_eq!(app.get(&rep, "/organizations").await.ok(200), &before);

    // Search: case-insensitive parts of the name; `%` and `_` are plain characters.
    for (q, expected) in [
        ("acme", vec!["Acme GmbH", "acme labs"]),
        ("ACME%20L", vec!["acme labs"]),
        ("%25", vec!["Beta 100% Ltd"]),
        ("_", vec!["Gamma_Co"]),
        ("me_l", vec![]),
        ("zzz", vec![]),
        (
            "",
            vec!["Acme GmbH", "Beta 100% Ltd", "Gamma_Co", "acme labs"],
        ),
    ] {
        let page = app
            .get(&rep, &format!("/organizations?q={q}"))
            .await
            .ok(200)
            .clone();
        assert_eq!(names(&page), expected, "q={q}");
    }
    let page = app
        .get(&rep, "/organizations?q=a&limit=2")
        .await
        .ok(200)
        .clone();
    assert_eq!(ids(&page), made[..2]);
    let next = s(&page["next_cursor"]);
    let page = app
        .get(&rep, &format!("/organizations?q=a&limit=2&cursor={next}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(ids(&page), made[2..]);
    assert_eq!(page["next_cursor"], Value::Null);
    app.get(&rep, "/organizations?limit=0")
        .await
        .invalid("limit", "between 1 and 500");
    app.get(&rep, "/organizations?cursor=x")
        .await
        .invalid("cursor", "not a cursor");
    app.get(&rep, "/organizations?sort=name")
        .await
        .invalid("sort", "unknown field");

    // Show and change. Everyone sees organizations.
    let path = format!("/organizations/{acme_id}");
    assert_eq!(app.get(&other, &path).await.ok(200), &acme);
    let res = app
        .patch(
            &other,
            &path,
            json!({ "version": 1, "domain": null, "name": "Acme AG" }),
        )
        .await;
    let changed = res.ok(200).clone();
    assert_eq!(changed["domain"], Value::Null);
    assert_eq!(changed["name"], "Acme AG");
    assert_eq!(changed["version"], 2);
    let before = app.get(&rep, &path).await.ok(200).clone();
    app.patch(&rep, &path, json!({ "version": 1, "name": "Acme SE" }))
        .await
        .problem_field(409, "/problems/stale-version", "version")
        .get("current_version")
        .map(|v| assert_eq!(v, 2))
        .expect("current_version");
    app.patch(&rep, &path, json!({ "version": 2, "name": "" }))
        .await
        .invalid("name", "must not be empty");
    app.patch(&rep, &path, json!({ "version": 2, "owner_id": other.id }))
        .await
        .problem_field(403, "/problems/forbidden", "owner_id");
    app.patch(&rep, &path, json!({ "name": "Acme SE" }))
        .await
        .invalid("version", "missing field");
    app.patch(
        &rep,
        &format!("/organizations/{unknown}"),
        json!({ "version": 1 }),
    )
    .await
    .not_found();
    assert_eq!(app.get(&rep, &path).await.ok(200), &before);

    // People.
    let res = app
        .post(
            &rep,
            "/people",
            json!({ "name": "Ana López", "email": " Ana@Acme.Example ", "phone": " +49 30 1234 ", "organization_id": acme_id }),
        )
        .await;
    let ana = res.ok(201).clone();
    let ana_id = s(&ana["id"]);
    assert_eq!(ana["email"], "ana@acme.example");
    assert_eq!(ana["phone"], "+49 30 1234");
    assert_eq!(ana["organization_id"], acme_id);
    let bo = app
        .post(
            &other,
            "/people",
            json!({ "name": "Bo", "email": "bo@beta.example", "owner_id": other.id }),
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(bo["owner_id"], other.id.to_string());
    let before = app.get(&rep, "/people").await.ok(200).clone();
    let mut both = [ana_id.clone(), s(&bo["id"])];
    both.sort();
    assert_eq!(ids(&before), both);
    for (body, field, words) in [
        (json!({ "name": "" }), "name", "must not be empty"),
        (
            json!({ "name": "X", "email": "not-an-address" }),
            "email",
            "e-mail address",
        ),
        (
            json!({ "name": "X", "email": "x@y" }),
            "email",
            "e-mail address",
        ),
        (
            json!({ "name": "X", "organization_id": unknown }),
            "organization_id",
            "no such organization",
        ),
        (
            json!({ "name": "X", "organization_id": "acme" }),
            "organization_id",
            "UUID",
        ),
        (
            json!({ "name": "X", "phone": "1".repeat(51) }),
            "phone",
            "at most 50",
        ),
    ] {
        app.post(&rep, "/people", body).await.invalid(field, words);
    }
    assert_eq!(app.get(&rep, "/people").await.ok(200), &before);

    // Search by name or e-mail, and by organization.
    for (query, expected) in [
        ("/people?q=ana", vec!["Ana López"]),
        ("/people?q=BETA.EXAMPLE", vec!["Bo"]),
        ("/people?q=example", vec!["Ana López", "Bo"]),
        ("/people?q=l%C3%B3pez", vec!["Ana López"]),
    ] {
        let page = app.get(&rep, query).await.ok(200).clone();
        assert_eq!(names(&page), expected, "{query}");
    }
    let page = app
        .get(&rep, &format!("/people?organization_id={acme_id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(names(&page), ["Ana López"]);
    let page = app
        .get(&rep, &format!("/people?organization_id={acme_id}&q=bo"))
        .await
        .ok(200)
        .clone();
    assert_eq!(names(&page), Vec::<String>::new());
    app.get(&rep, "/people?organization_id=acme")
        .await
        .invalid("organization_id", "UUID");

    // Show and change.
    let path = format!("/people/{ana_id}");
    assert_eq!(app.get(&other, &path).await.ok(200), &ana);
    let res = app
        .patch(
            &rep,
            &path,
            json!({ "version": 1, "email": null, "organization_id": null, "phone": "+49 30 9999" }),
        )
        .await;
    let changed = res.ok(200).clone();
    assert_eq!(changed["email"], Value::Null);
    assert_eq!(changed["organization_id"], Value::Null);
    assert_eq!(changed["phone"], "+49 30 9999");
    assert_eq!(changed["name"], "Ana López");
    assert_eq!(changed["version"], 2);
    let before = app.get(&rep, &path).await.ok(200).clone();
    app.patch(&rep, &path, json!({ "version": 1, "name": "Ana" }))
        .await
        .problem_field(409, "/problems/stale-version", "version");
    app.patch(&rep, &path, json!({ "version": 2, "email": "ana(at)acme" }))
        .await
        .invalid("email", "e-mail address");
    app.patch(
        &rep,
        &path,
        json!({ "version": 2, "organization_id": unknown }),
    )
    .await
    .invalid("organization_id", "no such organization");
    app.patch(&rep, &path, json!({ "version": 2, "name": "  " }))
        .await
        .invalid("name", "must not be empty");
    app.patch(&rep, &format!("/people/{unknown}"), json!({ "version": 1 }))
        .await
        .not_found();
    assert_eq!(app.get(&rep, &path).await.ok(200), &before);
}
