// A 1-minute candle chart on a canvas for one symbol: the open candle follows the trades seen in
// ticks (open, high, low, close, and volume from the day's running volume), a new minute starts a
// new candle, and closed bars from xy.md.bar.<SYMBOL> replace the candle of their minute.
// Drawing happens only in draw(), which the page calls from its animation frame.

const MINUTE = 60000;
const MAX_CANDLES = 240;

export class CandleChart {
    constructor(canvas) {
        this.canvas = canvas;
        this.context = canvas.getContext('2d');
        this.symbol = '';
        this.candles = [];       // ascending by t (minute start, ms)
        this.dirty = true;
        this.lastTrade = null;   // {last, volume} of the previous tick that carried a trade
        this.colors = null;
        // The canvas's CSS size, kept by an observer: reading clientWidth while drawing would
        // force a layout of the page in every frame that changed the table.
        this.size = { width: canvas.clientWidth, height: canvas.clientHeight };
        new ResizeObserver((entries) => {
            const box = entries[entries.length - 1].contentRect;
            this.size = { width: box.width, height: box.height };
            this.dirty = true;
        }).observe(canvas);
    }

    /** Shows another symbol: an empty chart until its ticks and bars arrive. */
    reset(symbol) {
        this.symbol = symbol;
        this.candles = [];
        this.lastTrade = null;
        this.dirty = true;
    }

    /**
     * A tick of the shown symbol (the symbol's whole state). A trade shows as a change of `last`
     * or of the day's volume; a quote alone moves neither.
     */
    tick(tick) {
        if (tick.symbol !== this.symbol || !(tick.last > 0)) return;
        const traded = !this.lastTrade || tick.last !== this.lastTrade.last || tick.volume !== this.lastTrade.volume;
        const previous = this.lastTrade;
        this.lastTrade = { last: tick.last, volume: tick.volume };
        if (!traded) return;
        const time = tick.time || Date.now();
        const start = time - (time % MINUTE);
        let candle = this.candles[this.candles.length - 1];
        if (candle && start < candle.t) return; // older than the open candle: already drawn past it
        if (!candle || start > candle.t) {
            candle = { t: start, o: tick.last, h: tick.last, l: tick.last, c: tick.last, v: 0, baseVolume: previous ? previous.volume : tick.volume, sealed: false };
            this.push(candle);
        } else if (candle.sealed) {
            return;
        }
        candle.h = Math.max(candle.h, tick.last);
        candle.l = Math.min(candle.l, tick.last);
        candle.c = tick.last;
        if (candle.baseVolume !== undefined && tick.volume >= candle.baseVolume) candle.v = tick.volume - candle.baseVolume;
        this.dirty = true;
    }

    /** A bar from xy.md.bar.<SYMBOL>: authoritative for its minute. */
    bar(bar) {
        if (bar.symbol !== this.symbol) return;
        const start = toMillis(bar.start);
        const candle = { t: start - (start % MINUTE), o: bar.open, h: bar.high, l: bar.low, c: bar.close, v: bar.volume, sealed: bar.sealed !== false };
        const index = this.candles.findIndex((existing) => existing.t === candle.t);
        if (index >= 0) {
            this.candles[index] = candle;
        } else {
            this.candles.push(candle);
            this.candles.sort((a, b) => a.t - b.t);
            if (this.candles.length > MAX_CANDLES) this.candles.splice(0, this.candles.length - MAX_CANDLES);
        }
        this.dirty = true;
    }

    push(candle) {
        this.candles.push(candle);
        if (this.candles.length > MAX_CANDLES) this.candles.shift();
    }

