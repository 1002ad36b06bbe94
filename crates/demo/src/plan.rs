//! The whole simulated past, planned in memory before anything is written: who arrives
//! when, which leads become deals, how each deal lives, and every step in time order.

use jiff::ToSpan;
use jiff::tz::TimeZone;
use rand::SeedableRng;

use crate::calendar::{DAY, HOUR, MINUTE, Ms, date_of, working};
use crate::flow::{self, Days};
use crate::intake::{self, Source, WEBINAR};
use crate::life::{Life, Outcome, Start, round_value};
use crate::parties::{self, OrgPlan, PersonPlan};
use crate::pipelines::{EXPANSION, NEW_BUSINESS, PIPELINES};
use crate::random::{self, Rng};
use crate::script::{DealPlan, LeadPlan, Op, Script, Timeline, Who};
use crate::team::{self, ADMIN, MEMBERS};
use crate::{DemoError, DemoOptions};

/// Deals at scale 1.0, as the issue asks (~3,000).
const DEALS_AT_FULL_SCALE: f64 = 3_000.0;
const EXPANSION_SHARE: f64 = 0.20;
const DIRECT_SHARE: f64 = 0.06;
/// Share of all leads that the campaign burst brings.
const WEBINAR_SHARE: f64 = 0.06;
/// Share of inbound leads that land unassigned in the team's inbox.
const UNASSIGNED: f64 = 0.3;

pub(crate) struct Plan {
    /// When the team and pipelines are set up, a week before the history starts.
    pub setup: Ms,
    pub start: Ms,
    pub end: Ms,
    pub orgs: Vec<OrgPlan>,
    pub people: Vec<PersonPlan>,
    pub script: Script,
}

enum Arrival {
    Lead,
    Webinar,
    Direct,
    Expansion,
}

struct Builder {
    rng: Rng,
    end: Ms,
    orgs: Vec<OrgPlan>,
    people: Vec<PersonPlan>,
    /// When each organization was created, once it has been.
    org_created: Vec<Option<Ms>>,
    person_known: Vec<bool>,
    customer_since: Vec<Option<Ms>>,
    webinar: String,
    script: Script,
}

/// The start of a history of `months` calendar months ending at `end`.
fn start_of(opts: &DemoOptions) -> Result<Ms, DemoError> {
    let months = i64::from(opts.months);
    opts.end
        .to_zoned_datetime(TimeZone::UTC)
        .checked_sub(months.months())
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|e| DemoError::Invalid {
            field: "months",
            message: format!("{months} months before the end is out of range: {e}"),
        })
}

pub(crate) fn build(opts: &DemoOptions) -> Result<Plan, DemoError> {
    let end = opts.end.as_millisecond();
    let start = start_of(opts)?;
    let history = Days::of(start, end);
    let mut rng = Rng::seed_from_u64(opts.seed);

    let organizations = ((100.0 * opts.scale).round() as usize).max(8);
    let contacts = ((300.0 * opts.scale).round() as usize).max(organizations);
    let (orgs, people) = parties::generate(&mut rng, organizations, contacts);

    let target = DEALS_AT_FULL_SCALE * opts.scale;
    let from_leads = target * (1.0 - EXPANSION_SHARE - DIRECT_SHARE);
    let per_lead = (1.0 - WEBINAR_SHARE) * intake::ordinary_yield()
        + WEBINAR_SHARE * intake::yield_of(&WEBINAR);
    let leads = from_leads / per_lead;

    let window = flow::campaign_window(history);
    let mut arrivals: Vec<(Ms, Arrival)> = Vec::new();
    let regular = |d| flow::regular(d, history);
    let mut add = |times: Vec<Ms>, kind: fn() -> Arrival| {
        arrivals.extend(
            times
                .into_iter()
                .filter(|at| (start..end - HOUR).contains(at))
                .map(|at| (at, kind())),
        );
    };
    add(
        flow::arrivals(&mut rng, history, leads * (1.0 - WEBINAR_SHARE), regular),
        || Arrival::Lead,
    );
    add(
        flow::arrivals(&mut rng, history, leads * WEBINAR_SHARE, |d| {
            flow::burst(d, window)
        }),
        || Arrival::Webinar,
    );
    add(
        flow::arrivals(&mut rng, history, target * DIRECT_SHARE, regular),
        || Arrival::Direct,
    );
    add(
        flow::arrivals(&mut rng, history, target * EXPANSION_SHARE, flow::accounts),
        || Arrival::Expansion,
    );
    arrivals.sort_by_key(|(at, _)| *at);

    let mut builder = Builder {
        rng,
        end,
        org_created: vec![None; orgs.len()],
        person_known: vec![false; people.len()],
        customer_since: vec![None; orgs.len()],
        webinar: intake::webinar_campaign(date_of(window.first * DAY)),
        orgs,
        people,
        script: Script::default(),
    };
    builder.import_customers(start - 5 * DAY);
    for (at, arrival) in arrivals {
        match arrival {
            Arrival::Lead => {
                let source = intake::pick_source(&mut builder.rng);
                builder.lead(at, source);
            }
            Arrival::Webinar => builder.lead(at, &WEBINAR),
            Arrival::Direct => builder.direct(at),
            Arrival::Expansion => builder.expansion(at),
        }
    }
    builder.import_the_rest(start - 5 * DAY);
    builder.script.sort();
    Ok(Plan {
        setup: start - 7 * DAY,
        start,
        end,
        orgs: builder.orgs,
        people: builder.people,
        script: builder.script,
    })
}

