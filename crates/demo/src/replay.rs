//! Playing the plan through the store: every step is the store operation a user would
//! trigger, performed as that user at the simulated instant, so the records, their event
//! history and the snapshot spans are exactly what real use would have left behind.

use throughline_core::activity::{ActivityPatch, NewActivity};
use throughline_core::deal::{DealPatch, NewDeal};
use throughline_core::lead::{LeadPatch, NewLead, Qualify};
use throughline_core::party::{OrganizationInput, PersonInput};
use throughline_core::{ActivityId, Actor, DealId, LeadId, OrganizationId, PersonId};
use throughline_store::deals::{self, CloseDeal, MoveDeal};
use throughline_store::leads::{self, Disqualify};
use throughline_store::{Ctx, Tx, activities, parties};

use crate::DemoError;
use crate::calendar::timestamp;
use crate::pipelines::{Built, NEW_BUSINESS};
use crate::plan::Plan;
use crate::script::{Op, Step, Who};
use crate::team::Roster;

/// A created record's id and the version the next change must be made against.
type Versioned<T> = Option<(T, i64)>;

pub(crate) struct Replay<'a> {
    plan: &'a Plan,
    roster: &'a Roster,
    boards: &'a [Built],
    orgs: Vec<Option<OrganizationId>>,
    people: Vec<Option<PersonId>>,
    leads: Vec<Versioned<LeadId>>,
    deals: Vec<Versioned<DealId>>,
    activities: Vec<Versioned<ActivityId>>,
}

fn missing(what: &str, index: usize) -> DemoError {
    DemoError::Inconsistent(format!("{what} {index} is used before it was created"))
}

fn lookup<T: Copy>(items: &[Option<T>], index: usize, what: &str) -> Result<T, DemoError> {
    items
        .get(index)
        .copied()
        .flatten()
        .ok_or_else(|| missing(what, index))
}

fn put<T>(items: &mut [Option<T>], index: usize, value: T, what: &str) -> Result<(), DemoError> {
    let slot = items.get_mut(index).ok_or_else(|| missing(what, index))?;
    *slot = Some(value);
    Ok(())
}

impl<'a> Replay<'a> {
    pub fn new(plan: &'a Plan, roster: &'a Roster, boards: &'a [Built]) -> Self {
        let script = &plan.script;
        Self {
            plan,
            roster,
            boards,
            orgs: vec![None; plan.orgs.len()],
            people: vec![None; plan.people.len()],
            leads: vec![None; script.leads.len()],
            deals: vec![None; script.deals.len()],
            activities: vec![None; script.activities.len()],
        }
    }

    fn actor(&self, who: Who) -> Result<Actor, DemoError> {
        match who {
            Who::System => Ok(Actor::SYSTEM),
            Who::Member(m) => self
                .roster
                .actors
                .get(m)
                .copied()
                .ok_or_else(|| missing("team member", m)),
        }
    }

    fn user(&self, member: usize) -> Result<throughline_core::UserId, DemoError> {
        self.roster
            .user_id(member)
            .ok_or_else(|| missing("team member", member))
    }

