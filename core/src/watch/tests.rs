//! Watcher tests on tmpdir fixtures (v2 `memory.events` through inotify,
//! the tree watch), signals, the waker and timeouts. Live v1 tests with a
//! real OOM are in `tests/e2e/watch_live.rs`.

use std::time::Duration;

use nix::sys::signal::{pthread_sigmask, raise, SigSet, SigmaskHow, Signal};

use super::*;
use crate::cgroupfs::fixture::FixtureTree;
use crate::cgroupfs::{CgroupFsError, MemoryFs};
use crate::name::CgroupName;
use crate::trace::CgroupVersion;

/// Bound on one wait for an event the test caused (not a timing assertion).
const PATIENCE: Duration = Duration::from_secs(10);

fn name(s: &str) -> CgroupName {
    CgroupName::parse(s).unwrap()
}

fn v2_fixture() -> (tempfile::TempDir, FixtureTree) {
    let dir = tempfile::tempdir().unwrap();
    let tree = FixtureTree::new(dir.path(), CgroupVersion::V2).unwrap();
    tree.add("apps", 96 << 20, None).unwrap();
    tree.add("apps/web", 64 << 20, Some(128 << 20)).unwrap();
    (dir, tree)
}

/// Waits (a bounded number of times) until `want` matches one event;
/// returns every event seen.
fn wait_until(w: &mut Watcher, want: impl Fn(&WatchEvent) -> bool) -> Vec<WatchEvent> {
    let mut all = Vec::new();
    for _ in 0..5 {
        let from = all.len();
        w.wait(Some(PATIENCE), &mut all).unwrap();
        if all[from..].iter().any(&want) {
            return all;
        }
    }
    panic!("expected event never came; saw {all:?}");
}

const EVENTS: &str = "memory.events";

#[test]
fn v2_events_change_gives_oom_with_delta() {
    let (_d, tree) = v2_fixture();
    let fs = tree.backend();
    let web = name("/apps/web");
    let mut w = Watcher::new().unwrap();
    let mut cg = fs.open(&web).unwrap();
    w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap();
    w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap();
    assert_eq!(w.watched(), 1, "idempotent");
    tree.write(
        "apps/web",
        EVENTS,
        "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n",
    )
    .unwrap();
    let seen = wait_until(&mut w, |e| matches!(e, WatchEvent::Oom { .. }));
    let ooms: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Oom {
                cgroup,
                counters,
                delta,
            } => Some((cgroup.clone(), (*counters)?, (*delta)?)),
            _ => None,
        })
        .collect();
    assert_eq!(ooms.len(), 1, "{seen:?}");
    let (cgroup, counters, delta) = &ooms[0];
    assert_eq!(cgroup, &web);
    assert_eq!((counters.oom_kill, delta.oom_kill, delta.oom), (1, 1, 1));
    assert_eq!((delta.high, delta.low), (0, 0));

    // The same counters written again: a wake-up, no event.
    tree.write(
        "apps/web",
        EVENTS,
        "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n",
    )
    .unwrap();
    let mut again = Vec::new();
    w.wait(Some(Duration::from_millis(200)), &mut again)
        .unwrap();
    assert!(again.is_empty(), "{again:?}");

    // After unwatch nothing is delivered for it.
    w.unwatch(&web);
    assert_eq!(w.watched(), 0);
    tree.write("apps/web", EVENTS, "oom 5\noom_kill 5\n")
        .unwrap();
    let mut none = Vec::new();
    w.wait(Some(Duration::from_millis(200)), &mut none).unwrap();
    assert!(none.is_empty(), "{none:?}");
}

#[test]
fn tree_watch_reports_new_directories_at_any_depth() {
    let (_d, tree) = v2_fixture();
    let fs = tree.backend();
    let mut w = Watcher::new().unwrap();
    w.watch_tree(fs.as_ref()).unwrap();
    assert_eq!(w.watched_dirs(), 3, "root, /apps, /apps/web");
    std::fs::create_dir(tree.dir("apps/new")).unwrap();
    let seen = wait_until(&mut w, |e| e == &WatchEvent::TreeChanged);
    assert_eq!(
        seen.iter()
            .filter(|e| **e == WatchEvent::TreeChanged)
            .count(),
        1,
        "coalesced: {seen:?}"
    );
    // The new directory is watched itself.
    std::fs::create_dir(tree.dir("apps/new/deeper")).unwrap();
    wait_until(&mut w, |e| e == &WatchEvent::TreeChanged);
    // A plain file is not a tree change.
    tree.write("apps", "memory.high", "max\n").unwrap();
    std::fs::write(tree.dir("apps/new/notes"), "x").unwrap();
    let mut none = Vec::new();
    w.wait(Some(Duration::from_millis(200)), &mut none).unwrap();
    assert!(none.is_empty(), "{none:?}");
    std::fs::remove_dir(tree.dir("apps/new/deeper")).unwrap();
    wait_until(&mut w, |e| e == &WatchEvent::TreeChanged);
}

