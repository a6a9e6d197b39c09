// The demo terminal: a watchlist of the group's symbols, a 1-minute candle chart of the selected
// one, and the connection badge. Messages only mark what changed; the page applies them once per
// animation frame (a timer stands in while the tab is hidden, when frames do not run) and keeps
// its figures in window.xyStats.
//
// Page parameters, in the fragment (never sent to the server) or the query:
//   #token=JWT            required; the gateway refuses a connection without it
//   group=demo            the tick subject is xy.md.tick.<group> (cli-demo: what `xy demo ticks` publishes)
//   symbol=AAPL           the symbol charted at first (default: the first of the snapshot)
//   sharedWorker=0        one connection per tab instead of one per browser
//   heartbeat=MS          tab↔worker heartbeat interval
//   ws=URL                the gateway's WebSocket URL (default: this page's host, /ws)
import { XYClient } from './xy-client.js';
import { CandleChart } from './candle-chart.js';

const FRAME_SAMPLES = 240;
const HIDDEN_FLUSH_MS = 250;
const FLASH_CLASSES = { up: ['flash-up-a', 'flash-up-b'], down: ['flash-down-a', 'flash-down-b'] };

const params = readParams();
const group = params.get('group') || 'demo';
const tickSubject = `xy.md.tick.${group}`;

const stats = {
    mode: 'none',
    state: 'connecting',
    stateCode: undefined,
    states: [],                 // [{state, at}] every state the badge showed, oldest first
    subject: tickSubject,
    group,
    messages: 0,
    snapshots: 0,
    ticks: 0,                   // tick batches received
    tickSymbols: 0,             // symbol updates inside them
    bars: 0,
    errors: [],
    lastSeq: 0,
    seqBreaks: 0,               // batches whose firstSeq did not follow lastSeq (the connection repairs those; should stay 0 here)
    frames: 0,
    frameMs: { last: 0, max: 0, mean: 0 },
    frameTimes: [],             // the last FRAME_SAMPLES per-frame update times, ms
    selected: '',
    candles: 0,
    chart: null,                // the selected symbol's newest candle {symbol, t, open, high, low, close, volume}
    watchlist: {},              // symbol → the row as shown {last, change, changePercent, bid, ask, volume, time, …}
    updatedAt: 0,
    connection: null,           // xy.stats(), refreshed every second and by window.xyRefreshStats()
};
window.xyStats = stats;

const elements = {
    badge: document.getElementById('status'),
    mode: document.getElementById('mode'),
    rows: document.getElementById('rows'),
    chart: document.getElementById('chart'),
    chartTitle: document.getElementById('chart-title'),
    seq: document.getElementById('seq'),
    frame: document.getElementById('frame'),
    clock: document.getElementById('clock'),
    message: document.getElementById('message'),
};

const chart = new CandleChart(elements.chart);
/** symbol → {row, cells: {field: td}, shown: tick} */
const rows = new Map();
/** What arrived since the last frame. */
const pending = { snapshot: null, ticks: new Map(), bars: [], state: null };
let scheduled = false;
let barSubscription = null;
let xy = null;

main().catch((error) => {
    showMessage(`cannot start: ${error.message}`);
    stats.errors.push({ code: 'start', message: String(error.message) });
});

async function main() {
    const token = params.get('token');
    if (!token) {
        showMessage('no token: open this page as …/#token=<JWT> (make up prints the link)');
        setBadge('unauthorized', 'XYW001');
        return;
    }
    const url = params.get('ws') || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    const sharedWorker = !['0', 'false', 'no', 'off'].includes((params.get('sharedWorker') || '').toLowerCase());
    const heartbeatInterval = Number(params.get('heartbeat')) || undefined;
    xy = await XYClient.connect({ url, token, sharedWorker, heartbeatInterval });
    window.xyClient = xy; // for the console and the browser tests
    stats.mode = xy.mode;
    elements.mode.textContent = xy.mode === 'shared-worker' ? 'shared connection' : 'own connection';
    elements.mode.title = xy.fallbackReason ? `SharedWorker not used: ${xy.fallbackReason}` : 'one WebSocket for every tab of this browser';
    setBadge(xy.state, xy.stateCode);
    xy.addEventListener('state', (event) => {
        pending.state = event.detail;
        setBadge(event.detail.state, event.detail.code);
    });
    xy.addEventListener('mode', (event) => {
        stats.mode = event.detail.mode;
        elements.mode.textContent = 'own connection';
    });
    xy.addEventListener('error', (event) => stats.errors.push(event.detail));
    xy.subscribe(tickSubject, onTickSubject);
    elements.rows.addEventListener('click', (event) => {
        const row = event.target.closest('tr[data-symbol]');
        if (row) select(row.dataset.symbol);
    });
    document.addEventListener('visibilitychange', () => {
        // A hidden tab's canvas may have been put to sleep by the browser: draw it afresh.
        if (!document.hidden) chart.dirty = true;
        schedule();
    });
    setInterval(refreshConnectionStats, 1000);
    setInterval(() => { elements.clock.textContent = new Date().toLocaleTimeString(); }, 1000);
}

