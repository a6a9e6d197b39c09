// Web/xy-backoff.js under `node --test` (make test): the shared vectors of
// Tests/Fixtures/backoff-vectors.json, which XYCore's Backoff runs too, and the reconnect delays
// XYConnection draws from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importWebModules, repository } from './web-modules.mjs';

const [{ Backoff }, { XYConnection }] = await importWebModules('xy-backoff.js', 'xy-connection.js');

const fixture = JSON.parse(readFileSync(join(repository, 'Tests', 'Fixtures', 'backoff-vectors.json'), 'utf8'));

test('every case of Tests/Fixtures/backoff-vectors.json', () => {
    assert.ok(fixture.cases.length >= 8);
    for (const testCase of fixture.cases) {
        const backoff = new Backoff(testCase);
        for (const [attempt, random, expected] of testCase.checks) {
            const delay = backoff.delay(attempt, random);
            assert.ok(Math.abs(delay - expected) < 1e-6, `${testCase.name}: attempt ${attempt}, draw ${random} gave ${delay}, not ${expected}`);
        }
    }
});

test('Backoff: a NaN draw counts as 0, no draw uses Math.random within the band, an unknown jitter is refused', () => {
    const backoff = new Backoff({ initial: 100, cap: 1000 });
    assert.equal(backoff.jitter, 'equal');
    assert.equal(backoff.multiplier, 2);
    assert.equal(backoff.delay(2, Number.NaN), 200);
    for (let index = 0; index < 50; index += 1) {
        const delay = backoff.delay(3);
        assert.ok(delay >= 400 && delay <= 800, `delay ${delay}`);
    }
    assert.equal(new Backoff({ initial: 100, cap: 1000, multiplier: Number.NaN, jitter: 'none' }).ceiling(5), 100);
    assert.throws(() => new Backoff({ initial: 100, cap: 1000, jitter: 'decorrelated' }), TypeError);
});

/** A WebSocket that never opens: the test closes each one, as a refused upgrade ends. */
class RefusedSocket {
    static last = null;
    constructor() {
        RefusedSocket.last = this;
    }
    send() {}
    close() {}
}

test('XYConnection: failed upgrades in a row wait the backoff of their count, drawn from the injected random', (t) => {
    const waits = [];
    t.mock.method(globalThis, 'setTimeout', (callback, delay) => {
        waits.push(delay);
        return waits.length;
    });
    const connection = new XYConnection({
        url: 'ws://127.0.0.1:9/ws', token: 't', WebSocket: RefusedSocket, random: () => 0.5,
        backoffInitial: 100, backoffMax: 1000, unauthorizedAfter: 99,
    });
    connection.attach('tab', () => {});
    for (let failure = 1; failure <= 5; failure += 1) {
        RefusedSocket.last.onclose({ code: 1006 });
        connection.open(); // what the retry timer would do
    }
    // Failure n waits the equal-jitter draw 0.5 of min(1000, 100 × 2^n): 3/4 of that ceiling.
    assert.deepEqual(waits, [150, 300, 600, 750, 750]);
    connection.close();
});
