//! Pipeline velocity and its four factors, by owner and month by month, so a manager sees
//! which factor moved.

use std::collections::HashMap;

use jiff::ToSpan;
use jiff::civil::Date;
use serde::Serialize;
use throughline_core::report::Velocity;
use throughline_core::time::end_of_day;
use throughline_core::{Currency, PipelineId};

use super::funnel::{Grouper, Grouping};
use super::queries::{Cut, DayRange, ReportFilter, closed, open_at_for_owners, open_by_owner};
use crate::db::Tx;
use crate::error::Result;
use crate::events::Ctx;
use crate::{pipelines, settings, snapshot};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VelocityReport {
    pub pipeline_id: PipelineId,
    pub currency: Currency,
    pub from: Date,
    pub to: Date,
    /// Open deals now; rates from the deals closed in the period.
    pub total: Velocity,
    pub by_owner: Vec<Velocity>,
    /// Each month: open deals at its end, rates from the deals closed in it.
    pub by_month: Vec<Velocity>,
}

pub async fn velocity(
    tx: &mut Tx,
    ctx: &Ctx,
    pipeline_id: PipelineId,
    from: Date,
    to: Date,
    filter: &ReportFilter,
) -> Result<VelocityReport> {
    let pipeline = pipelines::require(tx, pipeline_id).await?;
    let range = DayRange::dates(from, to);
    let tz = settings::time_zone(tx).await?;

    let open = open_by_owner(tx, ctx, pipeline_id, filter).await?;
    let closes = closed(tx, ctx, pipeline_id, range, filter, Cut::Owner).await?;
    let grouper = Grouper::new(tx, Grouping::Owner).await?;
    let mut owners: HashMap<String, (i64, i64, i64, i64, i64)> = HashMap::new();
    for (owner, n) in &open {
        owners.entry(owner.clone()).or_default().0 += n;
    }
    for c in &closes {
        let e = owners.entry(c.cut.clone()).or_default();
        e.1 += c.won;
        e.2 += c.lost;
        e.3 += c.won_value;
        e.4 += c.won_cycle_ms;
    }
    let total = owners.values().fold((0, 0, 0, 0, 0), |a, v| {
        (a.0 + v.0, a.1 + v.1, a.2 + v.2, a.3 + v.3, a.4 + v.4)
    });
    let mut by_owner: Vec<Velocity> = owners
        .into_iter()
        .map(|(owner, (o, w, l, v, c))| {
            let (key, label) = grouper.group(&owner);
            Velocity::compute(key, label, o, w, l, v, c)
        })
        .collect();
    by_owner.sort_by(|a, b| {
        b.value_per_day
            .unwrap_or(0.0)
            .total_cmp(&a.value_per_day.unwrap_or(0.0))
            .then(a.label.cmp(&b.label))
    });

    let mut by_month = vec![];
    let mut month = from.first_of_month();
    while month <= to {
        let last = month.last_of_month().min(to);
        let start = month.max(from);
        let closes = closed(
            tx,
            ctx,
            pipeline_id,
            DayRange::dates(start, last),
            filter,
            Cut::None,
        )
        .await?;
        let (w, l, v, c) = closes.iter().fold((0, 0, 0, 0), |a, r| {
            (
                a.0 + r.won,
                a.1 + r.lost,
                a.2 + r.won_value,
                a.3 + r.won_cycle_ms,
            )
        });
        let at =
            end_of_day(last, &tz).map_err(|e| crate::StoreError::invalid("to", e.to_string()))?;
        let at = at.min(ctx.at);
        let open_then = if filter.owner_id.is_none() && filter.team_id.is_none() {
            snapshot::snapshot(tx, ctx, pipeline_id, at)
                .await?
                .total
                .count
        } else {
            open_at_for_owners(
                tx,
                ctx,
                pipeline_id,
                throughline_core::time::to_ms(at),
                filter,
            )
            .await?
        };
        let key = month.strftime("%Y-%m").to_string();
        by_month.push(Velocity::compute(key.clone(), key, open_then, w, l, v, c));
        month = month
            .checked_add(1.month())
            .map_err(|e| crate::StoreError::invalid("to", e.to_string()))?;
    }
    Ok(VelocityReport {
        pipeline_id,
        currency: pipeline.currency,
        from,
        to,
        total: Velocity::compute(
            String::new(),
            "All".into(),
            total.0,
            total.1,
            total.2,
            total.3,
            total.4,
        ),
        by_owner,
        by_month,
    })
}
