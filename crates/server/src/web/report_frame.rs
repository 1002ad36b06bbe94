//! What every report page shares: the sub-navigation, one filter bar (pipeline, period, owner,
//! team, source, campaign, and the report's own cut or grain) read from the URL and written
//! back into every link, and the words that say what each figure covers ("last 90 days,
//! Team North").
//!
//! Bad input never stops a page: each value that cannot be used is named beside its field
//! and the report is drawn with the default instead. The parsing rules themselves are the
//! API's ([`crate::report_params`]).

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use throughline_core::analytics::period::{Bucket, Grain, Period, PeriodArgs, bucket_of};
use throughline_core::pipeline::Pipeline;
use throughline_core::{Currency, FieldError, Invalid, TeamId, UserId};
use throughline_store::reports::{self, Grouping, ReportFilter};
use throughline_store::{Tx, pipelines, users};

use super::error::PageError;
use super::session::PageUser;
use crate::report_params::{self as params, FLOW_GRAINS, FORECAST_GRAINS, PeriodReport};

/// The report pages, in the order of the sub-navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Snapshot,
    Funnel,
    Flow,
    Forecast,
    Attention,
    Sources,
    Cycle,
    Velocity,
}

impl Page {
    pub const ALL: [Page; 8] = [
        Page::Snapshot,
        Page::Funnel,
        Page::Flow,
        Page::Forecast,
        Page::Attention,
        Page::Sources,
        Page::Cycle,
        Page::Velocity,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Page::Snapshot => "/reports/snapshot",
            Page::Funnel => "/reports/funnel",
            Page::Flow => "/reports/flow",
            Page::Forecast => "/reports/forecast",
            Page::Attention => "/reports/attention",
            Page::Sources => "/reports/sources",
            Page::Cycle => "/reports/cycle",
            Page::Velocity => "/reports/velocity",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Page::Snapshot => "Snapshot",
            Page::Funnel => "Funnel",
            Page::Flow => "Flow & projection",
            Page::Forecast => "Forecast",
            Page::Attention => "Attention",
            Page::Sources => "Sources",
            Page::Cycle => "Cycle time",
            Page::Velocity => "Velocity",
        }
    }

    /// The period the page covers by default; `None` for pages about now (or the snapshot,
    /// which has its own instants).
    fn period_report(self, grain: Option<Grain>) -> Option<PeriodReport> {
        match self {
            Page::Funnel => Some(PeriodReport::Funnel),
            Page::Flow => Some(PeriodReport::Flow(grain.unwrap_or(Grain::Week))),
            Page::Sources => Some(PeriodReport::Sources),
            Page::Cycle => Some(PeriodReport::Cycle),
            Page::Velocity => Some(PeriodReport::Velocity),
            Page::Snapshot | Page::Forecast | Page::Attention => None,
        }
    }

    /// Whether the report can be cut by lead source and campaign. Closed deals are counted
    /// from tables without their origin, so velocity and forecast cannot.
    fn takes_origin(self) -> bool {
        matches!(
            self,
            Page::Funnel | Page::Flow | Page::Attention | Page::Sources | Page::Cycle
        )
    }

    fn takes_people(self) -> bool {
        self != Page::Snapshot
    }
}

/// A choice in a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices<'a>(
    options: impl IntoIterator<Item = (&'a str, &'a str)>,
    current: &str,
) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            value: value.into(),
            label: label.into(),
            selected: value == current,
        })
        .collect()
}

pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// The filter bar's state, as the form shows it.
pub struct FilterBar {
    pub action: &'static str,
    pub pipeline_id: String,
    pub has_period: bool,
    pub periods: Vec<Choice>,
    pub from: String,
    pub to: String,
    pub owners: Vec<Choice>,
    pub teams: Vec<Choice>,
    pub source: String,
    pub campaign: String,
    pub sources: Vec<String>,
    pub campaigns: Vec<String>,
    /// Funnel only: how to cut it.
    pub groupings: Vec<Choice>,
    /// Flow and forecast: weeks, months or quarters.
    pub grains: Vec<Choice>,
    /// Whether the report takes the source and campaign filters.
    pub origin: bool,
    /// Filters carried for other pages when this one does not take them.
    pub carried: Vec<(String, String)>,
}

