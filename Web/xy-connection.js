// One WebSocket to xy-gateway, shared by every client (tab) attached to it: subscriptions
// reference-counted by client, the sequence rules per tick subject (xy-sequencer.js), reconnect
// with backoff and jitter, and the connection state as messages to every client.
//
// It runs inside the SharedWorker (xy-worker.js), where each tab is a client, or inside the tab
// itself when there is no SharedWorker (xy-client.js), where the tab is the only client.
//
// To clients it posts plain objects (structured-clone friendly):
//   {kind: 'state', state, code?}              connecting | live | degraded | stale | reconnecting | unauthorized | closed
//   {kind: 'message', subject, message}        a gateway envelope: snapshot, tick, bar, error, …
//
// The token goes only into the WebSocket subprotocol list; it is never logged or posted.
import { Backoff } from './xy-backoff.js';
import { TickSequencer } from './xy-sequencer.js';

export const SUBPROTOCOL = 'xy.v1.json';

const TICK_PREFIX = 'xy.md.tick.';
/** ms a connection must last before its loss no longer counts towards the backoff. */
const STABLE_AFTER = 10000;

export const DEFAULTS = Object.freeze({
    backoffInitial: 250,      // ms, first wait after a failed attempt
    backoffMax: 5000,         // ms, longest wait between attempts
    pingInterval: 15000,      // ms between application pings
    pongTimeout: 10000,       // ms without a pong before the socket is given up
    snapshotTimeout: 5000,    // ms to wait for a snapshot before resubscribing again
    unauthorizedAfter: 2,     // failed upgrades in a row, with the server answering HTTP, before `unauthorized`
});

/** The close code with which the gateway ends a session whose token expired. */
export const TOKEN_EXPIRED = 4001;

export class XYConnection {
    /**
     * @param {{url: string, token: string}} options  plus any of DEFAULTS, and WebSocket / fetch
     *        implementations (the browser's by default), and `random` (Math.random by default),
     *        the draw of the reconnect jitter.
     */
    constructor(options) {
        this.url = options.url;
        this.token = options.token || '';
        this.settings = { ...DEFAULTS };
        for (const key of Object.keys(DEFAULTS)) {
            if (typeof options[key] === 'number' && options[key] > 0) this.settings[key] = options[key];
        }
        this.WebSocket = options.WebSocket || globalThis.WebSocket;
        this.fetch = options.fetch || globalThis.fetch?.bind(globalThis);
        this.random = options.random || Math.random;
        // Equal jitter: half the ceiling for sure, the other half random, so tabs of many browsers
        // do not come back at the same instant after a gateway restart.
        this.backoff = new Backoff({ initial: this.settings.backoffInitial, cap: this.settings.backoffMax, jitter: 'equal' });

        /** clientId → post(message) */
        this.clients = new Map();
        /** subject → {clients: Set<clientId>, sequencer: TickSequencer|null, refused: boolean, snapshotTimer} */
        this.subjects = new Map();

        /** Subjects whose producer the gateway reported silent (XYW008). */
        this.staleSubjects = new Set();
        this.state = 'connecting';
        this.stateCode = undefined;
        this.socket = null;
        this.closed = false;
        this.failures = 0;           // attempts in a row that did not open
        this.shortLived = 0;         // connections in a row closed within STABLE_AFTER of opening
        this.openedAt = 0;
        this.retryTimer = null;
        this.pingTimer = null;
        this.pongTimer = null;
        this.nextId = 1;
        /** id of a subscribe request in flight → its subject (an error names the request by id). */
        this.requests = new Map();
        this.counters = { connects: 0, disconnects: 0, messages: 0, repairs: 0, newEpochs: 0, errors: 0, sent: 0 };
        this.lastError = undefined;
    }

    // ─── clients ────────────────────────────────────────────────────────────────────────────

