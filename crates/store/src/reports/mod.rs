//! Reports: the queries over the report tables, and the assembly of each report from them
//! with the arithmetic of `core`.

mod attention;
mod funnel;
mod queries;

pub use attention::attention;
pub use funnel::{Grouping, funnel};
pub use queries::*;
