// The sequence rules for one tick subject (xy.md.tick.<GROUP>), as a value with no I/O: it is
// fed the gateway's `snapshot` and `tick` messages and says what to do. The connection (in the
// SharedWorker, or in the tab when there is none) does the sending.
//
//   snapshot          → replace the group's state; lastSeq = seq
//   tick seq ≤ last   → ignore (already applied); several in a row mean the seq was reset
//   firstSeq ≤ last+1 → apply, per symbol skipping a tick older than what the symbol shows
//   firstSeq > last+1 → gap: drop ticks until a fresh snapshot (the caller resubscribes)
//
// Times are Unix milliseconds (the tick's `time`).

/** Stale ticks in a row (seq ≤ lastSeq) that mean the group's seq went backwards. */
export const RESET_AFTER_STALE = 3;

export class TickSequencer {
    constructor() {
        /** symbol → the last tick object applied (full state of the symbol). */
        this.symbols = new Map();
        /** seq of the last snapshot or batch applied; 0 before the first snapshot. */
        this.lastSeq = 0;
        /** No usable state: waiting for a snapshot (at the start, after a gap or a reconnect). */
        this.awaitingSnapshot = true;
        this.group = '';
        this.snapshotTime = 0;
        this.staleInRow = 0;
        this.counters = { snapshots: 0, batches: 0, ignoredBatches: 0, ignoredTicks: 0, gaps: 0, resets: 0 };
    }

    /** The connection was lost or the subscription renewed: keep the state, wait for a snapshot. */
    expectSnapshot() {
        this.awaitingSnapshot = true;
        this.staleInRow = 0;
    }

    /**
     * A snapshot's data ({group, seq, time, ticks}).
     * Returns {action: 'replace', data} with the data to hand on.
     */
    snapshot(data) {
        this.symbols.clear();
        for (const tick of data.ticks || []) this.symbols.set(tick.symbol, tick);
        this.lastSeq = data.seq;
        this.group = data.group || this.group;
        this.snapshotTime = data.time || 0;
        this.awaitingSnapshot = false;
        this.staleInRow = 0;
        this.counters.snapshots += 1;
        return { action: 'replace', data };
    }

    /**
     * A batch's data ({group, seq, firstSeq, publishTime, ticks}). Returns one of
     *   {action: 'apply', data}   data with only the ticks applied (maybe none)
     *   {action: 'ignore'}        a batch already applied, or one while waiting for a snapshot
     *   {action: 'gap', expected, got}   the caller must resubscribe for a snapshot
     *   {action: 'reset'}         the seq went backwards for good: resubscribe as well
     */
    batch(data) {
        const seq = data.seq;
        const firstSeq = data.firstSeq ?? seq;
        if (this.awaitingSnapshot) {
            this.counters.ignoredBatches += 1;
            return { action: 'ignore' };
        }
        if (seq <= this.lastSeq) {
            this.counters.ignoredBatches += 1;
            this.staleInRow += 1;
            if (this.staleInRow >= RESET_AFTER_STALE) {
                this.counters.resets += 1;
                this.expectSnapshot();
                return { action: 'reset' };
            }
            return { action: 'ignore' };
        }
        this.staleInRow = 0;
        if (firstSeq > this.lastSeq + 1) {
            this.counters.gaps += 1;
            const expected = this.lastSeq + 1;
            this.expectSnapshot();
            return { action: 'gap', expected, got: firstSeq };
        }
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
        this.lastSeq = seq;
        this.counters.batches += 1;
        const out = applied.length === (data.ticks || []).length ? data : { ...data, ticks: applied };
        return { action: 'apply', data: out };
    }

    /** The whole state as a snapshot's data, for a tab that joins a subscription already running. */
    snapshotData() {
        return {
            group: this.group,
            seq: this.lastSeq,
            time: this.snapshotTime,
            ticks: Array.from(this.symbols.values()),
        };
    }
}
