use anyhow::{Result, anyhow};
use throughline_core::lead::{NewLead, Qualify};
use throughline_store::leads::{self, Disqualify, LeadFilter};

use super::deal::parse_money;
use crate::cli::LeadCommand;
use crate::output::{Rows, print};
use crate::session::{self, Session};

pub async fn run(cmd: LeadCommand) -> Result<()> {
    match cmd {
        LeadCommand::List {
            db,
            status,
            source,
            limit,
            format,
        } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.read().await?;
            let filter = LeadFilter {
                status: status
                    .map(|s| s.parse())
                    .transpose()
                    .map_err(|e: String| anyhow!(e))?,
                source,
                limit: Some(limit),
                ..Default::default()
            };
            let page = leads::list(&mut tx, &s.ctx(), &filter).await?;
            let mut rows = Rows::new(&[
                ("title", false),
                ("status", false),
                ("source", false),
                ("campaign", false),
                ("created", false),
                ("id", false),
            ]);
            for l in &page.items {
                rows.push(vec![
                    l.title.clone(),
                    l.status.to_string(),
                    l.source.clone().unwrap_or_default(),
                    l.campaign.clone().unwrap_or_default(),
                    l.created_at.strftime("%Y-%m-%d").to_string(),
                    l.id.to_string(),
                ]);
            }
            print(format, &rows, &page)?;
        }
        LeadCommand::Create {
            db,
            title,
            source,
            campaign,
            owner,
        } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.write().await?;
            let owner_id = match &owner {
                Some(email) => Some(session::user(&mut tx, email).await?.id),
                None => None,
            };
            let lead = leads::create(
                &mut tx,
                &s.ctx(),
                NewLead {
                    title,
                    source,
                    campaign,
                    owner_id,
                    ..Default::default()
                },
            )
            .await?;
            tx.commit().await?;
            println!("created lead {} {}", lead.title, lead.id);
        }
        LeadCommand::Qualify {
            db,
            id,
            pipeline,
            stage,
            value,
        } => {
            let s = Session::open(&db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.write().await?;
            let lead_id = id
                .trim()
                .parse()
                .map_err(|_| anyhow!("`{id}` is not a lead id"))?;
            let p = session::pipeline(&mut tx, &pipeline).await?;
            let stage_id = match &stage {
                Some(key) => Some(session::stage(&mut tx, &p, key).await?.id),
                None => None,
            };
            let value = value.map(|v| parse_money(&v, p.currency)).transpose()?;
            let (_, deal) = leads::qualify(
                &mut tx,
                &ctx,
                lead_id,
                Qualify {
                    pipeline_id: Some(p.id),
                    stage_id,
                    value,
                    ..Default::default()
                },
            )
            .await?;
            tx.commit().await?;
            println!("qualified into deal {} {}", deal.title, deal.id);
        }
        LeadCommand::Disqualify { db, id, reason } => {
            let s = Session::open(&db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.write().await?;
            let lead_id = id
                .trim()
                .parse()
                .map_err(|_| anyhow!("`{id}` is not a lead id"))?;
            let lead = leads::disqualify(
                &mut tx,
                &ctx,
                lead_id,
                Disqualify {
                    reason,
                    version: None,
                },
            )
            .await?;
            tx.commit().await?;
            println!("disqualified {}", lead.title);
        }
    }
    Ok(())
}
