//! Sequence bookkeeping: what the publisher published and when it was due ([`PublishLog`]),
//! and what one subscription received ([`SeqTracker`]): in order, late, twice, never, or a seq
//! the publisher never sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::load::schedule::{Pacer, Schedule, Slot};

/// What the publisher did, shared with the subscribers.
pub(super) struct PublishLog {
    /// Where every message's latency is measured from, in nanoseconds after `origin`, plus one
    /// (0: not published yet).
    pub(super) stamps: Vec<AtomicU64>,
    /// Messages whose publish started.
    pub(super) published: AtomicU64,
    pub(super) origin: Instant,
    /// The schedule, for messages beyond `stamps`.
    pub(super) pacer: Pacer,
}

impl PublishLog {
    pub(super) fn new(origin: Instant, schedule: Schedule, capacity: usize) -> PublishLog {
        PublishLog {
            stamps: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            published: AtomicU64::new(0),
            origin,
            pacer: Pacer::new(schedule, origin, 0, 1),
        }
    }

    /// The stamp of message `seq`, when it is in the table.
    pub(super) fn stamp(&self, seq: u64) -> Option<&AtomicU64> {
        usize::try_from(seq)
            .ok()
            .and_then(|index| self.stamps.get(index))
    }

    /// Message `seq` is being published in `slot`.
    pub(super) fn publishing(&self, seq: u64, slot: &Slot) {
        if let Some(stamp) = self.stamp(seq) {
            let nanos = slot.measured_from().saturating_duration_since(self.origin);
            stamp.store(
                u64::try_from(nanos.as_nanos()).unwrap_or(u64::MAX - 1) + 1,
                Ordering::Relaxed,
            );
        }
        self.published
            .fetch_max(seq.saturating_add(1), Ordering::Release);
    }

    pub(super) fn published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// When message `seq` was due, and where its latency is measured from.
    pub(super) fn slot(&self, seq: u64) -> (Instant, Instant) {
        let intended = self.pacer.intended(seq).unwrap_or(self.origin);
        let stamp = self.stamp(seq).map_or(0, |s| s.load(Ordering::Relaxed));
        let from = match stamp {
            0 => intended,
            stamp => self.origin + Duration::from_nanos(stamp - 1),
        };
        (intended, from)
    }
}

/// What a subscriber makes of a seq it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Published before the subscription: not expected, not counted.
    Stale,
    /// The next one, or a later one (the ones skipped are missing so far).
    InOrder,
    /// An earlier one than one already received.
    OutOfOrder,
    /// Received before.
    Duplicate,
    /// Never published (yet): the server made it up. Not recorded in the bookkeeping.
    OutOfRange,
}

/// One subscription's bookkeeping of seqs: which were received since `from`.
#[derive(Debug, Clone)]
pub(crate) struct SeqTracker {
    /// The first seq this subscription must receive.
    pub(super) from: u64,
    /// One past the highest seq received (at least `from`).
    pub(super) next: u64,
    /// Bit `i`: seq `from + i` was received.
    pub(super) seen: Vec<u64>,
}

impl SeqTracker {
    /// A subscription that must receive every message from `from` on.
    pub(crate) fn new(from: u64) -> SeqTracker {
        SeqTracker {
            from,
            next: from,
            seen: Vec::new(),
        }
    }

    /// Seq `seq` arrived, `published` messages (seqs `0..published`) having been sent so far.
    /// The bitmap grows up to the highest seq published, never to one the server chose.
    pub(crate) fn receive(&mut self, seq: u64, published: u64) -> Arrival {
        if seq >= published {
            return Arrival::OutOfRange;
        }
        let Some(offset) = seq.checked_sub(self.from) else {
            return Arrival::Stale;
        };
        let Ok(word) = usize::try_from(offset / 64) else {
            return Arrival::OutOfRange;
        };
        let bit = 1u64 << (offset % 64);
        if word >= self.seen.len() {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & bit != 0 {
            return Arrival::Duplicate;
        }
        self.seen[word] |= bit;
        if seq < self.next {
            return Arrival::OutOfOrder;
        }
        self.next = seq + 1;
        Arrival::InOrder
    }

    /// The seqs from `from` up to `published` (excluded) that never arrived.
    pub(crate) fn missing(&self, published: u64) -> impl Iterator<Item = u64> + '_ {
        (self.from..published).filter(move |&seq| {
            let offset = seq - self.from;
            let word = (offset / 64) as usize;
            self.seen
                .get(word)
                .is_none_or(|w| w & (1u64 << (offset % 64)) == 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::recorder::ErrorKind;

    #[test]
    pub(super) fn seqs_in_order_with_gaps_duplicates_and_late_ones() {
        let mut t = SeqTracker::new(0);
        let p = 1000;
        assert_eq!(t.receive(0, p), Arrival::InOrder);
        assert_eq!(t.receive(1, p), Arrival::InOrder);
        // 2 and 3 skipped.
        assert_eq!(t.receive(4, p), Arrival::InOrder);
        assert_eq!(t.receive(4, p), Arrival::Duplicate);
        assert_eq!(t.receive(2, p), Arrival::OutOfOrder);
        assert_eq!(t.receive(2, p), Arrival::Duplicate);
        assert_eq!(t.receive(200, p), Arrival::InOrder);
        assert_eq!(t.missing(6).collect::<Vec<_>>(), vec![3, 5]);
        assert_eq!(t.missing(203).filter(|&s| s > 100).count(), 101);
        assert_eq!(t.missing(0).count(), 0);
    }

    #[test]
    pub(super) fn a_late_subscription_owes_only_what_follows_it() {
        let mut t = SeqTracker::new(10);
        assert_eq!(t.receive(9, 20), Arrival::Stale);
        assert_eq!(t.receive(11, 20), Arrival::InOrder);
        assert_eq!(t.receive(10, 20), Arrival::OutOfOrder);
        assert_eq!(t.missing(14).collect::<Vec<_>>(), vec![12, 13]);
        assert_eq!(t.missing(5).count(), 0);
    }

    #[test]
    pub(super) fn a_seq_never_published_is_out_of_range_and_grows_nothing() {
        let mut t = SeqTracker::new(0);
        assert_eq!(t.receive(u64::MAX, 5), Arrival::OutOfRange);
        assert_eq!(t.receive(1 << 33, 5), Arrival::OutOfRange);
        assert_eq!(t.receive(5, 5), Arrival::OutOfRange);
        assert!(t.seen.is_empty());
        assert_eq!(t.receive(4, 5), Arrival::InOrder);
        assert_eq!(t.seen.len(), 1);
        assert_eq!(t.missing(5).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert_eq!(ErrorKind::SeqOutOfRange.to_string(), "seq out of range");
    }

    #[test]
    pub(super) fn the_log_measures_from_the_publish_slot() {
        let origin = Instant::now();
        let log = PublishLog::new(origin, Schedule::Open { rate: 10.0 }, 2);
        let slot = Slot {
            intended: origin + Duration::from_millis(100),
            lag: Duration::from_millis(5),
            slept: false,
        };
        log.publishing(1, &slot);
        assert_eq!(log.published(), 2);
        let (intended, from) = log.slot(1);
        assert_eq!(intended, origin + Duration::from_millis(100));
        assert_eq!(from, slot.measured_from());
        // Beyond the table: the schedule.
        assert_eq!(log.slot(5).0, origin + Duration::from_millis(500));
        assert_eq!(log.slot(5).1, log.slot(5).0);
    }
}
