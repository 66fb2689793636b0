#!/usr/bin/env python3
"""Writes RESULTS.md and the PNG plots of bench/run.sh from its raw output
(`RESULT key value unit` lines, `REP n` markers between repetitions) and
the latency samples (one file per distribution, values in us).

Each table row is a figure beside its floor (measured in the same run,
interleaved) and its peers. Values are medians over the repetitions with
[min-max]; the ratio is taken per repetition (figure / floor of the same
repetition) and shown as median [min-max]. Verdict: `met` when every
repetition's ratio meets the target, `missed` when none does,
`inconclusive` when the range straddles it; `-` when there is no target.
"""

import argparse
import datetime
import os
import platform
import statistics
import subprocess

MIB = 1 << 20


def parse(raw):
    reps = []  # one {key: value} per repetition
    skips = {}
    cur = {}
    for line in open(raw):
        p = line.split()
        if not p:
            continue
        if p[0] == "REP":
            if cur:
                reps.append(cur)
            cur = {}
        elif p[0] == "RESULT" and len(p) >= 3:
            try:
                cur.setdefault(p[1], []).append(float(p[2]))
            except ValueError:
                pass
        elif p[0] == "SKIP" and len(p) >= 2:
            skips[p[1]] = " ".join(p[2:])
    if cur:
        reps.append(cur)
    # one value per key and repetition (a key printed twice in one: median)
    return [{k: statistics.median(v) for k, v in r.items()} for r in reps], skips


class Data:
    def __init__(self, reps, skips):
        self.reps, self.skips = reps, skips

    def vals(self, key):
        return [r[key] for r in self.reps if key in r]

    def has(self, key):
        return bool(self.vals(key))

    def med(self, key):
        v = self.vals(key)
        return statistics.median(v) if v else None

    def ratios(self, key, floor):
        """per repetition figure / floor (floor: a key or a constant)"""
        out = []
        for r in self.reps:
            f = floor if isinstance(floor, (int, float)) else r.get(floor)
            if key in r and f:
                out.append(r[key] / f)
        return out


def fmt(v, unit):
    if v is None:
        return "n/a"
    if unit == "ns" and v >= 1e4:
        v, unit = v / 1e3, "us"
    if unit == "us" and v >= 1e4:
        v, unit = v / 1e3, "ms"
    if unit == "items/s":
        return "%.3g M/s" % (v / 1e6)
    if abs(v) >= 100:
        return "%.0f %s" % (v, unit)
    return "%.3g %s" % (v, unit)


def span(d, key, unit):
    v = d.vals(key)
    if not v:
        why = d.skips.get(key)
        return "skipped (%s)" % why if why else "n/a"
    m = statistics.median(v)
    if len(v) == 1:
        return fmt(m, unit)
    return "%s [%s–%s]" % (fmt(m, unit), fmt(min(v), unit).split()[0], fmt(max(v), unit))


def verdict(rs, target):
    if target is None or not rs:
        return "-"
    op, t = target
    ok = [(r <= t) if op == "<=" else (r >= t) for r in rs]
    if all(ok):
        return "met"
    if not any(ok):
        return "**missed**"
    return "inconclusive"


def rfmt(r):
    return "%.2f" % r if r >= 0.1 else "%.2g" % r


def ratio_text(rs):
    if not rs:
        return "n/a"
    m = statistics.median(rs)
    if len(rs) == 1:
        return "%s×" % rfmt(m)
    return "%s× [%s–%s]" % (rfmt(m), rfmt(min(rs)), rfmt(max(rs)))


