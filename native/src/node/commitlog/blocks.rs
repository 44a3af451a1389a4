//! Aligned buffers for direct writes, and the work that makes the log
//! durable, run on the driver's thread or its fsync thread.

use super::PREALLOC_BYTES;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// The unit of a direct write: offsets, lengths and buffers are multiples
/// of it (4 KiB covers the logical block size of common disks).
pub(super) const BLOCK: usize = 4096;

/// One block of memory aligned as `O_DIRECT` needs it.
#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct Block([u8; BLOCK]);

/// Whole aligned blocks, for a direct write.
pub struct Blocks(Vec<Block>);

impl Blocks {
    pub(super) fn zeroed(bytes: usize) -> Blocks {
        Blocks(vec![Block([0; BLOCK]); bytes.div_ceil(BLOCK)])
    }

    /// `data` followed by zeros to the end of its last block.
    pub(super) fn padded(data: &[u8]) -> Blocks {
        let mut b = Blocks::zeroed(data.len().max(1));
        b.as_mut()[..data.len()].copy_from_slice(data);
        b
    }

    pub(super) fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: `Block` is `repr(C)` over a byte array whose size equals
        // its alignment, so the blocks are contiguous bytes, no padding.
        unsafe {
            std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<u8>(), self.0.len() * BLOCK)
        }
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        // SAFETY: as in `as_mut`.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), self.0.len() * BLOCK) }
    }
}

/// What makes the log durable up to a length, run on the driver's thread
/// or on its fsync thread (see [`super::CommitLog::start_sync`]).
pub enum SyncWork {
    /// `fdatasync` of records already written.
    Fsync(Arc<File>),
    /// A direct, synchronous write of whole blocks at `at`; then, if
    /// `zeros_at` is set, a run of zeros written ahead there (a failure
    /// of that part only costs speed, so it is ignored).
    Write {
        file: Arc<File>,
        at: u64,
        data: Blocks,
        zeros_at: Option<u64>,
    },
}

impl SyncWork {
    /// Does the work: durable when it returns `Ok`.
    pub fn run(self) -> io::Result<()> {
        match self {
            SyncWork::Fsync(file) => file.sync_data(),
            SyncWork::Write {
                file,
                at,
                data,
                zeros_at,
            } => {
                file.write_all_at(data.as_slice(), at)?;
                if let Some(z) = zeros_at {
                    let zeros = Blocks::zeroed(PREALLOC_BYTES as usize);
                    let _ = file.write_all_at(zeros.as_slice(), z);
                }
                Ok(())
            }
        }
    }
}