function onTickSubject(message) {
    stats.messages += 1;
    switch (message.type) {
    case 'snapshot':
        stats.snapshots += 1;
        stats.lastSeq = message.data.seq;
        pending.snapshot = message.data;
        pending.ticks.clear();
        break;
    case 'tick': {
        stats.ticks += 1;
        const data = message.data;
        if ((data.firstSeq ?? data.seq) !== stats.lastSeq + 1) stats.seqBreaks += 1;
        stats.lastSeq = data.seq;
        for (const tick of data.ticks) {
            stats.tickSymbols += 1;
            pending.ticks.set(tick.symbol, tick);
            if (tick.symbol === stats.selected) chart.tick(tick);
        }
        break;
    }
    case 'error':
        stats.errors.push(message.data);
        showMessage(`${message.data.code}: ${message.data.message || 'refused'}`);
        break;
    default:
        break;
    }
    schedule();
}

function onBar(message) {
    stats.messages += 1;
    if (message.type !== 'bar') return;
    stats.bars += 1;
    pending.bars.push(message.data);
    schedule();
}

function schedule() {
    if (scheduled) return;
    scheduled = true;
    if (document.hidden) setTimeout(frame, HIDDEN_FLUSH_MS);
    else requestAnimationFrame(frame);
}

/** Everything that arrived since the last frame, applied at once. */
function frame() {
    scheduled = false;
    const started = performance.now();
    if (pending.snapshot) {
        applySnapshot(pending.snapshot);
        pending.snapshot = null;
    }
    if (pending.ticks.size > 0) {
        for (const tick of pending.ticks.values()) applyTick(tick, true);
        pending.ticks.clear();
    }
    if (pending.bars.length > 0) {
        for (const bar of pending.bars) chart.bar(bar);
        pending.bars = [];
    }
    chart.draw();
    stats.candles = chart.candles.length;
    const open = chart.candles[chart.candles.length - 1];
    stats.chart = open ? { symbol: chart.symbol, t: open.t, open: open.o, high: open.h, low: open.l, close: open.c, volume: open.v } : null;
    elements.seq.textContent = `seq ${stats.lastSeq}`;
    const elapsed = performance.now() - started;
    recordFrame(elapsed);
}

function recordFrame(elapsed) {
    stats.frames += 1;
    stats.frameTimes.push(elapsed);
    if (stats.frameTimes.length > FRAME_SAMPLES) stats.frameTimes.shift();
    stats.frameMs.last = elapsed;
    stats.frameMs.max = Math.max(stats.frameMs.max, elapsed);
    stats.frameMs.mean = stats.frameTimes.reduce((sum, value) => sum + value, 0) / stats.frameTimes.length;
    stats.updatedAt = Date.now();
    elements.frame.textContent = `frame ${elapsed.toFixed(2)} ms`;
}

function applySnapshot(data) {
    const seen = new Set();
    for (const tick of data.ticks) {
        seen.add(tick.symbol);
        applyTick(tick, false);
    }
    for (const [symbol, entry] of rows) {
        if (!seen.has(symbol)) {
            entry.row.remove();
            rows.delete(symbol);
            delete stats.watchlist[symbol];
        }
    }
    if (!stats.selected || !rows.has(stats.selected)) {
        const wanted = (params.get('symbol') || '').toUpperCase();
        select(rows.has(wanted) ? wanted : data.ticks[0]?.symbol || '');
    } else {
        const tick = rows.get(stats.selected).shown;
        if (tick) chart.tick(tick);
    }
}

function applyTick(tick, flash) {
    let entry = rows.get(tick.symbol);
    if (!entry) entry = addRow(tick.symbol);
    const before = entry.shown;
    entry.shown = tick;
    stats.watchlist[tick.symbol] = {
        last: tick.last, change: tick.change, changePercent: tick.changePercent, bid: tick.bid, ask: tick.ask,
        volume: tick.volume, time: tick.time, lastSize: tick.lastSize, bidSize: tick.bidSize, askSize: tick.askSize,
        open: tick.open, high: tick.high, low: tick.low, previousClose: tick.previousClose,
    };
    const move = dayMove(tick);
    const direction = move.change > 0 ? 'up' : move.change < 0 ? 'down' : '';
    setCell(entry, 'last', price(tick.last), before && flash ? compare(tick.last, before.last) : '');
    setCell(entry, 'change', signed(move.change, 2), '', direction);
    setCell(entry, 'changePercent', `${signed(move.percent, 2)}%`, '', direction);
    entry.cells.change.title = entry.cells.changePercent.title = move.since;
    setCell(entry, 'bid', price(tick.bid), before && flash ? compare(tick.bid, before.bid) : '');
    setCell(entry, 'ask', price(tick.ask), before && flash ? compare(tick.ask, before.ask) : '');
    setCell(entry, 'volume', volume(tick.volume), '');
    setCell(entry, 'time', clockTime(tick.time), '');
}

