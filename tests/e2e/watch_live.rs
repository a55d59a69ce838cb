//! Live tests of the event-source layer (`cgcal_core::watch`) on the
//! machine's v1 memory hierarchy, under a `LiveParent` guard (SKIP where
//! none is writable): a real OOM kill, a usage threshold crossing, mkdir
//! and rmdir under the tree watch. Needs the hog:
//! `cargo build -p cgcal-testkit --bins`.

use std::time::Duration;

use cgcal_core::cgroupfs::{open_root, CgroupFs};
use cgcal_core::name::CgroupName;
use cgcal_core::trace::CgroupVersion;
use cgcal_core::watch::{WatchEvent, Watcher};
use cgcal_testkit::{spawn_hog, wait_ready, HogOptions, LiveParent};

const MIB: u64 = 1 << 20;
/// Bound on one wait for a kernel notification (not a timing assertion).
const PATIENCE: Duration = Duration::from_secs(10);

fn name(s: &str) -> CgroupName {
    CgroupName::parse(s).unwrap()
}

fn v1(parent: &LiveParent) -> Box<dyn CgroupFs> {
    let fs = open_root(parent.path(), None).expect("open_root on the live parent");
    assert_eq!(fs.version(), CgroupVersion::V1);
    fs
}

/// Waits (bounded) until an event matches `want`; returns all events seen.
fn wait_until(w: &mut Watcher, want: impl Fn(&WatchEvent) -> bool) -> Vec<WatchEvent> {
    let mut all = Vec::new();
    for _ in 0..6 {
        let from = all.len();
        w.wait(Some(PATIENCE), &mut all).unwrap();
        if all[from..].iter().any(&want) {
            return all;
        }
    }
    panic!("expected event never came; saw {all:?}");
}

#[test]
fn v1_oom_kill_is_reported_for_the_watched_cgroup() {
    let Some(parent) = LiveParent::new("watch-oom") else {
        return;
    };
    let dir = parent.child("a");
    parent.set_limit("a", 16 * MIB);
    let fs = v1(&parent);
    let a = name(&parent.name_of("a"));
    let mut w = Watcher::new().unwrap();
    let mut cg = fs.open(&a).unwrap();
    w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap();
    assert_eq!(w.watched(), 1);

    let mut hog = spawn_hog(&dir, 40, HogOptions::default());
    assert!(wait_ready(&mut hog).is_err(), "a 40 MiB hog fit in 16 MiB");
    let seen = wait_until(&mut w, |e| matches!(e, WatchEvent::Oom { .. }));
    let _ = hog.wait();
    assert!(
        seen.contains(&WatchEvent::Oom {
            cgroup: a.clone(),
            counters: None,
            delta: None
        }),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .all(|e| matches!(e, WatchEvent::Oom { cgroup, .. } if *cgroup == a)),
        "only OOMs of /a: {seen:?}"
    );
    assert!(cg.oom_state().unwrap().oom_kill >= 1);
    assert_eq!(w.watched(), 1, "still watched after an OOM");
}

#[test]
fn v1_usage_threshold_crossing_is_reported() {
    let Some(parent) = LiveParent::new("watch-threshold") else {
        return;
    };
    let dir = parent.child("t");
    parent.set_limit("t", 64 * MIB);
    let fs = v1(&parent);
    let t = name(&parent.name_of("t"));
    let mut w = Watcher::new().unwrap();
    w.watch_tree(fs.as_ref()).unwrap();
    let mut cg = fs.open(&t).unwrap();
    w.watch_usage_threshold(cg.as_mut(), 8 * MIB).unwrap();

    let mut hog = spawn_hog(&dir, 24, HogOptions::default());
    assert_eq!(wait_ready(&mut hog).unwrap(), 24 * MIB);
    let seen = wait_until(&mut w, |e| matches!(e, WatchEvent::Threshold { .. }));
    assert!(
        seen.contains(&WatchEvent::Threshold {
            cgroup: t.clone(),
            bytes: 8 * MIB
        }),
        "{seen:?}"
    );
    let _ = hog.kill();
    let _ = hog.wait();
}

#[test]
fn v1_tree_watch_sees_mkdir_and_rmdir_gives_one_removed() {
    let Some(parent) = LiveParent::new("watch-tree") else {
        return;
    };
    parent.child("b");
    let fs = v1(&parent);
    let b = name(&parent.name_of("b"));
    let mut w = Watcher::new().unwrap();
    w.watch_tree(fs.as_ref()).unwrap();
    let mut cg = fs.open(&b).unwrap();
    w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap();

    let c = name(&parent.name_of("c"));
    fs.create(&c).unwrap();
    wait_until(&mut w, |e| *e == WatchEvent::TreeChanged);
    // The new cgroup's directory is watched itself.
    fs.create(&name(&parent.name_of("c/d"))).unwrap();
    wait_until(&mut w, |e| *e == WatchEvent::TreeChanged);

    fs.remove(&b).unwrap();
    let mut seen = wait_until(&mut w, |e| matches!(e, WatchEvent::Removed { .. }));
    w.wait(Some(Duration::from_millis(300)), &mut seen).unwrap();
    let removed: Vec<_> = seen
        .iter()
        .filter(|e| matches!(e, WatchEvent::Removed { .. }))
        .collect();
    assert_eq!(
        removed,
        [&WatchEvent::Removed { cgroup: b.clone() }],
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|e| matches!(e, WatchEvent::Oom { .. })),
        "removal is not an OOM: {seen:?}"
    );
    assert_eq!(w.watched(), 0);
}

#[test]
fn v1_removal_without_tree_watch_is_told_from_an_oom() {
    let Some(parent) = LiveParent::new("watch-rm") else {
        return;
    };
    parent.child("e");
    let fs = v1(&parent);
    let e = name(&parent.name_of("e"));
    let mut w = Watcher::new().unwrap();
    let mut cg = fs.open(&e).unwrap();
    w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap();
    w.watch_usage_threshold(cg.as_mut(), 4 * MIB).unwrap();
    fs.remove(&e).unwrap();
    let mut seen = wait_until(&mut w, |ev| matches!(ev, WatchEvent::Removed { .. }));
    w.wait(Some(Duration::from_millis(300)), &mut seen).unwrap();
    assert_eq!(seen, [WatchEvent::Removed { cgroup: e.clone() }]);
    assert_eq!(w.watched(), 0);
}