def causes(d):
    """Sentences, from this run's numbers, on what bounds the misses."""
    out = []
    r1 = d.ratios("contend_mba_1proc_ns", "contend_floor_futex_1proc_ns")
    rp = {p: d.ratios("contend_mba_%dproc_ns" % p, "contend_floor_futex_%dproc_ns" % p) for p in (2, 4, 8)}
    if r1 and all(rp.values()):
        out.append("- Scaling: with one writer (no contention at all) mba_append is already %.2f× the "
                   "spin-then-futex floor (the per-call cost: handle lookup, token check, lock word); "
                   "at 2, 4, 8 writers the ratio is %s: what it adds to the one-writer ratio is what "
                   "contention still costs libmba's lock on 2 cores (a waiter is polite: it takes a free "
                   "word only if it stays free ~0.8 µs, for its first 4 sleeps; before that, 2 writers "
                   "handed the lock over every 2-60 appends; what remains is mostly the wake-up system "
                   "calls a holder makes for sleepers that go back to sleep)." % (
                       statistics.median(r1),
                       ", ".join("%.2f×" % statistics.median(rp[p]) for p in (2, 4, 8))))
    for fs in ("ext4", "tmpfs"):
        a, f, w = (d.med("growth_append_%s_us" % fs), d.med("growth_fallocate_%s_us" % fs),
                   d.med("growth_floor_first_write_%s_us" % fs))
        if a and f and w is not None:
            out.append("- Growth on %s: the append that grows takes %s; posix_fallocate of the same bytes "
                       "%s, and the floor's own first write into those new bytes (one page fault) %s: "
                       "the append is %.2f× fallocate + that fault." % (
                           fs, fmt(a, "us"), fmt(f, "us"), fmt(w, "us"), a / (f + w)))
        r, rf = d.med("growth_reserve_%s_us" % fs), d.med("growth_reserve_first_append_%s_us" % fs)
        fw, ww = d.med("growth_fallocate_written_%s_us" % fs), d.med("growth_written_first_write_%s_us" % fs)
        if r and rf and fw and ww:
            ra = d.med("growth_readahead_%s_kb" % fs)
            out.append("- Growth on %s, its two parts apart: the growth step alone (mba_reserve) takes %s "
                       "vs %s for posix_fallocate on a file written the same way; the first append into the new bytes %s vs %s for the "
                       "first write in C: the cost is the first write's page fault, not the growth%s." % (
                           fs, fmt(r, "us"), fmt(fw, "us"), fmt(rf, "us"), fmt(ww, "us"),
                           "" if not ra else " (a fault into a file of a block device reads around "
                           "it, up to read_ahead_kb = %d KiB here, and on ext4 zero-fills those pages of "
                           "allocated, unwritten blocks)" % ra))
    w50, k50, dth = (d.med("recovery_waiting_p50_us"), d.med("recovery_kernel_waiter_p50_us"),
                     d.med("holder_death_p50_us"))
    if w50 and k50 and dth:
        out.append("- Recovery: kill → reaped takes %s (one wake-up, the parent's); a process blocked in the "
                   "kernel on the dead holder's OFD byte lock, woken by the death itself and reporting "
                   "through the same pipe, takes %s (%.2f× kill → reaped: two wake-ups, as libmba's blocked "
                   "writer needs); libmba's blocked writer %s, %.2f× that kernel-notified floor: the rest is "
                   "its polling (a 20 µs sleep between liveness checks while the holder looks stuck; 10 µs "
                   "was tried and was within the noise)." % (
                       fmt(dth, "us"), fmt(k50, "us"), k50 / dth, fmt(w50, "us"), w50 / k50))
    o50, f999 = d.med("oneway_mba_p50_us"), d.vals("oneway_floor_p999_us")
    if o50 and f999:
        out.append("- One-way latency tails: the bare cache-line floor's own p99.9 reaches %s in this run "
                   "(max over repetitions): two spinning processes on 2 shared cores are preempted; the "
                   "tails measure the scheduler, the p50 the protocol." % fmt(max(f999), "us"))
    pf, pages = d.med("oneway_mba_faults_producer"), d.med("oneway_mba_pages")
    ps, m999 = d.med("oneway_mba_page_start_p50_us"), d.med("oneway_mba_p999_us")
    a999, l999 = d.med("oneway_floorarray_p999_us"), d.med("oneway_mbamlock_p999_us")
    lf, f999m = d.med("oneway_mbamlock_faults_producer"), d.med("oneway_floor_p999_us")
    if pf is not None and pages and ps is not None and a999 and l999:
        out.append("- One-way p99.9: each element goes to a new address, so the producer takes a page fault at "
                   "every new 4 KiB page (%d minor faults for the %d pages of the run: one per 512 elements, "
                   "0.2 %% of them, more than the 0.1 %% above the p99.9); the elements that start a page "
                   "take %s (median) against a p50 of %s. A plain-C array written the same way (a new "
                   "address per element) has a p99.9 of %s; with the pages mapped first (mba_mlock, %d "
                   "producer faults) libmba's p99.9 is %s vs %s for the cache line." % (
                       pf, pages, fmt(ps, "us"), fmt(d.med("oneway_mba_p50_us"), "us"), fmt(a999, "us"),
                       lf or 0, fmt(l999, "us"), fmt(f999m, "us")))
    e, c = d.med("py_extend_mba_ns"), d.med("mba_extend1024_ns")
    if e and c:
        out.append("- Python extend: %s per element through the package vs %s per element for "
                   "mba_extend from C (chunks of 1024, u32) in this run; the slot peers only copy "
                   "into memory that exists already." % (fmt(e, "ns"), fmt(c, "ns")))
    pw = d.med("py_extend_floor_pwrite_ns")
    if e and pw:
        out.append("- Python extend into pages the process has not mapped (this figure) is one pwrite "
                   "into the file: that pwrite alone (os.pwrite of the same 8 MB into a /dev/shm file) "
                   "takes %s per element; the package %.2f× that." % (fmt(pw, "ns"), e / pw))
    at, fl = d.med("py_attach_mba_1M_us"), d.med("py_attach_floor_1M_us")
    if at and fl:
        out.append("- Python attach (1 MiB): %s vs %s for open + fstat + mmap + [0] from Python: "
                   "%s more per attach, the same at every size (O(1))." % (
                       fmt(at, "us"), fmt(fl, "us"), fmt(at - fl, "us")))
    cg = d.med("py_attach_ctypes_open_get_1M_us")
    if at and fl and cg:
        out.append("- Python attach, the bound of any binding: mba_open + mba_get_i64(0) straight "
                   "through ctypes (no array object) takes %s, %.2f× the floor; the package %.2f× "
                   "that." % (fmt(cg, "us"), cg / fl, at / cg))
    return out


