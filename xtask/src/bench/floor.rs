//! The floor of a one-client batch-sync put on this machine: durable
//! writes on the logs' file system and loopback round trips.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Instant;

/// What bounds a one-client batch-sync put from below on this machine.
pub struct Floor {
    /// Where it was measured: the directory the bench's clusters keep
    /// their logs in, and that directory's file system type.
    pub dir: String,
    pub fs: String,
    /// p50 of one direct synchronous write (`O_DIRECT | O_DSYNC`) of a
    /// 4 KiB block holding a 124-byte record (a put's size) over zeros
    /// already on disk, as the commit log does with batch sync; `None`
    /// where the file system refuses direct writes.
    /// Measured while another thread makes direct synchronous writes to
    /// another file, as in a QUORUM put, where a replica syncs at the same
    /// time: on a virtual disk a lone sync can cost ten times as much as
    /// one among others, and the cluster never syncs alone under load.
    pub direct_ms: Option<f64>,
    /// The same, with no other sync beside it.
    pub alone_ms: Option<f64>,
    /// p50 of one `fdatasync` after writing the record over zeros (the
    /// log's way where direct writes are refused).
    pub overwrite_ms: f64,
    /// The same, appending to the file (the log's old way).
    pub append_ms: f64,
    /// p50 of a loopback TCP round trip of 124 bytes, Nagle off, between
    /// two threads held on two different CPUs: a put's hops go between
    /// processes each busy on a vCPU of its own (the timeline's steps 3
    /// and 7). Threads the kernel places may share one CPU, where a round
    /// trip is far cheaper than any hop of a put, and whether they do
    /// varies between runs. Unpinned where two threads could not be held
    /// on two CPUs ([`Floor::rtt_apart`]).
    pub rtt_ms: f64,
    /// Whether [`Floor::rtt_ms`] was measured with both threads held on
    /// CPUs of their own.
    pub rtt_apart: bool,
    /// The same round trip between two threads placed by the kernel
    /// (reported, not in the floor).
    pub rtt_free_ms: f64,
}

impl Floor {
    /// One durable write the way the commit log makes it here: direct
    /// where the file system takes direct writes, else write + fdatasync;
    /// and how it was made.
    pub fn sync_ms(&self) -> (f64, &'static str) {
        match self.direct_ms {
            Some(d) => (d, "a direct synchronous write beside another"),
            None => (self.overwrite_ms, "write + fdatasync"),
        }
    }

    /// How [`Floor::rtt_ms`] was measured, for the report.
    pub fn rtt_how(&self) -> &'static str {
        if self.rtt_apart {
            "between two CPUs"
        } else {
            "between threads the kernel placed (they could not be held on two CPUs)"
        }
    }

    /// The floor: one durable write (the coordinator's and a replica's
    /// run at the same time, and [`Floor::direct_ms`] is measured beside
    /// another) and two loopback round trips (client to coordinator,
    /// coordinator to replica).
    pub fn total_ms(&self) -> f64 {
        self.sync_ms().0 + 2.0 * self.rtt_ms
    }
}

/// Measures [`Floor`]: `n` durable writes each way in `dir` (where the
/// bench's clusters keep their logs), then `n` loopback round trips.
pub fn latency_floor(dir: &Path, n: usize) -> Result<Floor, String> {
    use std::os::unix::fs::FileExt;
    let dir = fs::canonicalize(dir).unwrap_or(dir.to_path_buf());
    let path = dir.join(format!("ringside-xtask-fsync-{}", std::process::id()));
    let timed = |append: bool| -> Result<f64, String> {
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let io = |e: std::io::Error| format!("{}: {e}", path.display());
        if !append {
            f.write_all_at(&vec![0u8; (n + 1) * RECORD.len()], 0)
                .map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        let mut times = Vec::with_capacity(n);
        for i in 0..n {
            f.write_all_at(&RECORD, (i * RECORD.len()) as u64)
                .map_err(io)?;
            let t = Instant::now();
            f.sync_data().map_err(io)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        p50(times).ok_or_else(|| "no write was timed".to_string())
    };
    let companion = dir.join(format!("ringside-xtask-fsync-{}-b", std::process::id()));
    let result = timed(false).and_then(|o| {
        Ok((
            o,
            timed(true)?,
            direct_p50(&path, None, n)?,
            direct_p50(&path, Some(&companion), n)?,
        ))
    });
    let _ = fs::remove_file(&path);
    let _ = fs::remove_file(&companion);
    let (overwrite_ms, append_ms, alone_ms, direct_ms) = result?;

    let rounds = n.max(1000);
    let (rtt_free_ms, _) = round_trip_p50(rounds, None)?;
    let (rtt_ms, rtt_apart) = match two_cpus() {
        Some(cpus) => round_trip_p50(rounds, Some(cpus))?,
        None => (rtt_free_ms, false),
    };
    Ok(Floor {
        fs: fs_type(&dir),
        dir: dir.display().to_string(),
        direct_ms,
        alone_ms,
        overwrite_ms,
        append_ms,
        rtt_ms,
        rtt_apart,
        rtt_free_ms,
    })
}

/// A put's record: what the floor writes and bounces.
const RECORD: [u8; 124] = [0x5a; 124];

/// The median of `times`, if any.
fn p50(mut times: Vec<f64>) -> Option<f64> {
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied()
}

/// p50 of `n` loopback TCP round trips of a put's record, Nagle off,
/// between two threads; with `cpus`, each held on one of the two. Also
/// whether both were held so.
fn round_trip_p50(n: usize, cpus: Option<(usize, usize)>) -> Result<(f64, bool), String> {
    use std::io::{Read, Write};
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("no loopback port: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let echo = std::thread::spawn(move || {
        let pinned = cpus.is_some_and(|(_, cpu)| pin_to(cpu));
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; RECORD.len()];
            while s.read_exact(&mut buf).is_ok() && s.write_all(&buf).is_ok() {}
        }
        pinned
    });
    let client = std::thread::spawn(move || -> Result<(f64, bool), String> {
        let pinned = cpus.is_some_and(|(cpu, _)| pin_to(cpu));
        let mut c = TcpStream::connect(addr).map_err(|e| format!("loopback connect: {e}"))?;
        let _ = c.set_nodelay(true);
        let mut buf = RECORD;
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            c.write_all(&buf)
                .and_then(|()| c.read_exact(&mut buf))
                .map_err(|e| format!("loopback round trip: {e}"))?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let p50 = p50(times).ok_or("no round trip was timed")?;
        Ok((p50, pinned))
    });
    let result = client
        .join()
        .unwrap_or_else(|_| Err("the round-trip thread panicked".into()));
    // The echo thread may still wait for a connection: one wakes it. If
    // none can be made, it is left waiting rather than waited for.
    if result.is_err() && TcpStream::connect(addr).is_err() {
        return result;
    }
    let echo_pinned = echo.join().unwrap_or(false);
    result.map(|(p50, pinned)| (p50, pinned && echo_pinned))
}

