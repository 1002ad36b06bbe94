//! Where leads come from: sources with their own volume, quality and speed, the campaigns
//! that feed them, and why the ones that are not worth a deal get disqualified.

use jiff::civil::Date;

use crate::random::{self, Rng};
use crate::team::{FIELD, INBOUND};

pub(crate) struct Source {
    pub name: &'static str,
    /// Share of the ordinary (non-campaign) leads.
    pub share: f64,
    /// Chance that a worked lead is qualified into a deal.
    pub qualify: f64,
    /// Created by an integration (web form, ad platform, badge scanner) rather than a rep.
    pub inbound: bool,
    /// The team that works these leads.
    pub team: usize,
    /// Chance that the lead arrives with an estimated value.
    pub estimate: f64,
    /// Median working days until someone qualifies or disqualifies it.
    pub decide_days: f64,
    pub disqualify: &'static [&'static str],
}

const JUNK: &[&str] = &[
    "Student or job seeker",
    "Spam",
    "Too small for us",
    "Outside our region",
    "Duplicate of an existing lead",
    "No budget",
];

const COLD: &[&str] = &[
    "Not interested",
    "No response after three attempts",
    "Happy with their current tool",
    "No budget",
];

pub(crate) static SOURCES: [Source; 7] = [
    Source {
        name: "Web form",
        share: 0.30,
        qualify: 0.50,
        inbound: true,
        team: INBOUND,
        estimate: 0.1,
        decide_days: 1.2,
        disqualify: JUNK,
    },
    Source {
        name: "Paid search",
        share: 0.20,
        qualify: 0.45,
        inbound: true,
        team: INBOUND,
        estimate: 0.05,
        decide_days: 1.5,
        disqualify: JUNK,
    },
    Source {
        name: "Paid social",
        share: 0.07,
        qualify: 0.35,
        inbound: true,
        team: INBOUND,
        estimate: 0.05,
        decide_days: 2.0,
        disqualify: JUNK,
    },
    Source {
        name: "Events",
        share: 0.10,
        qualify: 0.40,
        inbound: true,
        team: FIELD,
        estimate: 0.3,
        decide_days: 4.0,
        disqualify: COLD,
    },
    Source {
        name: "Outbound",
        share: 0.18,
        qualify: 0.55,
        inbound: false,
        team: FIELD,
        estimate: 0.5,
        decide_days: 5.0,
        disqualify: COLD,
    },
    Source {
        name: "Referral",
        share: 0.08,
        qualify: 0.75,
        inbound: false,
        team: FIELD,
        estimate: 0.6,
        decide_days: 2.0,
        disqualify: COLD,
    },
    Source {
        name: "Partner",
        share: 0.07,
        qualify: 0.65,
        inbound: true,
        team: FIELD,
        estimate: 0.7,
        decide_days: 3.0,
        disqualify: COLD,
    },
];

/// The campaign burst's leads: many, from one campaign, of lower quality than the average.
pub(crate) static WEBINAR: Source = Source {
    name: "Webinar",
    share: 0.0,
    qualify: 0.30,
    inbound: true,
    team: INBOUND,
    estimate: 0.0,
    decide_days: 2.5,
    disqualify: JUNK,
};

/// Share of leads that nobody ever works: they wait in the open list.
pub(crate) const NEVER_WORKED: f64 = 0.03;

/// The expected share of `source`'s leads that become deals (ignoring those still undecided
/// when the history ends).
pub(crate) fn yield_of(source: &Source) -> f64 {
    source.qualify * (1.0 - NEVER_WORKED)
}

/// Expected deals per ordinary lead, over the source mix.
pub(crate) fn ordinary_yield() -> f64 {
    let shares: f64 = SOURCES.iter().map(|s| s.share).sum();
    SOURCES.iter().map(|s| s.share * yield_of(s)).sum::<f64>() / shares
}

pub(crate) fn pick_source(rng: &mut Rng) -> &'static Source {
    let shares: Vec<f64> = SOURCES.iter().map(|s| s.share).collect();
    &SOURCES[random::weighted(rng, &shares)]
}

fn quarter(date: Date) -> i8 {
    (date.month() - 1) / 3 + 1
}

/// The campaign a lead of `source` arriving on `date` is attributed to, if any.
pub(crate) fn campaign(source: &Source, date: Date, rng: &mut Rng) -> Option<String> {
    let year = date.year();
    match source.name {
        "Web form" if random::chance(rng, 0.35) => Some("Newsletter".into()),
        "Paid search" if random::chance(rng, 0.6) => Some("Google Ads – brand".into()),
        "Paid search" => Some("Google Ads – competitors".into()),
        "Paid social" => Some("LinkedIn – sales leaders".into()),
        "Events" => Some(format!("Trade fairs {year}")),
        "Outbound" => Some(format!("Outbound Q{} {year}", quarter(date))),
        _ => None,
    }
}

/// The campaign burst's name, after the month it starts in.
pub(crate) fn webinar_campaign(start: Date) -> String {
    format!("Launch webinar {}", start.strftime("%B %Y"))
}

const INTERESTS: [&str; 8] = [
    "Pipeline visibility for the sales team",
    "Replacing spreadsheets",
    "Forecasting",
    "Pricing question",
    "Demo request",
    "Trial follow-up",
    "Moving off a legacy CRM",
    "Sales reporting",
];

pub(crate) fn lead_title(org: &str, source: &Source, rng: &mut Rng) -> String {
    let interest = if source.name == WEBINAR.name {
        "Webinar follow-up"
    } else {
        random::pick(rng, &INTERESTS)
    };
    format!("{org} – {interest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_yields_are_plausible() {
        let shares: f64 = SOURCES.iter().map(|s| s.share).sum();
        assert!((shares - 1.0).abs() < 1e-9);
        let y = ordinary_yield();
        assert!((0.4..0.6).contains(&y), "{y}");
        assert!(yield_of(&WEBINAR) < y, "campaign leads are weaker");
    }

    #[test]
    fn campaigns_are_named_by_period() {
        use rand::SeedableRng;
        let mut rng = Rng::seed_from_u64(1);
        let date: Date = "2026-05-04".parse().unwrap();
        let outbound = SOURCES.iter().find(|s| s.name == "Outbound").unwrap();
        assert_eq!(
            campaign(outbound, date, &mut rng).as_deref(),
            Some("Outbound Q2 2026")
        );
        assert_eq!(webinar_campaign(date), "Launch webinar May 2026");
    }
}
