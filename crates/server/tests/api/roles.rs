//! Roles hold from the start: a rep sees, changes and counts only their own deals, a manager
//! those of their team, an admin all; only admins change pipelines.

use serde_json::{Value, json};
use throughline_core::Role;

use crate::support::*;

on_both_backends!(who_sees_what);

struct World {
    admin: TestUser,
    /// East: managed by Mia, with Rita and Raj.
    mia: TestUser,
    rita: TestUser,
    raj: TestUser,
    /// West: managed by Max, with Wes.
    max: TestUser,
    wes: TestUser,
    p: Pipeline,
    /// One deal each for Rita, Raj, Wes and Mia herself.
    deals: Vec<(String, Value)>,
}

impl World {
    fn deal(&self, owner: &str) -> &Value {
        &self.deals.iter().find(|(o, _)| o == owner).unwrap().1
    }

    fn id(&self, owner: &str) -> String {
        s(&self.deal(owner)["id"])
    }
}

async fn world(app: &App) -> World {
    let admin = app.user("Ada", Role::Admin, None).await;
    let mia = app.user("Mia", Role::Manager, None).await;
    let max = app.user("Max", Role::Manager, None).await;
    let east = app.team("East", Some(mia.id)).await;
    let west = app.team("West", Some(max.id)).await;
    let rita = app.user("Rita", Role::Rep, Some(east)).await;
    let raj = app.user("Raj", Role::Rep, None).await;
    app.join_team(&raj, east).await;
    let wes = app.user("Wes", Role::Rep, Some(west)).await;
    let p = sales_pipeline(app, &admin).await;
    let mut deals = vec![];
    for (name, who, value) in [
        ("rita", &rita, 1000),
        ("raj", &raj, 2000),
        ("wes", &wes, 4000),
        ("mia", &mia, 8000),
    ] {
        let d = deal(
            app,
            who,
            json!({ "title": format!("{name}'s deal"), "pipeline_id": p.id, "value": value }),
        )
        .await;
        deals.push((name.to_string(), d));
    }
    World {
        admin,
        mia,
        rita,
        raj,
        max,
        wes,
        p,
        deals,
    }
}

fn titles(page: &Value) -> Vec<String> {
    let mut t: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| s(&d["title"]))
        .collect();
    t.sort();
    t
}

