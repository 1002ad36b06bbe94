//! The demo team: an admin, a manager and four reps in two teams, all able to log in with
//! the documented demo password.

use jiff::Timestamp;
use throughline_core::{Actor, Role, TeamId, UserId};
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, Tx};

use crate::DemoError;

/// One person on the demo team. `skill` scales the chance that their deals advance at each
/// stage and `pace` how long their deals sit in a stage, so that win rates and cycle times
/// differ by owner the way they do in a real team.
pub(crate) struct Member {
    pub email: &'static str,
    pub name: &'static str,
    pub role: Role,
    pub team: Option<usize>,
    pub skill: f64,
    pub pace: f64,
}

pub(crate) const ADMIN: usize = 0;
pub(crate) const MANAGER: usize = 1;
pub(crate) const INBOUND: usize = 0;
pub(crate) const FIELD: usize = 1;

pub(crate) const TEAMS: [&str; 2] = ["Inbound", "Field sales"];

pub(crate) const MEMBERS: [Member; 6] = [
    Member {
        email: "admin@demo.example",
        name: "Alex Morgan",
        role: Role::Admin,
        team: None,
        skill: 1.0,
        pace: 1.0,
    },
    Member {
        email: "manager@demo.example",
        name: "Sam Okafor",
        role: Role::Manager,
        team: None,
        skill: 1.0,
        pace: 1.0,
    },
    Member {
        email: "priya@demo.example",
        name: "Priya Raman",
        role: Role::Rep,
        team: Some(INBOUND),
        skill: 1.04,
        pace: 0.85,
    },
    Member {
        email: "jonas@demo.example",
        name: "Jonas Berg",
        role: Role::Rep,
        team: Some(INBOUND),
        skill: 0.97,
        pace: 1.05,
    },
    Member {
        email: "lucia@demo.example",
        name: "Lucia Fernandez",
        role: Role::Rep,
        team: Some(FIELD),
        skill: 1.06,
        pace: 1.2,
    },
    Member {
        email: "tom@demo.example",
        name: "Tom Becker",
        role: Role::Rep,
        team: Some(FIELD),
        skill: 0.93,
        pace: 1.0,
    },
];

/// The reps (indices into [`MEMBERS`]) of one team.
pub(crate) fn reps_of(team: usize) -> Vec<usize> {
    MEMBERS
        .iter()
        .enumerate()
        .filter(|(_, m)| m.role == Role::Rep && m.team == Some(team))
        .map(|(i, _)| i)
        .collect()
}

pub(crate) fn reps() -> Vec<usize> {
    MEMBERS
        .iter()
        .enumerate()
        .filter(|(_, m)| m.role == Role::Rep)
        .map(|(i, _)| i)
        .collect()
}

/// The team as stored: who acts for each member.
pub(crate) struct Roster {
    pub actors: Vec<Actor>,
    pub teams: Vec<TeamId>,
}

impl Roster {
    pub fn user_id(&self, member: usize) -> Option<UserId> {
        self.actors.get(member).and_then(|a| a.user_id)
    }
}

/// Create the users and teams as an installation's first admin would: people first, then
/// the teams under their manager, then each rep placed in a team.
pub(crate) async fn create(
    tx: &mut Tx,
    at: Timestamp,
    password: &str,
) -> Result<Roster, DemoError> {
    let ctx = Ctx::new(Actor::SYSTEM, at);
    let mut actors = Vec::with_capacity(MEMBERS.len());
    for member in &MEMBERS {
        let user = users::create(
            tx,
            &ctx,
            NewUser {
                email: member.email.into(),
                name: member.name.into(),
                role: member.role,
                team_id: None,
                password: Some(password.into()),
            },
        )
        .await?;
        actors.push(Actor::user(user.id, member.role));
    }
    let manager = actors[MANAGER].user_id;
    let mut teams = Vec::with_capacity(TEAMS.len());
    for name in TEAMS {
        teams.push(users::create_team(tx, &ctx, name, manager).await?.id);
    }
    for (member, actor) in MEMBERS.iter().zip(&actors) {
        if let (Some(team), Some(user)) = (member.team, actor.user_id) {
            users::set_team(tx, &ctx, user, Some(teams[team])).await?;
        }
    }
    Ok(Roster { actors, teams })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_teams_of_two_reps_under_one_manager() {
        assert_eq!(reps_of(INBOUND).len(), 2);
        assert_eq!(reps_of(FIELD).len(), 2);
        assert_eq!(reps().len(), 4);
        assert_eq!(MEMBERS[MANAGER].role, Role::Manager);
        assert_eq!(MEMBERS[ADMIN].role, Role::Admin);
    }
}
