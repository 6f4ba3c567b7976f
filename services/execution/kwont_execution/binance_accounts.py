"""Which Binance key pair carries an order: each account's own. A venue
(:class:`kwont_execution.venue.Venue`) in front of one Binance venue per account.

The operator's own account (``binance_operator_account``) trades with the service's key pair
(``binance_api_key``/``_secret``) through the venue ``binance_sync`` opened and follows. Any
other account trades only with the pair its owner attached through the gateway
(``exchange_credentials``, decrypted with the :class:`~kwont_common.trading.credentials.Keyring`);
one client per account, opened on its first order and replaced when the pair changes. An
order is REJECTED, with a reason that says what to do, when its account has no pair, the pair
belongs to another user, or Binance refused the pair earlier. When Binance refuses a pair
(revoked key, wrong secret, no futures permission) the pair is marked ``revoked``: that
account's orders stop, the others go on.

Not here: the user-data stream and reconciliation of an account's own client (its MARKET
orders settle by polling; protective orders of such an account are reconciled only when one of
its orders comes again).
"""

from __future__ import annotations

import dataclasses
import logging
from decimal import Decimal
from typing import Any

from kwont_common.errors import ConfigurationError
from kwont_common.events import Order, OrderUpdate
from kwont_common.trading import credentials, ids
from kwont_execution import binance_claims as claims
from kwont_execution import binance_reports as reports
from kwont_execution.account_cache import AccountCache
from kwont_execution.binance_client import AUDIT, BinanceVenueSettings, connect
from kwont_execution.binance_market import Publish
from kwont_execution.binance_venue import BinanceVenue
from kwont_execution.venue import Report

log = logging.getLogger(__name__)
ATTACH = "attach a key pair with PUT /api/v1/accounts/{account}/credentials"


def rejected(order: Order, reason: str) -> OrderUpdate:
    """The REJECTED update of an order no key pair may carry."""
    return OrderUpdate(
        **order.lineage(),
        event_id=ids.event_id("binance", "order-update", order.client_order_id, "REJECTED"),
        source="execution", client_order_id=order.client_order_id, venue="binance",
        status="REJECTED",
        filled_quantity=Decimal(0), reason=reason,
    )  # fmt: skip


def refusal(order: Order, doc: dict[str, Any] | None, owner: str | None,
            keyring: credentials.Keyring | None) -> str | None:  # fmt: skip
    """Why ``order`` may not use the stored pair ``doc`` (None: it may)."""
    attach = ATTACH.format(account=order.account)
    if doc is None:
        return f"account {order.account} has no Binance API key attached: {attach}"
    if doc.get("status") == "revoked":
        return (f"account {order.account}'s Binance API key ...{doc['key_last4']} was refused "
                f"by Binance ({doc.get('reason')}); its orders stop until a new key is "
                f"attached: {attach}")  # fmt: skip
    if owner is not None and doc.get("owner") != owner:
        return (f"the Binance API key attached to account {order.account} belongs to another "
                f"user than the account's deployments; its owner must re-attach it")  # fmt: skip
    if keyring is None:
        return ("this execution service has no credentials key (KWONT_CREDENTIALS_KEYS or "
                "KWONT_CREDENTIALS_KEYS_FILE) to open account key pairs with")  # fmt: skip
    return None


class BinanceAccounts:
    """``place(order)``: the order on its account's own Binance client (module docstring)."""

    def __init__(self, settings: BinanceVenueSettings, db: Any, publish: Publish,
                 accounts: AccountCache, keyring: credentials.Keyring | None,
                 operator_account: str | None = None,
                 operator: BinanceVenue | None = None) -> None:  # fmt: skip
        self.settings, self.db, self.publish = settings, db, publish
        self.accounts, self.keyring = accounts, keyring
        self.operator_account, self.operator = operator_account, operator
        self._venues: dict[str, tuple[str, BinanceVenue]] = {}  # account -> (fingerprint, venue)

    async def place(self, order: Order) -> Report:
        """Carry out ``order`` with its account's key pair, or reject it with the reason
        (published here, as the Binance venue publishes its own: the report leaves none).

        Raises:
            TransientError: Binance or MongoDB failed in a way worth retrying.
        """
        if self.operator is not None and order.account == self.operator_account:
            return await self.operator.place(order)
        doc = await credentials.find(self.db, order.account)
        _, owner = await self.accounts.get(order.account)
        reason = refusal(order, doc, owner, self.keyring)
        if reason is not None:
            log.warning("order %s rejected: %s", order.client_order_id, reason)
            update = rejected(order, reason)
            fresh = await reports.record(self.db, [update])
            await self.publish(fresh or [update])
            return Report((update,))
        assert doc is not None
        venue = await self._venue(order.account, doc)
        report = await venue.place(order)
        await self._check_refused(order, doc)
        return report

    async def _venue(self, account: str, doc: dict[str, Any]) -> BinanceVenue:
        held = self._venues.get(account)
        if held is not None and held[0] == doc["fingerprint"]:
            return held[1]
        if held is not None:
            await held[1].close()
        assert self.keyring is not None
        try:
            key, secret = credentials.opened(self.keyring, doc)
        except ConfigurationError:
            log.error("account %s: stored Binance key pair does not decrypt", account)
            raise
        config = dataclasses.replace(self.settings, api_key=key, api_secret=secret)
        client = await connect(config, self.db[AUDIT])
        venue = BinanceVenue(client, config, self.db, self.publish)
        self._venues[account] = (doc["fingerprint"], venue)
        return venue

    async def _check_refused(self, order: Order, doc: dict[str, Any]) -> None:
        """Mark the pair revoked when Binance refused the order for the key itself."""
        claim = await claims.find(self.db, order.client_order_id)
        if claim is None or claim.get("status") != "REJECTED":
            return
        reason = str(claim.get("reason") or "")
        code = reason.split(":", 1)[0]
        if code.lstrip("-").isdigit() and int(code) in credentials.KEY_REFUSED_CODES:
            log.warning("account %s: Binance refused its key pair ...%s (%s); its orders stop",
                        order.account, doc["key_last4"], reason)  # fmt: skip
            await credentials.mark_refused(self.db, order.account, doc["fingerprint"], reason)
            held = self._venues.pop(order.account, None)
            if held is not None:
                await held[1].close()

    async def close(self) -> None:
        """Close every account's client."""
        for _, venue in self._venues.values():
            await venue.close()
        self._venues.clear()
