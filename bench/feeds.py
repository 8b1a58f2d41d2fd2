"""Feed speed: building all three feeds for 5,000 articles, and serving them under load.

1. Builds the site's RSS, Atom and JSON Feed documents from an SQLite store of N generated
   articles: the three subscription documents (``feed_entries`` = 50 each), then every
   archive page of all three formats (all N articles in each format).
2. Starts ``publisher.web`` under uvicorn in a child process on 127.0.0.1 and loads it from
   this process (keep-alive connections, raw HTTP/1.1 so the client costs little) for a fixed
   time per path: the 304 path (``If-None-Match`` with the current ETag), the 200 path (the
   cached feed) and a small static file from the same server. Prints requests per second and
   the ratios (goal: the 304 path at >= 50 % of the static file's rate).

    python bench/feeds.py [--count 5000] [--seconds 5] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from publisher.articles.drafts import ArticleDraft, TopicRef
from publisher.articles.sanitize import html_to_text, sanitize_html
from publisher.articles.store import ArticleWriter, last_change
from publisher.config import Settings, load_settings
from publisher.db import make_engine, upgrade
from publisher.feeds.cache import FeedCache
from publisher.feeds.documents import all_keys, load_page, make_document, render
from publisher.feeds.models import FeedFormat, FeedKey

WORDS = (  # noqa: SIM905 (a sentence reads better than a list of strings)
    "občina mestni svet župan cesta obnova krožišče vrtec šola knjižnica prireditev Krka "
    "Novo mesto razpis proračun kolesarska steza vodovod zapora park drevored šport dvorana "
    "kultura festival občani predlog odlok seja četrtna skupnost Bršljin Šmihel Žabja vas"
).split()
TOPICS = ["promet", "kultura", "okolje", "obcina", "sport"]


def generate(engine_url: str, count: int, seed: int = 7) -> None:
    """``count`` articles of 3–6 paragraphs; every fifth has a relative link and a photo."""
    rng = random.Random(seed)
    engine = make_engine(engine_url)
    upgrade(engine)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    with Session(engine) as session:
        writer = ArticleWriter(session)
        for n in range(count):
            paragraphs = [
                " ".join(rng.choices(WORDS, k=rng.randint(30, 90))).capitalize() + "."
                for _ in range(rng.randint(3, 6))
            ]
            html = "".join(f"<p>{p}</p>" for p in paragraphs)
            if n % 5 == 0:
                html += f'<p>Več na <a href="/novice/{n}">spletni strani</a>.</p>'
            html = sanitize_html(html)
            writer.save(
                ArticleDraft(
                    external_id=f"bench-{n}",
                    title=" ".join(rng.choices(WORDS, k=rng.randint(5, 10))).capitalize(),
                    published_at=start + timedelta(hours=17 * n),
                    body_html=html,
                    body_text=html_to_text(html),
                    image_url=f"/slike/{n}.jpg" if n % 5 == 0 else None,
                    image_caption="Fotografija: arhiv občine" if n % 5 == 0 else "",
                    topics=[TopicRef(slug=t, name=t.capitalize()) for t in rng.sample(TOPICS, 2)],
                )
            )
            if n % 500 == 499:
                session.commit()
        session.commit()
    engine.dispose()


def bench_build(settings: Settings, count: int) -> None:
    engine = make_engine(settings.database_url)
    cache = FeedCache(engine, settings)
    change = cache.store_change()
    started = time.perf_counter()
    sizes = [len(cache.get(FeedKey(fmt), change).body) for fmt in FeedFormat]  # type: ignore[union-attr]
    current = time.perf_counter() - started
    print(
        f"build: the 3 subscription documents ({settings.feed_entries} entries each, "
        f"{sum(sizes) // 1024} KiB) in {current * 1000:.0f} ms"
    )
    started = time.perf_counter()
    entries = documents = 0
    with Session(engine) as session:
        change = last_change(session)
        keys = [key for key in all_keys(session, settings, change) if key.topic is None]
        for key in keys:
            if key.format is FeedFormat.rss:  # all_keys gives each page's formats together
                content = load_page(session, settings, key.topic, key.page, change)
                assert content is not None
            render(make_document(settings, key, content, change))
            documents += 1
            entries += len(content.entries)
    whole = time.perf_counter() - started
    print(
        f"build: all 3 feeds of all {count} articles ({documents} documents, "
        f"{entries} entries incl. overlap) in {whole:.2f} s (goal <= 1 s)"
    )
    engine.dispose()


def serve_forever(database_url: str, port: int) -> None:
    """Child process: the web app on 127.0.0.1:port, as ``publisher serve`` runs it."""
    import uvicorn

    from publisher.web.app import create_app

    settings = load_settings(database_url=database_url, base_url=f"http://127.0.0.1:{port}")
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


async def _hammer(port: int, request: bytes, seconds: float, connections: int) -> tuple[int, int]:
    """Send ``request`` over keep-alive connections for ``seconds``; (responses, status)."""
    done = 0
    status = 0
    stop_at = time.perf_counter() + seconds

    async def one_connection() -> None:
        nonlocal done, status
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            done += 1
        writer.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return done, status


def load(port: int, path: str, headers: dict[str, str], seconds: float, connections: int) -> float:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    asyncio.run(_hammer(port, request, 0.5, connections))  # warm up
    done, status = asyncio.run(_hammer(port, request, seconds, connections))
    rate = done / seconds
    print(f"load: {path} {'(conditional) ' if headers else ''}-> {status}: {rate:,.0f} req/s")
    return rate


def bench_serve(database_url: str, seconds: float, connections: int) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", database_url, "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        import httpx

        give_up = time.monotonic() + 30
        while True:
            try:
                first = httpx.get(f"http://127.0.0.1:{port}/feeds/atom.xml")
                break
            except httpx.TransportError:
                if time.monotonic() > give_up:
                    raise
                time.sleep(0.1)
        etag = first.headers["etag"]
        static = "/static/icon.svg"
        size = len(httpx.get(f"http://127.0.0.1:{port}{static}").content)
        print(f"load: {connections} keep-alive connections, {seconds:g} s a path, 1 server worker")
        not_modified = load(port, "/feeds/atom.xml", {"If-None-Match": etag}, seconds, connections)
        full = load(port, "/feeds/atom.xml", {}, seconds, connections)
        static_rate = load(port, static, {}, seconds, connections)
        print(f"load: static file is {size} bytes; atom.xml is {len(first.content) // 1024} KiB")
        print(f"ratio: 304 path / static file = {not_modified / static_rate:.0%} (goal >= 50 %)")
        print(f"ratio: 200 path / static file = {full / static_rate:.0%}")
    finally:
        child.terminate()
        child.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever(args.serve, args.port)
        return
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        started = time.perf_counter()
        generate(database_url, args.count)
        print(f"setup: {args.count} articles stored in {time.perf_counter() - started:.1f} s")
        bench_build(load_settings(database_url=database_url), args.count)
        bench_serve(database_url, args.seconds, args.connections)


if __name__ == "__main__":
    main()
