//! The demo's customers and prospects: made-up organizations on `.example` domains and the
//! people who work there, with phone numbers from a range reserved for fiction.

use crate::random::{self, Rng};
use crate::team;

pub(crate) struct OrgPlan {
    pub name: String,
    pub domain: String,
    /// The rep who owns the account (and its expansion deals).
    pub owner: usize,
    /// A customer since before the history began, so expansion deals have somewhere to go
    /// from the first week.
    pub customer: bool,
    /// How often this organization turns up as a lead, relative to the others.
    pub weight: f64,
    pub people: Vec<usize>,
}

pub(crate) struct PersonPlan {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub org: usize,
}

const PREFIXES: [&str; 40] = [
    "Nordwind",
    "Bluepeak",
    "Altmark",
    "Kestrel",
    "Lumen",
    "Harbor",
    "Quarry",
    "Silverline",
    "Brightwater",
    "Oakridge",
    "Fjord",
    "Copperleaf",
    "Meridian",
    "Tidewater",
    "Granite",
    "Vireo",
    "Polaris",
    "Ashford",
    "Sable",
    "Cobalt",
    "Juniper",
    "Redwood",
    "Ironbridge",
    "Larch",
    "Halcyon",
    "Westbrook",
    "Stonegate",
    "Evergreen",
    "Pinecrest",
    "Riverbend",
    "Summit",
    "Aurora",
    "Beacon",
    "Crescent",
    "Elmstead",
    "Foxglove",
    "Marlow",
    "Northgate",
    "Saltire",
    "Kingfisher",
];

const TRADES: [&str; 20] = [
    "Logistics",
    "Analytics",
    "Foods",
    "Health",
    "Robotics",
    "Software",
    "Energy",
    "Insurance",
    "Textiles",
    "Architects",
    "Labs",
    "Media",
    "Freight",
    "Pharma",
    "Consulting",
    "Engineering",
    "Retail",
    "Hotels",
    "Systems",
    "Security",
];

const FORMS: [&str; 8] = ["GmbH", "Ltd", "AG", "BV", "SAS", "AB", "Inc.", "Group"];

const FIRST: [&str; 48] = [
    "Amara", "Lars", "Mei", "Jakub", "Sofia", "Noah", "Hannah", "Mateo", "Aisha", "Felix",
    "Ingrid", "Ravi", "Chloe", "Emil", "Yara", "Oliver", "Nina", "Kenji", "Lea", "Omar", "Julia",
    "Tobias", "Fatima", "Henrik", "Clara", "Diego", "Elif", "Marek", "Zoe", "Arjun", "Maja",
    "Samuel", "Leila", "Victor", "Greta", "Hugo", "Anya", "Daniel", "Ines", "Kofi", "Laura",
    "Nils", "Paula", "Rafael", "Sara", "Teo", "Vera", "William",
];

const LAST: [&str; 48] = [
    "Okafor",
    "Eriksen",
    "Chen",
    "Nowak",
    "Rossi",
    "Schmidt",
    "Dubois",
    "Garcia",
    "Khan",
    "Jansen",
    "Lindqvist",
    "Patel",
    "Martin",
    "Novak",
    "Haddad",
    "Brown",
    "Kowalski",
    "Tanaka",
    "Moreau",
    "Farouk",
    "Weber",
    "Hansen",
    "Ali",
    "Berg",
    "Fischer",
    "Lopez",
    "Yilmaz",
    "Dvorak",
    "Clarke",
    "Sharma",
    "Nielsen",
    "Adeyemi",
    "Rahman",
    "Laurent",
    "Vogel",
    "Bernard",
    "Ivanova",
    "Cohen",
    "Silva",
    "Mensah",
    "Keller",
    "Holm",
    "Costa",
    "Romero",
    "Lund",
    "Conti",
    "Bauer",
    "Wright",
];

/// `organizations` organizations with `people` contacts spread among them (at least one
/// each). Earlier organizations weigh more: a few accounts produce much of the business.
pub(crate) fn generate(
    rng: &mut Rng,
    organizations: usize,
    people: usize,
) -> (Vec<OrgPlan>, Vec<PersonPlan>) {
    let reps = team::reps();
    let mut orgs: Vec<OrgPlan> = Vec::with_capacity(organizations);
    let mut names = std::collections::BTreeSet::new();
    while orgs.len() < organizations {
        let prefix = random::pick(rng, &PREFIXES);
        let trade = random::pick(rng, &TRADES);
        let base = format!("{prefix} {trade}");
        // A name used twice would read as a duplicate record; ask again, and past the
        // combinations available, number them.
        let base = if names.contains(&base) && names.len() < PREFIXES.len() * TRADES.len() / 2 {
            continue;
        } else if names.contains(&base) {
            format!("{base} {}", orgs.len() + 1)
        } else {
            base
        };
        names.insert(base.clone());
        let form = random::pick(rng, &FORMS);
        let domain = format!("{}.example", base.to_lowercase().replace(' ', "-"));
        let rank = orgs.len() as f64 + 1.0;
        orgs.push(OrgPlan {
            name: format!("{base} {form}"),
            domain,
            owner: reps[orgs.len() % reps.len()],
            customer: random::chance(rng, 0.25),
            weight: 1.0 / rank.powf(0.5),
            people: Vec::new(),
        });
    }
    let mut contacts = Vec::with_capacity(people);
    let mut used = std::collections::BTreeSet::new();
    for i in 0..people.max(organizations) {
        let org = if i < organizations {
            i
        } else {
            random::int(rng, 0, organizations as i64 - 1) as usize
        };
        let (first, last) = loop {
            let pair = (*random::pick(rng, &FIRST), *random::pick(rng, &LAST));
            if used.insert(pair) || used.len() >= FIRST.len() * LAST.len() / 2 {
                break pair;
            }
        };
        let email = format!(
            "{}.{}@{}",
            first.to_lowercase(),
            last.to_lowercase(),
            orgs[org].domain
        );
        orgs[org].people.push(contacts.len());
        contacts.push(PersonPlan {
            name: format!("{first} {last}"),
            email,
            phone: format!("+44 20 7946 0{:03}", random::int(rng, 0, 999)),
            org,
        });
    }
    (orgs, contacts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_organization_has_a_contact_and_names_do_not_repeat() {
        let mut rng = Rng::seed_from_u64(3);
        let (orgs, people) = generate(&mut rng, 100, 300);
        assert_eq!((orgs.len(), people.len()), (100, 300));
        assert!(orgs.iter().all(|o| !o.people.is_empty()));
        let names: std::collections::BTreeSet<_> = orgs.iter().map(|o| &o.domain).collect();
        assert_eq!(names.len(), 100);
        assert!(people.iter().all(|p| p.email.ends_with(".example")));
        assert!(orgs.iter().any(|o| o.customer) && orgs.iter().any(|o| !o.customer));
    }
}
