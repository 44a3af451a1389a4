//! System calls the benched processes make over a phase, counted by
//! `perf stat` on the `raw_syscalls:sys_enter` tracepoint: under load a
//! row follows the calls and wakeups an operation costs more than the
//! messages it sends (docs/benchmarks.md). Optional: where `perf` is
//! missing or may not trace, the rows say so and the bench goes on.

use std::io::Read;
use std::process::{Child, Command, Stdio};

/// A `perf stat` attached to some processes, counting their system calls
/// until [`Counting::stop`].
pub struct Counting {
    perf: Child,
}

impl Drop for Counting {
    fn drop(&mut self) {
        let _ = self.perf.kill();
        let _ = self.perf.wait();
    }
}

impl Counting {
    /// Starts counting the system calls of `pids` (every thread of each),
    /// or says why it cannot. perf takes a few milliseconds to attach; a
    /// phase lasts seconds.
    pub fn start(pids: &[u32]) -> Result<Counting, String> {
        let list: Vec<String> = pids.iter().map(u32::to_string).collect();
        let perf = Command::new("perf")
            .args(["stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-p"])
            .arg(list.join(","))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run perf (Debian's linux-perf): {e}"))?;
        Ok(Counting { perf })
    }

    /// Stops counting (SIGINT, by perf's pid, which makes it print its
    /// count) and reads the count.
    pub fn stop(mut self) -> Result<u64, String> {
        let pid = libc::pid_t::try_from(self.perf.id()).map_err(|e| e.to_string())?;
        // SAFETY: kill(2) with the pid of a child we spawned and have not
        // reaped.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let mut text = String::new();
        if let Some(mut err) = self.perf.stderr.take() {
            let _ = err.read_to_string(&mut text);
        }
        let status = self.perf.wait().map_err(|e| e.to_string())?;
        count_in(&text).ok_or_else(|| {
            let said = text.lines().last().unwrap_or("").trim();
            format!("perf stat ({status}) counted no system calls: {said}")
        })
    }
}

/// What `counting` (started, or why not) counted once stopped; the
/// reason it did not is printed with the bench's output.
pub fn counted(counting: Result<Counting, String>) -> Option<u64> {
    match counting.and_then(Counting::stop) {
        Ok(n) => Some(n),
        Err(e) => {
            println!("   note: system calls not counted: {e}");
            None
        }
    }
}

/// The count in `perf stat -x ,` output: the line of the
/// `raw_syscalls:sys_enter` event, its first field.
fn count_in(text: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.contains("raw_syscalls:sys_enter"))
        .and_then(|l| l.split(',').next())
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_is_read_from_perfs_csv_line() {
        let text = "# started on Fri Dec  4 18:13:00 2026\n\n1234567,,raw_syscalls:sys_enter,5500123456,100.00,,\n";
        assert_eq!(count_in(text), Some(1_234_567));
        assert_eq!(
            count_in("<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n"),
            None
        );
        assert_eq!(count_in("Error: no permission\n"), None);
    }
}
