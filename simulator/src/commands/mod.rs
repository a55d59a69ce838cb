//! One module per `cgsim` subcommand.

pub mod algos;
pub mod replay;
pub mod synth;