# figure, key, unit, floor name, floor key (or constant), target (op, ratio), peers [(name, key)]
def c_rows(d, big_mib):
    rows = [
        ("**C, one process**",),
        ("mba_append u32, uncontended", "mba_append_ns", "ns", "C append (no lock)", "floor_append_ns", None,
         [("C CAS+xchg lock + append", "floor_lock_append_ns")]),
        ("mba_lock + mba_append loop, per element", "mba_lock_append_ns", "ns", "C append (no lock)",
         "floor_append_ns", ("<=", 1.5), []),
        ("mba_extend chunks of 1024, per element", "mba_extend1024_ns", "ns", "C append (no lock)",
         "floor_append_ns", None, []),
        ("**one-way latency, C producer → C consumer spinning on len**",),
    ]
    for q in ("p50", "p99", "p999"):
        rows.append(("one element, %s" % q.replace("p999", "p99.9"), "oneway_mba_%s_us" % q, "us",
                     "one shared cache line", "oneway_floor_%s_us" % q, ("<=", 1.5), []))
    # libmba writes every element to a new address, so it takes a page fault
    # per new 4 KiB page, which the one cache line never does: the same
    # comparison without faults on either side (pages mapped first with
    # mba_mlock), and libmba as is beside a plain-C array that faults alike
    rows.append(("  p99.9, pages mapped first (mba_mlock): no faults, like the floor", "oneway_mbamlock_p999_us",
                 "us", "one shared cache line", "oneway_floor_p999_us", ("<=", 1.5), []))
    rows.append(("  p99.9 as is, vs plain C faulting alike (a new address per element)", "oneway_mba_p999_us",
                 "us", "plain-C shared array", "oneway_floorarray_p999_us", ("<=", 1.5), []))
    rows += [
        ("**memory shared: 4 readers of one %s array (total PSS)**" % human(big_mib),),
        ("4 readers through libmba", "pss4_mba_mib", "MiB", "one copy (%s)" % human(big_mib),
         big_mib, ("<=", 1.05),
         [("4 bare mmap readers", "pss4_mmap_mib"), ("4 private copies", "pss4_private_mib")]),
        ("**bulk bandwidth, %s into a fresh array**" % human(big_mib),),
        ("mba_extend, ext4 (GB/s)", "bulk_write_mba_ext4_gbps", "GB/s", "C first-touch MAP_SHARED",
         "bulk_write_floor_ext4_gbps", (">=", 0.8), []),
        ("mba_extend, tmpfs (GB/s)", "bulk_write_mba_tmpfs_gbps", "GB/s", "C first-touch MAP_SHARED",
         "bulk_write_floor_tmpfs_gbps", (">=", 0.8), []),
        ("mba_read 1 MiB chunks, ext4 file (GB/s)", "bulk_read_mba_ext4_gbps", "GB/s", "memcpy",
         "bulk_read_memcpy_ext4_gbps", (">=", 0.9), []),
        ("mba_read 1 MiB chunks, tmpfs file (GB/s)", "bulk_read_mba_tmpfs_gbps", "GB/s", "memcpy",
         "bulk_read_memcpy_tmpfs_gbps", (">=", 0.9), []),
        ("**growth: the append that grows the array**",),
    ]
    for fs in ("ext4", "tmpfs"):
        added = d.med("growth_added_%s_mib" % fs)
        rows.append(("append across a growth step (+%s), %s" % (human(added), fs),
                     "growth_append_%s_us" % fs, "us", "posix_fallocate, same bytes",
                     "growth_fallocate_%s_us" % fs, ("<=", 1.2),
                     [("the floor's first write into the new bytes", "growth_floor_first_write_%s_us" % fs),
                      ("next append", "growth_next_append_%s_us" % fs)]))
        rows.append(("  same, vs fallocate + that first write", "growth_append_%s_us" % fs, "us",
                     "posix_fallocate + first write", "growth_floor_total_%s_us" % fs, None, []))
        # the append's two parts apart, each beside plain C on a file
        # written the same way (the array's data was just written)
        rows.append(("  the growth step alone (mba_reserve, no row written), %s" % fs,
                     "growth_reserve_%s_us" % fs, "us", "posix_fallocate, same bytes, file written alike",
                     "growth_fallocate_written_%s_us" % fs, ("<=", 1.2), []))
        rows.append(("  the append after it (first write into the new bytes), %s" % fs,
                     "growth_reserve_first_append_%s_us" % fs, "us", "C first write into them, same file state",
                     "growth_written_first_write_%s_us" % fs, None, []))
    rows += [
        ("**scaling: P writer processes appending to one array (ns per append, aggregate)**",),
    ]
    for p in (1, 2, 4, 8):
        rows.append(("%d writer%s" % (p, "s" if p > 1 else ""), "contend_mba_%dproc_ns" % p, "ns",
                     "C spin-then-futex lock", "contend_floor_futex_%dproc_ns" % p,
                     ("<=", 1.0) if p > 1 else None,
                     [("C CAS+xchg+yield lock", "contend_floor_cas_%dproc_ns" % p)]))
    rows += [
        ("4 writers (bench.c, 2M appends each)", "mba_append_4proc_ns", "ns", "C CAS+xchg+yield lock",
         "floor_lock_4proc_ns", None, []),
        ("**lock recovery after SIGKILL of the holder**",),
        ("writer blocked at the kill, p50", "recovery_waiting_p50_us", "us", "kill → reaped",
         "holder_death_p50_us", ("<=", 1.2), []),
        ("writer blocked at the kill, p90", "recovery_waiting_p90_us", "us", "kill → reaped",
         "holder_death_p50_us", None, []),
        ("writer blocked at the kill, p50, vs a waiter the kernel wakes", "recovery_waiting_p50_us", "us",
         "blocked in F_OFD_SETLKW on the holder's byte", "recovery_kernel_waiter_p50_us", None, []),
        ("next writer after the death, p50", "recovery_fresh_p50_us", "us", "OFD lock round trip",
         "ofd_lock_roundtrip_us", None, []),
        ("**wake-up latency (append → waiter running)**",),
        ("1 waiter (bench.c), p50", "wake_p50_us", "us", "bare futex", "futex_wake_p50_us", None, []),
        ("1 waiter (bench.c), p99", "wake_p99_us", "us", "bare futex", "futex_wake_p99_us", None, []),
    ]
    for w in (1, 4, 16):
        for q in ("p50", "p99"):
            rows.append(("%d waiter%s, %s" % (w, "s" if w > 1 else "", q), "wake%d_mba_%s_us" % (w, q), "us",
                         "bare futex, %d waiter%s" % (w, "s" if w > 1 else ""), "wake%d_futex_%s_us" % (w, q), None, []))
    rows += [
        ("**Arrow export of a whole u32 array (export + release)**",),
    ]
    for k in (3, 5, 7):
        rows.append(("zero-copy, 10^%d elements" % k, "arrow_zero_copy_1e%d" % k, "us",
                     "MBA_ARROW_COPY, same data", "arrow_copy_1e%d" % k, None, []))
    rows += [
        ("zero-copy at 10^7 vs at 10^3 (size-independent)", "arrow_zero_copy_1e7", "us",
         "zero-copy, 10^3 elements", "arrow_zero_copy_1e3", ("<=", 1.5), []),
        ("**hand-off, one u64 at a time (items/s; higher is better)**",),
        ("C producer → C consumer (polls, then mba_wait)", "handoff_c_items_per_s", "items/s",
         "Python multiprocessing.Pipe", "pipe_mp_items_per_s", (">=", 20.0),
         [("consumer sleeps at once", "handoff_c_sleep_items_per_s"), ("Python os.pipe", "pipe_os_items_per_s"),
          ("Python ctypes producer → C", "handoff_ctypes_items_per_s")]),
    ]
    return rows