function addRow(symbol) {
    const row = document.createElement('tr');
    row.dataset.symbol = symbol;
    const cells = {};
    for (const field of ['symbol', 'last', 'change', 'changePercent', 'bid', 'ask', 'volume', 'time']) {
        const cell = document.createElement('td');
        cell.className = field;
        row.appendChild(cell);
        cells[field] = cell;
    }
    cells.symbol.textContent = symbol;
    const entry = { row, cells, shown: null, flip: {} };
    // Keep the rows in symbol order.
    const after = Array.from(rows.keys()).sort().find((other) => other > symbol);
    elements.rows.insertBefore(row, after ? rows.get(after).row : null);
    rows.set(symbol, entry);
    if (symbol === stats.selected) row.classList.add('selected');
    return entry;
}

/** Sets a cell's text; `flash` ('up'|'down') restarts its flash animation; `tone` colours it. */
function setCell(entry, field, text, flash, tone) {
    const cell = entry.cells[field];
    if (cell.textContent !== text) cell.textContent = text;
    if (tone !== undefined) {
        cell.classList.toggle('up', tone === 'up');
        cell.classList.toggle('down', tone === 'down');
    }
    if (flash) {
        // Two identical animations taken in turn restart the flash without forcing a layout.
        const flip = entry.flip[field] = entry.flip[field] ? 0 : 1;
        cell.classList.remove(...FLASH_CLASSES.up, ...FLASH_CLASSES.down);
        cell.classList.add(FLASH_CLASSES[flash][flip]);
    }
}

function select(symbol) {
    if (!symbol || symbol === stats.selected) return;
    rows.get(stats.selected)?.row.classList.remove('selected');
    stats.selected = symbol;
    rows.get(symbol)?.row.classList.add('selected');
    elements.chartTitle.textContent = `${symbol} · 1 min`;
    chart.reset(symbol);
    const shown = rows.get(symbol)?.shown;
    if (shown) chart.tick(shown);
    barSubscription?.close();
    barSubscription = xy ? xy.subscribe(`xy.md.bar.${symbol}`, onBar) : null;
    schedule();
}

function setBadge(state, code) {
    stats.state = state;
    stats.stateCode = code;
    stats.states.push({ state, at: Date.now() });
    if (stats.states.length > 50) stats.states.shift();
    elements.badge.textContent = state;
    elements.badge.dataset.state = state;
    elements.badge.title = code ? `code ${code}` : '';
    if (state === 'unauthorized') showMessage('the gateway refused the token (expired or not valid here): open the page with a fresh #token=');
    else if (state === 'stale') showMessage('prices are not live: the market-data service sends nothing for this group (XYW008)');
    else if (state === 'live') showMessage('');
}

/** Fetches the connection's figures into xyStats.connection (every second, or when a test asks). */
async function refreshConnectionStats() {
    if (!xy) return null;
    try {
        stats.connection = await xy.stats();
    } catch (error) {
        stats.connection = { error: String(error) };
    }
    return stats.connection;
}
window.xyRefreshStats = refreshConnectionStats;

function showMessage(text) {
    elements.message.textContent = text;
    elements.message.hidden = !text;
}

/**
 * The change the row shows: against the previous close when the aggregator knows it (its
 * `change`); on the first day it runs, against the day's open, labelled as such.
 */
function dayMove(tick) {
    if (tick.previousClose > 0) return { change: tick.change, percent: tick.changePercent, since: 'since the previous close' };
    if (tick.open > 0 && tick.last > 0) {
        const change = tick.last - tick.open;
        return { change, percent: change / tick.open * 100, since: 'since the open (no previous close yet)' };
    }
    return { change: 0, percent: 0, since: '' };
}

/** Unix ms → local `HH:MM:SS.mmm` (Intl formatting per cell and frame would cost more). */
function clockTime(ms) {
    if (!ms) return '';
    const date = new Date(ms);
    const two = (n) => String(n).padStart(2, '0');
    return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function compare(now, before) {
    return now > before ? 'up' : now < before ? 'down' : '';
}

function price(value) {
    if (!(value > 0)) return '—';
    return value.toFixed(value >= 1000 ? 2 : value >= 1 ? 2 : 4);
}

function signed(value, digits) {
    if (!Number.isFinite(value)) return '—';
    return `${value > 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function volume(value) {
    if (!Number.isFinite(value)) return '—';
    if (value >= 1e9) return `${(value / 1e9).toFixed(2)}B`;
    if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
    if (value >= 1e4) return `${(value / 1e3).toFixed(1)}K`;
    return String(Math.round(value));
}

/** Parameters from the query and the fragment (the fragment wins; the token belongs there). */
function readParams() {
    const merged = new URLSearchParams(location.search);
    const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
    for (const [key, value] of fragment) merged.set(key, value);
    return merged;
}