#[test]
fn removing_a_watched_fixture_cgroup_gives_one_removed() {
    let (_d, tree) = v2_fixture();
    let fs = tree.backend();
    let web = name("/apps/web");
    let mut w = Watcher::new().unwrap();
    w.watch_tree(fs.as_ref()).unwrap();
    let mut cg = fs.open(&web).unwrap();
    w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap();
    assert_eq!(w.watched(), 1);
    std::fs::remove_dir_all(tree.dir("apps/web")).unwrap();
    let mut seen = wait_until(&mut w, |e| matches!(e, WatchEvent::Removed { .. }));
    // Drain what else is queued (the directory's own removal).
    w.wait(Some(Duration::from_millis(200)), &mut seen).unwrap();
    let removed: Vec<_> = seen
        .iter()
        .filter(|e| matches!(e, WatchEvent::Removed { .. }))
        .collect();
    assert_eq!(
        removed,
        [&WatchEvent::Removed {
            cgroup: web.clone()
        }],
        "{seen:?}"
    );
    assert!(seen.contains(&WatchEvent::TreeChanged), "{seen:?}");
    assert_eq!(w.watched(), 0);
}

#[test]
fn removed_without_tree_watch_comes_from_the_events_file() {
    let (_d, tree) = v2_fixture();
    let fs = tree.backend();
    let web = name("/apps/web");
    let mut w = Watcher::new().unwrap();
    let mut cg = fs.open(&web).unwrap();
    w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap();
    std::fs::remove_dir_all(tree.dir("apps/web")).unwrap();
    let seen = wait_until(&mut w, |e| matches!(e, WatchEvent::Removed { .. }));
    assert!(!seen.contains(&WatchEvent::TreeChanged), "{seen:?}");
    assert_eq!(w.watched(), 0);
}

#[test]
fn v1_fixture_registers_eventfds_and_unwatch_closes_them() {
    let dir = tempfile::tempdir().unwrap();
    let tree = FixtureTree::new(dir.path(), CgroupVersion::V1).unwrap();
    tree.add("a", 1 << 20, Some(16 << 20)).unwrap();
    let fs = tree.backend();
    let a = name("/a");
    let mut w = Watcher::new().unwrap();
    let mut cg = fs.open(&a).unwrap();
    w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap();
    w.watch_usage_threshold(cg.as_mut(), 8 << 20).unwrap();
    w.watch_usage_threshold(cg.as_mut(), 9 << 20).unwrap();
    assert_eq!(w.watched(), 1);
    assert_eq!(
        w.open_descriptors(),
        2,
        "the earlier threshold was replaced"
    );
    let line = std::fs::read_to_string(tree.dir("a").join("cgroup.event_control")).unwrap();
    assert!(line.ends_with(&format!(" {}", 9 << 20)), "{line:?}");
    // v2-only sources refuse a v1 cgroup.
    assert!(matches!(
        w.watch_pressure(cg.as_mut(), 150_000, 1_000_000),
        Err(WatchError::Cgroup {
            source: CgroupFsError::Unsupported { .. },
            ..
        })
    ));
    w.unwatch(&a);
    assert_eq!((w.watched(), w.open_descriptors()), (0, 0));
    w.unwatch(&a);
}

