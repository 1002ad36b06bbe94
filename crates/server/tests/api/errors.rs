//! The protocol: authentication, unknown routes and ids, bodies that are not JSON, JSON that
//! is malformed or of the wrong shape. Each answer is a problem document naming what is wrong.

use axum::http::{Method, header};
use serde_json::json;
use throughline_core::Role;

use crate::support::*;

on_both_backends!(
    identity_and_authentication,
    unknown_routes_and_ids,
    bodies_that_are_not_json,
    json_of_the_wrong_shape,
    a_database_that_is_gone,
);

async fn identity_and_authentication(app: &App) {
    let health = app.send(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.ok(200), &json!({ "status": "ok", "database": "ok" }));
    let res = app.send(Method::POST, "/healthz", None, None).await;
    res.problem(405, "/problems/method-not-allowed");
    assert_eq!(res.headers.get(header::ALLOW).unwrap(), "GET,HEAD");

    let admin = app.user("Ada", Role::Admin, None).await;
    let manager = app.user("Mia", Role::Manager, None).await;
    let team = app.team("East", Some(manager.id)).await;
    let rep = app.user("Rita", Role::Rep, Some(team)).await;

    let me = app.get(&rep, "/me").await;
    let me = me.ok(200);
    assert_eq!(me["id"], rep.id.to_string());
    assert_eq!(me["email"], "rita@example.com");
    assert_eq!(me["role"], "rep");
    assert_eq!(me["team_id"], team.to_string());
    assert_eq!(app.get(&admin, "/me").await.ok(200)["role"], "admin");

    let users = app.get(&rep, "/users").await;
    let mut emails: Vec<_> = users
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|u| s(&u["email"]))
        .collect();
    emails.sort();
    assert_eq!(
        emails,
        ["ada@example.com", "mia@example.com", "rita@example.com"]
    );

    let teams = app.get(&rep, "/teams").await;
    assert_eq!(
        teams.ok(200),
        &json!([{ "id": team.to_string(), "name": "East", "manager_id": manager.id.to_string() }])
    );
    let unauthorized = |res: &Res| {
        let b = res.problem(401, "/problems/unauthorized");
        assert!(s(&b["detail"]).contains("Bearer"), "{b}");
        assert_eq!(
            res.headers.get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer",
            "{}",
            res.what
        );
    };
    for path in ["/me", "/deals", "/pipelines", "/users", "/leads"] {
        unauthorized(&app.send(Method::GET, &api(path), None, None).await);
        unauthorized(
            &app.send(Method::GET, &api(path), Some("tl_not-a-real-token"), None)
                .await,
        );
    }
    // The wrong scheme, or an empty token, is no token.
    for value in [
        format!("Basic {}", rep.token),
        "Bearer ".to_string(),
        rep.token.clone(),
    ] {
        let req = axum::http::Request::get(api("/me"))
            .header(header::AUTHORIZATION, value)
            .body(axum::body::Body::empty())
            .unwrap();
        unauthorized(&app.call(req).await);
    }
    // Authentication comes before reading the body: nothing is created without a token.
    let res = app
        .send(
            Method::POST,
            &api("/organizations"),
            None,
            Some(("application/json", br#"{"name":"Acme"}"#.to_vec())),
        )
        .await;
    unauthorized(&res);
    let res = app
        .send(
            Method::POST,
            &api("/organizations"),
            None,
            Some(("text/plain", b"{".to_vec())),
        )
        .await;
    unauthorized(&res);
    let orgs = app.get(&rep, "/organizations").await;
    assert_eq!(orgs.ok(200)["items"], json!([]));
    // The scheme is case-insensitive.
    let req = axum::http::Request::get(api("/me"))
        .header(header::AUTHORIZATION, format!("bearer {}", rep.token))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.call(req).await.ok(200)["id"], rep.id.to_string());
    // A revoked token no longer works; the user's other tokens do.
    let mut tx = app.store.write().await.unwrap();
    let ctx = throughline_store::Ctx::system_now();
    let (token_id, second) =
        throughline_store::users::create_token(&mut tx, &ctx, rep.id, "laptop")
            .await
            .unwrap();
    tx.commit().await.unwrap();
    let me = app
        .send(Method::GET, &api("/me"), Some(&second), None)
        .await;
    assert_eq!(me.ok(200)["id"], rep.id.to_string());
    let mut tx = app.store.write().await.unwrap();
    throughline_store::users::revoke_token(&mut tx, &ctx, token_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    unauthorized(
        &app.send(Method::GET, &api("/me"), Some(&second), None)
            .await,
    );
    app.get(&rep, "/me").await.ok(200);
}

async fn unknown_routes_and_ids(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let p = sales_pipeline(app, &admin).await;

    // Unknown routes, inside and outside the API.
    for path in [
        "/api/v1/nothing-here",
        "/api/v1/deals/x/y/z",
        "/nothing",
        "/api/v2/deals",
    ] {
        let res = app.send(Method::GET, path, Some(&admin.token), None).await;
        let b = res.not_found();
        assert_eq!(b["detail"], format!("nothing is at {path}"), "{b}");
    }

    // Unknown ids (well-formed) name the kind of record.
    let unknown = uuid::Uuid::now_v7().to_string();
    for (path, entity) in [
        ("/pipelines", "pipeline"),
        ("/stages", "stage"),
        ("/deals", "deal"),
        ("/leads", "lead"),
        ("/organizations", "organization"),
        ("/people", "person"),
        ("/activities", "activity"),
    ] {
        let res = app.get(&admin, &format!("{path}/{unknown}")).await;
        let b = res.not_found();
        assert_eq!(
            b["detail"],
            format!("no {entity} with id {unknown}"),
            "{}",
            res.what
        );
    }
    for path in [
        format!("/pipelines/{unknown}/stages"),
        format!("/pipelines/{unknown}/snapshot"),
        format!("/deals/{unknown}/history"),
    ] {
        app.get(&admin, &path).await.not_found();
    }
    for path in [
        format!("/deals/{unknown}/won"),
        format!("/deals/{unknown}/reopen"),
        format!("/leads/{unknown}/reopen"),
        format!("/pipelines/{unknown}/archive"),
        format!("/stages/{unknown}/archive"),
    ] {
        app.post_empty(&admin, &path).await.not_found();
    }
    app.patch(
        &admin,
        &format!("/deals/{unknown}"),
        json!({ "version": 1 }),
    )
    .await
    .not_found();
    app.post(
        &admin,
        &format!("/deals/{unknown}/move"),
        json!({ "stage_id": p.stage(1), "version": 1 }),
    )
    .await
    .not_found();

    // Malformed ids are not found.
    for path in [
        "/deals/not-a-uuid",
        "/deals/12345",
        "/leads/%20",
        "/pipelines/not-a-uuid/snapshot",
        "/stages/x/archive",
    ] {
        let res = if path.ends_with("archive") {
            app.post_empty(&admin, path).await
        } else {
            app.get(&admin, path).await
        };
        let b = res.not_found();
        assert_eq!(b["detail"], format!("nothing is at {}", api(path)), "{b}");
    }
    // Ids of another kind of record are unknown ids.
    for (path, entity, id) in [
        (format!("/deals/{}", p.id), "deal", p.id.clone()),
        (format!("/stages/{}", p.id), "stage", p.id.clone()),
        (format!("/pipelines/{}", p.stage(0)), "pipeline", p.stage(0)),
    ] {
        let b = app.get(&admin, &path).await.not_found().clone();
        assert_eq!(b["detail"], format!("no {entity} with id {id}"), "{b}");
    }
    // Only POST is routed to a criterion.
    app.get(&admin, &format!("/deals/{unknown}/criteria/{unknown}"))
        .await
        .problem(405, "/problems/method-not-allowed");
    let res = app
        .post(
            &admin,
            &format!("/deals/{unknown}/criteria/not-a-uuid"),
            json!({ "checked": true }),
        )
        .await;
    assert_eq!(
        res.not_found()["detail"],
        format!("nothing is at /api/v1/deals/{unknown}/criteria/not-a-uuid")
    );

    // A known route with a method it does not serve.
    let res = app
        .send(
            Method::DELETE,
            &api(&format!("/pipelines/{}", p.id)),
            Some(&admin.token),
            None,
        )
        .await;
    let b = res.problem(405, "/problems/method-not-allowed");
    assert!(s(&b["detail"]).contains("DELETE"), "{b}");
    let allow = res.headers.get(header::ALLOW).expect("Allow header");
    assert!(allow.to_str().unwrap().contains("PATCH"), "{allow:?}");
    // The pipeline is still there.
    app.get(&admin, &format!("/pipelines/{}", p.id))
        .await
        .ok(200);
}

async fn bodies_that_are_not_json(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    for (content_type, body) in [
        ("text/plain", br#"{"name":"Acme"}"#.to_vec()),
        ("application/x-www-form-urlencoded", b"name=Acme".to_vec()),
        ("application/xml", b"<name>Acme</name>".to_vec()),
        ("not a mime type", br#"{"name":"Acme"}"#.to_vec()),
    ] {
        let res = app
            .send(
                Method::POST,
                &api("/organizations"),
                Some(&admin.token),
                Some((content_type, body)),
            )
            .await;
        let b = res.problem(415, "/problems/unsupported-media-type");
        assert!(s(&b["detail"]).contains("application/json"), "{b}");
    }
    // No content type at all.
    let req = axum::http::Request::post(api("/organizations"))
        .header(header::AUTHORIZATION, format!("Bearer {}", admin.token))
        .body(axum::body::Body::from(r#"{"name":"Acme"}"#))
        .unwrap();
    app.call(req)
        .await
        .problem(415, "/problems/unsupported-media-type");
    // JSON with a charset, and `+json` types, are JSON.
    let res = app
        .send(
            Method::POST,
            &api("/organizations"),
            Some(&admin.token),
            Some((
                "application/json; charset=utf-8",
                br#"{"name":"Acme"}"#.to_vec(),
            )),
        )
        .await;
    let acme = res.ok(201).clone();
    let res = app
        .send(
            Method::PATCH,
            &api(&format!("/organizations/{}", s(&acme["id"]))),
            Some(&admin.token),
            Some((
                "application/merge-patch+json",
                br#"{"version":1,"domain":"ACME.example"}"#.to_vec(),
            )),
        )
        .await;
    assert_eq!(res.ok(200)["domain"], "acme.example");
    // Only the one organization was created.
    let orgs = app.get(&admin, "/organizations").await;
    assert_eq!(ids(orgs.ok(200)), [s(&acme["id"])]);

    // Too large, and just too long.
    let huge = format!(r#"{{"name":"{}"}}"#, "x".repeat(3 * 1024 * 1024));
    let res = app.raw(Method::POST, &admin, "/organizations", &huge).await;
    let b = res.problem(413, "/problems/too-large");
    assert!(s(&b["detail"]).contains("2 MiB"), "{b}");
    let long_name = format!(r#"{{"name":"{}"}}"#, "x".repeat(201));
    let res = app
        .raw(Method::POST, &admin, "/organizations", &long_name)
        .await;
    res.invalid("name", "at most 200 characters");
    let orgs = app.get(&admin, "/organizations").await;
    assert_eq!(ids(orgs.ok(200)), [s(&acme["id"])]);
}

async fn json_of_the_wrong_shape(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let p = pipeline(
        app,
        &admin,
        "Sales",
        &[json!({ "name": "Lead in", "probability": 10 })],
    )
    .await;

    // Malformed JSON: 400.
    for text in [
        r#"{"title": "#,
        r#"{"title": "Acme",}"#,
        r#"{"title": "Acme"} trailing"#,
        r#"{'title': 'Acme'}"#,
        "",
    ] {
        let res = app.raw(Method::POST, &admin, "/deals", text).await;
        let b = res.problem(400, "/problems/malformed-json");
        assert!(
            s(&b["detail"]).starts_with("the body is not valid JSON"),
            "{b}"
        );
        assert!(b.get("field").is_none(), "{b}");
    }

    // An array is not a deal, even if its items line up with the fields.
    let res = app.raw(Method::POST, &admin, "/deals", r#"["Acme"]"#).await;
    let b = res.problem(422, "/problems/validation");
    assert_eq!(b["field"], "body", "{b}");

    // Well-formed JSON of the wrong shape: 422 naming the field.
    let pid = p.id.clone();
    let cases = [
        (
            json!({ "title": "Acme", "pipeline_id": pid, "value": "lots" }),
            "value",
            "wrong type",
        ),
        (
            json!({ "title": "Acme", "pipeline_id": pid, "value": 1.5 }),
            "value",
            "wrong type",
        ),
        (
            json!({ "title": 7, "pipeline_id": pid }),
            "title",
            "wrong type",
        ),
        (
            json!({ "title": "Acme", "pipeline_id": "nope" }),
            "pipeline_id",
            "UUID",
        ),
        (
            json!({ "title": "Acme", "pipeline_id": pid, "colour": "red" }),
            "colour",
            "unknown field",
        ),
        (json!({ "pipeline_id": pid }), "title", "missing field"),
        (
            json!({ "title": "Acme", "pipeline_id": pid, "currency": "EURO" }),
            "currency",
            "ISO 4217",
        ),
        (
            json!({ "title": "Acme", "pipeline_id": pid, "expected_close_date": "soon" }),
            "expected_close_date",
            "",
        ),
        (json!("Acme"), "body", "wrong type"),
        (json!(null), "body", "wrong type"),
    ];
    for (body, field, words) in cases {
        let res = app.post(&admin, "/deals", body.clone()).await;
        let b = res.invalid(field, words);
        assert!(
            !s(&b["detail"]).contains(" at line "),
            "positions are left out: {b}"
        );
    }
    let res = app
        .raw(
            Method::POST,
            &admin,
            "/deals",
            &format!(r#"{{"title":"Acme","pipeline_id":"{pid}","value":99999999999999999999}}"#),
        )
        .await;
    res.invalid("value", "wrong type");
    // Nested paths name the item.
    let res = app
        .post(
            &admin,
            &format!("/pipelines/{pid}/stages"),
            json!({
                "name": "Proposal",
                "probability": 50,
                "criteria": [
                    { "kind": "checklist", "label": "Budget" },
                    { "kind": "checklist", "label": 5 },
                ],
            }),
        )
        .await;
    res.invalid("criteria[1].label", "wrong type");
    let res = app
        .post(
            &admin,
            &format!("/pipelines/{pid}/stages"),
            json!({ "name": "Proposal", "probability": 50, "criteria": [{ "kind": "vibe" }] }),
        )
        .await;
    res.invalid("criteria[0].kind", "unknown variant");
    let res = app
        .post(
            &admin,
            &format!("/pipelines/{pid}/stages"),
            json!({ "name": "Proposal", "probability": 50, "criteria": [{ "kind": "checklist", "label": "x", "weight": 2 }] }),
        )
        .await;
    res.invalid("criteria[0].weight", "unknown field");

    // Query strings too.
    for (query, field) in [
        ("/deals?limit=lots", "limit"),
        ("/deals?status=pending", "status"),
        ("/deals?colour=red", "colour"),
        ("/deals?pipeline_id=nope", "pipeline_id"),
        ("/deals?updated_since=yesterday", "updated_since"),
        ("/pipelines?archived=maybe", "archived"),
        ("/activities?done=perhaps", "done"),
    ] {
        let res = app.get(&admin, query).await;
        let b = res.problem_field(422, "/problems/validation", field);
        assert!(s(&b["detail"]).starts_with(field), "{b}");
    }

    // Nothing of the refused requests was created.
    let deals = app.get(&admin, "/deals").await;
    assert_eq!(deals.ok(200)["items"], json!([]));
    let stages = app.get(&admin, &format!("/pipelines/{pid}/stages")).await;
    assert_eq!(stages.ok(200).as_array().unwrap().len(), 1);
}

/// When the database is gone, the answers say so without leaking its errors.
async fn a_database_that_is_gone(app: &App) {
    let rep = app.user("Rita", Role::Rep, None).await;
    app.store.close().await;
    let res = app.send(Method::GET, "/healthz", None, None).await;
    let b = res.problem(503, "/problems/unavailable");
    assert_eq!(b["detail"], "the database does not answer");
    for res in [app.get(&rep, "/me").await, app.get(&rep, "/deals").await] {
        let b = res.problem(500, "/problems/internal");
        assert_eq!(
            b["detail"],
            "something went wrong on our side; it has been logged"
        );
        let text = String::from_utf8_lossy(&res.raw).to_lowercase();
        for leak in ["pool", "sqlx", "sql", "closed", "database error"] {
            assert!(!text.contains(leak), "{leak} leaked: {text}");
        }
    }
}
