//! Reports: the queries over the report tables, and the assembly of each report from them
//! with the arithmetic of `core`.

mod attention;
mod funnel;
mod queries;
mod sources;
mod velocity;

pub use attention::attention;
pub use funnel::{Grouping, funnel};
pub use queries::*;
pub use sources::{SourcesReport, sources};
pub use velocity::{VelocityReport, velocity};
