"""The application shell (top layer): the CLI, the wiring of stores, keys and broker, batch flows by
name, the demo. It may import every layer below; nothing below imports it (README "Layout")."""
