"""The runtime, below the adapters: outbox and relay, publisher, worker and applier (inbox
idempotency), outbound transfers and a flow's plug-in points, payloads, custody, dead letters.
It imports only settings, mappings and store."""
