"""The 国保連 adapter: 受給者異動連絡票 out, 給付実績 and 突合結果 in (DOMAIN.md, LAYOUTS-EVIDENCE.md)."""
