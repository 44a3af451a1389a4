//! The log file mapped into memory for replay.

use std::fs::File;
use std::io;

/// A log file's bytes for replay: mapped read-only where possible, which
/// spares copying a large log into freshly zeroed memory (a third of the
/// time a million-record replay took).
pub(super) enum LogBytes {
    Mapped { ptr: *mut libc::c_void, len: usize },
    Owned(Vec<u8>),
}

impl LogBytes {
    pub(super) fn map(file: &File) -> io::Result<LogBytes> {
        use std::os::fd::AsRawFd;
        let len = file.metadata()?.len() as usize;
        if len == 0 {
            return Ok(LogBytes::Owned(vec![]));
        }
        // SAFETY: a read-only private mapping of a file only this process
        // writes, and nothing writes or truncates it while the mapping
        // lives (it is dropped before the log is opened for appending).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            // Some file systems cannot map files; read it instead.
            let mut bytes = Vec::with_capacity(len);
            io::Read::read_to_end(&mut &*file, &mut bytes)?;
            return Ok(LogBytes::Owned(bytes));
        }
        Ok(LogBytes::Mapped { ptr, len })
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            // SAFETY: the mapping is `len` readable bytes until drop.
            LogBytes::Mapped { ptr, len } => unsafe {
                std::slice::from_raw_parts(*ptr as *const u8, *len)
            },
            LogBytes::Owned(v) => v,
        }
    }
}

impl Drop for LogBytes {
    fn drop(&mut self) {
        if let LogBytes::Mapped { ptr, len } = *self {
            // SAFETY: unmaps exactly the mapping made in `map`.
            unsafe { libc::munmap(ptr, len) };
        }
    }
}
