//! A counting global allocator: the bytes live on the heap now, the highest value since
//! the last [`reset_peak`], and how many allocations were made in all.
//!
//! It wraps the system allocator and adds three relaxed atomic updates per allocation, the
//! same for the `pats` calls and for their raw floors.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting live and peak bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counting;

impl Counting {
    fn added(size: usize) {
        COUNT.fetch_add(1, Ordering::Relaxed);
        let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }

    fn removed(size: usize) {
        CURRENT.fetch_sub(size, Ordering::Relaxed);
    }
}

// The workspace forbids unsafe code; a global allocator cannot be written without it (the
// trait is `unsafe`). Every method forwards to `System` with the caller's own arguments,
// so the contract the caller upholds for us is exactly the one `System` needs.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; `layout` has a non-zero size (the caller's duty).
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Self::added(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Self::added(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        Self::removed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`; `new_size` is
        // valid for `layout`'s alignment (the caller's duty).
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            Self::removed(layout.size());
            Self::added(new_size);
        }
        new
    }
}

/// Bytes allocated and not yet freed, in the whole process.
pub fn current() -> usize {
    CURRENT.load(Ordering::Relaxed)
}

/// The highest [`current`] since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Allocations (and reallocations) made so far, in the whole process.
pub fn allocations() -> usize {
    COUNT.load(Ordering::Relaxed)
}

/// Starts a new peak measurement at the current heap size.
pub fn reset_peak() {
    PEAK.store(current(), Ordering::Relaxed);
}

/// Whether the counting allocator is the process's global allocator (it is in this crate's
/// binary and tests; a dependent that installs its own allocator sees zeros).
pub fn active() -> bool {
    let before = current();
    let probe = std::hint::black_box(vec![0u8; 4096]);
    let during = current();
    drop(probe);
    during >= before + 4096
}