PY_PEERS = ["array.array", "mmap_backed_array", "numpy.memmap", "SharedArray", "shared_memory"]


def py_rows(d):
    rows = [("**Python: the `mba` package beside its peers (`bench/bench_peers.py`)**",)]
    rows.append(("append(i), one element", "py_append_mba_ns", "ns", "array.array", "py_append_array.array_ns",
                 None, [("mmap_backed_array", "py_append_mmap_backed_array_ns")] +
                 [("%s m[i]=i" % p, "py_append_%s_slot_ns" % p) for p in PY_PEERS[2:]]))
    rows.append(("extend 1M int64, per element", "py_extend_mba_ns", "ns", "array.array",
                 "py_extend_array.array_ns", ("<=", 1.2),
                 [(p, "py_extend_%s_ns" % p) for p in PY_PEERS[1:]]))
    rows.append(("a[i]", "py_get_mba_ns", "ns", "array.array", "py_get_array.array_ns", ("<=", 3.0),
                 [(p, "py_get_%s_ns" % p) for p in PY_PEERS[1:]]))
    rows.append(("a[i] = v", "py_set_mba_ns", "ns", "array.array", "py_set_array.array_ns", None,
                 [(p, "py_set_%s_ns" % p) for p in PY_PEERS[1:]]))
    for tag, name in (("1M", "1 MiB"), ("64M", "64 MiB"), ("1024M", "1 GiB")):
        if not d.has("py_attach_mba_%s_us" % tag):
            continue
        rows.append(("attach + a[0], %s, first mapping (median)" % name, "py_attach_mba_%s_us" % tag, "us",
                     "open+fstat+mmap+[0]", "py_attach_floor_%s_us" % tag, ("<=", 1.3),
                     [(p, "py_attach_%s_%s_us" % (p, tag)) for p in PY_PEERS[1:]]))
    rows.append(("hand-off Python → Python, one int (items/s)", "py_handoff_mba_items_per_s", "items/s",
                 "multiprocessing.Pipe", "py_handoff_multiprocessing.Pipe_items_per_s", None,
                 [("os.pipe", "py_handoff_os.pipe_items_per_s"),
                  ("shared_memory + counter", "py_handoff_shared_memory_items_per_s")]))
    return rows


