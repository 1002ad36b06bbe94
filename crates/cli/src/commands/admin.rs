//! Schema, users, teams and tokens.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, Result, anyhow, bail};
use throughline_core::Role;
use throughline_store::users::{self, NewUser};

use crate::cli::{Db, TeamCommand, TokenCommand, UserCommand};
use crate::output::{Rows, print};
use crate::session::{self, Session};

pub async fn migrate(db: &Db) -> Result<()> {
    Session::open(db).await?;
    println!("the database schema is up to date");
    Ok(())
}

fn read_password(from_stdin: bool) -> Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no terminal to ask for a password: pass --password-stdin and pipe it in, or --no-login"
        );
    }
    let first = rpassword::prompt_password("Password (10+ characters): ")?;
    let second = rpassword::prompt_password("Password again: ")?;
    if first != second {
        bail!("the two passwords differ");
    }
    Ok(first)
}

pub async fn user(cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add {
            db,
            email,
            name,
            role,
            team,
            password_stdin,
            no_login,
        } => {
            let role: Role = role.parse().map_err(|e: String| anyhow!(e))?;
            let password = if no_login {
                None
            } else {
                Some(read_password(password_stdin)?)
            };
            let s = Session::open(&db).await?;
            let mut tx = s.store.write().await?;
            let team_id = match team {
                None => None,
                Some(name) => Some(
                    users::list_teams(&mut tx)
                        .await?
                        .into_iter()
                        .find(|t| t.name.eq_ignore_ascii_case(&name))
                        .ok_or_else(|| {
                            anyhow!(
                                "no team is named `{name}` (add it with `throughline team add`)"
                            )
                        })?
                        .id,
                ),
            };
            let user = users::create(
                &mut tx,
                &s.ctx(),
                NewUser {
                    email,
                    name,
                    role,
                    team_id,
                    password,
                },
            )
            .await?;
            tx.commit().await?;
            println!(
                "added {} <{}> as {}{}",
                user.name,
                user.email,
                user.role,
                if user.can_login {
                    ""
                } else {
                    " (cannot log in)"
                }
            );
        }
        UserCommand::List { db, format } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.read().await?;
            let all = users::list(&mut tx).await?;
            let teams = users::list_teams(&mut tx).await?;
            let mut rows = Rows::new(&[
                ("name", false),
                ("email", false),
                ("role", false),
                ("team", false),
                ("login", false),
            ]);
            for u in &all {
                let team = teams
                    .iter()
                    .find(|t| Some(t.id) == u.team_id)
                    .map(|t| t.name.clone())
                    .unwrap_or_default();
                rows.push(vec![
                    u.name.clone(),
                    u.email.clone(),
                    u.role.to_string(),
                    team,
                    if u.can_login {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                ]);
            }
            print(format, &rows, &all)?;
        }
        UserCommand::SetPassword {
            db,
            email,
            new_email,
            password_stdin,
        } => {
            let s = Session::open(&db).await?;
            // The user is looked up before the password is asked for, so a mistyped e-mail
            // is told at once.
            let mut user = {
                let mut tx = s.store.read().await?;
                session::user(&mut tx, &email).await?
            };
            let password = read_password(password_stdin)?;
            let mut tx = s.store.write().await?;
            if let Some(new_email) = new_email {
                user = users::set_email(&mut tx, &s.ctx(), user.id, &new_email).await?;
            }
            users::set_password(&mut tx, &s.ctx(), user.id, &password).await?;
            tx.commit().await?;
            println!(
                "{} <{}> can log in with the new password",
                user.name, user.email
            );
        }
    }
    Ok(())
}

pub async fn team(cmd: TeamCommand) -> Result<()> {
    match cmd {
        TeamCommand::Add { db, name, manager } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.write().await?;
            let manager_id = match manager {
                Some(email) => Some(session::user(&mut tx, &email).await?.id),
                None => None,
            };
            let team = users::create_team(&mut tx, &s.ctx(), &name, manager_id).await?;
            tx.commit().await?;
            println!("added team {}", team.name);
        }
        TeamCommand::Join { db, team, email } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.write().await?;
            let user = session::user(&mut tx, &email).await?;
            let found = users::list_teams(&mut tx)
                .await?
                .into_iter()
                .find(|t| t.name.eq_ignore_ascii_case(&team))
                .ok_or_else(|| anyhow!("no team is named `{team}`"))?;
            users::set_team(&mut tx, &s.ctx(), user.id, Some(found.id)).await?;
            tx.commit().await?;
            println!("{} is now in team {}", user.email, found.name);
        }
        TeamCommand::List { db, format } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.read().await?;
            let teams = users::list_teams(&mut tx).await?;
            let all = users::list(&mut tx).await?;
            let mut rows = Rows::new(&[("team", false), ("manager", false), ("members", true)]);
            for t in &teams {
                let manager = all
                    .iter()
                    .find(|u| Some(u.id) == t.manager_id)
                    .map(|u| u.email.clone())
                    .unwrap_or_default();
                let members = all.iter().filter(|u| u.team_id == Some(t.id)).count();
                rows.push(vec![t.name.clone(), manager, members.to_string()]);
            }
            print(format, &rows, &teams)?;
        }
    }
    Ok(())
}

pub async fn token(cmd: TokenCommand) -> Result<()> {
    match cmd {
        TokenCommand::Create { db, email, name } => {
            let s = Session::open(&db).await?;
            let mut tx = s.store.write().await?;
            let user = session::user(&mut tx, &email).await?;
            let (_, secret) = users::create_token(&mut tx, &s.ctx(), user.id, &name).await?;
            tx.commit().await?;
            println!(
                "API token for {} (shown once; keep it safe): {secret}",
                user.email
            );
        }
    }
    Ok(())
}
