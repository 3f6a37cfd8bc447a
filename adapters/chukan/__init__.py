"""The 中間サーバー (through the 団体内統合宛名機能): 副本登録, 情報照会, 情報提供 and their records."""
