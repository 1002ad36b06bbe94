//! Who is acting, and what they may see.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::UserId;

/// A user's role. Visibility of deals and leads follows it: a rep sees what they own, a
/// manager what their teams own, an admin everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Manager,
    Rep,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Rep => "rep",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "manager" => Ok(Role::Manager),
            "rep" => Ok(Role::Rep),
            other => Err(format!(
                "`{other}` is not a role: use admin, manager or rep"
            )),
        }
    }
}

/// The one acting: a signed-in user, or the system itself (the CLI working directly on the
/// database, migrations, imports without a named user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// `None` for the system.
    pub user_id: Option<UserId>,
    pub role: Role,
}

impl Actor {
    pub const SYSTEM: Actor = Actor {
        user_id: None,
        role: Role::Admin,
    };

    pub fn user(user_id: UserId, role: Role) -> Self {
        Self {
            user_id: Some(user_id),
            role,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
