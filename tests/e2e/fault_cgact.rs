//! Fault injection into `cgact`, live on the machine's v1 memory hierarchy
//! (issue 6 point 3), under a `LiveParent` guard (SKIP where none is
//! writable), with real `cgcal-hog` processes holding anonymous memory:
//! * killed between shrinking the donors and growing the target: the
//!   journal completes the plan at the next start (`cgact --once`) and the
//!   sum of the managed limits is what it was, never less;
//! * a donor removed between the plan and its write: the decision
//!   completes with the other donor, no error, one audit line;
//! * EBUSY from a donor: covered live at the engine level by
//!   `cgact_apply_live::a_donor_the_kernel_cannot_shrink_answers_ebusy_and_the_next_donor_gives`
//!   (not repeated here);
//! * the audit log on a full disk (`--log /dev/full`): the task is still
//!   rescued, each line is printed in full on stderr, and the journal's
//!   `done` records keep the decisions.
//!
//! Needs the binaries: `cargo build --workspace --bins`.

use std::time::Instant;

use cgact::engine::hooked_fs::{HookedFs, Op, Verdict};
use cgact::engine::Engine;
use cgcal_core::audit::Outcome;
use cgcal_core::policy::OomKind;
use cgcal_testkit::{spawn_hog, wait_ready, HogOptions, LiveParent};

use super::cgact_apply_live::{config, donor_names, hog, kernel_limit, name, v1};
use super::cgact_live::{lines_for, oom_control, setup, Cgact, Files, MIB};

/// Exit code of the forked engine when the hook killed it.
const KILLED_IN_HOOK: i32 = 42;

/// A parent of 256 MiB with `a` (limit 40, hog 30 MiB, needs 24 more by its
/// Phase 1 max of 64) and the donors `donors` (limit 48 MiB, below their
/// median of 44, each with a hog of the given size; 0: no hog). With
/// `--threshold 0.05` the global headroom is none, so the memory comes
/// from the donors. Returns the parent, the hogs, the files and the config.
fn donor_tree(
    tag: &str,
    donors: &[(&str, u64)],
) -> Option<(
    LiveParent,
    Vec<std::process::Child>,
    Files,
    cgact::cli::DaemonConfig,
)> {
    let parent = LiveParent::new(tag)?;
    parent.set_limit("", 256 * MIB);
    parent.child("a");
    parent.set_limit("a", 40 * MIB);
    let mut hogs = Vec::new();
    let mut rows = vec![("a", 1, 30, 64)];
    for (rel, mib) in donors {
        parent.child(rel);
        parent.set_limit(rel, 48 * MIB);
        if *mib > 0 {
            hogs.push(hog(&parent, rel, *mib));
        }
        rows.push((rel, 1, 44, 48));
    }
    hogs.push(hog(&parent, "a", 30));
    let files = Files::new();
    let dir = files.stats.parent().unwrap().to_path_buf();
    let cfg = config(&parent, &dir, "0.05", &rows);
    Some((parent, hogs, files, cfg))
}

fn stop(hogs: Vec<std::process::Child>) {
    for mut h in hogs {
        let _ = h.kill();
        let _ = h.wait();
    }
}

#[test]
fn killed_between_the_donor_shrink_and_the_target_grow_the_next_start_completes_the_plan() {
    let Some((parent, hogs, files, cfg)) = donor_tree("fault-kill-mid-plan", &[("b", 8)]) else {
        return;
    };
    let before = kernel_limit(&parent, "a") + kernel_limit(&parent, "b");
    assert_eq!(before, 88 * MIB);
    let a = name(&parent.name_of("a"));
    let target = a.clone();
    // The engine dies (no destructor, no `done` record) at the target's
    // write, after the donor's shrink reached the kernel.
    let hooked = HookedFs::new(v1(&parent), move |op| {
        if matches!(op, Op::SetLimit(c, _) if *c == target) {
            // SAFETY: _exit(2) in the forked child; nothing else runs after it.
            unsafe { libc::_exit(KILLED_IN_HOOK) };
        }
        Verdict::Pass
    });
    let mut engine = Engine::new(Box::new(hooked), &cfg).unwrap();
    // SAFETY: the child only runs the engine (glibc keeps malloc usable
    // after fork) and leaves with _exit, never returning to the harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let r = engine.handle(&a, OomKind::Oom, Instant::now());
        let code = if r.is_ok() { 3 } else { 4 };
        // SAFETY: as above.
        unsafe { libc::_exit(code) };
    }
    drop(engine);
    let mut status = 0;
    // SAFETY: waitpid on our own child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == KILLED_IN_HOOK,
        "the engine did not die in the hook: status {status:#x}"
    );
    let (a_mid, b_mid) = (kernel_limit(&parent, "a"), kernel_limit(&parent, "b"));
    assert_eq!(a_mid, 40 * MIB, "the target was not grown");
    assert!(b_mid < 48 * MIB, "the donor was shrunk: {b_mid}");
    let journal = cfg.journal.clone().unwrap();
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(
        text.contains("\"t\":\"begin\"") && !text.contains("\"t\":\"done\""),
        "a begin without its done: {text}"
    );
    println!(
        "kill mid-plan: a {} MiB, b {} MiB (sum {} of {} MiB)",
        a_mid / MIB,
        b_mid / MIB,
        (a_mid + b_mid) / MIB,
        before / MIB
    );

    // The next start: a real `cgact --once` on the same journal.
    let mut next = Cgact::spawn(
        &parent,
        &files,
        &[
            "--once",
            "--mode",
            "rescue",
            "--journal",
            journal.to_str().unwrap(),
        ],
    );
    let status = next.wait();
    let lines = next.lines();
    assert!(
        status.success(),
        "cgact --once: {status}\n{}",
        lines.join("\n")
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("journal recovery") && l.contains("completed")),
        "no recovery line:\n{}",
        lines.join("\n")
    );
    let (a_now, b_now) = (kernel_limit(&parent, "a"), kernel_limit(&parent, "b"));
    assert_eq!(b_now, b_mid, "the donor stays as the plan left it");
    assert_eq!(a_now + b_now, before, "the sum is what it was");
    assert_eq!(a_now, 40 * MIB + (48 * MIB - b_mid), "a got what b lost");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains("\"t\":\"done\""), "recovery recorded: {text}");
    assert!(!oom_control(&parent.path().join("a")).0, "flag left behind");
    stop(hogs);
}

