"""The partner adapters, below bridge and fixtures, above queues, settings, mappings and store.

Inside: the route handlers (delivery.py, load.py) over the partners — core, kokuho, nenkin,
chukan, vendor, which never import one another — over the plumbing they share (sftp.py, pgp.py,
dropdir.py, inbox.py, judgement.py, readback.py). A partner's batch flows plug into the runtime
through queues/flow_source.py (its flows.py).
"""