impl Builder {
    /// Existing customers were in the CRM before the history began: the admin imported them.
    fn import_customers(&mut self, at: Ms) {
        for org in 0..self.orgs.len() {
            if self.orgs[org].customer {
                let people = self.orgs[org].people.clone();
                for person in people {
                    self.meet(org, person, at, Who::Member(ADMIN));
                }
            }
        }
    }

    /// Organizations and people nobody dealt with still belong in the address book. A
    /// contact of an organization that came in later arrives with it.
    fn import_the_rest(&mut self, at: Ms) {
        for person in 0..self.people.len() {
            let org = self.people[person].org;
            let when = self.org_created[org].map_or(at, |created| created + 2 * MINUTE);
            self.meet(org, person, when, Who::Member(ADMIN));
        }
    }

    /// Make sure `org` and `person` exist by `at`, created by whoever first met them.
    fn meet(&mut self, org: usize, person: usize, at: Ms, who: Who) {
        if self.org_created[org].is_none() {
            // A rep may only own what they create themselves.
            if let Who::Member(m) = who
                && MEMBERS[m].role == throughline_core::Role::Rep
            {
                self.orgs[org].owner = m;
            }
            self.org_created[org] = Some(at - 2 * MINUTE);
            self.script
                .push(at - 2 * MINUTE, who, Op::CreateOrganization(org));
        }
        if !self.person_known[person] {
            self.person_known[person] = true;
            self.script.push(at - MINUTE, who, Op::CreatePerson(person));
        }
    }

    fn pick_org(&mut self, among: &[usize]) -> usize {
        let weights: Vec<f64> = among.iter().map(|o| self.orgs[*o].weight).collect();
        among[random::weighted(&mut self.rng, &weights)]
    }

    fn pick_person(&mut self, org: usize) -> usize {
        *random::pick(&mut self.rng, &self.orgs[org].people)
    }

    fn latent(&mut self, pipeline: usize) -> i64 {
        let spec = &PIPELINES[pipeline];
        round_value(random::log_normal(
            &mut self.rng,
            spec.median_value,
            spec.value_sigma,
        ))
    }

    fn lead(&mut self, at: Ms, source: &'static Source) {
        let all: Vec<usize> = (0..self.orgs.len()).collect();
        let org = self.pick_org(&all);
        let person = self.pick_person(org);
        let reps = team::reps_of(source.team);
        let rep = *random::pick(&mut self.rng, &reps);
        let (who, owner) = if source.inbound {
            let owner = (!random::chance(&mut self.rng, UNASSIGNED)).then_some(rep);
            (Who::System, owner)
        } else {
            (Who::Member(rep), Some(rep))
        };
        self.meet(org, person, at, who);
        let latent = self.latent(NEW_BUSINESS);
        let value = random::chance(&mut self.rng, source.estimate).then_some(latent);
        let campaign = if source.name == WEBINAR.name {
            Some(self.webinar.clone())
        } else {
            intake::campaign(source, date_of(at), &mut self.rng)
        };
        let lead = self.script.lead(LeadPlan {
            title: intake::lead_title(&self.orgs[org].name, source, &mut self.rng),
            owner,
            org,
            person,
            source: source.name,
            campaign: campaign.clone(),
            value,
        });
        self.script.push(at, who, Op::CreateLead(lead));

        if random::chance(&mut self.rng, intake::NEVER_WORKED) {
            return;
        }
        let mut line = Timeline::new(at, self.end);
        let delay = random::log_normal(&mut self.rng, source.decide_days, 0.9);
        let decide = working(at + (delay * DAY as f64) as Ms, &mut self.rng);
        let decider = owner.unwrap_or(rep);
        if owner.is_none() {
            let Some(claim) = line.next(decide - 5 * MINUTE) else {
                return;
            };
            self.script
                .push(claim, Who::Member(decider), Op::ClaimLead(lead));
        }
        let Some(decided) = line.next(decide) else {
            return;
        };
        if !random::chance(&mut self.rng, source.qualify) {
            let reason = *random::pick(&mut self.rng, source.disqualify);
            self.script.push(
                decided,
                Who::Member(decider),
                Op::DisqualifyLead { lead, reason },
            );
            return;
        }
        let deal = self.script.deal(DealPlan {
            pipeline: NEW_BUSINESS,
            title: seats_title(&self.orgs[org].name, latent),
            owner: decider,
            org,
            person,
            value: value.unwrap_or(0),
            source: Some(source.name),
            campaign,
        });
        self.script.push(
            decided,
            Who::Member(decider),
            Op::QualifyLead { lead, deal },
        );
        self.live(NEW_BUSINESS, deal, latent, decided);
    }

