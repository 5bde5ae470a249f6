"""One module per DIMSE service; each exposes the ``(event, handler)`` pairs it binds."""