#[test]
fn fixture_psi_trigger_is_refused_by_epoll_and_v2_threshold_is_unsupported() {
    let (_d, tree) = v2_fixture();
    let fs = tree.backend();
    let mut w = Watcher::new().unwrap();
    let mut cg = fs.open(&name("/apps/web")).unwrap();
    // A regular file cannot be polled by epoll (EPERM): a clear error.
    let err = w
        .watch_pressure(cg.as_mut(), 150_000, 1_000_000)
        .unwrap_err();
    assert!(matches!(err, WatchError::Register { .. }), "{err}");
    assert!(err.to_string().contains("/apps/web"), "{err}");
    assert!(matches!(
        w.watch_usage_threshold(cg.as_mut(), 1 << 20),
        Err(WatchError::Cgroup { .. })
    ));
    assert_eq!(w.watched(), 0);
}

#[test]
fn memory_fs_has_no_tree_to_watch() {
    let fs = MemoryFs::new(CgroupVersion::V2, CgroupName::root());
    let mut w = Watcher::new().unwrap();
    assert!(matches!(
        w.watch_tree(&fs),
        Err(WatchError::Cgroup {
            source: CgroupFsError::Unsupported { .. },
            ..
        })
    ));
}

#[test]
fn missing_cgroup_is_gone() {
    let (_d, tree) = v2_fixture();
    let fs = tree.backend();
    let mut cg = fs.open(&name("/apps/web")).unwrap();
    std::fs::remove_dir_all(tree.dir("apps/web")).unwrap();
    let mut w = Watcher::new().unwrap();
    let err = w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap_err();
    assert!(err.is_gone(), "{err:?}");
    assert_eq!(w.watched(), 0);
}

#[test]
fn blocked_signal_raised_here_is_delivered() {
    let mut w = Watcher::new().unwrap();
    w.watch_signals(&[Signal::SIGUSR1]).unwrap();
    w.watch_signals(&[Signal::SIGUSR2]).unwrap();
    raise(Signal::SIGUSR2).unwrap();
    raise(Signal::SIGUSR1).unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let before = seen.len();
        w.wait(Some(PATIENCE), &mut seen).unwrap();
        assert!(seen.len() > before, "signals never came");
    }
    let mut sigs: Vec<_> = seen
        .iter()
        .map(|e| match e {
            WatchEvent::Signal(s) => *s as i32,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    sigs.sort();
    let mut want = vec![Signal::SIGUSR1 as i32, Signal::SIGUSR2 as i32];
    want.sort();
    assert_eq!(sigs, want);
    let mut set = SigSet::empty();
    set.add(Signal::SIGUSR1);
    set.add(Signal::SIGUSR2);
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None).unwrap();
}

#[test]
fn waker_from_another_thread_wakes_once() {
    let mut w = Watcher::new().unwrap();
    let waker = w.waker();
    let t = std::thread::spawn(move || {
        waker.wake();
        waker.wake();
    });
    let mut seen = Vec::new();
    w.wait(None, &mut seen).unwrap();
    t.join().unwrap();
    // Both wakes may have landed before the wait: still one Woken.
    w.wait(Some(Duration::ZERO), &mut seen).unwrap();
    assert!(seen.iter().all(|e| *e == WatchEvent::Woken), "{seen:?}");
    assert!(!seen.is_empty() && seen.len() <= 2, "{seen:?}");
}

#[test]
fn timeout_with_nothing_pending_returns_empty() {
    let mut w = Watcher::new().unwrap();
    let mut out = vec![WatchEvent::TreeChanged];
    w.wait(Some(Duration::from_millis(20)), &mut out).unwrap();
    w.wait(Some(Duration::ZERO), &mut out).unwrap();
    assert_eq!(out, [WatchEvent::TreeChanged], "appends only");
}

#[test]
fn unwatching_a_cgroup_keeps_the_tree_watch_on_its_directory() {
    let (_d, tree) = v2_fixture();
    let fs = tree.backend();
    let web = name("/apps/web");
    let mut w = Watcher::new().unwrap();
    // Removal watch first, tree watch on the same directory second, and
    // the other way round for /apps.
    let mut cg = fs.open(&web).unwrap();
    w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap();
    w.watch_tree(fs.as_ref()).unwrap();
    let mut apps = fs.open(&name("/apps")).unwrap();
    w.watch_oom(fs.as_ref(), apps.as_mut()).unwrap();
    assert_eq!((w.watched(), w.watched_dirs()), (2, 3));
    w.unwatch(&web);
    w.unwatch(&name("/apps"));
    assert_eq!((w.watched(), w.watched_dirs()), (0, 3));
    std::fs::create_dir(tree.dir("apps/web/x")).unwrap();
    let seen = wait_until(&mut w, |e| e == &WatchEvent::TreeChanged);
    assert_eq!(seen, [WatchEvent::TreeChanged]);
    std::fs::create_dir(tree.dir("apps/y")).unwrap();
    wait_until(&mut w, |e| e == &WatchEvent::TreeChanged);
}