    /** A client joins; it gets the current state at once. Opens the socket on the first one. */
    attach(clientId, post) {
        this.clients.set(clientId, post);
        post({ kind: 'state', state: this.state, code: this.stateCode });
        if (!this.socket && !this.retryTimer && !this.closed) this.open();
    }

    /** A client leaves (tab closed, or silent): every subscription it held is released. */
    detach(clientId) {
        if (!this.clients.delete(clientId)) return;
        for (const subject of Array.from(this.subjects.keys())) this.unsubscribe(clientId, subject);
        if (this.clients.size === 0) {
            // Nobody left to serve: no socket until a client attaches again.
            clearTimeout(this.retryTimer);
            this.retryTimer = null;
            this.dropSocket();
            this.failures = 0;
            this.state = 'connecting';
            this.stateCode = undefined;
        }
    }

    /**
     * A client wants `subject`. The first one sends `subscribe` to the gateway; a later one gets the
     * state the connection already has (a snapshot for a tick subject) without the gateway noticing.
     */
    subscribe(clientId, subject) {
        const post = this.clients.get(clientId);
        if (!post) return;
        let entry = this.subjects.get(subject);
        if (!entry) {
            entry = {
                clients: new Set(),
                sequencer: subject.startsWith(TICK_PREFIX) ? new TickSequencer() : null,
                refused: false,
                retryWhenLive: false,
                snapshotTimer: null,
            };
            this.subjects.set(subject, entry);
        }
        const first = entry.clients.size === 0;
        entry.clients.add(clientId);
        if (first || entry.refused) {
            entry.refused = false;
            this.sendSubscribe(subject, entry);
        } else if (entry.sequencer && !entry.sequencer.awaitingSnapshot) {
            post({ kind: 'message', subject, message: this.replayEnvelope(subject, entry.sequencer) });
        }
    }

    /** A client no longer wants `subject`; the last one out sends `unsubscribe` to the gateway. */
    unsubscribe(clientId, subject) {
        const entry = this.subjects.get(subject);
        if (!entry || !entry.clients.delete(clientId)) return;
        if (entry.clients.size > 0) return;
        clearTimeout(entry.snapshotTimer);
        this.subjects.delete(subject);
        if (!entry.refused) this.send({ op: 'unsubscribe', subject, id: this.id() });
    }

    /** Asks the gateway for a fresh snapshot of a tick subject (unsubscribe, then subscribe). */
    resync(subject) {
        const entry = this.subjects.get(subject);
        if (entry?.sequencer && !entry.refused) this.repair(subject, entry);
    }

    /**
     * A token from a client, used from the next connection attempt on when it expires later than
     * the one held (tabs share the connection, so one tab's stale or garbled token must not
     * replace another's good one).
     */
    setToken(token) {
        if (!token || token === this.token) return;
        if (expiry(token) < expiry(this.token)) return;
        this.token = token;
        if (this.state === 'unauthorized' && !this.socket && !this.closed && this.clients.size > 0) {
            clearTimeout(this.retryTimer);
            this.retryTimer = null;
            this.open();
        }
    }

    /** Closes the socket for good (no reconnect). */
    close() {
        this.closed = true;
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        this.dropSocket();
        for (const entry of this.subjects.values()) clearTimeout(entry.snapshotTimer);
        this.setState('closed');
    }

    /** Counters and per-subject sequence state, for the page's statistics and the tests. */
    stats() {
        const subjects = {};
        for (const [subject, entry] of this.subjects) {
            subjects[subject] = {
                clients: entry.clients.size,
                refused: entry.refused,
                ...(entry.sequencer ? {
                    lastSeq: entry.sequencer.lastSeq,
                    epoch: entry.sequencer.epoch,
                    awaitingSnapshot: entry.sequencer.awaitingSnapshot,
                    ...entry.sequencer.counters,
                } : {}),
            };
        }
        return {
            state: this.state,
            stateCode: this.stateCode,
            clients: this.clients.size,
            failures: this.failures,
            lastError: this.lastError,
            ...this.counters,
            subjects,
        };
    }

