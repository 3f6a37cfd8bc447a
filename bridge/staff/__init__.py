"""The bridge's staff: operator accounts, roles, sessions, and the access log of what they did."""
