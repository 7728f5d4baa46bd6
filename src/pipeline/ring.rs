//! The lock-free single-producer single-consumer ring buffer between a capture source and
//! the pipeline. The producer side ([`RingWriter`]) is what the audio callback holds: it
//! copies samples in and, when the ring is full, drops whole frames and counts them. It
//! never allocates, locks, logs or blocks.

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the pipeline tells when a sample was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Samples come at real-time pace (a sound card, a paced file): sample `k` of the
    /// stream was captured `k / rate` after the stream's start (set by the writer).
    Paced,
    /// Samples come as fast as they can be read: a sample is taken as captured when the
    /// pipeline reads it.
    Arrival,
}

/// State shared by both ends of a capture ring.
#[derive(Debug)]
pub struct Shared {
    /// Frames dropped because the ring was full.
    pub dropped_frames: AtomicU64,
    /// Nanoseconds after `epoch` at which the stream's first frame was captured (0: not yet).
    start_ns: AtomicU64,
    epoch: Instant,
}

impl Shared {
    /// When the stream's first frame was captured, once known.
    pub fn start(&self) -> Option<Instant> {
        match self.start_ns.load(Ordering::Acquire) {
            0 => None,
            ns => Some(self.epoch + Duration::from_nanos(ns)),
        }
    }
}

/// The producer end: owned by the audio callback or a file feeder.
pub struct RingWriter {
    prod: HeapProd<f32>,
    channels: usize,
    rate: u32,
    shared: Arc<Shared>,
}

/// The consumer end, with what the pipeline needs to know about the stream.
pub struct CaptureStream {
    /// The samples, interleaved.
    pub reader: HeapCons<f32>,
    /// Frames per second.
    pub rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// How capture times are known.
    pub clock: Clock,
    /// Drop count and start time.
    pub shared: Arc<Shared>,
}

impl CaptureStream {
    /// Whether the writer is gone (no more samples will come once the ring is empty).
    pub fn writer_closed(&self) -> bool {
        !self.reader.write_is_held()
    }
}

/// A ring of `capacity_frames` frames of `channels` interleaved samples.
pub fn capture_ring(
    rate: u32,
    channels: u16,
    capacity_frames: usize,
    clock: Clock,
) -> (RingWriter, CaptureStream) {
    let ch = usize::from(channels.max(1));
    let rb = HeapRb::<f32>::new(capacity_frames.max(1) * ch);
    let (prod, cons) = rb.split();
    let shared = Arc::new(Shared {
        dropped_frames: AtomicU64::new(0),
        start_ns: AtomicU64::new(0),
        epoch: Instant::now(),
    });
    (
        RingWriter {
            prod,
            channels: ch,
            rate,
            shared: shared.clone(),
        },
        CaptureStream {
            reader: cons,
            rate,
            channels: channels.max(1),
            clock,
            shared,
        },
    )
}

impl RingWriter {
    /// Marks the stream's start as "now minus `frames_before` frames" the first time it is
    /// called (a callback delivers audio captured over the period before it runs).
    #[inline]
    pub fn mark_start(&self, frames_before: usize) {
        if self.shared.start_ns.load(Ordering::Relaxed) == 0 {
            let back = frames_before as u64 * 1_000_000_000 / u64::from(self.rate.max(1));
            let ns = (self.shared.epoch.elapsed().as_nanos() as u64)
                .saturating_sub(back)
                .max(1);
            self.shared.start_ns.store(ns, Ordering::Release);
        }
    }

    /// Interleaved channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Free room, in frames.
    #[inline]
    pub fn vacant_frames(&self) -> usize {
        self.prod.vacant_len() / self.channels
    }

    /// Copies as many whole frames of `samples` (interleaved) as fit and drops the rest,
    /// counting them. Returns the frames written. Real-time safe.
    #[inline]
    pub fn push_or_drop(&mut self, samples: &[f32]) -> usize {
        self.push_iter_or_drop(samples.len(), samples.iter().copied())
    }

    /// Like [`RingWriter::push_or_drop`] for samples of another type converted on the fly:
    /// `len` interleaved samples from `iter`. Real-time safe.
    #[inline]
    pub fn push_iter_or_drop(&mut self, len: usize, iter: impl Iterator<Item = f32>) -> usize {
        let frames = len / self.channels;
        let fit = frames.min(self.vacant_frames());
        if fit > 0 {
            self.prod.push_iter(iter.take(fit * self.channels));
        }
        if fit < frames {
            self.shared
                .dropped_frames
                .fetch_add((frames - fit) as u64, Ordering::Relaxed);
        }
        fit
    }

    /// Frames dropped so far.
    pub fn dropped_frames(&self) -> u64 {
        self.shared.dropped_frames.load(Ordering::Relaxed)
    }
}

/// Reads up to `out.len()` samples (whole frames) from the ring into `out`.
pub fn read_frames(stream: &mut CaptureStream, out: &mut [f32]) -> usize {
    let ch = usize::from(stream.channels);
    let avail = stream.reader.occupied_len() / ch * ch;
    let n = avail.min(out.len() / ch * ch);
    stream.reader.pop_slice(&mut out[..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_ring_drops_whole_frames_and_counts_them() {
        let (mut w, mut r) = capture_ring(16_000, 2, 10, Clock::Arrival);
        let x: Vec<f32> = (0..30).map(|i| i as f32).collect(); // 15 frames
        assert_eq!(w.push_or_drop(&x), 10);
        assert_eq!(w.dropped_frames(), 5);
        let mut out = vec![0.0; 7];
        assert_eq!(read_frames(&mut r, &mut out), 6);
        assert_eq!(&out[..6], &x[..6]);
        assert_eq!(w.push_or_drop(&x[..8]), 3);
        assert_eq!(r.shared.dropped_frames.load(Ordering::Relaxed), 6);
        drop(w);
        assert!(r.writer_closed());
    }
}
