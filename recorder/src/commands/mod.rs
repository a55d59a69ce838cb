//! One module per `cgrec` subcommand, each with
//! `pub fn run(cfg: <its Config>) -> anyhow::Result<()>`.

pub mod export;
pub mod import;
pub mod inspect;
pub mod record;
pub mod stats;