/// One change to a fixture tree in [`tree_watch_stays_exact`].
#[derive(Debug, Clone)]
enum Op {
    /// Add a cgroup under existing cgroup number `parent` (modulo the
    /// count), watching its OOM source when `watch` is set.
    Add { parent: usize, watch: bool },
    /// Remove existing leaf cgroup number `which` (modulo the count).
    Remove { which: usize },
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        (any::<usize>(), any::<bool>()).prop_map(|(parent, watch)| Op::Add { parent, watch }),
        any::<usize>().prop_map(|which| Op::Remove { which }),
    ]
}

/// Reads every queued event (the kernel queues inotify events during the
/// syscall that causes them, so nothing is still in flight).
fn drain(w: &mut Watcher) -> Vec<WatchEvent> {
    let mut all = Vec::new();
    loop {
        let before = all.len();
        w.wait(Some(Duration::ZERO), &mut all).unwrap();
        if all.len() == before {
            return all;
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Whatever cgroups come and go, the tree watch covers exactly the
    /// directories that exist, each watched cgroup that goes gives exactly
    /// one Removed, and the others stay watched.
    #[test]
    fn tree_watch_stays_exact(ops in proptest::collection::vec(op(), 1..14)) {
        let dir = tempfile::tempdir().unwrap();
        let tree = FixtureTree::new(dir.path(), CgroupVersion::V2).unwrap();
        let fs = tree.backend();
        let mut w = Watcher::new().unwrap();
        w.watch_tree(fs.as_ref()).unwrap();
        // Relative paths of the cgroups below the root, and the watched ones.
        let mut live: Vec<String> = Vec::new();
        let mut watched: Vec<String> = Vec::new();
        let mut removed_watched: Vec<CgroupName> = Vec::new();
        let mut events = Vec::new();
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Add { parent, watch } => {
                    let base = if live.is_empty() { None } else { Some(parent % (live.len() + 1)) };
                    let rel = match base.and_then(|b| live.get(b)) {
                        Some(p) => format!("{p}/c{i}"),
                        None => format!("c{i}"),
                    };
                    tree.add(&rel, 1 << 20, None).unwrap();
                    if watch {
                        let mut cg = fs.open(&name(&format!("/{rel}"))).unwrap();
                        w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap();
                        watched.push(rel.clone());
                    }
                    live.push(rel);
                }
                Op::Remove { which } => {
                    let leaves: Vec<&String> = live
                        .iter()
                        .filter(|p| !live.iter().any(|q| q.starts_with(&format!("{p}/"))))
                        .collect();
                    if leaves.is_empty() {
                        continue;
                    }
                    let rel = leaves[which % leaves.len()].clone();
                    std::fs::remove_dir_all(tree.dir(&rel)).unwrap();
                    live.retain(|p| *p != rel);
                    if watched.contains(&rel) {
                        watched.retain(|p| *p != rel);
                        removed_watched.push(name(&format!("/{rel}")));
                    }
                }
            }
            // Interleave draining with the changes half of the time.
            if i % 2 == 0 {
                events.extend(drain(&mut w));
            }
        }
        events.extend(drain(&mut w));
        proptest::prop_assert_eq!(w.watched_dirs(), live.len() + 1, "{:?}", events);
        proptest::prop_assert_eq!(w.watched(), watched.len());
        let mut removed: Vec<CgroupName> = events
            .iter()
            .filter_map(|e| match e {
                WatchEvent::Removed { cgroup } => Some(cgroup.clone()),
                _ => None,
            })
            .collect();
        removed.sort();
        removed_watched.sort();
        proptest::prop_assert_eq!(removed, removed_watched);
        let no_oom = events.iter().all(|e| !matches!(e, WatchEvent::Oom { .. }));
        proptest::prop_assert!(no_oom, "{:?}", events);
    }
}

#[test]
fn watcher_and_waker_move_between_threads() {
    fn send<T: Send>() {}
    fn sync<T: Send + Sync>() {}
    send::<Watcher>();
    sync::<Waker>();
    send::<WatchError>();
}