    // ─── socket ─────────────────────────────────────────────────────────────────────────────

    open() {
        this.retryTimer = null;
        if (this.closed) return;
        let socket;
        try {
            socket = new this.WebSocket(this.url, [SUBPROTOCOL, 'bearer', this.token]);
        } catch (error) {
            // A malformed URL or token: nothing to retry until the page gives a new token.
            this.lastError = String(error && error.name || 'error');
            this.setState('unauthorized', 'XYW001');
            return;
        }
        this.socket = socket;
        let opened = false;
        socket.onopen = () => {
            opened = true;
            this.openedAt = Date.now();
            this.failures = 0;
            this.counters.connects += 1;
            // The gateway tells a new connection again about any subject still stale.
            this.staleSubjects.clear();
            this.setState('live');
            this.startPings();
            for (const [subject, entry] of this.subjects) {
                entry.refused = false;
                this.sendSubscribe(subject, entry);
            }
        };
        socket.onmessage = (event) => this.received(event.data);
        socket.onclose = (event) => {
            if (this.socket !== socket) return;
            this.lost(opened, event.code);
        };
        // An error is always followed by a close event; nothing to do here.
        socket.onerror = () => {};
    }

    /** The socket is gone (closed by the server, refused at the upgrade, or given up). */
    lost(opened, code) {
        this.dropSocket();
        if (opened) this.counters.disconnects += 1;
        else this.failures += 1;
        this.lastError = code === undefined ? 'timeout' : `close ${code}`;
        for (const entry of this.subjects.values()) {
            clearTimeout(entry.snapshotTimer);
            entry.sequencer?.expectSnapshot();
        }
        if (this.closed || this.clients.size === 0) return;
        if (code === TOKEN_EXPIRED) {
            // The gateway ended the session at the token's expiry: the same token would only be
            // refused. Wait for a newer one (setToken reconnects), as for a refused upgrade.
            this.setState('unauthorized', 'XYW005');
            return;
        }
        // A connection that the server keeps closing soon after it opens (slow consumer 4008,
        // policy 1008) backs off as a failed attempt would; one that lasted waits only the shortest time.
        if (opened) this.shortLived = Date.now() - this.openedAt < STABLE_AFTER ? this.shortLived + 1 : 0;
        const attempt = opened ? this.shortLived : this.failures;
        this.retryTimer = setTimeout(() => this.open(), this.backoff.delay(attempt, this.random()));
        if (this.failures >= this.settings.unauthorizedAfter) {
            this.probe();
        } else if (this.state !== 'unauthorized') {
            this.setState('reconnecting');
        }
    }

    /**
     * Upgrades keep failing: does the server answer plain HTTP? A browser never shows why an
     * upgrade failed, so a healthy `/healthz` beside failing upgrades means the token or the
     * Origin was refused (401/403) rather than a server that is down.
     */
    probe() {
        const healthz = healthURL(this.url);
        if (!this.fetch || !healthz) {
            this.setState('reconnecting');
            return;
        }
        this.fetch(healthz, { cache: 'no-store' }).then(
            (response) => {
                if (this.socket || this.closed) return;
                this.setState(response.ok ? 'unauthorized' : 'reconnecting', response.ok ? 'XYW001' : undefined);
            },
            () => {
                if (this.socket || this.closed) return;
                this.setState('reconnecting');
            },
        );
    }

    dropSocket() {
        this.requests.clear();
        clearInterval(this.pingTimer);
        clearTimeout(this.pongTimer);
        this.pingTimer = null;
        this.pongTimer = null;
        const socket = this.socket;
        this.socket = null;
        if (!socket) return;
        socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
        try {
            socket.close();
        } catch {
            // already closing
        }
    }

