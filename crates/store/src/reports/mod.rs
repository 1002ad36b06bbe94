//! Reports: the queries over the report tables, and the assembly of each report from them
//! with the arithmetic of `core`.

mod attention;
mod backtest;
mod cycle;
mod flow;
mod forecast;
mod funnel;
mod model;
mod queries;
mod sources;
mod velocity;

pub use attention::attention;
pub use backtest::{BacktestReport, BacktestWeek, backtest};
pub use cycle::{CycleReport, StageTime, cycle};
pub use flow::{Assumptions, FlowReport, FlowRequest, flow_report, flow_report_concurrently};
pub use forecast::{ForecastReport, StageCalibration, forecast};
pub use funnel::{Grouping, funnel};
pub use model::{LearnedModel, learn};
pub use queries::*;
pub use sources::{SourcesReport, sources};
pub use velocity::{VelocityReport, velocity};