/// The first two CPUs this process may run on, if it may run on two.
fn two_cpus() -> Option<(usize, usize)> {
    // SAFETY: a zeroed cpu_set_t is an empty set, filled by the call.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: the size passed is the set's.
    let got = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if got != 0 {
        return None;
    }
    // SAFETY: CPU_ISSET reads the set within its size.
    let mut cpus = (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) });
    Some((cpus.next()?, cpus.next()?))
}

/// Holds the calling thread on `cpu`; false if it could not.
fn pin_to(cpu: usize) -> bool {
    // SAFETY: as in `two_cpus`.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE (it came from such a set), and
    // the size passed is the set's.
    unsafe {
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) == 0
    }
}

/// p50 of `n` direct synchronous writes (`O_DIRECT | O_DSYNC`) of a 4 KiB
/// block holding a record, over zeros already on disk in `path`; with
/// `companion`, while another thread makes the same writes there. `None`
/// where the file system refuses direct writes.
fn direct_p50(path: &Path, companion: Option<&Path>, n: usize) -> Result<Option<f64>, String> {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    use std::sync::atomic::{AtomicBool, Ordering};
    #[repr(C, align(4096))]
    struct Block([u8; 4096]);
    let open = |p: &Path| -> Result<Option<fs::File>, String> {
        let io = |e: std::io::Error| format!("{}: {e}", p.display());
        fs::write(p, vec![0u8; (n + 1) * 4096]).map_err(io)?;
        fs::File::open(p).and_then(|f| f.sync_all()).map_err(io)?;
        match fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT | libc::O_DSYNC)
            .open(p)
        {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(None),
            Err(e) => Err(io(e)),
        }
    };
    let Some(f) = open(path)? else {
        return Ok(None);
    };
    let other = match companion {
        Some(p) => open(p)?,
        None => None,
    };
    let stop = AtomicBool::new(false);
    let mut block = Box::new(Block([0; 4096]));
    block.0[..RECORD.len()].copy_from_slice(&RECORD);
    std::thread::scope(|scope| {
        if let Some(o) = &other {
            let stop = &stop;
            scope.spawn(move || {
                let block = Box::new(Block([0x5a; 4096]));
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) && o.write_all_at(&block.0, i * 4096).is_ok() {
                    i = (i + 1) % n.max(1) as u64;
                }
            });
        }
        let mut times = Vec::with_capacity(n);
        let mut result = Ok(());
        for i in 0..n {
            let t = Instant::now();
            if let Err(e) = f.write_all_at(&block.0, (i * 4096) as u64) {
                result = Err(format!("{}: {e}", path.display()));
                break;
            }
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        stop.store(true, Ordering::Relaxed);
        result?;
        Ok(p50(times))
    })
}

/// The type of the file system holding `dir` (ext4, tmpfs, ...), from
/// /proc/self/mountinfo: the mount point that is the longest prefix.
pub fn fs_type(dir: &Path) -> String {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return "file system unknown".into();
    };
    info.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mount = left.split(' ').nth(4)?;
            let fs = right.split(' ').next()?;
            dir.starts_with(mount)
                .then(|| (mount.len(), fs.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
        .unwrap_or_else(|| "file system unknown".into())
}