async fn who_sees_what(app: &App) {
    let w = world(app).await;
    let snapshot = format!("/pipelines/{}/snapshot", w.p.id);

    // Lists and counts.
    for (who, expected, total) in [
        (&w.rita, vec!["rita's deal"], (1, 1000)),
        (&w.raj, vec!["raj's deal"], (1, 2000)),
        (&w.wes, vec!["wes's deal"], (1, 4000)),
        (
            &w.mia,
            vec!["mia's deal", "raj's deal", "rita's deal"],
            (3, 11_000),
        ),
        (&w.max, vec!["wes's deal"], (1, 4000)),
        (
            &w.admin,
            vec!["mia's deal", "raj's deal", "rita's deal", "wes's deal"],
            (4, 15_000),
        ),
    ] {
        let page = app.get(who, "/deals").await.ok(200).clone();
        assert_eq!(titles(&page), expected);
        assert_eq!(count(app, who, &snapshot).await, total);
        // Filters never widen what one may see.
        let page = app
            .get(who, &format!("/deals?owner_id={}", w.wes.id))
            .await
            .ok(200)
            .clone();
        let want: Vec<String> = expected
            .iter()
            .filter(|t| t.starts_with("wes"))
            .map(|t| t.to_string())
            .collect();
        assert_eq!(titles(&page), want);
    }

    // Rita cannot read, change, move, tick, close or trace Raj's deal: it is not found.
    let raj_deal = w.id("raj");
    let before = app
        .get(&w.raj, &format!("/deals/{raj_deal}"))
        .await
        .ok(200)
        .clone();
    let nope = |res: Res| {
        let b = res.not_found().clone();
        assert_eq!(
            b["detail"],
            format!("no deal with id {raj_deal}"),
            "same as an unknown id"
        );
    };
    nope(app.get(&w.rita, &format!("/deals/{raj_deal}")).await);
    nope(
        app.get(&w.rita, &format!("/deals/{raj_deal}/history"))
            .await,
    );
    nope(
        app.patch(
            &w.rita,
            &format!("/deals/{raj_deal}"),
            json!({ "version": 1, "value": 1 }),
        )
        .await,
    );
    nope(
        app.post(
            &w.rita,
            &format!("/deals/{raj_deal}/move"),
            json!({ "stage_id": w.p.stage(2), "version": 1 }),
        )
        .await,
    );
    nope(
        app.post(
            &w.rita,
            &format!("/deals/{raj_deal}/criteria/{}", w.p.criterion(1, 0)),
            json!({ "checked": true }),
        )
        .await,
    );
    nope(
        app.post_empty(&w.rita, &format!("/deals/{raj_deal}/won"))
            .await,
    );
    nope(
        app.post(
            &w.rita,
            &format!("/deals/{raj_deal}/lost"),
            json!({ "reason": "Mine now" }),
        )
        .await,
    );
    nope(
        app.post_empty(&w.rita, &format!("/deals/{raj_deal}/reopen"))
            .await,
    );
    // Wes and Max (another team) cannot either.
    nope(app.get(&w.wes, &format!("/deals/{raj_deal}")).await);
    nope(app.get(&w.max, &format!("/deals/{raj_deal}")).await);
    nope(
        app.patch(
            &w.max,
            &format!("/deals/{raj_deal}"),
            json!({ "version": 1, "value": 1 }),
        )
        .await,
    );
    // Nor attach activities to it.
    app.post(
        &w.rita,
        "/activities",
        json!({ "kind": "call", "subject": "Sneak", "deal_id": raj_deal }),
    )
    .await
    .invalid("deal_id", "no such deal");
    assert_eq!(
        app.get(&w.raj, &format!("/deals/{raj_deal}")).await.ok(200),
        &before
    );
    assert_eq!(
        app.get(&w.raj, &format!("/deals/{raj_deal}/history"))
            .await
            .ok(200)
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing was recorded"
    );

    // A rep cannot hand deals to another rep, nor make one for them.
    let rita_deal = w.id("rita");
    let res = app
        .patch(
            &w.rita,
            &format!("/deals/{rita_deal}"),
            json!({ "version": 1, "owner_id": w.raj.id }),
        )
        .await;
    let b = res.problem_field(403, "/problems/forbidden", "owner_id");
    assert_eq!(
        error_message(b, "owner_id"),
        "a rep can only assign records to themself"
    );
    app.post(
        &w.rita,
        "/deals",
        json!({ "title": "For Raj", "pipeline_id": w.p.id, "owner_id": w.raj.id }),
    )
    .await
    .problem_field(403, "/problems/forbidden", "owner_id");
    assert_eq!(
        app.get(&w.rita, &format!("/deals/{rita_deal}"))
            .await
            .ok(200)["owner_id"],
        w.rita.id.to_string()
    );

    // A manager works on the team's deals and hands them within the team, not outside it.
    let res = app
        .patch(
            &w.mia,
            &format!("/deals/{raj_deal}"),
            json!({ "version": 1, "value": 2500 }),
        )
        .await;
    assert_eq!(res.ok(200)["value"], 2500);
    let res = app
        .patch(
            &w.mia,
            &format!("/deals/{rita_deal}"),
            json!({ "version": 1, "owner_id": w.raj.id }),
        )
        .await;
    assert_eq!(res.ok(200)["owner_id"], w.raj.id.to_string());
    let res = app
        .patch(
            &w.mia,
            &format!("/deals/{rita_deal}"),
            json!({ "version": 2, "owner_id": w.wes.id }),
        )
        .await;
    let b = res.problem_field(403, "/problems/forbidden", "owner_id");
    assert_eq!(
        error_message(b, "owner_id"),
        "a manager can only assign records to members of their teams"
    );
    app.post(
        &w.mia,
        "/deals",
        json!({ "title": "For Wes", "pipeline_id": w.p.id, "owner_id": w.wes.id }),
    )
    .await
    .problem_field(403, "/problems/forbidden", "owner_id");
    let res = app
        .post(
            &w.mia,
            "/deals",
            json!({ "title": "For Rita", "pipeline_id": w.p.id, "owner_id": w.rita.id }),
        )
        .await;
    assert_eq!(res.ok(201)["owner_id"], w.rita.id.to_string());
    nope_for(app, &w.mia, &w.id("wes")).await;
    // Rita no longer sees the deal she was taken off; Raj now does.
    app.get(&w.rita, &format!("/deals/{rita_deal}"))
        .await
        .not_found();
    assert_eq!(
        titles(app.get(&w.raj, "/deals").await.ok(200)),
        ["raj's deal", "rita's deal"]
    );
    assert_eq!(
        titles(app.get(&w.rita, "/deals").await.ok(200)),
        ["For Rita"]
    );
    // The admin hands anything to anyone.
    let res = app
        .patch(
            &w.admin,
            &format!("/deals/{}", w.id("wes")),
            json!({ "version": 1, "owner_id": w.rita.id }),
        )
        .await;
    assert_eq!(res.ok(200)["owner_id"], w.rita.id.to_string());
    assert_eq!(count(app, &w.max, &snapshot).await, (0, 0));
    assert_eq!(count(app, &w.mia, &snapshot).await.0, 5);

    // Leads and activities follow the same rules.
    let lead = app
        .post(&w.raj, "/leads", json!({ "title": "Raj's lead" }))
        .await
        .ok(201)
        .clone();
    let inbox = app
        .post(&w.admin, "/leads", json!({ "title": "Inbox" }))
        .await
        .ok(201)
        .clone();
    app.get(&w.rita, &format!("/leads/{}", s(&lead["id"])))
        .await
        .not_found();
    app.get(&w.wes, &format!("/leads/{}", s(&lead["id"])))
        .await
        .not_found();
    app.get(&w.mia, &format!("/leads/{}", s(&lead["id"])))
        .await
        .ok(200);
    app.get(&w.wes, &format!("/leads/{}", s(&inbox["id"])))
        .await
        .ok(200);
    assert_eq!(titles(app.get(&w.wes, "/leads").await.ok(200)), ["Inbox"]);
    assert_eq!(
        titles(app.get(&w.mia, "/leads").await.ok(200)),
        ["Inbox", "Raj's lead"]
    );
    let task = app
        .post(
            &w.raj,
            "/activities",
            json!({ "kind": "task", "subject": "Raj's task" }),
        )
        .await
        .ok(201)
        .clone();
    app.get(&w.rita, &format!("/activities/{}", s(&task["id"])))
        .await
        .not_found();
    app.get(&w.mia, &format!("/activities/{}", s(&task["id"])))
        .await
        .ok(200);
    app.get(&w.max, &format!("/activities/{}", s(&task["id"])))
        .await
        .not_found();

    // Only admins change pipelines and stages.
    let stage = format!("/stages/{}", w.p.stage(0));
    for who in [&w.rita, &w.mia] {
        let forbidden = |res: Res| {
            let b = res.problem(403, "/problems/forbidden").clone();
            assert_eq!(b["detail"], "only an admin can change pipelines and stages");
        };
        forbidden(app.post(who, "/pipelines", json!({ "name": "Mine" })).await);
        forbidden(
            app.patch(
                who,
                &format!("/pipelines/{}", w.p.id),
                json!({ "version": 1, "name": "Mine" }),
            )
            .await,
        );
        forbidden(
            app.post_empty(who, &format!("/pipelines/{}/archive", w.p.id))
                .await,
        );
        forbidden(
            app.post(
                who,
                &format!("/pipelines/{}/stages", w.p.id),
                json!({ "name": "Mine", "probability": 1 }),
            )
            .await,
        );
        forbidden(
            app.patch(who, &stage, json!({ "version": 1, "probability": 99 }))
                .await,
        );
        forbidden(
            app.put(
                who,
                &format!("/pipelines/{}/stages/order", w.p.id),
                json!({ "stage_ids": [w.p.stage(2), w.p.stage(1), w.p.stage(0)] }),
            )
            .await,
        );
        forbidden(app.post_empty(who, &format!("{stage}/archive")).await);
        // A rep or a manager may not override criteria either.
        let res = app
            .post(
                who,
                &format!("/deals/{}/move", w.id("mia")),
                json!({ "stage_id": w.p.stage(1), "version": 1, "override": true }),
            )
            .await;
        if who.role == Role::Manager {
            res.problem_field(403, "/problems/forbidden", "override");
        } else {
            res.not_found();
        }
    }
    // Everything is as the admin made it.
    let shown = app
        .get(&w.admin, &format!("/pipelines/{}", w.p.id))
        .await
        .ok(200)
        .clone();
    assert_eq!(
        (&shown["name"], &shown["version"], &shown["archived"]),
        (&json!("Sales"), &json!(1), &json!(false))
    );
    assert_eq!(shown["stages"], json!(w.p.stages));
    assert_eq!(
        ids(app.get(&w.admin, "/pipelines").await.ok(200)),
        [w.p.id.as_str()]
    );
}

/// The number and value of the deals `who` counts in the snapshot now.
async fn count(app: &App, who: &TestUser, snapshot: &str) -> (i64, i64) {
    let snap = app.get(who, snapshot).await.ok(200).clone();
    (
        snap["total"]["count"].as_i64().unwrap(),
        snap["total"]["value"].as_i64().unwrap(),
    )
}

async fn nope_for(app: &App, who: &TestUser, id: &str) {
    app.get(who, &format!("/deals/{id}")).await.not_found();
    app.patch(
        who,
        &format!("/deals/{id}"),
        json!({ "version": 1, "value": 1 }),
    )
    .await
    .not_found();
}
