"""Assets that connect the DAGs: polling publishes raw-archive events, processing consumes them."""

from __future__ import annotations

from airflow.sdk import Asset

# Emitted by the polling DAG (and by outside systems through the REST API) when new raw
# responses are in the archive; ``extra`` carries archive batch references ("batches"), WARC
# paths ("files", all that events from before batch references had) and counts, never bodies.
RAW_ARCHIVE = Asset(name="newsflow_raw_archive", uri="newsflow://archive/raw", group="newsflow")

# Outside systems (a WebSub hub, a publisher's webhook) say "feed X has new items" here;
# ``extra`` = {"feeds": ["feed-name", ...]}. The polling DAG polls exactly those at once.
FEED_PING = Asset(name="newsflow_feed_ping", uri="newsflow://feeds/ping", group="newsflow")
