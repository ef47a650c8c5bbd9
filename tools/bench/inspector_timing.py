#!/usr/bin/env python3
"""Time the inspector against a running `peephole serve` of the demo store (standard library only).

* Unit statistics: the first request for a field computes it over the model's corpus; the next
  come from the server's cache. Timed over HTTP: the first, then the median of 20 cached.
* The page's first render of a 200-character text: headless Chromium (Debian's chromium and
  chromium-driver, driven through chromedriver's W3C WebDriver JSON protocol) opens
  /inspect/read; the page times its own API call and drawing (`window.Peephole.lastRenderMs`).
  Median and range of 5 fresh page loads.

Prints one JSON object. Usage: inspector_timing.py --url http://127.0.0.1:PORT [--layer lstm]
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import time
import urllib.parse
import urllib.request

TEXT = ("This program is free software; you can redistribute it and/or modify it under the terms of the "
        "GNU General Public License as published by the Free Software Foundation, either version 3 of the License, or "
        "(at your option) any later version.")[:200]


def get(url):
    with urllib.request.urlopen(url, timeout=120) as response:
        return json.loads(response.read())


def unit_statistics(base, layer, field):
    url = f"{base}/layers/{layer}/units/5?field={field}&k=10"
    started = time.perf_counter()
    get(url)
    first = (time.perf_counter() - started) * 1000
    cached = []
    for _ in range(20):
        started = time.perf_counter()
        get(url)
        cached.append((time.perf_counter() - started) * 1000)
    return {"field": field, "first_ms": round(first, 1), "cached_ms": round(statistics.median(cached), 2),
            "cached_range_ms": [round(min(cached), 2), round(max(cached), 2)]}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def webdriver(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}").get("value")


def page_render(base, layer, loads=5):
    driver = next((p for p in ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"] if os.access(p, os.X_OK)), None)
    if driver is None:
        return {"error": "chromedriver is missing (apt-get install chromium chromium-driver)"}
    port = free_port()
    process = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                webdriver(port, "GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        options = {"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]}
        session = webdriver(port, "POST", "/session", {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}})["sessionId"]
        query = urllib.parse.urlencode({"layer": layer, "field": "h", "unit": 5, "text": TEXT})
        times = []
        try:
            for _ in range(loads):
                webdriver(port, "POST", f"/session/{session}/url", {"url": f"{base}/inspect/read?{query}"})
                for _ in range(600):
                    value = webdriver(port, "POST", f"/session/{session}/execute/sync", {
                        "script": "return document.body.dataset.ready === 'read' && window.Peephole ? (window.Peephole.lastRenderMs ?? null) : null;",
                        "args": []})
                    if value is not None:
                        times.append(value)
                        break
                    time.sleep(0.02)
        finally:
            webdriver(port, "DELETE", f"/session/{session}")
        if not times:
            return {"error": "the page never rendered"}
        return {"characters": len(TEXT), "median_ms": round(statistics.median(times), 1),
                "range_ms": [round(min(times), 1), round(max(times), 1)], "loads": len(times)}
    finally:
        process.terminate()
        process.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--layer", default="lstm")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    result = {"unit_statistics": unit_statistics(base, args.layer, "o"), "page_render": page_render(base, args.layer)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
