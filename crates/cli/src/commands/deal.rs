use std::collections::HashMap;

use anyhow::{Result, anyhow};
use throughline_core::deal::{Deal, NewDeal};
use throughline_core::money::{Money, format_minor};
use throughline_core::pipeline::Stage;
use throughline_core::{Currency, StageId, UserId};
use throughline_store::deals::{self, CloseDeal, DealFilter, MoveDeal};
use throughline_store::{Tx, pipelines, users};

use crate::cli::DealCommand;
use crate::output::{Rows, print};
use crate::session::{self, Session};

pub fn parse_money(text: &str, currency: Currency) -> Result<i64> {
    Money::parse_major(text, currency)
        .map(|m| m.amount)
        .map_err(|e| anyhow!("--value: {e}"))
}

struct Names {
    stages: HashMap<StageId, Stage>,
    users: HashMap<UserId, String>,
}

async fn names(tx: &mut Tx) -> Result<Names> {
    let mut stages = HashMap::new();
    for p in pipelines::list(tx, true).await? {
        for st in pipelines::stages(tx, p.id, true).await? {
            stages.insert(st.id, st);
        }
    }
    let users = users::list(tx)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    Ok(Names { stages, users })
}

fn deal_rows(deals: &[Deal], names: &Names) -> Rows {
    let mut rows = Rows::new(&[
        ("title", false),
        ("stage", false),
        ("status", false),
        ("value", true),
        ("owner", false),
        ("id", false),
    ]);
    for d in deals {
        rows.push(vec![
            d.title.clone(),
            names
                .stages
                .get(&d.stage_id)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            d.status.to_string(),
            format!(
                "{} {}",
                format_minor(d.value, d.currency.exponent()),
                d.currency
            ),
            names.users.get(&d.owner_id).cloned().unwrap_or_default(),
            d.id.to_string(),
        ]);
    }
    rows
}