/// The quick period choices: `last` lengths and calendar periods relative to today.
const PERIODS: [(&str, &str); 10] = [
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("180d", "Last 180 days"),
    ("26w", "Last 26 weeks"),
    ("365d", "Last 365 days"),
    ("this-quarter", "This quarter"),
    ("last-quarter", "Last quarter"),
    ("this-year", "This year"),
    ("last-year", "Last year"),
    ("custom", "Custom dates"),
];

const GROUPINGS: [(&str, &str); 6] = [
    ("", "No grouping"),
    ("owner", "Owner"),
    ("team", "Team"),
    ("source", "Source"),
    ("campaign", "Campaign"),
    ("month", "Month"),
];

/// Everything a report template needs besides its figures; templates know it as `r`.
pub struct ReportView {
    pub page: Page,
    pub tabs: Vec<Tab>,
    pub bar: FilterBar,
    pub errors: Vec<FieldError>,
    pub notes: Vec<String>,
    pub pipeline_id: String,
    pub pipeline_name: String,
    /// "last 90 days", "Q3 2026 to date".
    pub period_label: String,
    /// "Aug 30 – Nov 27, 2026".
    pub period_dates: String,
    /// "all owners", "Team North, source Web form".
    pub who_label: String,
    /// Cut to some owners, a team or a source (not only to what the user may see).
    filtered: bool,
    query: Vec<(String, String)>,
    /// For links to the deals behind a figure.
    period: Option<Period>,
    owner_id: Option<throughline_core::UserId>,
}

impl ReportView {
    /// The message for a filter field, to show beside it.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// Errors about things the bar has no field for (an unknown pipeline, …).
    pub fn loose_errors(&self) -> Vec<&FieldError> {
        const IN_BAR: [&str; 9] = [
            "period", "from", "to", "owner", "team", "source", "campaign", "group_by", "grain",
        ];
        self.errors
            .iter()
            .filter(|e| !IN_BAR.contains(&e.field.as_str()))
            .collect()
    }

    /// What a figure covers: "last 90 days, all owners".
    pub fn scope(&self) -> String {
        if self.period_label.is_empty() {
            self.who_label.clone()
        } else {
            format!("{}, {}", self.period_label, self.who_label)
        }
    }

    /// This page with the current filters plus `extra`.
    pub fn link_with(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
        pairs.extend(extra.iter().filter(|(_, v)| !v.is_empty()));
        format!("{}?{}", self.page.path(), encode(&pairs))
    }

    /// The deals list for this pipeline, narrowed by stage and status.
    pub fn deals_link(&self, stage: Option<&str>, status: Option<&str>) -> String {
        let mut pairs = vec![("pipeline", self.pipeline_id.as_str())];
        if let Some(s) = stage {
            pairs.push(("stage", s));
        }
        if let Some(s) = status {
            pairs.push(("status", s));
        }
        format!("/deals?{}", encode(&pairs))
    }

    /// The deals closed (won or lost) in this report's period, for the owner it is filtered to.
    pub fn closed_link(&self, status: &str) -> String {
        let mut pairs = vec![("pipeline", self.pipeline_id.as_str()), ("status", status)];
        let (from, to) = match self.period {
            Some(p) => (p.from.to_string(), p.to.to_string()),
            None => (String::new(), String::new()),
        };
        if !from.is_empty() {
            pairs.push(("closed_from", from.as_str()));
            pairs.push(("closed_to", to.as_str()));
        }
        let owner = self.owner_id.map(|o| o.to_string()).unwrap_or_default();
        if !owner.is_empty() {
            pairs.push(("owner", owner.as_str()));
        }
        format!("/deals?{}", encode(&pairs))
    }

