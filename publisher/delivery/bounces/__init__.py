"""Bounces and complaints: read them (:mod:`.parse`), decide (:mod:`.policy`), in one handler.

Callers use :func:`handle_message` for raw messages and :func:`handle_event` for what a
provider already parsed; both answer a :class:`Handled`.
"""

from publisher.delivery.bounces.handler import handle_event, handle_message
from publisher.delivery.bounces.policy import Disposition, Handled

__all__ = ["Disposition", "Handled", "handle_event", "handle_message"]
