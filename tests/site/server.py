"""A local fixture news site with every fault the fetcher must survive.

Serves, on 127.0.0.1 and a free port, feeds that link to real article pages
read at run time from ``../shared/eval/extraction/aeb/html`` (never copied) and
to the two seed reports wrapped in minimal HTML, plus faulty endpoints: slow
answers, flaky 500s, 429 with Retry-After, redirect loops, a huge page, a gzip
bomb, a non-HTML body, a wrong charset, a robots.txt disallow, an XML entity
bomb, a link to a private address (refused before any connection), and feeds
with ETag/Last-Modified/304 support or an ETag that lies.
"""

from __future__ import annotations

import contextlib
import gzip
import html
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
AEB_DIR = SHARED / "eval" / "extraction" / "aeb" / "html"
SEEDS_DIR = SHARED / "seeds"

ROBOTS = "User-agent: *\nDisallow: /private/\n"
LAST_MODIFIED = format_datetime(datetime(2026, 11, 1, 12, 0, tzinfo=UTC), usegmt=True)
BOMB_FEED = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>/articles/0.html</link></item>
</channel></rss>
"""

# Entries of the main feed that must end in a failure, with the reason expected.
FAULT_REASONS = {
    "/fault/slow": "timeout",
    "/fault/loop-a": "redirect_loop",
    "/fault/huge": "too_large",
    "/fault/gzipbomb": "decompression_bomb",
    "/fault/binary": "not_html",
    "/private/secret.html": "robots_disallowed",
    "http://10.0.0.1/internal.html": "refused_private_address",
    "/fault/notfound": "http_4xx",
}
# Entries that succeed only after a fault is handled (retry, Retry-After, redirect, charset).
RECOVERED = ("/fault/flaky", "/fault/ratelimit", "/go/seed-0", "/fault/charset")


def _rss(title: str, items: list[tuple[str, str, str]]) -> bytes:
    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{title}</title>']
    parts.append("<link>/</link><description>newsflow fixture site</description>")
    for link, item_title, pub in items:
        parts.append(
            f"<item><title>{html.escape(item_title)}</title><link>{html.escape(link)}</link>"
            f"<guid>{html.escape(link)}</guid><pubDate>{pub}</pubDate>"
            f"<description>Summary of {html.escape(item_title)}</description></item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode("utf-8")


def _page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs if p.strip())
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body><article><h1>{html.escape(title)}</h1>{body}</article></body></html>"
    ).encode()


class NewsSite:
    """The fixture site; ``hits`` counts requests per path, ``liar_version`` changes the lying feed."""

    def __init__(self, *, n_articles: int = 6) -> None:
        self.articles = sorted(AEB_DIR.glob("*.html.gz"))[:n_articles]
        self.seeds = sorted(SEEDS_DIR.glob("*.txt"))[:2]
        self.hits: Counter[str] = Counter()
        self.liar_version = 1
        self.lock = threading.Lock()
        self.bomb = gzip.compress(b"\0" * (20 * 1024 * 1024), compresslevel=9)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- content -------------------------------------------------------------
    def main_feed_links(self) -> list[str]:
        links = [f"/articles/{i}.html" for i in range(len(self.articles))]
        links.append("/articles/0.html?utm_source=rss&utm_medium=feed")  # same article, tracking params
        links.append("/seeds/1.html")
        links += list(RECOVERED)
        links += list(FAULT_REASONS)
        return links

    def main_feed(self) -> bytes:
        pub = "Sun, 01 Nov 2026 10:00:00 GMT"
        return _rss(
            "Fixture main", [(link, f"Item {n}", pub) for n, link in enumerate(self.main_feed_links())]
        )

    def liar_feed(self) -> bytes:
        count = 1 + self.liar_version
        pub = "Sun, 01 Nov 2026 11:00:00 GMT"
        return _rss(
            "Fixture liar", [(f"/liar/{i}.html", f"Liar story {i}", pub) for i in range(1, count + 1)]
        )

    def atom_feed(self) -> bytes:
        return (
            b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            b"<title>Fixture atom</title><id>urn:fixture:atom</id><updated>2026-11-01T12:00:00Z</updated>"
            b'<entry><title>Atom one</title><id>urn:fixture:atom:1</id><link href="/extra/atom-1.html"/>'
            b"<updated>2026-11-01T12:00:00Z</updated><summary>Atom summary</summary></entry>"
            b'<entry><title>Seed again</title><id>urn:fixture:atom:2</id><link href="/seeds/1.html"/>'
            b"<updated>2026-11-01T12:00:00Z</updated></entry></feed>"
        )

    def json_feed(self) -> bytes:
        return json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "Fixture JSON",
                "items": [
                    {
                        "id": "j1",
                        "url": f"{self.base_url}/extra/json-1.html",
                        "title": "JSON one",
                        "date_published": "2026-11-01T12:30:00+01:00",
                    }
                ],
            }
        ).encode()

    def broken_feed(self) -> bytes:
        # Recoverable malformation: an unescaped ampersand and no closing tags.
        return (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken & co</title>'
            b"<item><title>Broken one</title><link>/extra/broken-1.html</link></item>"
            b"<item><title>Broken two</title><link>/extra/broken-2.html</link>"
        )

    def seed_page(self, index: int) -> bytes:
        text = self.seeds[index].read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if line.strip()]
        return _page(f"Seed report {index}", lines)

    # -- server --------------------------------------------------------------
    def start(self) -> str:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                return

            def do_GET(self) -> None:
                path = self.path
                with site.lock:
                    site.hits[path.split("?", 1)[0]] += 1
                    count = site.hits[path.split("?", 1)[0]]
                # The client gives up on purpose (caps, timeouts): not an error here.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    site.route(self, path.split("?", 1)[0], count)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def page_hits(self) -> int:
        with self.lock:
            return sum(n for path, n in self.hits.items() if not path.startswith(("/feeds/", "/robots.txt")))

    # -- routing -------------------------------------------------------------
    def route(self, h: BaseHTTPRequestHandler, path: str, count: int) -> None:  # noqa: PLR0911, PLR0912 - one branch a route of the site
        if path == "/robots.txt":
            return self.send(h, 200, ROBOTS.encode(), "text/plain")
        if path == "/feeds/main.xml":
            return self.send_conditional(h, self.main_feed(), '"main-v1"', "application/rss+xml")
        if path == "/feeds/liar.xml":
            # Same ETag whatever the body, and If-None-Match ignored.
            return self.send(h, 200, self.liar_feed(), "application/rss+xml", {"ETag": '"always-the-same"'})
        if path == "/feeds/bomb.xml":
            return self.send_conditional(h, BOMB_FEED, '"bomb"', "application/rss+xml")
        if path == "/feeds/atom.xml":
            return self.send_conditional(h, self.atom_feed(), '"atom-v1"', "application/atom+xml")
        if path == "/feeds/feed.json":
            return self.send_conditional(h, self.json_feed(), '"json-v1"', "application/feed+json")
        if path == "/feeds/broken.xml":
            return self.send_conditional(h, self.broken_feed(), '"broken-v1"', "application/rss+xml")
        if path == "/feeds/gone.xml":
            return self.send(h, 410, b"", "text/plain")
        if path.startswith("/articles/"):
            index = int(path.rsplit("/", 1)[1].split(".", maxsplit=1)[0])
            raw = self.articles[index].read_bytes()
            if "gzip" in h.headers.get("Accept-Encoding", ""):
                return self.send(h, 200, raw, "text/html; charset=utf-8", {"Content-Encoding": "gzip"})
            return self.send(h, 200, gzip.decompress(raw), "text/html; charset=utf-8")
        if path.startswith("/seeds/"):
            index = int(path.rsplit("/", 1)[1].split(".", maxsplit=1)[0])
            return self.send(h, 200, self.seed_page(index), "text/html")
        if path.startswith(("/liar/", "/extra/")):
            name = path.rsplit("/", 1)[1]
            return self.send(h, 200, _page(f"Fixture {name}", [f"Generated body of {name}."]), "text/html")
        if path == "/go/seed-0":
            return self.send(h, 302, b"", "text/plain", {"Location": "/seeds/0.html"})
        if path == "/fault/slow":
            time.sleep(3.0)
            return self.send(h, 200, _page("Slow", ["too late"]), "text/html")
        if path == "/fault/flaky":
            if count <= 2:
                return self.send(h, 500, b"<html>temporary failure</html>", "text/html")
            return self.send(h, 200, _page("Flaky", ["worked on the third try"]), "text/html")
        if path == "/fault/ratelimit":
            if count == 1:
                return self.send(h, 429, b"slow down", "text/plain", {"Retry-After": "1"})
            return self.send(h, 200, _page("Rate limited", ["worked after waiting"]), "text/html")
        if path == "/fault/loop-a":
            return self.send(h, 302, b"", "text/plain", {"Location": "/fault/loop-b"})
        if path == "/fault/loop-b":
            return self.send(h, 302, b"", "text/plain", {"Location": "/fault/loop-a"})
        if path == "/fault/huge":
            return self.send_stream(h, b"<html>" + b"x" * (64 * 1024), 48, "text/html")
        if path == "/fault/gzipbomb":
            return self.send(h, 200, self.bomb, "text/html", {"Content-Encoding": "gzip"})
        if path == "/fault/binary":
            return self.send(h, 200, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "image/png")
        if path == "/fault/charset":
            body = _page("Caf\u00e9 cr\u00e8me", ["Na\u00efve r\u00e9sum\u00e9 na\u00efvet\u00e9"])
            return self.send(h, 200, body.decode("utf-8").encode("latin-1"), "text/html; charset=utf-8")
        if path == "/fault/notfound":
            return self.send(h, 404, b"<html><body>Not here</body></html>", "text/html")
        if path.startswith("/private/"):
            return self.send(h, 200, _page("Secret", ["must never be fetched"]), "text/html")
        return self.send(h, 404, b"no such fixture", "text/plain")

    def send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(body)

    def send_conditional(self, h: BaseHTTPRequestHandler, body: bytes, etag: str, content_type: str) -> None:
        if h.headers.get("If-None-Match") == etag or h.headers.get("If-Modified-Since") == LAST_MODIFIED:
            h.send_response(304)
            h.send_header("ETag", etag)
            h.end_headers()
            return None
        extra = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        if "gzip" in h.headers.get("Accept-Encoding", ""):
            extra["Content-Encoding"] = "gzip"
            body = gzip.compress(body)
        return self.send(h, 200, body, content_type, extra)

    def send_stream(self, h: BaseHTTPRequestHandler, chunk: bytes, repeat: int, content_type: str) -> None:
        # No Content-Length: only the streaming cap can stop it.
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.end_headers()
        for _ in range(repeat):
            h.wfile.write(chunk)
