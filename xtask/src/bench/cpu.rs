//! CPU time of processes, from `/proc/<pid>/stat`: what the benched
//! processes themselves spent over a phase (user + system, all their
//! threads). Kernel threads that work for them (the block layer's
//! workers, softirqs charged elsewhere) are not in it. And how often
//! their threads left the CPU, from each thread's `status`: on a small
//! virtual machine, going to sleep and being woken is much of what a
//! put costs.

use std::fs;

/// Seconds of CPU (utime + stime) the processes `pids` have used so far.
pub fn seconds(pids: &[u32]) -> Result<f64, String> {
    let tick = ticks_per_second();
    let mut total = 0u64;
    for &pid in pids {
        let path = format!("/proc/{pid}/stat");
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {path} (has the process exited?): {e}"))?;
        total += ticks(&text).ok_or_else(|| format!("{path}: no utime and stime in {text:?}"))?;
    }
    Ok(total as f64 / tick)
}

/// utime + stime (clock ticks) from one `/proc/<pid>/stat` line. The
/// command name, in parentheses, may hold spaces: fields are counted from
/// the last `)`, after which come state (3), ..., utime (14), stime (15).
fn ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a constant of the running system.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// CPU seconds and context switches of some processes: so far, or
/// between two readings.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub cpu_s: f64,
    pub switches: u64,
}

impl Usage {
    /// What the processes `pids` have used so far.
    pub fn of(pids: &[u32]) -> Result<Usage, String> {
        Ok(Usage {
            cpu_s: seconds(pids)?,
            switches: switches(pids)?,
        })
    }

    /// What they used from this reading until now.
    pub fn until_now(&self, pids: &[u32]) -> Result<Usage, String> {
        let now = Usage::of(pids)?;
        Ok(Usage {
            cpu_s: now.cpu_s - self.cpu_s,
            switches: now.switches.saturating_sub(self.switches),
        })
    }
}

/// Context switches (voluntary: the thread slept; involuntary: it was
/// preempted) of every live thread of the processes `pids` so far. A
/// thread that has exited takes its count with it.
pub fn switches(pids: &[u32]) -> Result<u64, String> {
    let mut total = 0;
    for &pid in pids {
        let dir = format!("/proc/{pid}/task");
        let tasks = fs::read_dir(&dir)
            .map_err(|e| format!("cannot read {dir} (has the process exited?): {e}"))?;
        for task in tasks.flatten() {
            // A thread may exit between the listing and the read.
            if let Ok(text) = fs::read_to_string(task.path().join("status")) {
                total += switches_in(&text);
            }
        }
    }
    Ok(total)
}

/// `voluntary_ctxt_switches` + `nonvoluntary_ctxt_switches` of one
/// thread's `status`.
fn switches_in(status: &str) -> u64 {
    status
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            matches!(
                name,
                "voluntary_ctxt_switches" | "nonvoluntary_ctxt_switches"
            )
            .then(|| value.trim().parse::<u64>().ok())?
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_found_after_a_name_with_spaces() {
        let line = "4242 (ringside node) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 37 0 0 20 0 3 0 12345 1000000 500 18446744073709551615";
        assert_eq!(ticks(line), Some(287));
        assert_eq!(ticks("4242 (x) S 1"), None);
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        let s = seconds(&[std::process::id()]).unwrap();
        assert!(s >= 0.0);
        assert!(seconds(&[u32::MAX]).is_err());
    }

    #[test]
    fn switches_add_both_kinds() {
        let status =
            "Name:\tringside\nvoluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t7\n";
        assert_eq!(switches_in(status), 127);
        assert_eq!(switches_in("Name:\tx\n"), 0);
    }

    #[test]
    fn this_process_has_switched() {
        // This thread has slept at least once by now (test harness setup).
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert!(switches(&[std::process::id()]).unwrap() > 0);
        assert!(switches(&[u32::MAX]).is_err());
    }
}