    startPings() {
        this.pingTimer = setInterval(() => {
            if (this.pongTimer) return;
            this.send({ op: 'ping', id: this.id() });
            // A half-open TCP connection can stay "open" for minutes; without a pong, give it up.
            this.pongTimer = setTimeout(() => {
                const socket = this.socket;
                if (socket) this.lost(true, undefined);
            }, this.settings.pongTimeout);
        }, this.settings.pingInterval);
    }

    send(request) {
        const socket = this.socket;
        if (!socket || socket.readyState !== 1) return false;
        socket.send(JSON.stringify(request));
        this.counters.sent += 1;
        return true;
    }

    id() {
        return String(this.nextId++);
    }

    sendSubscribe(subject, entry) {
        entry.sequencer?.expectSnapshot();
        const id = this.id();
        if (!this.send({ op: 'subscribe', subject, id })) return;
        this.requests.set(id, subject);
        this.watchSnapshot(subject, entry);
    }

    /** A tick subject whose snapshot does not come is subscribed again. */
    watchSnapshot(subject, entry) {
        clearTimeout(entry.snapshotTimer);
        if (!entry.sequencer) return;
        entry.snapshotTimer = setTimeout(() => {
            if (this.subjects.get(subject) !== entry || !entry.sequencer.awaitingSnapshot || entry.refused) return;
            // While the gateway has no NATS (degraded) it cannot have a snapshot: wait for it.
            if (this.state === 'degraded') this.watchSnapshot(subject, entry);
            else this.repair(subject, entry);
        }, this.settings.snapshotTimeout);
    }

    /** A gap or a missing snapshot: unsubscribe and subscribe, which starts with a snapshot. */
    repair(subject, entry) {
        this.counters.repairs += 1;
        entry.sequencer.expectSnapshot();
        if (this.send({ op: 'unsubscribe', subject, id: this.id() })) this.sendSubscribe(subject, entry);
    }

    // ─── incoming ───────────────────────────────────────────────────────────────────────────

    received(text) {
        if (typeof text !== 'string') return;
        let message;
        try {
            message = JSON.parse(text);
        } catch {
            this.counters.errors += 1;
            return;
        }
        if (!message || typeof message !== 'object') return;
        this.counters.messages += 1;
        switch (message.type) {
        case 'snapshot':
            this.snapshot(message);
            break;
        case 'tick':
            this.tick(message);
            break;
        case 'status':
            this.status(message.data || {}, message.subject);
            break;
        case 'pong':
            clearTimeout(this.pongTimer);
            this.pongTimer = null;
            break;
        case 'error':
            this.error(message);
            break;
        case 'subscribed':
        case 'unsubscribed':
            this.requests.delete(message.data?.id);
            break;
        default:
            // bar and anything newer: handed to the clients of its subject as it is.
            this.deliver(message.subject, message);
        }
    }

    snapshot(message) {
        const entry = this.subjects.get(message.subject);
        if (!entry || !entry.sequencer || !message.data) return;
        const result = entry.sequencer.snapshot(message.data);
        // Not newer than the state held (same epoch, seq not above it): nothing to hand on.
        if (result.action === 'ignore') return;
        if (result.newEpoch) this.counters.newEpochs += 1;
        clearTimeout(entry.snapshotTimer);
        this.deliver(message.subject, { ...message, data: result.data });
    }

    tick(message) {
        const entry = this.subjects.get(message.subject);
        if (!entry || !entry.sequencer || !message.data) return;
        const result = entry.sequencer.batch(message.data);
        switch (result.action) {
        case 'apply':
            this.deliver(message.subject, result.data === message.data ? message : { ...message, data: result.data });
            break;
        case 'gap':
            this.repair(message.subject, entry);
            break;
        case 'newEpoch':
            // The producer started over: the gateway resets its cache and sends every subscriber
            // the new epoch's snapshot by itself; resubscribe only if it does not come in time.
            this.counters.newEpochs += 1;
            this.watchSnapshot(message.subject, entry);
            break;
        case 'ignore':
            break;
        }
    }