    /// Whether the figures are cut to some people or sources: then the deals list, which
    /// has no such filters, would show more than the figure counts.
    pub fn filtered(&self) -> bool {
        self.filtered
    }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// The resolved request of a report page.
pub struct Resolved {
    pub view: ReportView,
    pub pipeline: Pipeline,
    pub currency: Currency,
    /// `None` for pages that take no period.
    pub period: Option<Period>,
    pub filter: ReportFilter,
    pub grouping: Option<Grouping>,
    pub grain: Option<Grain>,
    pub user_names: HashMap<UserId, String>,
}

/// The query string as pairs; a repeated key keeps its last value, as a form resubmitted
/// with a changed field would mean.
pub fn query_map(raw: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn short_date(d: Date) -> String {
    d.strftime("%b %-d, %Y").to_string()
}

/// "Aug 30 – Nov 27, 2026" or "Dec 1, 2025 – Jan 31, 2026".
pub fn date_range(p: Period) -> String {
    if p.from == p.to {
        short_date(p.from)
    } else if p.from.year() == p.to.year() {
        format!("{} – {}", p.from.strftime("%b %-d"), short_date(p.to))
    } else {
        format!("{} – {}", short_date(p.from), short_date(p.to))
    }
}

/// How people name a period: a quick choice's words, a calendar year, quarter or month ("to
/// date" when it is still running and the page stops at today), or else its dates.
pub fn describe(p: Period, choice: &str, clamped: bool) -> String {
    if let Some((_, label)) = PERIODS
        .iter()
        .find(|(v, _)| *v == choice && v.ends_with(['d', 'w']))
    {
        return label.to_lowercase();
    }
    let to_date = if clamped { " to date" } else { "" };
    let covers = |b: Bucket| p.from == b.start && (p.to == b.end || clamped && p.to < b.end);
    let quarter = bucket_of(p.from, Grain::Quarter);
    let month = bucket_of(p.from, Grain::Month);
    let year = p.from.month() == 1
        && p.from.day() == 1
        && (p.to == p.from.last_of_year() || clamped && p.to.year() == p.from.year());
    let year_text = || format!("{}{to_date}", p.from.year());
    let quarter_text = || {
        let n = (quarter.start.month() - 1) / 3 + 1;
        format!("Q{n} {}{to_date}", quarter.start.year())
    };
    let month_text = || format!("{}{to_date}", p.from.strftime("%B %Y"));
    // A quick choice says which calendar period was meant (1–15 January is this year, this
    // quarter and this month at once).
    match choice {
        "this-year" | "last-year" if year => return year_text(),
        "this-quarter" | "last-quarter" if covers(quarter) => return quarter_text(),
        _ => {}
    }
    // Otherwise the smallest calendar period that the dates fill.
    if covers(month) {
        month_text()
    } else if covers(quarter) {
        quarter_text()
    } else if year {
        year_text()
    } else {
        date_range(p)
    }
}

/// The period of a quick choice, given today.
fn quick_period(choice: &str, today: Date) -> Result<Option<PeriodArgs>, Invalid> {
    let quarter = |d: Date| bucket_of(d, Grain::Quarter).key();
    let args = match choice {
        "30d" | "90d" | "180d" | "26w" | "365d" => PeriodArgs {
            last: Some(choice.into()),
            ..Default::default()
        },
        "this-quarter" => PeriodArgs {
            quarter: Some(quarter(today)),
            ..Default::default()
        },
        "last-quarter" => {
            let start = bucket_of(today, Grain::Quarter).start;
            let before = start
                .yesterday()
                .map_err(|e| Invalid::field("period", e.to_string()))?;
            PeriodArgs {
                quarter: Some(quarter(before)),
                ..Default::default()
            }
        }
        "this-year" => PeriodArgs {
            year: Some(format!("{:04}", today.year())),
            ..Default::default()
        },
        "last-year" => PeriodArgs {
            year: Some(format!("{:04}", today.year() - 1)),
            ..Default::default()
        },
        "custom" => return Ok(None),
        other => {
            return Err(Invalid::field(
                "period",
                format!("“{other}” is not a period this page knows"),
            ));
        }
    };
    Ok(Some(args))
}

/// The quick choice a period is, if any: so that a hand-made `?last=90d` or the report's
/// default shows as "Last 90 days" in the bar; else "custom" with its dates.
fn name_period(
    p: Period,
    today: Date,
    q: &BTreeMap<String, String>,
    report: PeriodReport,
) -> String {
    let asked = ["from", "to", "last", "quarter", "month", "year"]
        .iter()
        .any(|k| params::text(q.get(*k).map(String::as_str)).is_some());
    if !asked {
        return report.default_last().to_string();
    }
    PERIODS
        .iter()
        .map(|(v, _)| *v)
        .find(|v| {
            quick_period(v, today)
                .ok()
                .flatten()
                .and_then(|a| a.resolve(today).ok().flatten())
                .is_some_and(|qp| qp.from == p.from && qp.to.min(today) == p.to)
        })
        .unwrap_or("custom")
        .to_string()
}

/// Resolve a report page's request. `Ok(None)` when there is no pipeline at all.
pub async fn resolve(
    tx: &mut Tx,
    user: &PageUser,
    page: Page,
    raw: Option<&str>,
) -> Result<Option<Resolved>, PageError> {
    let ctx = user.ctx();
    let q = query_map(raw);
    let get = |k: &str| params::text(q.get(k).map(String::as_str));
    let mut invalid = Invalid::new();
    let mut notes = vec![];

    // Pipeline: the one asked for, else the first active one.
    let all = pipelines::list(tx, false).await?;
    let asked = match get("pipeline") {
        None => None,
        Some(key) => match pipelines::find(tx, key).await? {
            Some(p) => Some(p),
            None => {
                invalid.push(
                    "pipeline",
                    format!("There is no pipeline “{key}”; showing the first one instead."),
                );
                None
            }
        },
    };
    let Some(pipeline) = asked.or_else(|| all.first().cloned()) else {
        return Ok(None);
    };
    let today = params::today(tx, &ctx).await?;

    // The report's own cut or grain, before the period: a monthly flow covers a year.
    let grain = match page {
        Page::Flow | Page::Forecast => {
            let allowed: &[Grain] = if page == Page::Flow {
                &FLOW_GRAINS
            } else {
                &FORECAST_GRAINS
            };
            Some(
                params::grain(get("grain"), allowed[0], allowed).unwrap_or_else(|e| {
                    invalid.extend_prefixed("", e);
                    allowed[0]
                }),
            )
        }
        _ => None,
    };
    let grouping = if page == Page::Funnel {
        params::grouping(get("group_by")).unwrap_or_else(|e| {
            invalid.extend_prefixed("", e);
            None
        })
    } else {
        None
    };

    // Period: a quick choice, or dates (and the API's ways, for hand-made links).
    let mut choice = get("period").unwrap_or("").to_string();
    let args = if choice.is_empty() || choice == "custom" {
        Ok(Some(PeriodArgs {
            from: get("from").map(String::from),
            to: get("to").map(String::from),
            last: get("last").map(String::from),
            quarter: get("quarter").map(String::from),
            month: get("month").map(String::from),
            year: get("year").map(String::from),
        }))
    } else {
        quick_period(&choice, today)
    };
    let report = page.period_report(grain);
    let mut clamped = false;
    let period = match report {
        None => None,
        Some(report) => {
            let resolved = args.and_then(|a| params::period(&a.unwrap_or_default(), today, report));
            let mut p = match resolved {
                Ok(p) => p,
                Err(e) => {
                    invalid.extend_prefixed("", e);
                    choice = String::new();
                    params::default_period(today, report)
                        .map_err(|e| PageError::bad_request(e.summary()))?
                }
            };
            if p.from > today {
                invalid.push(
                    "from",
                    "The period starts after today; there is nothing to show yet.",
                );
                choice = String::new();
                p = params::default_period(today, report)
                    .map_err(|e| PageError::bad_request(e.summary()))?;
            }
            // Days after today hold nothing yet; a flow would draw them as empty weeks, so
            // the pages stop at today and say "to date".
            if p.to > today {
                p.to = today;
                clamped = true;
            }
            if choice.is_empty() {
                choice = name_period(p, today, &q, report);
            }
            Some(p)
        }
    };

    // People and origin.
    let names = users::list(tx).await?;
    let teams = users::list_teams(tx).await?;
    let owner = get("owner").and_then(|o| match o.parse::<UserId>() {
        Ok(id) if names.iter().any(|u| u.id == id) => Some(id),
        _ => {
            invalid.push(
                "owner",
                "That owner is not a user here; showing all owners.",
            );
            None
        }
    });
    let team = get("team").and_then(|t| match t.parse::<TeamId>() {
        Ok(id) if teams.iter().any(|x| x.id == id) => Some(id),
        _ => {
            invalid.push("team", "That team does not exist; showing all teams.");
            None
        }
    });
    let source = get("source").map(String::from);
    let campaign = get("campaign").map(String::from);
    let takes_origin = page.takes_origin();
    if !takes_origin && page.takes_people() && (source.is_some() || campaign.is_some()) {
        notes.push(format!(
            "{} counts closed deals, which are not recorded by lead source: the source and campaign filters do not apply here.",
            page.label()
        ));
    }
    let filter = if page.takes_people() {
        params::filter(
            owner,
            team,
            source.as_deref().filter(|_| takes_origin),
            campaign.as_deref().filter(|_| takes_origin),
        )
    } else {
        ReportFilter::default()
    };

    let user_names: HashMap<UserId, String> =
        names.iter().map(|u| (u.id, u.name.clone())).collect();
    let mut who = vec![];
    if let Some(id) = filter.owner_id {
        who.push(user_names.get(&id).cloned().unwrap_or_default());
    }
    if let Some(id) = filter.team_id {
        let name = teams
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        who.push(if name.to_lowercase().starts_with("team") {
            name
        } else {
            format!("Team {name}")
        });
    }
    if let Some(s) = &filter.source {
        who.push(format!("source {s}"));
    }
    if let Some(c) = &filter.campaign {
        who.push(format!("campaign {c}"));
    }
    // Unfiltered figures are everything the user may see: say which.
    let filtered = !who.is_empty();
    let who_label = if filtered {
        who.join(", ")
    } else {
        match user.user.role {
            throughline_core::Role::Admin => "all owners",
            throughline_core::Role::Manager => "your teams and you",
            throughline_core::Role::Rep => "your deals",
        }
        .to_string()
    };

    // The canonical query: what every link and the form carry.
    let mut query: Vec<(String, String)> = vec![("pipeline".into(), pipeline.id.to_string())];
    let period_pairs: Vec<(String, String)> = match (&period, choice.as_str()) {
        (Some(p), "custom") => vec![
            ("period".into(), "custom".into()),
            ("from".into(), p.from.to_string()),
            ("to".into(), p.to.to_string()),
        ],
        (Some(_), c) => vec![("period".into(), c.to_string())],
        // A page without a period keeps the one chosen elsewhere, for the way back.
        (None, _) => ["period", "from", "to"]
            .iter()
            .filter_map(|k| get(k).map(|v| (k.to_string(), v.to_string())))
            .collect(),
    };
    query.extend(period_pairs.iter().cloned());
    for (k, v) in [
        ("owner", owner.map(|o| o.to_string())),
        ("team", team.map(|t| t.to_string())),
        ("source", source.clone()),
        ("campaign", campaign.clone()),
    ] {
        if let Some(v) = v {
            query.push((k.into(), v));
        }
    }
    let tabs = Page::ALL
        .iter()
        .map(|p| Tab {
            href: format!(
                "{}?{}",
                p.path(),
                encode(
                    &query
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect::<Vec<_>>()
                )
            ),
            label: p.label(),
            current: *p == page,
        })
        .collect();
    let mut own = query.clone();
    if let Some(g) = grouping {
        own.push(("group_by".into(), grouping_key(g).into()));
    }
    // The default grain stays out of links, so plain links stay plain.
    if let Some(g) = grain.filter(|g| *g != FLOW_GRAINS[0] && *g != FORECAST_GRAINS[0]) {
        own.push(("grain".into(), g.to_string()));
    }

    // Suggestions for the source and campaign fields: what this pipeline has seen in a year.
    let (mut sources, mut campaigns) = (vec![], vec![]);
    if takes_origin {
        let year_ago = today
            .checked_sub(jiff::Span::new().days(365))
            .unwrap_or(today);
        let seen = reports::sources(
            tx,
            &ctx,
            Some(pipeline.id),
            year_ago,
            today,
            &ReportFilter::default(),
        )
        .await?;
        sources = seen
            .sources
            .iter()
            .map(|s| s.source.clone())
            .filter(|s| !s.is_empty())
            .collect();
        campaigns = seen
            .campaigns
            .iter()
            .map(|s| s.campaign.clone())
            .filter(|s| !s.is_empty())
            .collect();
        sources.sort();
        sources.dedup();
        campaigns.sort();
        campaigns.dedup();
    }

    let mut owners_sorted: Vec<_> = names
        .iter()
        .filter(|u| u.active || Some(u.id) == owner)
        .collect();
    owners_sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let owner_value = owner.map(|o| o.to_string()).unwrap_or_default();
    let team_value = team.map(|t| t.to_string()).unwrap_or_default();
    let mut owner_choices = vec![Choice {
        value: String::new(),
        label: "All owners".into(),
        selected: owner.is_none(),
    }];
    owner_choices.extend(owners_sorted.iter().map(|u| Choice {
        value: u.id.to_string(),
        label: u.name.clone(),
        selected: u.id.to_string() == owner_value,
    }));
    let mut team_choices = vec![Choice {
        value: String::new(),
        label: "All teams".into(),
        selected: team.is_none(),
    }];
    team_choices.extend(teams.iter().map(|t| Choice {
        value: t.id.to_string(),
        label: t.name.clone(),
        selected: t.id.to_string() == team_value,
    }));
    let grain_options: Vec<(&str, &str)> = match page {
        Page::Flow => vec![("week", "Weekly"), ("month", "Monthly")],
        Page::Forecast => vec![("month", "Monthly"), ("quarter", "Quarterly")],
        _ => vec![],
    };
    let grain_value = grain.map(|g| g.to_string()).unwrap_or_default();
    // What the form carries without showing: the filters this page does not take, so that
    // they survive a round trip through it.
    let carried: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| match k.as_str() {
            "pipeline" => false,
            "period" | "from" | "to" => period.is_none(),
            "owner" | "team" => !page.takes_people(),
            "source" | "campaign" => !takes_origin,
            _ => false,
        })
        .cloned()
        .collect();
    let bar = FilterBar {
        action: page.path(),
        pipeline_id: pipeline.id.to_string(),
        has_period: period.is_some(),
        periods: choices(PERIODS, &choice),
        from: period.map(|p| p.from.to_string()).unwrap_or_default(),
        to: period.map(|p| p.to.to_string()).unwrap_or_default(),
        owners: owner_choices,
        teams: team_choices,
        source: source.unwrap_or_default(),
        campaign: campaign.unwrap_or_default(),
        sources,
        campaigns,
        groupings: if page == Page::Funnel {
            choices(GROUPINGS, grouping.map(grouping_key).unwrap_or(""))
        } else {
            vec![]
        },
        grains: choices(grain_options, &grain_value),
        origin: takes_origin,
        carried,
    };
    let currency = pipeline.currency;
    Ok(Some(Resolved {
        view: ReportView {
            page,
            tabs,
            bar,
            errors: invalid.errors.into_iter().map(readable).collect(),
            notes,
            pipeline_id: pipeline.id.to_string(),
            pipeline_name: pipeline.name.clone(),
            period_label: period
                .map(|p| describe(p, &choice, clamped))
                .unwrap_or_default(),
            period_dates: period.map(date_range).unwrap_or_default(),
            who_label,
            filtered,
            query: own,
            period,
            owner_id: filter.owner_id,
        },
        pipeline,
        currency,
        period,
        filter,
        grouping,
        grain,
        user_names,
    }))
}

/// A message as a sentence: capitalised, with quotes instead of code ticks.
fn readable(mut e: FieldError) -> FieldError {
    let mut text = e.message.replacen('`', "“", 1).replacen('`', "”", 1);
    if let Some(first) = text.chars().next() {
        text = first.to_uppercase().chain(text.chars().skip(1)).collect();
    }
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    e.message = text;
    e
}

pub fn grouping_key(g: Grouping) -> &'static str {
    match g {
        Grouping::Owner => "owner",
        Grouping::Team => "team",
        Grouping::Source => "source",
        Grouping::Campaign => "campaign",
        Grouping::Month => "month",
    }
}

