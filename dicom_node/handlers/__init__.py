"""One module per DIMSE service; each exposes the ``(event, handler)`` pairs it binds
(``worklist`` has none: pynetdicom has one C-FIND event, and ``find`` hands it the worklist
model)."""
