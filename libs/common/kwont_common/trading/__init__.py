"""Shared rules of the live trading flow (strategy -> risk -> execution -> portfolio):
deterministic ids, account settings, and the fill ledger. Pure code plus one Mongo read
(:func:`kwont_common.trading.accounts.load_account`). See docs/live-trading.md."""