    fn board(&self, pipeline: usize) -> Result<&'a Built, DemoError> {
        self.boards
            .get(pipeline)
            .ok_or_else(|| missing("pipeline", pipeline))
    }

    /// Major units to the minor units of `pipeline`'s currency.
    fn minor(&self, pipeline: usize, major: i64) -> Result<i64, DemoError> {
        let exponent = self.board(pipeline)?.currency.exponent();
        major
            .checked_mul(10i64.pow(exponent))
            .ok_or_else(|| DemoError::Inconsistent(format!("value {major} is too large")))
    }

    /// Perform one step; a refusal names the step and its instant.
    pub async fn step(&mut self, tx: &mut Tx, step: &Step) -> Result<(), DemoError> {
        let ctx = Ctx::new(self.actor(step.who)?, timestamp(step.at));
        self.perform(tx, &ctx, &step.op).await.map_err(|e| match e {
            DemoError::Store(source) => DemoError::Step {
                step: format!("{:?}", step.op),
                at: ctx.at,
                source,
            },
            other => other,
        })
    }

    async fn perform(&mut self, tx: &mut Tx, ctx: &Ctx, op: &Op) -> Result<(), DemoError> {
        let script = &self.plan.script;
        match *op {
            Op::CreateOrganization(i) => {
                let org = &self.plan.orgs[i];
                let created = parties::create_organization(
                    tx,
                    ctx,
                    OrganizationInput {
                        name: org.name.clone(),
                        domain: Some(org.domain.clone()),
                        owner_id: Some(self.user(org.owner)?),
                    },
                )
                .await?;
                put(&mut self.orgs, i, created.id, "organization")?;
            }
            Op::CreatePerson(i) => {
                let person = &self.plan.people[i];
                let created = parties::create_person(
                    tx,
                    ctx,
                    PersonInput {
                        name: person.name.clone(),
                        email: Some(person.email.clone()),
                        phone: Some(person.phone.clone()),
                        organization_id: Some(lookup(&self.orgs, person.org, "organization")?),
                        owner_id: None,
                    },
                )
                .await?;
                put(&mut self.people, i, created.id, "person")?;
            }
            Op::CreateLead(i) => {
                let lead = &script.leads[i];
                let value = lead
                    .value
                    .map(|v| self.minor(NEW_BUSINESS, v))
                    .transpose()?;
                let created = leads::create(
                    tx,
                    ctx,
                    NewLead {
                        title: lead.title.clone(),
                        owner_id: lead.owner.map(|m| self.user(m)).transpose()?,
                        person_id: Some(lookup(&self.people, lead.person, "person")?),
                        organization_id: Some(lookup(&self.orgs, lead.org, "organization")?),
                        source: Some(lead.source.into()),
                        campaign: lead.campaign.clone(),
                        value,
                        currency: value.map(|_| self.boards[NEW_BUSINESS].currency),
                        custom: Default::default(),
                    },
                )
                .await?;
                put(&mut self.leads, i, (created.id, created.version), "lead")?;
            }
            Op::ClaimLead(i) => {
                let (id, version) = lookup(&self.leads, i, "lead")?;
                let updated = leads::update(
                    tx,
                    ctx,
                    id,
                    LeadPatch {
                        version,
                        owner_id: Some(ctx.actor.user_id),
                        ..Default::default()
                    },
                )
                .await?;
                put(&mut self.leads, i, (id, updated.version), "lead")?;
            }
            Op::QualifyLead { lead, deal } => {
                let (id, version) = lookup(&self.leads, lead, "lead")?;
                let plan = &script.deals[deal];
                let value = self.minor(plan.pipeline, plan.value)?;
                let (updated, created) = leads::qualify(
                    tx,
                    ctx,
                    id,
                    Qualify {
                        pipeline_id: Some(self.board(plan.pipeline)?.id),
                        title: Some(plan.title.clone()),
                        value: Some(value),
                        version: Some(version),
                        ..Default::default()
                    },
                )
                .await?;
                put(&mut self.leads, lead, (id, updated.version), "lead")?;
                put(&mut self.deals, deal, (created.id, created.version), "deal")?;
            }
            Op::DisqualifyLead { lead, reason } => {
                let (id, version) = lookup(&self.leads, lead, "lead")?;
                let updated = leads::disqualify(
                    tx,
                    ctx,
                    id,
                    Disqualify {
                        reason: reason.into(),
                        version: Some(version),
                    },
                )
                .await?;
                put(&mut self.leads, lead, (id, updated.version), "lead")?;
            }
            Op::CreateDeal(i) => {
                let plan = &script.deals[i];
                let created = deals::create(
                    tx,
                    ctx,
                    NewDeal {
                        title: plan.title.clone(),
                        pipeline_id: Some(self.board(plan.pipeline)?.id),
                        value: self.minor(plan.pipeline, plan.value)?,
                        person_id: Some(lookup(&self.people, plan.person, "person")?),
                        organization_id: Some(lookup(&self.orgs, plan.org, "organization")?),
                        source: plan.source.map(Into::into),
                        campaign: plan.campaign.clone(),
                        ..Default::default()
                    },
                )
                .await?;
                put(&mut self.deals, i, (created.id, created.version), "deal")?;
            }
            Op::Tick { deal, stage, item } => {
                let (id, _) = lookup(&self.deals, deal, "deal")?;
                let board = self.board(script.deals[deal].pipeline)?;
                let criterion = board
                    .criterion(stage, item)
                    .ok_or_else(|| missing("criterion", item))?;
                let updated = deals::set_check(tx, ctx, id, criterion, true).await?;
                put(&mut self.deals, deal, (id, updated.version), "deal")?;
            }
            Op::SetValue { deal, value } => {
                let minor = self.minor(script.deals[deal].pipeline, value)?;
                self.update(tx, ctx, deal, |version| DealPatch {
                    version,
                    value: Some(minor),
                    ..Default::default()
                })
                .await?;
            }
            Op::SetCloseDate { deal, date } => {
                self.update(tx, ctx, deal, |version| DealPatch {
                    version,
                    expected_close_date: Some(Some(date)),
                    ..Default::default()
                })
                .await?;
            }
            Op::Reassign { deal, to } => {
                let owner = self.user(to)?;
                self.update(tx, ctx, deal, |version| DealPatch {
                    version,
                    owner_id: Some(owner),
                    ..Default::default()
                })
                .await?;
            }
            Op::Move { deal, stage } => {
                let (id, version) = lookup(&self.deals, deal, "deal")?;
                let board = self.board(script.deals[deal].pipeline)?;
                let stage_id = board
                    .stages
                    .get(stage)
                    .map(|s| s.id)
                    .ok_or_else(|| missing("stage", stage))?;
                let moved = deals::move_to(
                    tx,
                    ctx,
                    id,
                    MoveDeal {
                        stage_id,
                        version,
                        force: false,
                    },
                )
                .await?;
                put(&mut self.deals, deal, (id, moved.version), "deal")?;
            }
            Op::Win(deal) => {
                let (id, version) = lookup(&self.deals, deal, "deal")?;
                let won = deals::win(
                    tx,
                    ctx,
                    id,
                    CloseDeal {
                        reason: None,
                        version: Some(version),
                    },
                )
                .await?;
                put(&mut self.deals, deal, (id, won.version), "deal")?;
            }
            Op::Lose { deal, reason } => {
                let (id, version) = lookup(&self.deals, deal, "deal")?;
                let lost = deals::lose(
                    tx,
                    ctx,
                    id,
                    CloseDeal {
                        reason: Some(reason.into()),
                        version: Some(version),
                    },
                )
                .await?;
                put(&mut self.deals, deal, (id, lost.version), "deal")?;
            }
            Op::CreateActivity(i) => {
                let plan = &script.activities[i];
                let created = activities::create(
                    tx,
                    ctx,
                    NewActivity {
                        kind: plan.kind,
                        subject: plan.subject.clone(),
                        owner_id: Some(self.user(plan.owner)?),
                        deal_id: Some(lookup(&self.deals, plan.deal, "deal")?.0),
                        lead_id: None,
                        person_id: Some(lookup(&self.people, plan.person, "person")?),
                        organization_id: None,
                        due_at: Some(timestamp(plan.due)),
                        duration_minutes: plan.minutes,
                        note: None,
                        done: plan.done,
                    },
                )
                .await?;
                put(
                    &mut self.activities,
                    i,
                    (created.id, created.version),
                    "activity",
                )?;
            }
            Op::CompleteActivity(i) => {
                let (id, version) = lookup(&self.activities, i, "activity")?;
                let updated = activities::update(
                    tx,
                    ctx,
                    id,
                    ActivityPatch {
                        version,
                        done: Some(true),
                        ..Default::default()
                    },
                )
                .await?;
                put(&mut self.activities, i, (id, updated.version), "activity")?;
            }
        }
        Ok(())
    }

    async fn update(
        &mut self,
        tx: &mut Tx,
        ctx: &Ctx,
        deal: usize,
        patch: impl FnOnce(i64) -> DealPatch,
    ) -> Result<(), DemoError> {
        let (id, version) = lookup(&self.deals, deal, "deal")?;
        let updated = deals::update(tx, ctx, id, patch(version)).await?;
        put(&mut self.deals, deal, (id, updated.version), "deal")
    }
}
