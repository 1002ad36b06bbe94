pub mod admin;
pub mod deal;
pub mod demo;
pub mod healthcheck;
pub mod lead;
pub mod pipeline;
pub mod report;
pub mod serve;
