//! Proves the capture side of the live pipeline is real-time safe: what the audio callback
//! does (`RingWriter::mark_start`, `push_iter_or_drop` converting i16 samples, dropping and
//! counting frames when the ring is full) allocates nothing. A counting global allocator
//! watches the calling thread only.

use nomen::pipeline::{capture_ring, ring::read_frames, Clock};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

fn count() {
    if COUNTING.with(|c| c.get()) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_audio_callback_path_allocates_nothing_even_when_dropping() {
    let (mut writer, mut stream) = capture_ring(48_000, 2, 4_800, Clock::Paced);
    let period: Vec<i16> = (0..960).map(|i| (i * 37 % 2000) as i16 - 1000).collect(); // 480 frames
    let mut out = vec![0.0f32; 9_600];
    let before = ALLOCS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    for round in 0..100 {
        // What the cpal callback does with an i16 buffer.
        writer.mark_start(period.len() / 2);
        writer.push_iter_or_drop(period.len(), period.iter().map(|&s| f32::from(s) / 32768.0));
        // The consumer keeps up for a while, then falls behind (the ring fills, frames drop).
        if round < 50 {
            read_frames(&mut stream, &mut out);
        }
    }
    COUNTING.with(|c| c.set(false));
    let during = ALLOCS.load(Ordering::SeqCst) - before;
    assert_eq!(during, 0, "the callback path allocated {during} times");
    // 50 periods read; then the 4800-frame ring holds 10 periods and the other 40 drop.
    assert_eq!(writer.dropped_frames(), 40 * 480);
}
