//! End-to-end tests across the programs, live cgroup tests included.
//!
//! One test binary with a module per concern. Live tests create cgroups only
//! under a uniquely named parent (`cgcal-test-<pid>-<n>`) through
//! `cgcal_testkit::LiveParent`, which removes them on drop, and print a SKIP
//! line where the machine has no writable memory cgroup.
mod bad_inputs;
mod cgact_apply_live;
mod cgact_fake_v2;
mod cgact_live;
mod cgact_restore_live;
mod cgrec_record_live;
mod cgrec_rotation;
mod cgrec_tools;
mod cgroupfs_live;
mod cgsim_golden;
mod cgsim_replay;
mod cgsim_synth;
mod cli;
mod fault_cgact;
mod fault_recorder_kill;
mod load_cgact;
mod metrics;
mod parquet_export;
mod sample_trace;
mod systemd_units;
mod v2_vm;
mod watch_live;