    /// A deal a rep opens without a lead: a customer's referral, a contact from their
    /// network, a call that came straight to them.
    fn direct(&mut self, at: Ms) {
        let reps = team::reps();
        let rep = *random::pick(&mut self.rng, &reps);
        let all: Vec<usize> = (0..self.orgs.len()).collect();
        let org = self.pick_org(&all);
        let person = self.pick_person(org);
        self.meet(org, person, at, Who::Member(rep));
        let latent = self.latent(NEW_BUSINESS);
        let source = *random::pick(
            &mut self.rng,
            &["Customer referral", "Personal network", "Inbound call"],
        );
        let deal = self.script.deal(DealPlan {
            pipeline: NEW_BUSINESS,
            title: seats_title(&self.orgs[org].name, latent),
            owner: rep,
            org,
            person,
            value: latent,
            source: Some(source),
            campaign: None,
        });
        self.script.push(at, Who::Member(rep), Op::CreateDeal(deal));
        self.live(NEW_BUSINESS, deal, latent, at);
    }

    /// More business from a customer, opened by the rep who owns the account.
    fn expansion(&mut self, at: Ms) {
        let customers: Vec<usize> = (0..self.orgs.len())
            .filter(|o| self.orgs[*o].customer || self.customer_since[*o].is_some_and(|s| s < at))
            .collect();
        if customers.is_empty() {
            return;
        }
        let org = self.pick_org(&customers);
        let person = self.pick_person(org);
        let owner = self.orgs[org].owner;
        self.meet(org, person, at, Who::Member(owner));
        let latent = self.latent(EXPANSION);
        let what = *random::pick(
            &mut self.rng,
            &[
                "upgrade to Enterprise",
                "more seats",
                "second team",
                "renewal with uplift",
                "forecasting add-on",
            ],
        );
        let date = date_of(at);
        let campaign = (date.month() % 3 == 0 && random::chance(&mut self.rng, 0.4)).then(|| {
            format!(
                "Renewal drive Q{} {}",
                (date.month() - 1) / 3 + 1,
                date.year()
            )
        });
        let deal = self.script.deal(DealPlan {
            pipeline: EXPANSION,
            title: format!("{} – {what}", self.orgs[org].name),
            owner,
            org,
            person,
            value: latent,
            source: Some("Existing customer"),
            campaign,
        });
        self.script
            .push(at, Who::Member(owner), Op::CreateDeal(deal));
        self.live(EXPANSION, deal, latent, at);
    }

    fn live(&mut self, pipeline: usize, deal: usize, latent: i64, created: Ms) {
        let plan = &self.script.deals[deal];
        let start = Start {
            deal,
            owner: plan.owner,
            person: plan.person,
            org_name: self.orgs[plan.org].name.clone(),
            value: plan.value,
            latent,
            created,
        };
        let org = plan.org;
        let life = Life::new(&PIPELINES[pipeline], start, self.end, &mut self.rng);
        if let Outcome::Won(at) = life.run(&mut self.rng, &mut self.script) {
            let since = &mut self.customer_since[org];
            *since = Some(since.map_or(at, |s| s.min(at)));
        }
    }
}

fn seats_title(org: &str, value: i64) -> String {
    // List price is about 600 a seat a year.
    format!("{org} – {} seats", (value / 600).max(3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Step;

    fn options(seed: u64) -> DemoOptions {
        DemoOptions {
            seed,
            end: "2026-11-20T12:00:00Z".parse().unwrap(),
            months: 18,
            scale: 1.0,
        }
    }

    fn count(steps: &[Step], f: impl Fn(&Op) -> bool) -> usize {
        steps.iter().filter(|s| f(&s.op)).count()
    }

    #[test]
    fn a_full_plan_has_the_asked_size_and_stays_in_its_window() {
        let plan = build(&options(1)).unwrap();
        let steps = &plan.script.steps;
        let deals = count(steps, |op| {
            matches!(op, Op::QualifyLead { .. } | Op::CreateDeal(_))
        });
        assert!((2_700..3_300).contains(&deals), "{deals} deals");
        let leads = count(steps, |op| matches!(op, Op::CreateLead(_)));
        assert!(leads > deals, "{leads} leads");
        assert!(steps.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(steps.iter().all(|s| s.at < plan.end));
        assert!(
            steps
                .iter()
                .filter(|s| s.at < plan.start)
                .all(|s| matches!(s.op, Op::CreateOrganization(_) | Op::CreatePerson(_))),
            "only the address book predates the history"
        );
    }

    #[test]
    fn plans_repeat_per_seed() {
        let a = build(&options(7)).unwrap().script.steps;
        let b = build(&options(7)).unwrap().script.steps;
        let c = build(&options(8)).unwrap().script.steps;
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