#[test]
fn a_donor_removed_between_the_plan_and_its_write_the_other_donor_gives() {
    // b is empty (it can be removed), c holds 8 MiB.
    let Some((parent, hogs, _files, cfg)) =
        donor_tree("fault-donor-removed", &[("b", 0), ("c", 8)])
    else {
        return;
    };
    let b = name(&parent.name_of("b"));
    let b_dir = parent.path().join("b");
    let removed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = removed.clone();
    let hooked = HookedFs::new(v1(&parent), move |op| {
        if matches!(op, Op::SetLimit(c, _) if *c == b)
            && !flag.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            std::fs::remove_dir(&b_dir).expect("rmdir b");
        }
        Verdict::Pass
    });
    let mut engine = Engine::new(Box::new(hooked), &cfg).unwrap();
    let a = name(&parent.name_of("a"));
    let d = engine
        .handle(&a, OomKind::Oom, Instant::now())
        .expect("the decision completes without error");
    assert!(
        removed.load(std::sync::atomic::Ordering::SeqCst),
        "b was planned as a donor and removed at its write"
    );
    assert!(!parent.path().join("b").exists());
    println!("donor removed: {}", d.line.to_json());
    assert!(
        matches!(d.line.outcome, Outcome::Resolved | Outcome::Partial),
        "{:?}",
        d.line
    );
    let grown = kernel_limit(&parent, "a") - 40 * MIB;
    let c_gave = 48 * MIB - kernel_limit(&parent, "c");
    assert!(grown > 0 && c_gave > 0, "c gave {c_gave}, a grew {grown}");
    assert_eq!(grown, d.added_to_target);
    assert_eq!(grown, c_gave, "a got exactly what c gave (no headroom)");
    assert_eq!(donor_names(&d.line), vec![parent.name_of("c").as_str()]);
    assert!(!d.line.limits_after.contains_key(&parent.name_of("b")));
    let audit = std::fs::read_to_string(cfg.audit_log.as_ref().unwrap()).unwrap();
    assert_eq!(audit.lines().count(), 1, "{audit}");
    stop(hogs);
}

#[test]
fn a_full_audit_log_disk_keeps_rescuing_prints_each_line_and_journals_it() {
    let stats = [("a", 4, 40, 88)];
    let Some((parent, a, mut files)) = setup("fault-log-full", 512, 32, &stats) else {
        return;
    };
    files.audit = "/dev/full".into();
    let journal = files.stats.with_file_name("journal");
    let mut cgact = Cgact::start(
        &parent,
        &files,
        &["--mode", "rescue", "--journal", journal.to_str().unwrap()],
    );
    let mut h = spawn_hog(
        &a,
        80,
        HogOptions {
            step_mib: Some(4),
            step_ms: Some(20),
            hold_ms: None,
        },
    );
    assert_eq!(wait_ready(&mut h), Ok(80 * MIB), "the hog was not rescued");
    assert_eq!(oom_control(&a).2, 0, "no OOM kill in a");
    let status = cgact.terminate();
    let lines = cgact.lines();
    assert!(status.success(), "cgact: {status}\n{}", lines.join("\n"));
    // Each decision's full JSON line is on stderr with the failure.
    let printed: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| l.contains("cannot write the audit log"))
        .map(|l| {
            let json = &l[l.find("line={").expect("the line's JSON") + 5..];
            let end = json.rfind('}').unwrap() + 1;
            serde_json::from_str(&json[..end]).unwrap_or_else(|e| panic!("{e}: {l}"))
        })
        .collect();
    assert!(
        !printed.is_empty(),
        "no failure on stderr:\n{}",
        lines.join("\n")
    );
    assert!(printed
        .iter()
        .any(|l| l["oom_cgroup"] == parent.name_of("a")));
    assert!(lines
        .iter()
        .any(|l| l.contains("/dev/full") && l.contains("No space left")));
    // The journal keeps every decision.
    let text = std::fs::read_to_string(&journal).unwrap();
    let unlogged: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| {
            let (_, json) = l.split_once(' ')?;
            let rec: serde_json::Value = serde_json::from_str(json).ok()?;
            serde_json::from_str(rec.get("unlogged")?.as_str()?).ok()
        })
        .collect();
    let journaled = lines_for(&unlogged, &parent.name_of("a"));
    assert!(!journaled.is_empty(), "journal: {text}");
    let printed_a = lines_for(&printed, &parent.name_of("a"));
    assert_eq!(
        journaled, printed_a,
        "every decision printed on stderr is in the journal"
    );
    println!(
        "log full: {} decisions, on stderr and in the journal",
        journaled.len()
    );
    let _ = h.kill();
    let _ = h.wait();
}
