//! A global allocator that counts, per thread, every call that hands out
//! memory (`alloc`, `alloc_zeroed`, `realloc`) and the bytes asked for.
//!
//! Counting per thread keeps the loopback server (its own thread) out of
//! the client's figures: the client side runs on a current-thread runtime on
//! the main thread, so its connection tasks are counted and nothing else is.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The counting allocator; install with `#[global_allocator]`.
pub struct Counting;

thread_local! {
    static CALLS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn record(bytes: usize) {
    // `try_with` never fails for a const-initialised `Cell` (it has no
    // destructor); ignoring the error keeps the allocator panic-free anyway.
    let _ = CALLS.try_with(|c| c.set(c.get() + 1));
    let _ = BYTES.try_with(|c| c.set(c.get() + bytes as u64));
}

// SAFETY: every method forwards to `System` with the arguments it was given;
// the counting touches only thread-local cells and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocation calls and bytes on this thread so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub calls: u64,
    pub bytes: u64,
}

impl Snapshot {
    pub fn now() -> Snapshot {
        Snapshot {
            calls: CALLS.with(Cell::get),
            bytes: BYTES.with(Cell::get),
        }
    }

    /// What happened on this thread since `self`.
    pub fn since(self) -> Snapshot {
        let now = Snapshot::now();
        Snapshot {
            calls: now.calls - self.calls,
            bytes: now.bytes - self.bytes,
        }
    }
}