    /** Redraws when something changed (or the canvas was resized). */
    draw() {
        const canvas = this.canvas;
        const ratio = globalThis.devicePixelRatio || 1;
        const width = Math.max(1, Math.round(this.size.width * ratio));
        const height = Math.max(1, Math.round(this.size.height * ratio));
        if (canvas.width !== width || canvas.height !== height || !this.colors) {
            canvas.width = width;
            canvas.height = height;
            this.colors = readColors(canvas); // once per size: getComputedStyle forces a style pass
            this.dirty = true;
        }
        if (!this.dirty) return false;
        this.dirty = false;
        const g = this.context;
        const colors = this.colors;
        g.setTransform(ratio, 0, 0, ratio, 0, 0);
        const w = width / ratio;
        const h = height / ratio;
        g.clearRect(0, 0, w, h);
        g.font = '11px ui-monospace, SFMono-Regular, Menlo, monospace';
        g.textBaseline = 'middle';

        const axis = 64;
        const bottom = 22;
        const plotW = w - axis;
        const plotH = h - bottom - 10;
        const slot = 12;
        const visible = this.candles.slice(-Math.max(1, Math.floor(plotW / slot)));
        if (visible.length === 0) {
            g.fillStyle = colors.text;
            g.textAlign = 'center';
            g.fillText(this.symbol ? `${this.symbol}: waiting for trades` : 'select a symbol', w / 2, h / 2);
            return true;
        }
        let low = Infinity;
        let high = -Infinity;
        for (const candle of visible) {
            low = Math.min(low, candle.l);
            high = Math.max(high, candle.h);
        }
        const pad = (high - low) * 0.08 || Math.max(high * 0.001, 0.01);
        low -= pad;
        high += pad;
        const y = (price) => 10 + (high - price) / (high - low) * plotH;

        // Price grid and labels.
        g.strokeStyle = colors.grid;
        g.fillStyle = colors.text;
        g.textAlign = 'left';
        g.lineWidth = 1;
        const step = niceStep((high - low) / 5);
        for (let price = Math.ceil(low / step) * step; price <= high; price += step) {
            const py = Math.round(y(price)) + 0.5;
            g.beginPath();
            g.moveTo(0, py);
            g.lineTo(plotW, py);
            g.stroke();
            g.fillText(price.toFixed(decimals(step)), plotW + 6, py);
        }

        // Candles, newest at the right edge.
        const x0 = plotW - visible.length * slot;
        visible.forEach((candle, index) => {
            const cx = Math.round(x0 + index * slot + slot / 2) + 0.5;
            const rising = candle.c >= candle.o;
            g.strokeStyle = g.fillStyle = rising ? colors.up : colors.down;
            g.beginPath();
            g.moveTo(cx, y(candle.h));
            g.lineTo(cx, y(candle.l));
            g.stroke();
            const top = y(Math.max(candle.o, candle.c));
            const body = Math.max(1, y(Math.min(candle.o, candle.c)) - top);
            g.globalAlpha = candle.sealed ? 1 : 0.75;
            g.fillRect(cx - 4, top, 8, body);
            g.globalAlpha = 1;
            if (index % 10 === 0) {
                g.fillStyle = colors.text;
                g.textAlign = 'center';
                g.fillText(timeLabel(candle.t), cx, h - bottom / 2);
            }
        });

        // Last price marker.
        const last = visible[visible.length - 1];
        const ly = Math.round(y(last.c)) + 0.5;
        g.setLineDash([3, 3]);
        g.strokeStyle = colors.text;
        g.beginPath();
        g.moveTo(0, ly);
        g.lineTo(plotW, ly);
        g.stroke();
        g.setLineDash([]);
        g.fillStyle = last.c >= last.o ? colors.up : colors.down;
        g.fillRect(plotW + 2, ly - 8, axis - 4, 16);
        g.fillStyle = '#fff';
        g.textAlign = 'left';
        g.fillText(last.c.toFixed(decimals(step) + 1), plotW + 6, ly);
        return true;
    }
}

/** The chart's colours from the page's CSS custom properties. */
function readColors(canvas) {
    const style = getComputedStyle(canvas);
    const color = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    return {
        text: color('--chart-text', '#8a93a6'),
        grid: color('--chart-grid', '#262b36'),
        up: color('--up', '#26a269'),
        down: color('--down', '#e5484d'),
    };
}

/** Bar times may be given in ms or (from older gateways) ns. */
function toMillis(value) {
    const n = Number(value) || 0;
    return n > 1e14 ? Math.floor(n / 1e6) : n;
}

function niceStep(raw) {
    if (!(raw > 0)) return 1;
    const power = 10 ** Math.floor(Math.log10(raw));
    const fraction = raw / power;
    return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

function decimals(step) {
    return Math.max(0, Math.min(6, -Math.floor(Math.log10(step))));
}

function timeLabel(ms) {
    const date = new Date(ms);
    return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}
