"""The 年金特徴 adapter: 特別徴収 files with the pension insurers through the 経由機関
(DOMAIN.md, LAYOUTS-EVIDENCE.md §4)."""
