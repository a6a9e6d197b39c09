// Delays between retries, for the browser: `initial`, multiplied by `multiplier` per failed
// attempt up to `cap`, then spread by a jitter policy so the tabs of many browsers that lost the
// same gateway do not come back in step.
//
// The twin of Libraries/XYCore/Backoff.swift (a browser cannot import Swift): the same parameters,
// the same jitter modes and the same clamping, in milliseconds instead of `Duration`. Both are
// tested against Tests/Fixtures/backoff-vectors.json (Tests/Web/xy-backoff.test.mjs and
// Tests/XYCoreTests/BackoffTests.swift), so a change to one that the other lacks fails a test.
//
// A value with no state: the caller counts attempts and may pass the random draw in.

/**
 * How the ceiling of an attempt becomes the delay actually waited:
 *   'none'                   exactly the ceiling
 *   'full'                   uniform in [0, ceiling)
 *   'equal'                  half the ceiling plus a uniform half (never sooner than half)
 *   {proportional: fraction} the ceiling times a uniform factor in [1 - fraction, 1 + fraction]
 *                            (fraction clamped to 0…1); may exceed `cap` by that fraction
 * @typedef {'none' | 'full' | 'equal' | {proportional: number}} Jitter
 */

/** `value` clamped to [0, 1], NaN counting as 0 (as Backoff.swift does). */
function unit(value) {
    return Number.isNaN(value) ? 0 : Math.max(0, Math.min(1, value));
}

/** Whether `jitter` is one of the policies above. */
function isJitter(jitter) {
    if (jitter === 'none' || jitter === 'full' || jitter === 'equal') return true;
    return typeof jitter === 'object' && jitter !== null && typeof jitter.proportional === 'number';
}

export class Backoff {
    /**
     * @param {{initial: number, cap: number, multiplier?: number, jitter?: Jitter}} options
     *        `initial` is the ceiling of attempt 0 and `cap` the largest, both in ms; a
     *        `multiplier` below 1 (or NaN) counts as 1. Defaults: multiplier 2, 'equal' jitter.
     */
    constructor({ initial, cap, multiplier = 2, jitter = 'equal' }) {
        this.initial = initial;
        this.cap = cap;
        this.multiplier = multiplier;
        this.jitter = jitter;
        if (!isJitter(jitter)) throw new TypeError(`unknown jitter ${JSON.stringify(jitter)}`);
        Object.freeze(this);
    }

    /** The delay before jitter, in ms: `initial × multiplier^attempt`, at most `cap`, never negative. */
    ceiling(attempt) {
        const floor = Math.max(0, Math.min(this.initial, this.cap));
        if (!(attempt > 0 && this.initial > 0 && this.cap > this.initial)) return floor;
        const factor = (this.multiplier >= 1 ? this.multiplier : 1) ** attempt;
        // Compared as a ratio, as the Swift twin does, so a huge attempt saturates at `cap`.
        if (!(Number.isFinite(factor) && factor < this.cap / this.initial)) return this.cap;
        return this.initial * factor;
    }

    /**
     * The delay in ms before retry number `attempt` (0 for the first retry), with the random draw
     * given as a fraction in [0, 1) (clamped); `Math.random()` when none is given.
     */
    delay(attempt, unitRandom = Math.random()) {
        const base = this.ceiling(attempt);
        const random = unit(unitRandom);
        const jitter = this.jitter;
        if (jitter === 'none') return base;
        if (jitter === 'full') return base * random;
        if (jitter === 'equal') return base / 2 + (base / 2) * random;
        return base * (1 + unit(jitter.proportional) * (2 * random - 1));
    }
}
