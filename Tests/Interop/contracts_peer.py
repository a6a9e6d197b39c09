#!/usr/bin/env python3
"""Python peer for the contracts interoperability test: the other side of every xy message.

Usage: contracts_peer.py REQUEST.json RESPONSE.json

Reads one JSON document from REQUEST.json:
    {"messages": [{"type": "xy.md.v1.TickBatch", "binary": "<base64>", "json": "<proto3 JSON>"}, ...]}
For each message it
  - decodes "binary" (what Swift encoded) with the generated Python class and writes it back as
    proto3 JSON ("decoded"), so Swift can compare field by field (a field the Python class does
    not know would be missing from that JSON);
  - parses "json" (Swift's own rendering) into the Python class and encodes it ("encoded",
    base64), so Swift can decode what Python wrote.
Writes {"results": [{"type", "decoded", "encoded"}, ...]} to RESPONSE.json.
"""
import base64
import json
import os
import importlib
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the committed generated modules
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "generated"))

try:
    from google.protobuf import json_format
except ImportError:
    sys.exit("protobuf is not installed in this Python: run 'make deps' (Tests/Interop/requirements.txt)")


def message_classes():
    """Every top-level message class of the generated xy modules, by full name."""
    classes = {}
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "generated")
    for directory, _, files in os.walk(root):
        for name in files:
            if not name.endswith("_pb2.py"):
                continue
            module_name = os.path.relpath(os.path.join(directory, name[:-3]), root).replace(os.sep, ".")
            module = importlib.import_module(module_name)
            for message in module.DESCRIPTOR.message_types_by_name.values():
                classes[message.full_name] = getattr(module, message.name)
    return classes


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: contracts_peer.py REQUEST.json RESPONSE.json")
    with open(sys.argv[1], encoding="utf-8") as request_file:
        request = json.load(request_file)
    classes = message_classes()
    results = []
    for item in request["messages"]:
        cls = classes.get(item["type"])
        if cls is None:
            sys.exit(f"no generated Python class for {item['type']}: run 'make contracts'")
        decoded = cls()
        decoded.ParseFromString(base64.b64decode(item["binary"]))
        parsed = json_format.Parse(item["json"], cls())
        results.append({
            "type": item["type"],
            "decoded": json_format.MessageToJson(decoded, preserving_proto_field_name=True),
            "encoded": base64.b64encode(parsed.SerializeToString(deterministic=True)).decode("ascii"),
        })
    with open(sys.argv[2], "w", encoding="utf-8") as response_file:
        json.dump({"results": results}, response_file)


if __name__ == "__main__":
    main()
