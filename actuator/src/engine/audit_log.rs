//! The audit log.

/// The `--log` file.
pub struct AuditLog;
