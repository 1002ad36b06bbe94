//! Known exports, recognised from their headers: Pipedrive, HubSpot and Salesforce deal
//! exports, and Throughline's own exports (so an export imports back unchanged).

use super::Kind;
use super::mapping::{Mapping, Outcome, StageDate};
use super::read::Table;

/// The mapping of a known format, if the headers are one.
pub fn detect(kind: Kind, headers: &[String]) -> Option<Mapping> {
    let has = |h: &str| Table::column(headers, h).is_some();
    match kind {
        Kind::Deals if has("stage_history") && has("owner_email") && has("title") => {
            Some(native(kind, headers))
        }
        Kind::Deals if has("Deal - Title") || (has("Title") && has("Deal created")) => {
            Some(pipedrive(headers))
        }
        Kind::Deals if has("Record ID") && has("Deal Name") && has("Deal Stage") => {
            Some(hubspot(headers))
        }
        Kind::Deals if has("Opportunity Name") && has("Stage") => Some(salesforce(headers)),
        Kind::Leads | Kind::People | Kind::Organizations | Kind::Activities
            if has("id") && has("created_at") && (has("owner_email") || has("name")) =>
        {
            Some(native(kind, headers))
        }
        _ => None,
    }
}

/// The first of `candidates` the file has, as it is spelled there.
fn first(headers: &[String], candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find_map(|c| Table::column(headers, c).map(|i| headers[i].clone()))
}

fn map(m: &mut Mapping, headers: &[String], field: &str, candidates: &[&str]) {
    if let Some(column) = first(headers, candidates) {
        m.fields.insert(field.to_string(), column);
    }
}

fn outcomes(pairs: &[(&str, Outcome)]) -> std::collections::BTreeMap<String, Outcome> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Throughline's own export: the columns carry the field names.
fn native(kind: Kind, headers: &[String]) -> Mapping {
    let mut m = Mapping {
        format: Some("throughline".into()),
        external_prefix: Some("throughline".into()),
        ..Mapping::default()
    };
    for h in headers {
        let field = match h.as_str() {
            "id" => "external_id",
            "owner_email" => "owner",
            "deal_id" if matches!(kind, Kind::Leads | Kind::Activities) => "deal",
            "decided_at" if kind == Kind::Leads => "decided_at",
            "owner_name" | "deal_id" | "decided_at" | "deal_title" | "lead_id" => continue,
            "closed_at" | "cycle_started_at" | "stage_history" if kind != Kind::Deals => continue,
            other => other,
        };
        m.fields.insert(field.to_string(), h.clone());
    }
    m.status_map = outcomes(&[
        ("open", Outcome::Open),
        ("won", Outcome::Won),
        ("lost", Outcome::Lost),
    ]);
    m
}

/// Pipedrive's deal export: `Deal - Title` etc., or the same names without the prefix;
/// organisation and person columns prefixed (`Organization - Name`) or bare.
fn pipedrive(headers: &[String]) -> Mapping {
    let mut m = Mapping {
        format: Some("pipedrive".into()),
        external_prefix: Some("pipedrive".into()),
        ..Mapping::default()
    };
    let both = |name: &str| [format!("Deal - {name}"), name.to_string()];
    let fields: &[(&str, &[&str])] = &[
        ("external_id", &["ID"]),
        ("title", &["Title"]),
        ("value", &["Value"]),
        ("currency", &["Currency of value", "Currency"]),
        ("stage", &["Stage"]),
        ("status", &["Status"]),
        ("owner", &["Owner"]),
        ("pipeline", &["Pipeline"]),
        ("expected_close_date", &["Expected close date"]),
        ("created_at", &["Deal created"]),
        ("won_at", &["Won time"]),
        ("lost_at", &["Lost time"]),
        ("lost_reason", &["Lost reason"]),
        ("source", &["Source", "Source channel"]),
        ("campaign", &["Campaign"]),
    ];
    for (field, names) in fields {
        let candidates: Vec<String> = names.iter().flat_map(|n| both(n)).collect();
        let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
        map(&mut m, headers, field, &refs);
    }
    map(
        &mut m,
        headers,
        "organization",
        &["Deal - Organization", "Organization - Name", "Organization"],
    );
    map(
        &mut m,
        headers,
        "person",
        &[
            "Deal - Contact person",
            "Person - Name",
            "Contact person",
            "Person",
        ],
    );
    map(
        &mut m,
        headers,
        "person_email",
        &["Person - Email", "Email"],
    );
    m.status_map = outcomes(&[
        ("Open", Outcome::Open),
        ("Won", Outcome::Won),
        ("Lost", Outcome::Lost),
    ]);
    m
}

