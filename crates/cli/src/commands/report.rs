use anyhow::{Result, anyhow};
use throughline_core::money::format_minor;
use throughline_core::time::parse_instant_or_date;
use throughline_store::{settings, snapshot};

use crate::cli::ReportCommand;
use crate::output::{Rows, print};
use crate::session::{self, Session};

pub async fn run(cmd: ReportCommand) -> Result<()> {
    match cmd {
        ReportCommand::Snapshot {
            db,
            pipeline,
            at,
            format,
        } => {
            let s = Session::open(&db).await?;
            let ctx = s.ctx();
            let mut tx = s.store.read().await?;
            let p = session::pipeline(&mut tx, &pipeline).await?;
            let at = match at {
                None => ctx.at,
                Some(text) => {
                    let tz = settings::time_zone(&mut tx).await?;
                    parse_instant_or_date(&text, &tz).map_err(|e| anyhow!("--at: {e}"))?
                }
            };
            let snap = snapshot::snapshot(&mut tx, &ctx, p.id, at).await?;
            let exp = snap.currency.exponent();
            let mut rows = Rows::new(&[
                ("stage", false),
                ("probability", true),
                ("deals", true),
                ("value", true),
                ("weighted", true),
            ]);
            for st in &snap.stages {
                rows.push(vec![
                    if st.archived {
                        format!("{} (archived)", st.name)
                    } else {
                        st.name.clone()
                    },
                    format!("{}%", st.probability),
                    st.count.to_string(),
                    format_minor(st.value, exp),
                    format_minor(st.weighted_value, exp),
                ]);
            }
            if matches!(format, crate::cli::Format::Table) {
                rows.push(vec![
                    "Total".into(),
                    String::new(),
                    snap.total.count.to_string(),
                    format_minor(snap.total.value, exp),
                    format_minor(snap.total.weighted_value, exp),
                ]);
                println!("{} at {} ({})", p.name, snap.at, snap.currency);
            }
            print(format, &rows, &snap)?;
        }
        other => super::reports::run(other).await?,
    }
    Ok(())
}
