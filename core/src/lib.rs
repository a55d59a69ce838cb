//! cgcal core: everything the three programs share.
//!
//! * [`name`]: validated cgroup names (`/apps/web`).
//! * [`parse`]: pure parsers for the command line's sizes, durations and times.
//! * [`trace`]: the on-disk trace format (chunked, CRC-checked, zstd-compressed
//!   delta/varint columns), its writer and its streaming reader.
//! * [`stats`]: Phase 1 statistics (exact min / max / median / percentiles per
//!   cgroup over a window) in memory bounded by the number of cgroups.
//! * [`policy`]: the reallocation policy trait, its safety rules and every
//!   algorithm; used unchanged by the simulator and the actuator.
//! * [`cgroupfs`]: the cgroup filesystem trait with its v1, v2 and in-memory
//!   backends. It is the only module of this crate that touches `/sys/fs/cgroup`.
//! * [`interchange`]: the CSV and JSON-lines forms of a trace's samples and
//!   events (`cgrec export` / `cgrec import`).
//! * [`audit`]: the audit-log line written by `cgact` and by `cgsim --log`.
//! * [`watch`]: the event sources of a daemon (cgroup OOM notifications,
//!   thresholds, PSI, the cgroup tree, signals) in one epoll set.
//!
//! Everything except [`cgroupfs`] and [`watch`] is pure: no file, clock or process access.
//!
//! ```
//! use cgcal_core::name::CgroupName;
//! let web = CgroupName::parse("/apps/web").unwrap();
//! assert_eq!(web.parent().unwrap().as_str(), "/apps");
//! ```
#![deny(missing_docs)]

pub mod audit;
pub mod cgroupfs;
pub mod interchange;
pub mod name;
pub mod parse;
pub mod policy;
pub mod stats;
pub mod trace;
pub mod watch;