pub async fn run(cmd: DealCommand) -> Result<()> {
    match cmd {
        DealCommand::List {
            db,
            pipeline,
            stage,
            owner,
            status,
            limit,
            format,
        } => {
            let s = Session::open(&db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.read().await?;
            let mut filter = DealFilter {
                limit: Some(limit),
                ..Default::default()
            };
            if let Some(key) = &pipeline {
                let p = session::pipeline(&mut tx, key).await?;
                filter.pipeline_id = Some(p.id);
                if let Some(stage) = &stage {
                    filter.stage_id = Some(session::stage(&mut tx, &p, stage).await?.id);
                }
            } else if let Some(stage) = &stage {
                filter.stage_id = Some(stage.parse().map_err(|_| {
                    anyhow!("--stage: give --pipeline to name a stage, or a stage id")
                })?);
            }
            if let Some(email) = &owner {
                filter.owner_id = Some(session::user(&mut tx, email).await?.id);
            }
            filter.status = status
                .map(|s| s.parse())
                .transpose()
                .map_err(|e: String| anyhow!(e))?;
            let page = deals::list(&mut tx, &ctx, &filter).await?;
            let names = names(&mut tx).await?;
            print(format, &deal_rows(&page.items, &names), &page)?;
        }
        DealCommand::Show { db, id, format } => {
            let s = Session::open(&db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.read().await?;
            let deal = session::deal(&mut tx, &ctx, &id).await?;
            let stage = pipelines::require_stage(&mut tx, deal.stage_id).await?;
            let checked = deals::checked_items(&mut tx, deal.id).await?;
            let mut rows = Rows::new(&[("field", false), ("value", false)]);
            rows.push(vec!["title".into(), deal.title.clone()]);
            rows.push(vec![
                "stage".into(),
                format!("{} ({}%)", stage.name, stage.probability),
            ]);
            rows.push(vec!["status".into(), deal.status.to_string()]);
            rows.push(vec![
                "value".into(),
                Money::new(deal.value, deal.currency).display(),
            ]);
            rows.push(vec![
                "expected close".into(),
                deal.expected_close_date
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ]);
            rows.push(vec!["version".into(), deal.version.to_string()]);
            for c in &stage.criteria {
                let mark = if checked.contains(&c.id) {
                    "[x]"
                } else {
                    "[ ]"
                };
                rows.push(vec!["criterion".into(), format!("{mark} {}", c.label)]);
            }
            print(format, &rows, &deal)?;
        }
        DealCommand::Create {
            db,
            title,
            pipeline,
            stage,
            value,
            currency,
            owner,
            expected_close,
            source,
            campaign,
        } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.write().await?;
            let p = session::pipeline(&mut tx, &pipeline).await?;
            let currency: Currency = match currency {
                Some(c) => c
                    .parse()
                    .map_err(|e: throughline_core::money::UnknownCurrency| {
                        anyhow!("--currency: {e}")
                    })?,
                None => p.currency,
            };
            let stage_id = match &stage {
                Some(key) => Some(session::stage(&mut tx, &p, key).await?.id),
                None => None,
            };
            let owner_id = match &owner {
                Some(email) => Some(session::user(&mut tx, email).await?.id),
                None => None,
            };
            let expected_close_date = expected_close
                .map(|d| d.parse())
                .transpose()
                .map_err(|_| anyhow!("--expected-close: use a date such as 2026-03-31"))?;
            let deal = deals::create(
                &mut tx,
                &s.ctx(),
                NewDeal {
                    title,
                    pipeline_id: Some(p.id),
                    stage_id,
                    value: parse_money(&value, currency)?,
                    currency: Some(currency),
                    owner_id,
                    expected_close_date,
                    source,
                    campaign,
                    ..Default::default()
                },
            )
            .await?;
            tx.commit().await?;
            println!("created deal {} {}", deal.title, deal.id);
        }
        DealCommand::Move {
            db,
            id,
            stage,
            force,
        } => {
            let s = Session::open(&db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.write().await?;
            let deal = session::deal(&mut tx, &ctx, &id).await?;
            let target = match stage.parse::<StageId>() {
                Ok(stage_id) => stage_id,
                Err(_) => {
                    let p = pipelines::require(&mut tx, deal.pipeline_id).await?;
                    session::stage(&mut tx, &p, &stage).await?.id
                }
            };
            let moved = deals::move_to(
                &mut tx,
                &ctx,
                deal.id,
                MoveDeal {
                    stage_id: target,
                    version: deal.version,
                    force,
                },
            )
            .await?;
            let name = pipelines::require_stage(&mut tx, moved.stage_id)
                .await?
                .name;
            tx.commit().await?;
            println!("moved {} to {name}", moved.title);
        }
        DealCommand::Check {
            db,
            id,
            criterion,
            uncheck,
        } => {
            let s = Session::open(&db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.write().await?;
            let deal = session::deal(&mut tx, &ctx, &id).await?;
            let mut all = vec![];
            for st in pipelines::stages(&mut tx, deal.pipeline_id, false).await? {
                all.extend(st.criteria);
            }
            let found = all
                .iter()
                .find(|c| c.id.to_string() == criterion.trim() || c.label.eq_ignore_ascii_case(criterion.trim()))
                .ok_or_else(|| anyhow!("no criterion of this deal's pipeline is labelled or has the id `{criterion}`"))?;
            deals::set_check(&mut tx, &ctx, deal.id, found.id, !uncheck).await?;
            tx.commit().await?;
            println!(
                "{} `{}` on {}",
                if uncheck { "unticked" } else { "ticked" },
                found.label,
                deal.title
            );
        }
        DealCommand::Won { db, id } => {
            let s = Session::open(&db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.write().await?;
            let deal = session::deal(&mut tx, &ctx, &id).await?;
            let d = deals::win(
                &mut tx,
                &ctx,
                deal.id,
                CloseDeal {
                    reason: None,
                    version: Some(deal.version),
                },
            )
            .await?;
            tx.commit().await?;
            println!(
                "won {} ({})",
                d.title,
                Money::new(d.value, d.currency).display()
            );
        }
        DealCommand::Lost { db, id, reason } => {
            let s = Session::open(&db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.write().await?;
            let deal = session::deal(&mut tx, &ctx, &id).await?;
            let d = deals::lose(
                &mut tx,
                &ctx,
                deal.id,
                CloseDeal {
                    reason: Some(reason),
                    version: Some(deal.version),
                },
            )
            .await?;
            tx.commit().await?;
            println!("lost {}", d.title);
        }
        DealCommand::Reopen { db, id } => {
            let s = Session::open(&db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.write().await?;
            let deal = session::deal(&mut tx, &ctx, &id).await?;
            let d = deals::reopen(&mut tx, &ctx, deal.id, Some(deal.version)).await?;
            tx.commit().await?;
            println!("reopened {}", d.title);
        }
        DealCommand::History { db, id, format } => {
            let s = Session::open(&db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.read().await?;
            let deal = session::deal(&mut tx, &ctx, &id).await?;
            let events = deals::history(&mut tx, &ctx, deal.id).await?;
            let names = names(&mut tx).await?;
            let mut rows = Rows::new(&[
                ("at", false),
                ("who", false),
                ("what", false),
                ("details", false),
            ]);
            for e in &events {
                let who = e
                    .actor_id
                    .and_then(|u| names.users.get(&u).cloned())
                    .unwrap_or_else(|| "system".into());
                let details = match e.kind {
                    throughline_core::event::EventKind::DealStageChanged => format!(
                        "{} → {}",
                        e.data["from"]["stage"].as_str().unwrap_or("?"),
                        e.data["to"]["stage"].as_str().unwrap_or("?")
                    ),
                    throughline_core::event::EventKind::DealLost => {
                        e.data["reason"].as_str().unwrap_or("").to_string()
                    }
                    throughline_core::event::EventKind::DealUpdated => e.data["changes"]
                        .as_object()
                        .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                        .unwrap_or_default(),
                    _ => e
                        .data
                        .get("label")
                        .and_then(|l| l.as_str())
                        .unwrap_or("")
                        .to_string(),
                };
                rows.push(vec![e.at.to_string(), who, e.kind.name().into(), details]);
            }
            print(format, &rows, &events)?;
        }
    }
    Ok(())
}
