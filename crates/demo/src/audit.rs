//! A check of a plan against the store's rules, without a database: every step refers to
//! records that exist by then, is performed by someone allowed to, and every forward move
//! has its criteria met. It lets tests try many seeds and ends in milliseconds; the replay
//! tests then show the store agrees.

use std::collections::HashSet;

use throughline_core::Role;
use throughline_core::criteria::DealField;

use crate::pipelines::{Need, PIPELINES};
use crate::plan::Plan;
use crate::script::{Op, Who};
use crate::team::{MANAGER, MEMBERS};

#[derive(Clone)]
struct Deal {
    pipeline: usize,
    owner: usize,
    stage: usize,
    open: bool,
    value: i64,
    close: bool,
    ticked: HashSet<(usize, usize)>,
}

fn rep(who: Who) -> Result<usize, String> {
    match who {
        Who::Member(m) if MEMBERS[m].role == Role::Rep => Ok(m),
        other => Err(format!("{other:?} is not a rep")),
    }
}

/// The first rule a plan breaks, if any.
pub(crate) fn audit(plan: &Plan) -> Result<(), String> {
    let script = &plan.script;
    let mut orgs = vec![false; plan.orgs.len()];
    let mut people = vec![false; plan.people.len()];
    let mut leads: Vec<Option<(Option<usize>, bool)>> = vec![None; script.leads.len()];
    let mut deals: Vec<Option<Deal>> = vec![None; script.deals.len()];
    let mut activities: Vec<Option<bool>> = vec![None; script.activities.len()];
    let mut last = i64::MIN;
    for (n, step) in script.steps.iter().enumerate() {
        let fail = |why: String| format!("step {n} {:?} by {:?}: {why}", step.op, step.who);
        if step.at < last || step.at >= plan.end {
            return Err(fail("out of time order".into()));
        }
        last = step.at;
        let open_deal = |deals: &[Option<Deal>], d: usize| -> Result<Deal, String> {
            match &deals[d] {
                Some(deal) if deal.open => Ok(deal.clone()),
                Some(_) => Err(fail("the deal is closed".into())),
                None => Err(fail("the deal does not exist yet".into())),
            }
        };
        let owner_acts = |deal: &Deal| -> Result<(), String> {
            if step.who == Who::Member(deal.owner) {
                Ok(())
            } else {
                Err(fail(format!("the deal belongs to member {}", deal.owner)))
            }
        };
        match step.op {
            Op::CreateOrganization(o) => {
                if std::mem::replace(&mut orgs[o], true) {
                    return Err(fail("created twice".into()));
                }
                let owner = plan.orgs[o].owner;
                if let Who::Member(m) = step.who
                    && MEMBERS[m].role == Role::Rep
                    && m != owner
                {
                    return Err(fail("a rep may only give an account to themself".into()));
                }
            }
            Op::CreatePerson(p) => {
                if !orgs[plan.people[p].org] {
                    return Err(fail("the organization does not exist yet".into()));
                }
                if std::mem::replace(&mut people[p], true) {
                    return Err(fail("created twice".into()));
                }
            }
            Op::CreateLead(l) => {
                let lead = &script.leads[l];
                if !orgs[lead.org] || !people[lead.person] {
                    return Err(fail("its contact does not exist yet".into()));
                }
                if let Who::Member(m) = step.who
                    && lead.owner != Some(m)
                {
                    return Err(fail("a rep's lead is their own".into()));
                }
                leads[l] = Some((lead.owner, true));
            }
            Op::ClaimLead(l) => match leads[l] {
                Some((None, true)) => leads[l] = Some((Some(rep(step.who).map_err(fail)?), true)),
                _ => return Err(fail("only an open lead in the inbox can be claimed".into())),
            },
            Op::QualifyLead { lead, .. } | Op::DisqualifyLead { lead, .. } => {
                let who = rep(step.who).map_err(fail)?;
                match leads[lead] {
                    Some((Some(owner), true)) if owner == who => {
                        leads[lead] = Some((Some(owner), false))
                    }
                    _ => return Err(fail("the lead is not this rep's open lead".into())),
                }
                if let Op::QualifyLead { deal, .. } = step.op {
                    let plan_deal = &script.deals[deal];
                    deals[deal] = Some(Deal {
                        pipeline: plan_deal.pipeline,
                        owner: who,
                        stage: 0,
                        open: true,
                        value: plan_deal.value,
                        close: false,
                        ticked: HashSet::new(),
                    });
                }
            }
            Op::CreateDeal(d) => {
                let plan_deal = &script.deals[d];
                if !orgs[plan_deal.org] || !people[plan_deal.person] {
                    return Err(fail("its contact does not exist yet".into()));
                }
                deals[d] = Some(Deal {
                    pipeline: plan_deal.pipeline,
                    owner: rep(step.who).map_err(fail)?,
                    stage: 0,
                    open: true,
                    value: plan_deal.value,
                    close: false,
                    ticked: HashSet::new(),
                });
            }
            Op::Tick { deal, stage, item } => {
                let mut d = open_deal(&deals, deal)?;
                owner_acts(&d)?;
                match PIPELINES[d.pipeline].stages[stage].needs.get(item) {
                    Some(Need::Check(_)) => d.ticked.insert((stage, item)),
                    _ => return Err(fail("not a checklist item".into())),
                };
                deals[deal] = Some(d);
            }
            Op::SetValue { deal, value } => {
                let mut d = open_deal(&deals, deal)?;
                owner_acts(&d)?;
                d.value = value;
                deals[deal] = Some(d);
            }
            Op::SetCloseDate { deal, .. } => {
                let mut d = open_deal(&deals, deal)?;
                owner_acts(&d)?;
                d.close = true;
                deals[deal] = Some(d);
            }
            Op::Reassign { deal, to } => {
                let mut d = open_deal(&deals, deal)?;
                if step.who != Who::Member(MANAGER) || MEMBERS[to].team != MEMBERS[d.owner].team {
                    return Err(fail("only the manager reassigns, within a team".into()));
                }
                d.owner = to;
                deals[deal] = Some(d);
            }
            Op::Move { deal, stage } => {
                let mut d = open_deal(&deals, deal)?;
                owner_acts(&d)?;
                if stage > d.stage {
                    for (item, need) in PIPELINES[d.pipeline].stages[stage].needs.iter().enumerate()
                    {
                        let met = match need {
                            Need::Check(_) => d.ticked.contains(&(stage, item)),
                            Need::Field(DealField::Value) => d.value > 0,
                            Need::Field(DealField::ExpectedCloseDate) => d.close,
                            Need::Field(_) => true,
                        };
                        if !met {
                            return Err(fail(format!("criterion {item} of stage {stage} unmet")));
                        }
                    }
                }
                d.stage = stage;
                deals[deal] = Some(d);
            }
            Op::Win(deal) | Op::Lose { deal, .. } => {
                let mut d = open_deal(&deals, deal)?;
                owner_acts(&d)?;
                d.open = false;
                deals[deal] = Some(d);
            }
            Op::CreateActivity(a) => {
                let activity = &script.activities[a];
                let d = open_deal(&deals, activity.deal)?;
                owner_acts(&d)?;
                if step.who != Who::Member(activity.owner) || !people[activity.person] {
                    return Err(fail("the activity's owner or contact is wrong".into()));
                }
                if activity.done && activity.due != step.at {
                    return Err(fail(
                        "work logged as done happened when it was logged".into(),
                    ));
                }
                activities[a] = Some(activity.done);
            }
            Op::CompleteActivity(a) => {
                if activities[a] != Some(false)
                    || step.who != Who::Member(script.activities[a].owner)
                {
                    return Err(fail("only its owner completes an open activity".into()));
                }
                activities[a] = Some(true);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DemoOptions;
    use crate::plan::build;

    fn options(seed: u64, end: &str, months: u32, scale: f64) -> DemoOptions {
        DemoOptions {
            seed,
            end: end.parse().unwrap(),
            months,
            scale,
        }
    }

    #[test]
    fn plans_keep_the_stores_rules_for_many_seeds_and_ends() {
        let ends = [
            "2026-11-27T22:13:02.748Z",
            "2026-06-30T06:00:00Z",
            "2027-01-01T00:00:00Z",
            "2025-03-15T13:30:00Z",
        ];
        for (i, end) in ends.iter().enumerate() {
            for seed in 0..4 {
                let plan = build(&options(seed * 31 + i as u64, end, 18, 0.3)).unwrap();
                audit(&plan).unwrap_or_else(|e| panic!("seed {seed}, end {end}: {e}"));
            }
        }
        for months in [1, 6, 40] {
            let plan = build(&options(3, ends[0], months, 0.05)).unwrap();
            audit(&plan).unwrap_or_else(|e| panic!("{months} months: {e}"));
        }
        let full = build(&options(1, ends[0], 18, 1.0)).unwrap();
        audit(&full).unwrap();
    }

    #[test]
    fn a_move_without_its_criteria_is_caught() {
        let mut plan = build(&options(1, "2026-11-20T12:00:00Z", 18, 0.05)).unwrap();
        let tick = plan
            .script
            .steps
            .iter()
            .position(|s| matches!(s.op, Op::Tick { .. }))
            .unwrap();
        plan.script.steps.remove(tick);
        let err = audit(&plan).unwrap_err();
        assert!(err.contains("unmet"), "{err}");
    }

    #[test]
    fn a_contact_before_its_organization_is_caught() {
        let mut plan = build(&options(1, "2026-11-20T12:00:00Z", 18, 0.05)).unwrap();
        let org = plan
            .script
            .steps
            .iter()
            .position(|s| matches!(s.op, Op::CreateOrganization(_)))
            .unwrap();
        let step = plan.script.steps.remove(org);
        plan.script.steps.push(step);
        assert!(audit(&plan).is_err());
    }
}
