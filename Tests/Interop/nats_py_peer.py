#!/usr/bin/env python3
"""A small nats-py command line peer for interop tests against the Swift client.

Commands (every one takes the connection options below):
  publish   --server URL --subject S --count N [--payload P] [--header K:V ...] [--reply R]
  subscribe --server URL --subject S --count N [--timeout SECS] [--queue Q]
            prints READY once the SUB is flushed, then one JSON line per message
            {"subject", "reply", "data", "headers"}, then exits
  reply     --server URL --subject S --count N --payload P [--timeout SECS]
            prints READY once subscribed, answers N requests, then exits
  request   --server URL --subject S --payload P [--timeout SECS] [--header K:V ...]
            prints the reply data
  kv-put    --server URL --bucket B --key K --payload P [--create-bucket]
            prints {"revision"} (creates the bucket first with --create-bucket)
  kv-get    --server URL --bucket B --key K
            prints {"value", "revision"}, or {"value": null} when the key has no value

Connection options: --creds FILE, --nkey-seed-file FILE, --user U --password P,
--token T, --tls-ca FILE [--tls-cert FILE --tls-key FILE], --inbox-prefix PREFIX.

On failure it prints one line "error: ..." to stderr and exits with status 1.
"""

import argparse
import asyncio
import json
import logging
import ssl
import sys

import nats
from nats.errors import NoRespondersError, TimeoutError as NATSTimeoutError


def parse_headers(values):
    headers = {}
    for value in values or []:
        key, sep, val = value.partition(":")
        if not sep or not key:
            raise ValueError(f"header must be KEY:VALUE, got {value!r}")
        headers[key] = val
    return headers or None


async def connect(args):
    errors = []

    async def error_cb(error):
        errors.append(error)

    options = {
        "servers": [args.server],
        "allow_reconnect": False,
        # 0 would mean "forever" in nats-py's initial connect loop; 1 fails after two tries.
        "max_reconnect_attempts": 1,
        "reconnect_time_wait": 0.1,
        "connect_timeout": 5,
        "error_cb": error_cb,
        "drain_timeout": 5,
        "name": "nats_py_peer",
    }
    if args.creds:
        options["user_credentials"] = args.creds
    if args.nkey_seed_file:
        options["nkeys_seed"] = args.nkey_seed_file
    if args.user is not None:
        options["user"] = args.user
        options["password"] = args.password or ""
    if args.token is not None:
        options["token"] = args.token
    if args.tls_ca or args.tls_cert:
        context = ssl.create_default_context(cafile=args.tls_ca)
        if args.tls_cert:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        options["tls"] = context
    if args.inbox_prefix:
        options["inbox_prefix"] = args.inbox_prefix
    args.errors = errors
    try:
        return await nats.connect(**options)
    except Exception as error:
        text = str(error) or type(error).__name__
        detail = f" ({errors[-1]})" if errors and str(errors[-1]) != text else ""
        raise RuntimeError(f"cannot connect to {args.server}: {text}{detail}") from error


async def settle(nc, args):
    """Flushes, then fails with the server's asynchronous errors (-ERR permissions
    violation, …), which nats-py only passes to error_cb.

    nats-py writes a flush's PING ahead of buffered commands, so the first PONG can come
    back before the server has even read our PUB/SUB; the second round trip cannot.
    """
    await nc.flush(timeout=args.timeout)
    await nc.flush(timeout=args.timeout)
    if args.errors:
        raise RuntimeError(f"server error: {args.errors[-1]}")


def message_line(msg):
    return json.dumps(
        {
            "subject": msg.subject,
            "reply": msg.reply or "",
            "data": msg.data.decode("utf-8", errors="replace"),
            "headers": dict(msg.headers) if msg.headers else {},
        },
        separators=(",", ":"),
    )


def ready():
    print("READY", flush=True)


async def cmd_publish(nc, args):
    payload = args.payload.encode()
    headers = parse_headers(args.header)
    for _ in range(args.count):
        await nc.publish(args.subject, payload, reply=args.reply or "", headers=headers)
    await settle(nc, args)


async def cmd_subscribe(nc, args):
    received = 0
    done = asyncio.get_running_loop().create_future()

    async def handler(msg):
        nonlocal received
        if received >= args.count:
            return
        received += 1
        print(message_line(msg), flush=True)
        if received >= args.count and not done.done():
            done.set_result(None)

    await nc.subscribe(args.subject, queue=args.queue or "", cb=handler)
    await settle(nc, args)
    ready()
    if args.count <= 0:
        return
    try:
        await asyncio.wait_for(done, timeout=args.timeout)
    except asyncio.TimeoutError:
        raise RuntimeError(f"timeout: received {received} of {args.count} messages on {args.subject}") from None


async def cmd_reply(nc, args):
    answered = 0
    done = asyncio.get_running_loop().create_future()
    payload = args.payload.encode()

    async def handler(msg):
        nonlocal answered
        if answered >= args.count:
            return
        await msg.respond(payload)
        answered += 1
        if answered >= args.count and not done.done():
            done.set_result(None)

    await nc.subscribe(args.subject, cb=handler)
    await settle(nc, args)
    ready()
    try:
        await asyncio.wait_for(done, timeout=args.timeout)
    except asyncio.TimeoutError:
        raise RuntimeError(f"timeout: answered {answered} of {args.count} requests on {args.subject}") from None
    await nc.flush(timeout=args.timeout)


