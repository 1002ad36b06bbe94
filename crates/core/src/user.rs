//! Users and teams.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Role, TeamId, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<TeamId>,
    /// False for users created only to own imported records.
    pub can_login: bool,
    pub active: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    /// The manager who sees this team's deals.
    pub manager_id: Option<UserId>,
}

/// Initials for compact displays: "Ana María López" → "AL".
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let pick = |w: &str| {
        w.chars()
            .next()
            .map(|c| c.to_uppercase().to_string())
            .unwrap_or_default()
    };
    match words.as_slice() {
        [] => "?".into(),
        [one] => pick(one),
        [first, .., last] => format!("{}{}", pick(first), pick(last)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn initials_take_first_and_last_word() {
        assert_eq!(super::initials("Ana María López"), "AL");
        assert_eq!(super::initials("  bo "), "B");
        assert_eq!(super::initials(""), "?");
    }
}
