// The sequence rules for one tick subject (xy.md.tick.<GROUP>), as values with no I/O: fed the
// gateway's `snapshot` and `tick` messages, they say what to do. The connection (in the
// SharedWorker, or in the tab when there is none) does the sending.
//
// SequenceTracker mirrors MarketData's SequenceTracker (Libraries/MarketData/SequenceTracker.swift)
// case for case, with the same names, and both run the vectors of Tests/Fixtures/sequence-rules.json
// (here: Tests/Web/xy-sequencer.test.mjs). A position is (epoch, seq): seq rises by 1 per batch and
// compares only within one epoch, the producer run that numbered it (a decimal string: 64-bit
// nanoseconds do not fit a JavaScript number; compared for equality only).
//
//   batch, no position yet             → accepted (the first one seen)
//   batch, different epoch             → newEpoch: drop the state, wait for the snapshot
//   batch, seq ≤ last                  → duplicate (already applied)
//   batch, firstSeq > last + 1         → gap: wait for a snapshot (the caller resubscribes)
//   batch otherwise                    → accepted
//   snapshot while waiting for one     → accepted as the base, whatever its seq
//   snapshot, different epoch          → newEpoch, the new base even with a lower seq
//   snapshot, same epoch               → accepted when seq > last, else duplicate
//
// Times are Unix milliseconds (the tick's `time`).

/** The outcomes, spelled as the Swift enum's cases. */
export const Outcome = Object.freeze({
    accepted: 'accepted',
    duplicate: 'duplicate',
    gap: 'gap',
    newEpoch: 'newEpoch',
});

/** An epoch as the envelope carries it (decimal string); '0' for a producer that sends none. */
export function epochOf(data) {
    const epoch = data && data.epoch;
    return epoch === undefined || epoch === null || epoch === '' ? '0' : String(epoch);
}

/**
 * The rules as a value: `batch()` and `snapshot()` return {outcome, missing?: [from, to],
 * previous?: epoch} and move the position.
 */
export class SequenceTracker {
    constructor() {
        /** The epoch followed; null before the first batch or snapshot. */
        this.epoch = null;
        /** The last seq accepted in `epoch`. */
        this.lastSeq = 0;
        /** True until a snapshot is taken, and again after a gap, a new epoch or expectSnapshot(). */
        this.awaitingSnapshot = true;
    }

    batch(epoch, seq, firstSeq = 0) {
        if (this.epoch === null) {
            this.move(epoch, seq);
            return { outcome: Outcome.accepted };
        }
        if (epoch !== this.epoch) {
            const previous = this.epoch;
            this.move(epoch, seq);
            this.awaitingSnapshot = true;
            return { outcome: Outcome.newEpoch, previous };
        }
        if (seq <= this.lastSeq) return { outcome: Outcome.duplicate };
        const first = !firstSeq || firstSeq > seq ? seq : firstSeq;
        if (first > this.lastSeq + 1) {
            const missing = [this.lastSeq + 1, first - 1];
            this.move(epoch, seq);
            this.awaitingSnapshot = true;
            return { outcome: Outcome.gap, missing };
        }
        this.move(epoch, seq);
        return { outcome: Outcome.accepted };
    }

    snapshot(epoch, seq) {
        let result;
        if (this.epoch !== null && epoch !== this.epoch) {
            result = { outcome: Outcome.newEpoch, previous: this.epoch };
        } else if (this.awaitingSnapshot || this.epoch === null || seq > this.lastSeq) {
            result = { outcome: Outcome.accepted };
        } else {
            return { outcome: Outcome.duplicate };
        }
        this.move(epoch, seq);
        this.awaitingSnapshot = false;
        return result;
    }

    /** Keep the position but wait for a snapshot again (connection lost, subscription renewed). */
    expectSnapshot() {
        this.awaitingSnapshot = true;
    }

    move(epoch, seq) {
        this.epoch = epoch;
        this.lastSeq = seq;
    }
}