def human(mib):
    if mib is None:
        return "?"
    return "%g GiB" % (mib / 1024) if mib >= 1024 else "%g MiB" % mib


def table(d, rows, headline):
    out = ["| figure | measured | floor | ratio | target | verdict | peers (median, ratio of the figure to it) |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        if len(r) == 1:
            out.append("| %s | | | | | | |" % r[0])
            continue
        name, key, unit, fname, fkey, target, peers = r
        rs = d.ratios(key, fkey)
        if isinstance(fkey, (int, float)):
            ftext = "%s: %s" % (fname, fmt(fkey, unit))
        else:
            ftext = "%s: %s" % (fname, span(d, fkey, unit))
        ptext = []
        for pn, pk in peers:
            pv = d.med(pk)
            if pv is None:
                why = d.skips.get(pk)
                if why:
                    ptext.append("%s: skipped (%s)" % (pn, why))
                continue
            m = d.med(key)
            ptext.append("%s %s (%s)" % (pn, fmt(pv, unit), "%.2f×" % (m / pv) if m and pv else "n/a"))
        t = "" if target is None else "%s %g×" % ("≤" if target[0] == "<=" else "≥", target[1])
        v = verdict(rs, target)
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            name, span(d, key, unit), ftext, ratio_text(rs), t, v, "; ".join(ptext)))
        if target is not None and rs:
            headline.append((name, ratio_text(rs), t, v))
    return out


