"""The workflow rules of the shared centres, as plain modules the FHIR writes and the worker
call: orders in (``orders``), and after them claiming, reading, sign-off and turnaround."""