/// HubSpot's deal export, with the `Date entered "<Stage> (<Pipeline>)"` columns as the
/// stage history; their order is the stages' order.
fn hubspot(headers: &[String]) -> Mapping {
    let mut m = Mapping {
        format: Some("hubspot".into()),
        external_prefix: Some("hubspot".into()),
        ..Mapping::default()
    };
    map(&mut m, headers, "external_id", &["Record ID"]);
    map(&mut m, headers, "title", &["Deal Name"]);
    map(&mut m, headers, "stage", &["Deal Stage"]);
    map(&mut m, headers, "pipeline", &["Pipeline"]);
    map(&mut m, headers, "value", &["Amount"]);
    map(
        &mut m,
        headers,
        "currency",
        &["Currency", "Deal currency code"],
    );
    map(&mut m, headers, "closed_at", &["Close Date"]);
    map(&mut m, headers, "expected_close_date", &["Close Date"]);
    map(&mut m, headers, "created_at", &["Create Date"]);
    map(&mut m, headers, "owner", &["Deal owner", "Deal Owner"]);
    map(
        &mut m,
        headers,
        "organization",
        &[
            "Associated Company",
            "Associated Company (Primary)",
            "Company",
        ],
    );
    map(
        &mut m,
        headers,
        "person",
        &["Associated Contact", "Associated Contact (Primary)"],
    );
    map(&mut m, headers, "lost_reason", &["Closed Lost Reason"]);
    map(
        &mut m,
        headers,
        "source",
        &["Original Source Type", "Original Source"],
    );
    map(&mut m, headers, "campaign", &["Campaign"]);
    for h in headers {
        if let Some((stage, pipeline)) = hubspot_stage_column(h) {
            m.stage_dates.push(StageDate {
                stage,
                column: h.clone(),
                pipeline,
            });
        }
    }
    m.status_map = outcomes(&[("Closed Won", Outcome::Won), ("Closed Lost", Outcome::Lost)]);
    m
}

/// `Date entered "Qualified To Buy (Sales Pipeline)"` → ("Qualified To Buy", Some("Sales Pipeline")).
pub fn hubspot_stage_column(header: &str) -> Option<(String, Option<String>)> {
    let rest = header.trim().strip_prefix("Date entered")?.trim();
    let inner = rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
        .unwrap_or(rest)
        .trim();
    if inner.is_empty() {
        return None;
    }
    match inner.rfind(" (") {
        Some(open) if inner.ends_with(')') => Some((
            inner[..open].trim().to_string(),
            Some(inner[open + 2..inner.len() - 1].trim().to_string()),
        )),
        _ => Some((inner.to_string(), None)),
    }
}

/// Salesforce's opportunity report export. `Close Date` is the expected close date of open
/// opportunities and the close date of closed ones; `Probability (%)` orders the stages.
fn salesforce(headers: &[String]) -> Mapping {
    let mut m = Mapping {
        format: Some("salesforce".into()),
        external_prefix: Some("salesforce".into()),
        ..Mapping::default()
    };
    map(
        &mut m,
        headers,
        "external_id",
        &["Opportunity ID", "Opportunity Id", "Record ID"],
    );
    map(&mut m, headers, "title", &["Opportunity Name"]);
    map(&mut m, headers, "organization", &["Account Name"]);
    map(&mut m, headers, "stage", &["Stage"]);
    map(&mut m, headers, "value", &["Amount"]);
    map(
        &mut m,
        headers,
        "currency",
        &["Amount Currency", "Opportunity Currency"],
    );
    map(&mut m, headers, "closed_at", &["Close Date"]);
    map(&mut m, headers, "expected_close_date", &["Close Date"]);
    map(&mut m, headers, "created_at", &["Created Date"]);
    map(&mut m, headers, "owner", &["Opportunity Owner"]);
    map(&mut m, headers, "source", &["Lead Source"]);
    map(
        &mut m,
        headers,
        "campaign",
        &["Primary Campaign Source", "Campaign"],
    );
    map(
        &mut m,
        headers,
        "lost_reason",
        &["Loss Reason", "Closed Lost Reason"],
    );
    map(&mut m, headers, "custom.type", &["Type"]);
    m.probability = first(headers, &["Probability (%)", "Probability"]);
    m.status_map = outcomes(&[("Closed Won", Outcome::Won), ("Closed Lost", Outcome::Lost)]);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pipedrive_prefixed_or_bare() {
        let m = detect(
            Kind::Deals,
            &headers(&[
                "Deal - ID",
                "Deal - Title",
                "Deal - Value",
                "Organization - Name",
                "Person - Email",
            ]),
        )
        .unwrap();
        assert_eq!(m.format.as_deref(), Some("pipedrive"));
        assert_eq!(m.fields["title"], "Deal - Title");
        assert_eq!(m.fields["organization"], "Organization - Name");
        let bare = detect(
            Kind::Deals,
            &headers(&["Title", "Deal created", "Organization"]),
        )
        .unwrap();
        assert_eq!(bare.fields["organization"], "Organization");
    }

    #[test]
    fn hubspot_stage_history_columns() {
        assert_eq!(
            hubspot_stage_column("Date entered \"Qualified To Buy (Sales Pipeline)\""),
            Some(("Qualified To Buy".into(), Some("Sales Pipeline".into())))
        );
        assert_eq!(hubspot_stage_column("Close Date"), None);
        let m = detect(
            Kind::Deals,
            &headers(&[
                "Record ID",
                "Deal Name",
                "Deal Stage",
                "Date entered \"A (P)\"",
                "Date entered \"B (P)\"",
            ]),
        )
        .unwrap();
        assert_eq!(m.stage_dates.len(), 2);
        assert_eq!(m.stage_dates[1].stage, "B");
    }

    #[test]
    fn salesforce_and_unknown() {
        let m = detect(
            Kind::Deals,
            &headers(&["Opportunity Name", "Stage", "Probability (%)", "Type"]),
        )
        .unwrap();
        assert_eq!(m.probability.as_deref(), Some("Probability (%)"));
        assert_eq!(m.fields["custom.type"], "Type");
        assert!(detect(Kind::Deals, &headers(&["opportunity_id", "deal_stage"])).is_none());
    }
}