def machine(args):
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load_after = " ".join(open("/proc/loadavg").read().split()[:3])
    return [
        "- date: %s UTC; duration %d s; %s" % (
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
            int(args.seconds), "**--quick (smoke test: figures are not meaningful)**" if args.quick == "1"
            else "%s interleaved repetitions" % args.reps),
        "- machine: %s, %d cores, kernel %s, %s" % (cpu, os.cpu_count(), platform.release(), platform.machine()),
        "- load average (1, 5, 15 min): %s before, %s after" % (args.load_before, load_after),
        "- commit: %s" % args.commit,
        "- files: target/ is %s; the tmpfs is mounted by run.sh (never the real /dev/shm)" % args.ext,
        "- Python %s" % platform.python_version(),
    ]


# ------------------------------------------------------------------ plots

def plots(d, samples, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return ["(plots skipped: %s)" % e]
    made = []

    def load(name):
        p = os.path.join(samples, name + ".txt")
        if not os.path.exists(p):
            return None
        v = sorted(float(x) for x in open(p) if x.strip())
        return v or None

    def cdf(ax, v, label, **kw):
        n = len(v)
        ax.plot(v, [(i + 1) / n for i in range(n)], label=label, **kw)

    def save(fig, name, title):
        path = os.path.join(out, name)
        fig.tight_layout()
        fig.savefig(path, dpi=72)
        plt.close(fig)
        made.append("![%s](%s)" % (title, name))

    # latency CDFs
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    ax = axes[0]
    for k, lab, st in (("oneway_mba", "libmba (len spin)", "-"), ("oneway_floor", "floor: one cache line", "--"),
                       ("oneway_mbamlock", "libmba, pages mlocked", "-."),
                       ("oneway_floorarray", "floor: plain-C array", ":")):
        v = load(k)
        if v:
            cdf(ax, v, lab, linestyle=st)
    ax.set_xscale("log")
    ax.set_xlabel("one-way latency (us)")
    ax.set_ylabel("fraction")
    ax.set_title("one element, C producer -> C consumer")
    ax.legend(fontsize=8)
    ax = axes[1]
    for w, c in ((1, "C0"), (4, "C1"), (16, "C2")):
        for k, lab, st in (("wake%d_mba" % w, "mba_wait, %d" % w, "-"), ("wake%d_futex" % w, "futex, %d" % w, "--")):
            v = load(k)
            if v:
                cdf(ax, v, lab, linestyle=st, color=c)
    ax.set_xscale("log")
    ax.set_xlabel("wake-up latency (us)")
    ax.set_title("wake-up with 1, 4, 16 waiters")
    ax.legend(fontsize=7)
    save(fig, "latency-cdf.png", "latency CDFs")

    def err(keys):
        m, lo, hi = [], [], []
        for k in keys:
            v = d.vals(k)
            if not v:
                m.append(float("nan")), lo.append(0), hi.append(0)
                continue
            md = statistics.median(v)
            m.append(md), lo.append(md - min(v)), hi.append(max(v) - md)
        return m, [lo, hi]

    # scaling
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ps = [1, 2, 4, 8]
    for kind, lab in (("mba", "libmba mba_append"), ("floor_futex", "C spin-then-futex lock"),
                      ("floor_cas", "C CAS+xchg+yield lock")):
        m, e = err(["contend_%s_%dproc_ns" % (kind, p) for p in ps])
        ax.errorbar(ps, m, yerr=e, marker="o", capsize=3, label=lab)
    ax.set_xscale("log", base=2)
    ax.set_xticks(ps)
    ax.set_xticklabels([str(p) for p in ps])
    ax.set_xlabel("writer processes (2 cores)")
    ax.set_ylabel("ns per append (aggregate)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title("appends to one array: scaling")
    save(fig, "scaling.png", "scaling with processes")

    # attach vs size
    tags = [t for t in ("1M", "64M", "1024M") if d.has("py_attach_mba_%s_us" % t)]
    if tags:
        sizes = {"1M": 1, "64M": 64, "1024M": 1024}
        fig, ax = plt.subplots(figsize=(6, 3.8))
        for p in ["mba", "floor"] + PY_PEERS[2:]:
            xs = [sizes[t] for t in tags if d.has("py_attach_%s_%s_us" % (p, t))]
            if not xs:
                continue
            m, e = err(["py_attach_%s_%s_us" % (p, t) for t in tags if d.has("py_attach_%s_%s_us" % (p, t))])
            ax.errorbar(xs, m, yerr=e, marker="o", capsize=3,
                        label="floor: open+fstat+mmap" if p == "floor" else p)
        ax.set_xscale("log", base=2)
        ax.set_xticks([sizes[t] for t in tags])
        ax.set_xticklabels([{"1M": "1 MiB", "64M": "64 MiB", "1024M": "1 GiB"}[t] for t in tags])
        ax.set_xlabel("array size")
        ax.set_ylabel("attach + read [0] (us)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
        ax.set_title("Python attach, first mapping, vs size")
        save(fig, "attach-vs-size.png", "attach time vs array size")

    # bandwidth
    groups = [("write ext4", "bulk_write_mba_ext4_gbps", "bulk_write_floor_ext4_gbps"),
              ("write tmpfs", "bulk_write_mba_tmpfs_gbps", "bulk_write_floor_tmpfs_gbps"),
              ("read ext4", "bulk_read_mba_ext4_gbps", "bulk_read_memcpy_ext4_gbps"),
              ("read tmpfs", "bulk_read_mba_tmpfs_gbps", "bulk_read_memcpy_tmpfs_gbps")]
    groups = [g for g in groups if d.has(g[1])]
    if groups:
        fig, ax = plt.subplots(figsize=(6, 3.8))
        xs = list(range(len(groups)))
        m, e = err([g[1] for g in groups])
        ax.bar([x - 0.2 for x in xs], m, 0.4, yerr=e, capsize=3, label="libmba (mba_extend / mba_read)")
        m, e = err([g[2] for g in groups])
        ax.bar([x + 0.2 for x in xs], m, 0.4, yerr=e, capsize=3, label="floor (first-touch write / memcpy)")
        ax.set_xticks(xs)
        ax.set_xticklabels([g[0] for g in groups])
        ax.set_ylabel("GB/s")
        ax.legend(fontsize=8)
        ax.set_title("bulk bandwidth vs the floor")
        save(fig, "bandwidth.png", "bandwidth vs the floor")
    return made


def main():
    ap = argparse.ArgumentParser()
    for a in ("raw", "samples", "out", "python-log", "commit", "quick", "reps", "load-before",
              "seconds", "big", "grow", "ext"):
        ap.add_argument("--" + a, default="")
    args = ap.parse_args()
    reps, skips = parse(args.raw)
    d = Data(reps, skips)
    for r in d.reps:  # derived keys
        if "ofd_lock_roundtrip_ns" in r:
            r["ofd_lock_roundtrip_us"] = r["ofd_lock_roundtrip_ns"] / 1e3
        for fs in ("ext4", "tmpfs"):
            a, b = "growth_fallocate_%s_us" % fs, "growth_floor_first_write_%s_us" % fs
            if a in r and b in r:
                r["growth_floor_total_%s_us" % fs] = r[a] + r[b]
    big = args.big
    big_mib = int(big[:-1]) * (1024 if big.endswith("G") else 1) if big else None
    headline = []
    body = table(d, c_rows(d, big_mib) + py_rows(d), headline)
    made = plots(d, args.samples, args.out)
    moved = [d.med("growth_ptr_moved_%s" % fs) for fs in ("ext4", "tmpfs")]
    moved = [m for m in moved if m is not None]
    lines = ["# libmba benchmark results", "",
             "Written by `bash bench/run.sh` (bench/README.md says what each figure measures). "
             "Every figure is beside its floor, measured in the same run, figure and floor interleaved; "
             "values are medians over the repetitions with [min–max]; the ratio is figure / floor per "
             "repetition. Verdict: met (every repetition meets the target), missed (none does), "
             "inconclusive (the range straddles the target).", "",
             "**Noise:** these are 2-core VMs shared with other jobs that move by ~20 % between runs "
             "(the load average under Machine shows how busy this one was); compare ratios within "
             "the run, not absolute figures across runs.", "",
             "## Machine", ""] + machine(args) + [
             "", "## Headline: the targets of issue 18", "",
             "| figure | ratio to its floor | target | verdict |", "|---|---|---|---|"]
    for name, r, t, v in headline:
        lines.append("| %s | %s | %s | %s |" % (name, r, t, v))
    cs = causes(d)
    if cs:
        lines += ["", "What bounds the misses, measured in this run:", ""] + cs
    lines += ["", "Pointers after growth: %s." % (
        "the data pointer did not move (%d checks)" % len(moved) if moved and not any(moved)
        else "**the data pointer moved**" if any(moved) else "not measured"), "",
        "## All figures", ""] + body + ["", "## Plots", ""] + made
    if args.python_log and os.path.exists(args.python_log):
        lines += ["", "## bench/bench_python.py --quick --max-size 64M (the binding's own table, one run)", "", "```"]
        # no path of the machine in a committed file: the repository is "."
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        lines += [l.rstrip().replace(repo, ".") for l in open(args.python_log)]
        lines += ["```"]
    lines += ["", "Raw `RESULT` lines: target/bench/raw.txt (not committed)."]
    with open(os.path.join(args.out, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines[:lines.index("## All figures")]))


if __name__ == "__main__":
    main()