async def cmd_request(nc, args):
    try:
        msg = await nc.request(
            args.subject, args.payload.encode(), timeout=args.timeout, headers=parse_headers(args.header)
        )
    except NoRespondersError:
        raise RuntimeError(f"no responders on {args.subject}") from None
    except NATSTimeoutError:
        if args.errors:
            raise RuntimeError(f"server error: {args.errors[-1]}") from None
        raise RuntimeError(f"timeout: no reply on {args.subject} within {args.timeout}s") from None
    sys.stdout.write(msg.data.decode("utf-8", errors="replace") + "\n")
    sys.stdout.flush()


async def cmd_kv_put(nc, args):
    js = nc.jetstream()
    if args.create_bucket:
        kv = await js.create_key_value(bucket=args.bucket)
    else:
        kv = await js.key_value(args.bucket)
    revision = await kv.put(args.key, args.payload.encode())
    print(json.dumps({"revision": revision}), flush=True)


async def cmd_kv_get(nc, args):
    from nats.js.errors import KeyNotFoundError

    kv = await nc.jetstream().key_value(args.bucket)
    try:
        entry = await kv.get(args.key)
    except KeyNotFoundError:
        print(json.dumps({"value": None}), flush=True)
        return
    value = entry.value.decode("utf-8", errors="replace") if entry.value is not None else None
    print(json.dumps({"value": value, "revision": entry.revision}), flush=True)


COMMANDS = {
    "kv-put": cmd_kv_put,
    "kv-get": cmd_kv_get,
    "publish": cmd_publish,
    "subscribe": cmd_subscribe,
    "reply": cmd_reply,
    "request": cmd_request,
}


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", required=True, help="nats://, tls:// URL")
    common.add_argument("--subject", help="required by publish, subscribe, reply and request")
    common.add_argument("--creds", help="JWT creds file")
    common.add_argument("--nkey-seed-file", help="file holding an NKey user seed")
    common.add_argument("--user")
    common.add_argument("--password")
    common.add_argument("--token")
    common.add_argument("--tls-ca", help="CA file to verify the server")
    common.add_argument("--tls-cert", help="client certificate (mutual TLS)")
    common.add_argument("--tls-key", help="client key (mutual TLS)")
    common.add_argument("--inbox-prefix", help="prefix of reply inboxes instead of _INBOX")

    parser = argparse.ArgumentParser(description="nats-py peer for xy interop tests")
    commands = parser.add_subparsers(dest="command", required=True)

    publish = commands.add_parser("publish", parents=[common])
    publish.add_argument("--count", type=int, default=1)
    publish.add_argument("--payload", default="")
    publish.add_argument("--header", action="append", help="KEY:VALUE, repeatable")
    publish.add_argument("--reply", help="reply subject to attach")
    publish.add_argument("--timeout", type=float, default=10.0)

    subscribe = commands.add_parser("subscribe", parents=[common])
    subscribe.add_argument("--count", type=int, default=1)
    subscribe.add_argument("--timeout", type=float, default=10.0)
    subscribe.add_argument("--queue", help="queue group")

    reply = commands.add_parser("reply", parents=[common])
    reply.add_argument("--count", type=int, default=1)
    reply.add_argument("--payload", required=True)
    reply.add_argument("--timeout", type=float, default=30.0)

    request = commands.add_parser("request", parents=[common])
    request.add_argument("--payload", default="")
    request.add_argument("--header", action="append", help="KEY:VALUE, repeatable")
    request.add_argument("--timeout", type=float, default=5.0)
    kv_put = commands.add_parser("kv-put", parents=[common])
    kv_put.add_argument("--bucket", required=True)
    kv_put.add_argument("--key", required=True)
    kv_put.add_argument("--payload", default="")
    kv_put.add_argument("--create-bucket", action="store_true")
    kv_put.add_argument("--timeout", type=float, default=5.0)

    kv_get = commands.add_parser("kv-get", parents=[common])
    kv_get.add_argument("--bucket", required=True)
    kv_get.add_argument("--key", required=True)
    kv_get.add_argument("--timeout", type=float, default=5.0)
    return parser


async def run(args):
    nc = await connect(args)
    try:
        await COMMANDS[args.command](nc, args)
    finally:
        try:
            await nc.drain() if args.command != "publish" else await nc.close()
        except Exception:
            pass


def main():
    # asyncio warns on stderr about TLS EOF handling; keep output to our own lines.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    args = build_parser().parse_args()
    if args.command in ("publish", "subscribe", "reply", "request") and not args.subject:
        print(f"error: {args.command} needs --subject", file=sys.stderr)
        return 1
    if (args.tls_cert is None) != (args.tls_key is None):
        print("error: --tls-cert and --tls-key go together", file=sys.stderr)
        return 1
    try:
        asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        text = " ".join(str(error).split()) or type(error).__name__
        print(f"error: {text}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