    /**
     * A status frame. With a subject it is about that subject's producer (`stale`, XYW008, or
     * `live` again): the connection shows `stale` while any subject it follows is stale. Without
     * one it is about the gateway's NATS link (`degraded`, XYW004, or `live`).
     */
    status(data, subject) {
        if (subject) {
            if (data.state === 'stale') this.staleSubjects.add(subject);
            else if (data.state === 'live') this.staleSubjects.delete(subject);
            if (this.state === 'live' && this.staleSubjects.size > 0) this.setState('stale', data.code);
            else if (this.state === 'stale' && this.staleSubjects.size === 0) this.setState('live');
            return;
        }
        if (data.state === 'degraded') {
            this.setState('degraded', data.code);
        } else if (data.state === 'live') {
            const wasDegraded = this.state === 'degraded';
            this.setState('live');
            if (wasDegraded) {
                // The gateway has NATS again and sends every group a fresh snapshot: take it as the
                // base even if its seq is not above ours (nothing moved while NATS was away).
                for (const [subject, entry] of this.subjects) {
                    if (!entry.sequencer || entry.refused) continue;
                    entry.sequencer.expectSnapshot();
                    this.watchSnapshot(subject, entry);
                }
            }
            // Subscriptions the gateway could not make without NATS: ask again now.
            for (const [subject, entry] of this.subjects) {
                if (entry.retryWhenLive) {
                    entry.retryWhenLive = false;
                    this.sendSubscribe(subject, entry);
                }
            }
        }
    }

    error(message) {
        this.counters.errors += 1;
        const data = message.data || {};
        this.lastError = data.code;
        const subject = message.subject || this.requests.get(data.id);
        this.requests.delete(data.id);
        const entry = subject ? this.subjects.get(subject) : undefined;
        if (entry && (data.code === 'XYW002' || data.code === 'XYW006')) {
            // Refused: not asked again on reconnect; the clients hear why.
            entry.refused = true;
            clearTimeout(entry.snapshotTimer);
        } else if (entry && data.code === 'XYW004') {
            // Not subscribed because the gateway has no NATS: again once it says live.
            entry.retryWhenLive = true;
        }
        if (subject && entry) this.deliver(subject, message);
        else this.broadcast({ kind: 'message', subject: subject || '', message });
    }

    deliver(subject, message) {
        const entry = subject ? this.subjects.get(subject) : undefined;
        if (!entry) return;
        for (const clientId of entry.clients) this.clients.get(clientId)?.({ kind: 'message', subject, message });
    }

    broadcast(message) {
        for (const post of this.clients.values()) post(message);
    }

    setState(state, code) {
        if (state === this.state && code === this.stateCode) return;
        this.state = state;
        this.stateCode = code;
        this.broadcast({ kind: 'state', state, code });
    }

    replayEnvelope(subject, sequencer) {
        return {
            type: 'snapshot',
            subject,
            seq: sequencer.lastSeq,
            epoch: sequencer.epoch ?? '0',
            ts: new Date().toISOString(),
            source: 'xy-client',
            data: sequencer.snapshotData(),
        };
    }
}

/**
 * A JWT's `exp` in seconds, read without verifying anything (the gateway verifies); 0 when the
 * token cannot be read, -1 for none at all.
 */
export function expiry(token) {
    if (!token) return -1;
    try {
        const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
        const claims = JSON.parse(atob(payload + '='.repeat((4 - payload.length % 4) % 4)));
        return Number(claims.exp) || 0;
    } catch {
        return 0;
    }
}

/** `ws://host:port/ws` → `http://host:port/healthz` (null when the URL cannot be read). */
export function healthURL(url) {
    try {
        const parsed = new URL(url);
        parsed.protocol = parsed.protocol === 'wss:' ? 'https:' : 'http:';
        parsed.pathname = '/healthz';
        parsed.search = '';
        parsed.hash = '';
        return parsed.toString();
    } catch {
        return null;
    }
}
