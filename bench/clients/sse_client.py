#!/usr/bin/env python3
"""A streaming OpenAI client that keeps its connections open, as an SDK does: gensharp-bench serve --client keepalive.

Reads rounds from stdin, one a line: `SEED[,SEED...] TOKENS`; runs one streamed /v1/completions request per seed at
once (threads, connection i reused by the i-th request of every round) and writes one JSON line a round:
[{"seed": S, "tokens": N, "ttft": MS, "total": MS}, ...] (times from the request's start; ttft = its first token).
"""
import http.client
import json
import sys
import threading
import time

host, port = sys.argv[1], int(sys.argv[2])
connections = []


def stream(i, seed, tokens, out):
    while len(connections) <= i:
        connections.append(None)
    if connections[i] is None:
        connections[i] = http.client.HTTPConnection(host, port)
    conn = connections[i]
    body = json.dumps({"model": "shakespeare-char", "prompt": "ROMEO:", "max_tokens": tokens,
                       "temperature": 1, "seed": seed, "stream": True})
    start = time.perf_counter()
    conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    if response.status != 200:
        raise SystemExit(f"HTTP {response.status}: {response.read()[:200]!r}")
    count, ttft = 0, 0.0
    while True:
        line = response.readline()
        if not line:
            break
        if line.startswith(b"data: {") and b'"text":""' not in line:
            if count == 0:
                ttft = (time.perf_counter() - start) * 1000
            count += 1
        elif line.startswith(b"data: [DONE]"):
            response.read()  # the chunked body's end: the connection is ready for the next request
            break
    out[i] = {"seed": seed, "tokens": count, "ttft": ttft, "total": (time.perf_counter() - start) * 1000}


for command in sys.stdin:
    seeds, tokens = command.split()
    seeds = [int(s) for s in seeds.split(",")]
    out = [None] * len(seeds)
    for i in range(len(seeds)):  # connections first, so threads never grow the list together
        while len(connections) <= i:
            connections.append(None)
    threads = [threading.Thread(target=stream, args=(i, s, int(tokens), out)) for i, s in enumerate(seeds)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(out), flush=True)
