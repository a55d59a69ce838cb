//! Cost of the event-source layer (`cgcal_core::watch`), each against a
//! baseline measured in the same run:
//! * a waker wake-up delivered by `Watcher::wait` vs a bare eventfd
//!   write + poll + read;
//! * a v2 `memory.events` change (tmpdir fixture) turned into an `Oom` with
//!   its delta (inotify, epoll, pread, parse) vs the file write alone;
//! * `watch_tree` on a 1,000-directory tree vs `CgroupFs::list` of it.

use std::hint::black_box;
use std::os::fd::AsFd;
use std::time::Duration;

use cgcal_core::cgroupfs::fixture::FixtureTree;
use cgcal_core::name::CgroupName;
use cgcal_core::trace::CgroupVersion;
use cgcal_core::watch::{WatchEvent, Watcher};
use criterion::{criterion_group, criterion_main, Criterion};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

fn events_text(n: u64) -> String {
    format!("low 0\nhigh 0\nmax {n}\noom {n}\noom_kill {n}\noom_group_kill 0\n")
}

fn wake(c: &mut Criterion) {
    let mut g = c.benchmark_group("watch_wake");
    let efd = EventFd::from_flags(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC).unwrap();
    g.bench_function("baseline_eventfd_write_poll_read", |b| {
        b.iter(|| {
            efd.write(1).unwrap();
            let mut fds = [PollFd::new(efd.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::ZERO).unwrap();
            black_box(efd.read().unwrap());
        })
    });
    let mut w = Watcher::new().unwrap();
    let waker = w.waker();
    let mut out = Vec::with_capacity(4);
    g.bench_function("waker_wake_wait", |b| {
        b.iter(|| {
            out.clear();
            waker.wake();
            w.wait(Some(Duration::ZERO), &mut out).unwrap();
            assert_eq!(out.len(), 1);
        })
    });
    g.finish();
}

fn v2_events(c: &mut Criterion) {
    let mut g = c.benchmark_group("watch_v2_events");
    let dir = tempfile::tempdir().unwrap();
    let tree = FixtureTree::new(dir.path(), CgroupVersion::V2).unwrap();
    tree.add("apps/web", 64 << 20, Some(128 << 20)).unwrap();
    let path = tree.dir("apps/web").join("memory.events");
    let mut n = 0u64;
    g.bench_function("baseline_write", |b| {
        b.iter(|| {
            n += 1;
            std::fs::write(&path, events_text(n)).unwrap();
        })
    });
    let fs = tree.backend();
    let web = CgroupName::parse("/apps/web").unwrap();
    let mut w = Watcher::new().unwrap();
    let mut cg = fs.open(&web).unwrap();
    w.watch_oom(fs.as_ref(), cg.as_mut()).unwrap();
    let mut out = Vec::with_capacity(4);
    g.bench_function("write_then_oom_event", |b| {
        b.iter(|| {
            n += 1;
            std::fs::write(&path, events_text(n)).unwrap();
            out.clear();
            while !out.iter().any(|e| matches!(e, WatchEvent::Oom { .. })) {
                w.wait(Some(Duration::from_secs(5)), &mut out).unwrap();
            }
        })
    });
    g.finish();
}

fn tree(c: &mut Criterion) {
    let mut g = c.benchmark_group("watch_tree_1000_dirs");
    g.sample_size(20);
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40 {
        for j in 0..24 {
            std::fs::create_dir_all(dir.path().join(format!("s{i}/c{j}"))).unwrap();
        }
    }
    let tree = FixtureTree::new(dir.path(), CgroupVersion::V2).unwrap();
    let fs = tree.backend();
    assert_eq!(fs.list().unwrap().len(), 1 + 40 + 40 * 24);
    g.bench_function("baseline_list", |b| {
        b.iter(|| black_box(fs.list().unwrap()))
    });
    g.bench_function("watch_tree", |b| {
        b.iter(|| {
            let mut w = Watcher::new().unwrap();
            w.watch_tree(fs.as_ref()).unwrap();
            black_box(w)
        })
    });
    g.finish();
}

criterion_group!(benches, wake, v2_events, tree);
criterion_main!(benches);