/** The symbols of one tick subject, kept by the rules above. */
export class TickSequencer {
    constructor() {
        /** symbol → the last tick object applied (full state of the symbol). */
        this.symbols = new Map();
        this.rules = new SequenceTracker();
        this.group = '';
        this.snapshotTime = 0;
        this.counters = { snapshots: 0, batches: 0, ignoredBatches: 0, ignoredSnapshots: 0, ignoredTicks: 0, gaps: 0, newEpochs: 0 };
    }

    /** seq of the last snapshot or batch seen in the current epoch; 0 before the first. */
    get lastSeq() { return this.rules.lastSeq; }

    /** The epoch followed (decimal string), null before the first message. */
    get epoch() { return this.rules.epoch; }

    /** No usable state: waiting for a snapshot (at the start, after a gap, a new epoch or a reconnect). */
    get awaitingSnapshot() { return this.rules.awaitingSnapshot; }

    /** The connection was lost or the subscription renewed: keep the state, wait for a snapshot. */
    expectSnapshot() {
        this.rules.expectSnapshot();
    }

    /**
     * A snapshot's data ({group, seq, epoch, time, ticks}). Returns
     *   {action: 'replace', data, newEpoch}   the new base (newEpoch: of a new producer run)
     *   {action: 'ignore'}                    not newer than the state already held
     */
    snapshot(data) {
        const result = this.rules.snapshot(epochOf(data), data.seq);
        if (result.outcome === Outcome.duplicate) {
            this.counters.ignoredSnapshots += 1;
            return { action: 'ignore' };
        }
        if (result.outcome === Outcome.newEpoch) this.counters.newEpochs += 1;
        this.symbols.clear();
        for (const tick of data.ticks || []) this.symbols.set(tick.symbol, tick);
        this.group = data.group || this.group;
        this.snapshotTime = data.time || 0;
        this.counters.snapshots += 1;
        return { action: 'replace', data, newEpoch: result.outcome === Outcome.newEpoch };
    }

    /**
     * A batch's data ({group, seq, epoch, firstSeq, publishTime, ticks}). Returns one of
     *   {action: 'apply', data}          data with only the ticks applied (maybe none)
     *   {action: 'ignore'}               a batch already applied, or one while waiting for a snapshot
     *   {action: 'gap', expected, got}   the caller must resubscribe for a snapshot
     *   {action: 'newEpoch', previous}   the producer started over: the state is dropped, the
     *                                    caller waits for the new epoch's snapshot
     */
    batch(data) {
        const waiting = this.rules.awaitingSnapshot;
        const result = this.rules.batch(epochOf(data), data.seq, data.firstSeq ?? 0);
        switch (result.outcome) {
        case Outcome.newEpoch:
            this.counters.newEpochs += 1;
            this.symbols.clear();
            return { action: 'newEpoch', previous: result.previous };
        case Outcome.gap:
            if (waiting) break;
            this.counters.gaps += 1;
            return { action: 'gap', expected: result.missing[0], got: result.missing[1] + 1 };
        case Outcome.duplicate:
            break;
        case Outcome.accepted:
            if (waiting) break;
            return { action: 'apply', data: this.apply(data) };
        }
        this.counters.ignoredBatches += 1;
        return { action: 'ignore' };
    }

    /** Applies a batch's ticks, per symbol skipping one older than what the symbol shows. */
    apply(data) {
        const applied = [];
        for (const tick of data.ticks || []) {
            const shown = this.symbols.get(tick.symbol);
            if (shown && (tick.time || 0) < (shown.time || 0)) {
                this.counters.ignoredTicks += 1;
                continue;
            }
            this.symbols.set(tick.symbol, tick);
            applied.push(tick);
        }
        this.counters.batches += 1;
        return applied.length === (data.ticks || []).length ? data : { ...data, ticks: applied };
    }

    /** The whole state as a snapshot's data, for a tab that joins a subscription already running. */
    snapshotData() {
        return {
            group: this.group,
            seq: this.lastSeq,
            epoch: this.epoch ?? '0',
            time: this.snapshotTime,
            ticks: Array.from(this.symbols.values()),
        };
    }
}
