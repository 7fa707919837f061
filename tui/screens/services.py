"""What a screen may ask of the app it runs in, without importing it: the service client.

`RosterApp` satisfies `Services`; a screen reaches it through `services(self)`, the one cast, so
the arrows run one way (the app imports the screens, never the reverse).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from tui.api.client import RosterClient


class Services(Protocol):
    async def client(self) -> RosterClient:
        """The service client, once connected (a worker waits for it)."""
        ...

    @property
    def sends_mail_itself(self) -> bool:
        """The app's own embedded service sends the mail, which stops when the app quits."""
        ...

    @property
    def read_only(self) -> bool:
        """The admin only reads (a viewer), as far as the app knows once connected."""
        ...


def services(node: DOMNode) -> Services:
    """`node.app`, as what screens may ask of it."""
    return cast("Services", node.app)
