"""aio-pika glue of the shared library: the broker connection, outbox relay, consumer and feeds."""
