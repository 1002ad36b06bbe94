//! What every report is asked — the period, the filters, the cut, the grain, the simulation
//! settings — resolved one way for the JSON API and the report pages, so that a figure on a
//! page and the same figure from the API rest on the same days and the same deals.
//!
//! Each function answers with [`Invalid`] naming the offending field; the API turns that into
//! a problem document, the pages into an inline message beside the field (and then show the
//! report with the default instead).

use jiff::civil::Date;
use throughline_core::analytics::engine::Simulation;
use throughline_core::analytics::period::{Grain, Period, PeriodArgs};
use throughline_core::{Invalid, TeamId, UserId};
use throughline_store::reports::{Grouping, ReportFilter};
use throughline_store::{Ctx, StoreError, Tx, settings};

/// The reports that cover a period, for their default one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodReport {
    Funnel,
    Cycle,
    Velocity,
    Flow(Grain),
    Sources,
}

impl PeriodReport {
    /// The period a report covers when none is asked for, as a `last` length: long enough to
    /// hold the figures the report rests on (a velocity needs closes; a weekly flow half a
    /// year of weeks to see its variation; a monthly one a year).
    pub fn default_last(self) -> &'static str {
        match self {
            PeriodReport::Funnel | PeriodReport::Cycle | PeriodReport::Sources => "90d",
            PeriodReport::Velocity => "180d",
            PeriodReport::Flow(Grain::Week) => "26w",
            PeriodReport::Flow(_) => "365d",
        }
    }
}

/// Grains the flow report draws, and its default.
pub const FLOW_GRAINS: [Grain; 2] = [Grain::Week, Grain::Month];
/// Grains the forecast buckets by, and its default.
pub const FORECAST_GRAINS: [Grain; 2] = [Grain::Month, Grain::Quarter];

/// Trimmed text, `None` when blank: an empty form field means "not given".
pub fn text(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Today in the team's time zone: the day every "last 90 days" ends on.
pub async fn today(tx: &mut Tx, ctx: &Ctx) -> Result<Date, StoreError> {
    let tz = settings::time_zone(tx).await?;
    Ok(ctx.at.to_zoned_datetime(tz).date())
}

/// The period chosen by `args`, or the report's default period ending today.
pub fn period(args: &PeriodArgs, today: Date, report: PeriodReport) -> Result<Period, Invalid> {
    match args.resolve(today)? {
        Some(p) => Ok(p),
        None => default_period(today, report),
    }
}

/// The report's default period ending today.
pub fn default_period(today: Date, report: PeriodReport) -> Result<Period, Invalid> {
    let args = PeriodArgs {
        last: Some(report.default_last().into()),
        ..Default::default()
    };
    args.resolve(today)?
        .ok_or_else(|| Invalid::field("last", "has no default"))
}

/// The filters, from already-parsed ids and free text.
pub fn filter(
    owner: Option<UserId>,
    team: Option<TeamId>,
    source: Option<&str>,
    campaign: Option<&str>,
) -> ReportFilter {
    ReportFilter {
        owner_id: owner,
        team_id: team,
        source: text(source).map(String::from),
        campaign: text(campaign).map(String::from),
    }
}

/// `group_by`: owner, team, source, campaign or month; blank for none.
pub fn grouping(value: Option<&str>) -> Result<Option<Grouping>, Invalid> {
    match text(value) {
        None => Ok(None),
        Some(g) => g
            .parse()
            .map(Some)
            .map_err(|m: String| Invalid::field("group_by", m)),
    }
}

/// `grain`, one of `allowed` (blank for `default`).
pub fn grain(value: Option<&str>, default: Grain, allowed: &[Grain]) -> Result<Grain, Invalid> {
    let grain = match text(value) {
        None => default,
        Some(g) => g.parse::<Grain>()?,
    };
    if !allowed.contains(&grain) {
        let names: Vec<String> = allowed.iter().map(|g| g.to_string()).collect();
        return Err(Invalid::field(
            "grain",
            format!("use {}", names.join(" or ")),
        ));
    }
    Ok(grain)
}

/// Weeks a flow projects ahead: 12 unless asked, at most a year.
pub fn flow_weeks(weeks: Option<u32>) -> Result<u32, Invalid> {
    let weeks = weeks.unwrap_or(12);
    if !(1..=52).contains(&weeks) {
        return Err(Invalid::field("weeks", "must be between 1 and 52"));
    }
    Ok(weeks)
}

/// Months or quarters a forecast covers, from the current one: 3 months or 4 quarters unless
/// asked.
pub fn forecast_periods(periods: Option<usize>, grain: Grain) -> Result<usize, Invalid> {
    let periods = periods.unwrap_or(if grain == Grain::Month { 3 } else { 4 });
    if !(1..=24).contains(&periods) {
        return Err(Invalid::field("periods", "must be between 1 and 24"));
    }
    Ok(periods)
}

/// The Monte Carlo settings: the defaults, with `seed` and `runs` where given.
pub fn simulation(seed: Option<u64>, runs: Option<u32>) -> Result<Simulation, Invalid> {
    let mut sim = Simulation::default();
    if let Some(seed) = seed {
        sim.seed = seed;
    }
    if let Some(runs) = runs {
        if !(100..=100_000).contains(&runs) {
            return Err(Invalid::field("runs", "must be between 100 and 100000"));
        }
        sim.runs = runs;
    }
    Ok(sim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn defaults_end_today_and_keep_their_length() {
        let today = date(2026, 11, 27);
        let p = default_period(today, PeriodReport::Funnel).unwrap();
        assert_eq!((p.from, p.to, p.days()), (date(2026, 8, 30), today, 90));
        // Half a year of whole weeks for a weekly flow, a year of days for a monthly one.
        assert_eq!(
            default_period(today, PeriodReport::Flow(Grain::Week))
                .unwrap()
                .days(),
            182
        );
        assert_eq!(
            default_period(today, PeriodReport::Flow(Grain::Month))
                .unwrap()
                .days(),
            365
        );
    }

    #[test]
    fn bad_values_name_their_field() {
        let args = PeriodArgs {
            from: Some("2026-13-45".into()),
            ..Default::default()
        };
        let err = period(&args, date(2026, 11, 27), PeriodReport::Funnel).unwrap_err();
        assert_eq!(err.errors[0].field, "from");
        assert_eq!(
            grouping(Some("colour")).unwrap_err().errors[0].field,
            "group_by"
        );
        assert_eq!(grouping(Some(" ")).unwrap(), None);
        assert_eq!(
            grain(Some("quarter"), Grain::Week, &FLOW_GRAINS)
                .unwrap_err()
                .errors[0]
                .field,
            "grain"
        );
        assert_eq!(
            grain(None, Grain::Month, &FORECAST_GRAINS).unwrap(),
            Grain::Month
        );
        assert!(flow_weeks(Some(53)).is_err());
        assert_eq!(forecast_periods(None, Grain::Quarter).unwrap(), 4);
        assert!(simulation(None, Some(5)).is_err());
    }
}
