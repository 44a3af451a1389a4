//! The one wrapper around kill(2): the supervisor, chaos and the tests
//! signal only pids they recorded and checked.

/// Sends `sig` to `pid`, a pid the caller recorded and checked (through
/// `/proc`) to be one of its own processes.
pub fn signal(pid: u32, sig: libc::c_int) -> Result<(), String> {
    let p = libc::pid_t::try_from(pid).map_err(|_| format!("pid {pid} out of range"))?;
    if p <= 0 {
        return Err(format!("refusing to signal pid {pid}"));
    }
    // SAFETY: kill(2) on a positive pid the caller checked to be one of
    // its processes; it touches no memory of ours.
    if unsafe { libc::kill(p, sig) } == 0 {
        Ok(())
    } else {
        Err(format!(
            "cannot signal pid {pid}: {}",
            std::io::Error::last_os_error()
        ))
    }
}