/// `42%`, or a dash when there is nothing to divide by.
pub fn pct(r: Option<f64>) -> String {
    match r {
        Some(r) if r.is_finite() => {
            let p = r * 100.0;
            if p > 0.0 && p < 1.0 {
                format!("{p:.1}%")
            } else {
                format!("{p:.0}%")
            }
        }
        _ => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn p(a: Date, b: Date) -> Period {
        Period::new(a, b).unwrap()
    }

    #[test]
    fn periods_read_like_people_say_them() {
        let q3 = p(date(2026, 7, 1), date(2026, 9, 30));
        assert_eq!(describe(q3, "custom", false), "Q3 2026");
        assert_eq!(
            describe(
                p(date(2026, 10, 1), date(2026, 11, 27)),
                "this-quarter",
                true
            ),
            "Q4 2026 to date"
        );
        assert_eq!(
            describe(p(date(2026, 1, 1), date(2026, 11, 27)), "this-year", true),
            "2026 to date"
        );
        assert_eq!(
            describe(p(date(2025, 1, 1), date(2025, 12, 31)), "last-year", false),
            "2025"
        );
        assert_eq!(
            describe(p(date(2026, 7, 1), date(2026, 7, 31)), "custom", false),
            "July 2026"
        );
        assert_eq!(
            describe(p(date(2026, 8, 30), date(2026, 11, 27)), "90d", false),
            "last 90 days"
        );
        assert_eq!(
            describe(p(date(2025, 12, 3), date(2026, 1, 9)), "custom", false),
            "Dec 3, 2025 – Jan 9, 2026"
        );
        assert_eq!(
            date_range(p(date(2026, 8, 30), date(2026, 11, 27))),
            "Aug 30 – Nov 27, 2026"
        );
    }

    #[test]
    fn quick_choices_resolve_against_today() {
        let today = date(2026, 11, 27);
        let resolve = |c: &str| {
            quick_period(c, today)
                .unwrap()
                .unwrap()
                .resolve(today)
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            resolve("last-quarter"),
            p(date(2026, 7, 1), date(2026, 9, 30))
        );
        assert_eq!(resolve("30d"), p(date(2026, 10, 29), today));
        assert_eq!(resolve("this-year").from, date(2026, 1, 1));
        assert!(quick_period("fortnight", today).is_err());
        assert!(quick_period("custom", today).unwrap().is_none());
    }

    #[test]
    fn rates_show_a_dash_without_a_denominator() {
        assert_eq!(pct(None), "—");
        assert_eq!(pct(Some(0.6605)), "66%");
        assert_eq!(pct(Some(0.004)), "0.4%");
    }
}

/// One headline figure: its value, what it is, and what it covers.
pub struct Stat {
    pub label: String,
    pub value: String,
    /// The exact figure when `value` is rounded for space (`€ 2.65M`).
    pub exact: String,
    /// "last 90 days, all owners" — every figure states its period and filter.
    pub caption: String,
    /// The deals behind the number, where the deals list can show them.
    pub href: Option<String>,
    pub href_title: String,
    /// `good`, `bad` or empty: a tint for figures that read as a warning.
    pub tone: &'static str,
}

impl Stat {
    pub fn new(
        label: impl Into<String>,
        value: impl Into<String>,
        caption: impl Into<String>,
    ) -> Stat {
        Stat {
            label: label.into(),
            value: value.into(),
            exact: String::new(),
            caption: caption.into(),
            href: None,
            href_title: String::new(),
            tone: "",
        }
    }

    /// A money figure, short on the card and exact on hover.
    pub fn money(
        label: impl Into<String>,
        minor: i64,
        currency: Currency,
        caption: impl Into<String>,
    ) -> Stat {
        let mut s = Stat::new(label, super::format::money_short(minor, currency), caption);
        s.exact = super::format::money(minor, currency);
        s
    }

    pub fn tone(mut self, tone: &'static str) -> Stat {
        self.tone = tone;
        self
    }

    pub fn link(mut self, href: String, title: impl Into<String>) -> Stat {
        self.href = Some(href);
        self.href_title = title.into();
        self
    }
}

/// A row of headline figures.
#[derive(askama::Template)]
#[template(path = "report_stats.html")]
pub struct Stats {
    pub items: Vec<Stat>,
}
